from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged

from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon

# Tuesday 2026-11-24, 18:00 UTC: noon in Mexico City, inside the window.
NOW = datetime(2026, 11, 24, 18, 0)
# Tuesday 21:00 in Mexico City (UTC-6): the 08:00-20:00 window closed an hour ago.
TUESDAY_EVENING_MX = "2026-11-25 03:00:00"
# Its next opening: Wednesday 08:00 in Mexico City.
WEDNESDAY_OPENING_MX = datetime(2026, 11, 25, 14, 0)


def days(n):
    return timedelta(days=n)


class DunningSendCommon(DunningCommon):
    """The wizard driven as the web client does: a form over the selection."""

    def open_wizard(self, records, user=None):
        """The wizard as opened from ``records`` (invoices or customers)."""
        wizard = self.env["dunning.reminder.send"]
        if user:
            wizard = wizard.with_user(user)
        return Form(
            wizard.with_context(active_model=records._name, active_ids=records.ids)
        )

    def send(self, records, user=None, **values):
        """Open the wizard on ``records``, set ``values``, press Send Now."""
        form = self.open_wizard(records, user)
        for name, value in values.items():
            setattr(form, name, value)
        result = form.save().action_send()
        self.dispatch()
        return result

    def manual_reminders(self, partner=None):
        return self.reminders(partner, origin="manual")


@tagged("post_install", "-at_install")
class TestReminderSendDefaults(DunningSendCommon):
    """What the wizard proposes when it opens on a selection of invoices."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.late = cls.create_invoice(due=TUESDAY - days(1))
        cls.later = cls.create_invoice(cls.customer_tijuana, due=TUESDAY - days(8))

    def test_level_defaults_to_the_highest_level_reached_by_the_invoices(self):
        self.plan_on(TUESDAY)
        self.assertEqual(self.late.dunning_level_id, self.levels[1])
        self.assertEqual(self.later.dunning_level_id, self.levels[7])
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(self.late | self.later)
        self.assertEqual(form.level_id, self.levels[7])

    def test_level_counts_the_days_late_of_invoices_not_planned_yet(self):
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(self.late | self.later)
        self.assertEqual(form.level_id, self.levels[7])

    def test_level_defaults_to_the_first_level_when_none_is_reached(self):
        not_due = self.create_invoice(due=TUESDAY + days(20))
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(not_due)
        self.assertEqual(form.level_id, self.levels[-3])

    def test_channel_defaults_to_email(self):
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(self.late)
        self.assertEqual(form.channel, "email")

    def test_channel_follows_a_level_that_only_schedules_activities(self):
        very_late = self.create_invoice(due=TUESDAY - days(15))
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(very_late)
        self.assertEqual(form.level_id, self.levels[15])
        self.assertEqual(form.channel, "activity")

    def test_paid_draft_and_excluded_invoices_are_counted_as_skipped(self):
        paid = self.create_invoice(due=TUESDAY - days(3))
        self.register_payment(paid)
        draft = self.create_invoice(due=TUESDAY - days(3), post=False)
        excluded = self.create_invoice(due=TUESDAY - days(3))
        excluded.action_dunning_exclude()
        with freeze_time(TUESDAY_NOON_MX):
            wizard = self.open_wizard(self.late | paid | draft | excluded).save()
        self.assertEqual(wizard.skipped_count, 3)
        self.assertEqual(wizard.open_move_ids, self.late)
        self.assertEqual(wizard.partner_ids, self.customer)

    def test_skipped_invoices_are_not_reminded(self):
        paid = self.create_invoice(due=TUESDAY - days(3), amount=222.0)
        self.register_payment(paid)
        draft = self.create_invoice(due=TUESDAY - days(3), post=False)
        excluded = self.create_invoice(due=TUESDAY - days(3), amount=333.0)
        excluded.action_dunning_exclude()
        with freeze_time(TUESDAY_NOON_MX):
            self.send(self.late | paid | draft | excluded)
        reminder = self.manual_reminders(self.customer)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.move_ids, self.late)
        self.assertAlmostEqual(reminder.amount_due, 1000.0)
        body = reminder.mail_id.body_html
        self.assertIn(self.late.name, body)
        self.assertNotIn(paid.name, body)
        self.assertNotIn(excluded.name, body)


@tagged("post_install", "-at_install")
class TestReminderSendPreview(DunningSendCommon):
    """The preview shows the message dispatch would send, and saves nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Due on Thursday: on Tuesday it reached the preventive level (-3), whose
        # subject states the amount due.
        cls.invoice = cls.create_invoice(due=TUESDAY + days(2), amount=1234.56)

    def test_preview_shows_the_invoice_and_the_amount_due(self):
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(self.invoice)
        self.assertEqual(form.level_id, self.levels[-3])
        self.assertFalse(form.preview_error)
        self.assertIn("1,234.56", form.preview_subject)
        self.assertIn(self.invoice.name, form.preview_body)
        self.assertIn("1,234.56", form.preview_body)

    def test_preview_shows_the_recipient(self):
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(self.invoice)
        self.assertEqual(form.preview_recipient, self.customer.email_formatted)

    def test_preview_shows_the_invoicing_contact_as_recipient(self):
        accounts = self.env["res.partner"].create(
            {
                "name": "Cuentas por pagar",
                "type": "invoice",
                "parent_id": self.customer.id,
                "email": "cxp@ferreteria.example.com",
            }
        )
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(self.invoice)
        self.assertEqual(form.preview_recipient, accounts.email_formatted)

    def test_preview_renders_for_the_chosen_customer(self):
        other = self.create_invoice(
            self.customer_tijuana, due=TUESDAY + days(2), amount=777.0
        )
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(self.invoice | other)
            self.assertEqual(form.partner_count, 2)
            form.preview_partner_id = self.customer_tijuana
        self.assertEqual(form.preview_recipient, self.customer_tijuana.email_formatted)
        self.assertIn("777.00", form.preview_subject)
        self.assertIn(other.name, form.preview_body)
        self.assertNotIn(self.invoice.name, form.preview_body)

    def test_preview_writes_no_reminder(self):
        reminders_before = self.env["dunning.reminder"].search_count([])
        mails_before = self.env["mail.mail"].sudo().search_count([])
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(self.invoice)
            self.assertTrue(form.preview_body)
            wizard = form.save()
            # Computed again on the saved wizard, outside the form.
            wizard.invalidate_recordset(["preview_body"])
            self.assertIn(self.invoice.name, wizard.preview_body)
        self.env.flush_all()
        self.assertEqual(
            self.env["dunning.reminder"].search_count([]), reminders_before
        )
        self.assertEqual(self.env["mail.mail"].sudo().search_count([]), mails_before)

    def test_preview_subject_is_the_subject_sent(self):
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(self.invoice)
            subject = form.preview_subject
            form.save().action_send()
            self.dispatch()
        mail = self.manual_reminders(self.customer).mail_id
        self.assertEqual(mail.subject, subject)

    def test_preview_links_each_invoice_to_its_customer_page(self):
        # The preview lists the invoices of an unsaved reminder; its "View and
        # pay" link must still open the saved invoice, with its real token.
        with freeze_time(TUESDAY_NOON_MX):
            body = self.open_wizard(self.invoice).preview_body
        self.assertNotIn("NewId", body)
        self.assertTrue(self.invoice.access_token)
        self.assertIn(
            f"res_id={self.invoice.id}&amp;access_token={self.invoice.access_token}",
            body,
        )

    def test_preview_of_an_activity_names_the_collector_and_the_invoices(self):
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(self.invoice)
            form.level_id = self.levels[15]
        self.assertEqual(form.channel, "activity")
        self.assertEqual(form.preview_subject, "Call the customer")
        self.assertIn(self.invoice.name, form.preview_body)
        self.assertIn("1,234.56", form.preview_body)


@tagged("post_install", "-at_install")
class TestReminderSendInsideWindow(DunningSendCommon):
    """Sent by hand while the customer may be contacted: it goes out at once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls.create_invoice(due=TUESDAY - days(1), amount=1000.0)

    def send_now(self, records=None):
        with freeze_time(TUESDAY_NOON_MX):
            action = self.send(records or self.invoice)
        return action, self.manual_reminders(self.customer)

    def test_send_makes_one_manual_reminder_per_customer_and_currency(self):
        mxn = self.setup_other_currency("MXN")
        second = self.create_invoice(due=TUESDAY - days(5), amount=500.0)
        in_pesos = self.create_invoice(due=TUESDAY - days(1), currency=mxn)
        in_tijuana = self.create_invoice(self.customer_tijuana, due=TUESDAY)
        with freeze_time(TUESDAY_NOON_MX):
            self.send(self.invoice | second | in_pesos | in_tijuana)
        reminders = self.manual_reminders()
        self.assertEqual(
            {(r.partner_id, r.currency_id): r.move_ids for r in reminders},
            {
                (self.customer, self.company.currency_id): second | self.invoice,
                (self.customer, mxn): in_pesos,
                (self.customer_tijuana, self.company.currency_id): in_tijuana,
            },
        )
        self.assertEqual(set(reminders.mapped("state")), {"sent"})

    def test_manual_reminder_is_sent_at_once(self):
        _action, reminder = self.send_now()
        self.assertEqual(reminder.origin, "manual")
        self.assertEqual(reminder.level_id, self.levels[1])
        self.assertEqual(reminder.channel, "email")
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.sent_at, NOW)

    def test_manual_reminder_queues_an_email_to_the_customer(self):
        _action, reminder = self.send_now()
        mail = self.mails(self.customer)
        self.assertEqual(len(mail), 1)
        self.assertEqual(reminder.mail_id, mail)
        self.assertEqual(mail.recipient_ids, self.customer)
        self.assertIn(self.invoice.name, mail.body_html)

    def test_manual_reminder_takes_no_decision(self):
        _action, reminder = self.send_now()
        self.assertFalse(reminder.line_ids)
        self.assertFalse(self.env["dunning.reminder.line"].sudo().search([]))
        self.assertFalse(self.invoice.dunning_level_id)
        # It reminded the customer of the invoice all the same.
        self.assertEqual(self.invoice.dunning_last_date, TUESDAY)

    def test_send_queues_and_wakes_the_dispatcher_instead_of_sending(self):
        with freeze_time(TUESDAY_NOON_MX):
            action = self.open_wizard(self.invoice).save().action_send()
            reminder = self.manual_reminders(self.customer)
            # Nothing left in the user's request: the dispatcher sends it.
            self.assertEqual(reminder.state, "queued")
            self.assertFalse(self.mails(self.customer))
            self.assertTrue(self.dispatch_trigger_at(reminder.scheduled_at))
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("1 reminder(s) queued", action["params"]["message"])

    def test_manual_reminder_counts_as_a_contact_for_the_days_between_reminders(
        self,
    ):
        # The invoice reached +1 yesterday and was never planned: the plan of
        # today would send it, but the customer just heard from us by hand, and
        # the policy wants three days between two contacts.
        self.send_now()
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
        self.plan_on(TUESDAY + days(1))
        self.plan_on(TUESDAY + days(2))
        self.assertFalse(self.reminders(self.customer, origin="plan"))
        self.assertFalse(self.invoice.dunning_level_id)

    def test_plan_after_the_days_between_reminders_sends_the_level_all_the_same(
        self,
    ):
        # The manual reminder took no decision: once the gap has passed, the
        # ladder sends the level the invoice reached, as if nothing was sent.
        self.send_now()
        friday = TUESDAY + days(3)
        self.plan_on(friday)
        planned = self.reminders(self.customer, origin="plan")
        self.assertEqual(len(planned), 1)
        self.assertEqual(planned.level_id, self.levels[1])
        self.assertEqual(planned.line_ids.move_id, self.invoice)
        self.assertEqual(self.invoice.dunning_level_id, self.levels[1])
        with freeze_time("2026-11-27 18:00:00"):  # Friday noon in Mexico City
            self.dispatch()
        self.assertEqual(planned.state, "sent")
        self.assertEqual(len(self.mails(self.customer)), 2)


@tagged("post_install", "-at_install")
class TestReminderSendOutsideWindow(DunningSendCommon):
    """Sent by hand after hours: the contact window holds it until it opens."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls.create_invoice(due=TUESDAY - days(1))

    def send_in_the_evening(self):
        with freeze_time(TUESDAY_EVENING_MX):
            return self.send(self.invoice)

    def test_manual_reminder_is_deferred_to_the_next_opening(self):
        self.send_in_the_evening()
        reminder = self.manual_reminders(self.customer)
        self.assertEqual(reminder.state, "deferred")
        self.assertEqual(reminder.scheduled_at, WEDNESDAY_OPENING_MX)
        self.assertFalse(self.mails(self.customer))

    def test_deferral_wakes_the_dispatch_at_the_next_opening(self):
        self.send_in_the_evening()
        self.assertTrue(self.dispatch_trigger_at(WEDNESDAY_OPENING_MX))

    def test_notification_says_it_waits_for_the_contact_hours(self):
        action = self.send_in_the_evening()
        self.assertIn(
            "inside each customer's contact hours", action["params"]["message"]
        )
        self.assertEqual(action["params"]["type"], "success")

    def test_deferred_manual_reminder_goes_out_at_the_opening(self):
        self.send_in_the_evening()
        with freeze_time(WEDNESDAY_OPENING_MX):
            self.dispatch()
        reminder = self.manual_reminders(self.customer)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.sent_at, WEDNESDAY_OPENING_MX)
        self.assertEqual(len(self.mails(self.customer)), 1)

    def test_manual_activity_is_not_held_by_the_contact_window(self):
        with freeze_time(TUESDAY_EVENING_MX):
            self.send(self.invoice, channel="activity")
        reminder = self.manual_reminders(self.customer)
        self.assertEqual(reminder.channel, "activity")
        self.assertEqual(reminder.state, "sent")
        self.assertTrue(reminder.activity_id)


@tagged("post_install", "-at_install")
class TestReminderSendFromCustomer(DunningSendCommon):
    """Opened from a customer: every open invoice of that customer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.overdue = cls.create_invoice(due=TUESDAY - days(1))
        cls.not_due = cls.create_invoice(due=TUESDAY + days(10), amount=400.0)
        paid = cls.create_invoice(due=TUESDAY - days(5))
        cls.register_payment(paid)
        cls.create_invoice(due=TUESDAY - days(5), post=False)
        excluded = cls.create_invoice(due=TUESDAY - days(5))
        excluded.action_dunning_exclude()
        cls.create_invoice(due=TUESDAY - days(5), move_type="out_refund")
        cls.create_invoice(cls.customer_tijuana, due=TUESDAY - days(5))

    def test_wizard_from_a_customer_takes_its_open_invoices(self):
        with freeze_time(TUESDAY_NOON_MX):
            wizard = self.open_wizard(self.customer).save()
        self.assertEqual(wizard.move_ids, self.overdue | self.not_due)
        self.assertEqual(wizard.skipped_count, 0)
        self.assertEqual(wizard.partner_ids, self.customer)

    def test_wizard_from_a_contact_takes_the_invoices_of_its_company(self):
        contact = self.env["res.partner"].create(
            {"name": "Laura Ríos", "parent_id": self.customer.id}
        )
        with freeze_time(TUESDAY_NOON_MX):
            wizard = self.open_wizard(contact).save()
        self.assertEqual(wizard.move_ids, self.overdue | self.not_due)

    def test_wizard_from_a_customer_sends_one_reminder_about_its_invoices(self):
        with freeze_time(TUESDAY_NOON_MX):
            self.send(self.customer)
        reminder = self.manual_reminders()
        self.assertEqual(reminder.partner_id, self.customer)
        self.assertEqual(reminder.state, "sent")
        self.assertIn(self.overdue, reminder.move_ids)
        self.assertIn(self.not_due, reminder.move_ids)
        self.assertFalse(self.manual_reminders(self.customer_tijuana))


@tagged("post_install", "-at_install")
class TestReminderSendCollector(DunningSendCommon):
    """A collector, with no more than invoicing rights, sends by hand."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.collector = new_test_user(
            cls.env,
            login="collector_send",
            groups="account_dunning.group_dunning_collector",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )
        cls.customer.with_company(cls.company).dunning_collector_id = cls.collector

    def test_collector_sends_an_email_reminder(self):
        invoice = self.create_invoice(due=TUESDAY - days(1))
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(invoice, user=self.collector)
            self.assertIn(invoice.name, form.preview_body)
            form.save().action_send()
            self.dispatch()
        reminder = self.manual_reminders(self.customer)
        self.assertEqual(reminder.create_uid, self.collector)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.mail_id, self.mails(self.customer))

    def test_collector_schedules_an_activity_reminder(self):
        invoice = self.create_invoice(due=TUESDAY - days(15))
        with freeze_time(TUESDAY_NOON_MX):
            form = self.open_wizard(invoice, user=self.collector)
            self.assertEqual(form.level_id, self.levels[15])
            # Chosen by hand: the form should propose it already (see
            # test_channel_follows_a_level_that_only_schedules_activities).
            form.channel = "activity"
            self.assertEqual(form.preview_recipient, self.collector.name)
            form.save().action_send()
            self.dispatch()
        reminder = self.manual_reminders(self.customer)
        self.assertEqual(reminder.channel, "activity")
        self.assertEqual(reminder.state, "sent")
        activity = self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", self.customer.id)]
        )
        self.assertEqual(reminder.activity_id, activity)
        self.assertEqual(activity.user_id, self.collector)
        self.assertIn(invoice.name, activity.note)
        self.assertFalse(self.mails(self.customer))


@tagged("post_install", "-at_install")
class TestReminderSendExcludedInvoice(DunningSendCommon):
    """An invoice excluded from collections (a dispute, a payment plan)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.disputed = cls.create_invoice(due=TUESDAY - days(10), amount=900.0)
        cls.disputed.action_dunning_exclude()

    def test_excluded_invoice_is_left_out_of_the_reminder(self):
        invoice = self.create_invoice(due=TUESDAY - days(1), amount=100.0)
        with freeze_time(TUESDAY_NOON_MX):
            self.send(invoice | self.disputed)
        reminder = self.manual_reminders(self.customer)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.move_ids, invoice)
        self.assertAlmostEqual(reminder.amount_due, 100.0)
        self.assertNotIn(self.disputed.name, reminder.mail_id.body_html)

    def test_excluded_invoice_alone_cannot_be_reminded(self):
        with freeze_time(TUESDAY_NOON_MX):
            wizard = self.open_wizard(self.disputed).save()
            self.assertFalse(wizard.open_move_ids)
            with self.assertRaises(UserError):
                wizard.action_send()
                self.dispatch()
        self.assertFalse(self.manual_reminders())
        self.assertFalse(self.mails(self.customer))

    def test_excluded_invoice_is_left_out_when_opened_from_the_customer(self):
        with freeze_time(TUESDAY_NOON_MX):
            wizard = self.open_wizard(self.customer).save()
        self.assertFalse(wizard.move_ids)


@tagged("post_install", "-at_install")
class TestReminderSendReachedLevels(DunningSendCommon):
    """Only levels the invoices reached are offered: no "due today" for an
    invoice due next month."""

    def test_invoice_not_due_yet_is_offered_the_preventive_level_only(self):
        invoice = self.create_invoice(due=TUESDAY + days(10))
        with freeze_time(TUESDAY_NOON_MX):
            wizard = self.open_wizard(invoice).save()
            self.assertEqual(wizard.level_id, self.levels[-3])
            self.assertEqual(wizard.reachable_level_ids.mapped("offset_days"), [-3])

    def test_a_level_not_reached_is_refused(self):
        invoice = self.create_invoice(due=TUESDAY + days(10))
        with freeze_time(TUESDAY_NOON_MX):
            wizard = self.open_wizard(invoice).save()
            wizard.level_id = self.levels[0]
            with self.assertRaisesRegex(UserError, "have not reached level"):
                wizard.action_send()
        self.assertFalse(self.manual_reminders())

    def test_late_invoice_is_offered_every_level_it_reached(self):
        invoice = self.create_invoice(due=TUESDAY - days(8))
        with freeze_time(TUESDAY_NOON_MX):
            wizard = self.open_wizard(invoice).save()
            self.assertEqual(wizard.level_id, self.levels[7])
            self.assertEqual(
                sorted(wizard.reachable_level_ids.mapped("offset_days")),
                [-3, 0, 1, 7],
            )
