from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.tests import new_test_user, tagged

from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon

# Tuesday 2026-11-24, 18:00 UTC: noon in Mexico City, inside the window.
NOW = datetime(2026, 11, 24, 18, 0)


def days(n):
    return timedelta(days=n)


@tagged("post_install", "-at_install")
class TestDispatchEmail(DunningCommon):
    """Dispatch inside the contact window: the email is queued in Odoo."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls.create_invoice(due=TUESDAY - days(1), amount=1000.0)

    def plan_and_dispatch(self):
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            self.dispatch()
        return self.reminders(self.customer)

    def test_dispatch_sends_the_queued_reminder(self):
        reminder = self.plan_and_dispatch()
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.sent_at, NOW)
        self.assertEqual(reminder.attempt_count, 1)

    def test_sent_reminder_queues_one_email_to_the_customer(self):
        reminder = self.plan_and_dispatch()
        mail = self.mails(self.customer)
        self.assertEqual(len(mail), 1)
        self.assertEqual(reminder.mail_id, mail)
        self.assertEqual(mail.state, "sent")
        self.assertEqual(mail.recipient_ids, self.customer)
        self.assertEqual(
            mail.subject, f"{self.company.name}: friendly payment reminder"
        )
        self.assertIn(self.company.email, mail.email_from)
        self.assertIn(self.invoice.name, mail.body_html)

    def test_sent_reminder_is_logged_in_the_customer_and_invoice_chatter(self):
        reminder = self.plan_and_dispatch()
        self.assertIn(
            reminder.mail_id.subject, self.customer.message_ids.mapped("subject")
        )
        self.assertTrue(
            any(
                "Reminder at +1" in message.body for message in self.invoice.message_ids
            )
        )

    def test_email_goes_to_the_invoicing_contact(self):
        accounts = self.env["res.partner"].create(
            {
                "name": "Cuentas por pagar",
                "type": "invoice",
                "parent_id": self.customer.id,
                "email": "cxp@ferreteria.example.com",
            }
        )
        reminder = self.plan_and_dispatch()
        self.assertEqual(reminder.recipient_id, accounts)
        self.assertEqual(reminder.mail_id.recipient_ids, accounts)

    def test_planning_and_dispatching_twice_sends_one_email(self):
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            self.plan()
            self.dispatch()
            self.dispatch()
        self.assertEqual(len(self.reminders(self.customer)), 1)
        self.assertEqual(len(self.mails(self.customer)), 1)

    def test_email_lists_open_credit_notes_and_deducts_them(self):
        refund = self.create_invoice(
            due=TUESDAY - days(3), amount=250.0, move_type="out_refund"
        )
        reminder = self.plan_and_dispatch()
        self.assertAlmostEqual(reminder.amount_due, 750.0)
        self.assertIn(refund, reminder.move_ids)
        self.assertIn(refund.name, reminder.mail_id.body_html)
        # The total row shows the balance net of the credit note.
        # A customer abroad (Mexico; the company is in the US) reads the code.
        self.assertIn("$\N{NO-BREAK SPACE}750.00 USD<", reminder.mail_id.body_html)

    def test_customer_without_email_fails_with_the_reason(self):
        self.customer.email = False
        reminders = self.plan_and_dispatch()
        reminder = reminders.filtered(lambda r: r.channel == "email")
        self.assertEqual(reminder.state, "failed")
        self.assertIn("no email address", reminder.error_message)
        self.assertFalse(self.mails(self.customer))
        # The collector is told, with a call to make instead.
        self.assertEqual(reminders - reminder, reminder.fallback_ids)
        self.assertEqual(reminder.fallback_ids.channel, "activity")
        self.assertEqual(reminder.fallback_ids.state, "sent")

    def test_customer_excluded_after_planning_is_cancelled(self):
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            self.customer.dunning_excluded = True
            self.dispatch()
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.state, "cancelled")
        self.assertFalse(self.mails(self.customer))

    def test_customer_paused_after_planning_is_deferred_past_the_pause(self):
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            self.customer.dunning_paused_until = TUESDAY + days(2)
            self.dispatch()
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.state, "deferred")
        # The first opening after the pause: Friday 08:00 in Mexico City.
        self.assertEqual(reminder.scheduled_at, datetime(2026, 11, 27, 14, 0))
        self.assertFalse(self.mails(self.customer))

    def test_paused_customer_gets_nothing_on_the_last_local_day_of_the_pause(self):
        # Paused until Thursday included, in the customer's own calendar: at
        # Thursday 18:00 in Mexico City (Friday 00:00 UTC) the pause still holds.
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            self.customer.dunning_paused_until = TUESDAY + days(2)
            self.dispatch()
        with freeze_time("2026-11-27 00:00:00"):
            self.dispatch()
        self.assertFalse(self.mails(self.customer))
        self.assertNotEqual(self.reminders(self.customer).state, "sent")

    def test_invoice_excluded_after_planning_is_not_reminded(self):
        # A dispute: the overdue invoice is taken out of collection before the
        # reminder about it goes out; the other invoice is not due for weeks.
        self.create_invoice(due=TUESDAY + days(20))
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            self.invoice.action_dunning_exclude()
            self.dispatch()
        self.assertEqual(self.reminders(self.customer).state, "cancelled")
        self.assertFalse(self.mails(self.customer))

    def test_level_with_pdfs_attaches_each_listed_invoice(self):
        self.levels[1].attach_invoice_pdf = True
        other = self.create_invoice(due=TUESDAY + days(10))
        reminder = self.plan_and_dispatch()
        attachments = reminder.mail_id.attachment_ids
        self.assertEqual(len(attachments), 2)
        for invoice in self.invoice | other:
            self.assertIn(
                invoice._get_invoice_report_filename(), attachments.mapped("name")
            )


@tagged("post_install", "-at_install")
class TestDispatchActivity(DunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.collector = new_test_user(
            cls.env,
            login="collector_activity",
            groups="account_dunning.group_dunning_collector",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )
        cls.customer.with_company(cls.company).dunning_collector_id = cls.collector
        cls.create_invoice(due=TUESDAY - days(15))

    def test_collector_activity_is_scheduled_outside_the_contact_window(self):
        # Saturday 03:00 UTC: no email may go out, but a collector's to-do may.
        with freeze_time("2026-11-28 03:00:00"):
            self.plan()
            self.dispatch()
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.channel, "activity")
        self.assertEqual(reminder.state, "sent")
        activity = self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", self.customer.id)]
        )
        self.assertEqual(reminder.activity_id, activity)
        self.assertEqual(activity.user_id, self.collector)
        self.assertEqual(
            activity.activity_type_id, self.env.ref("mail.mail_activity_data_call")
        )
        self.assertFalse(self.mails(self.customer))


@tagged("post_install", "-at_install")
class TestDispatchRecovery(DunningCommon):
    """A worker that died after claiming never causes a second email."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.create_invoice(due=TUESDAY - days(1))

    def claimed_reminder(self, claimed_at, with_email):
        with freeze_time(claimed_at):
            self.plan()
            reminder = self.reminders(self.customer)
            if with_email:
                # The worker got as far as queuing the email.
                self.env["dunning.channel.email"]._send_one(reminder, claimed_at)
            reminder.write({"state": "sending", "claimed_at": claimed_at})
        return reminder

    def test_stale_claim_with_its_email_is_sent_by_the_mail_queue(self):
        # The worker died after queueing the mail: the mail queue sends it,
        # and the reminder is sent when the mail server takes it.
        reminder = self.claimed_reminder(NOW, with_email=True)
        with freeze_time(NOW + timedelta(minutes=45)):
            self.dispatch()
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.sent_at, NOW + timedelta(minutes=45))

    def test_stale_claim_with_its_email_sends_no_second_email(self):
        reminder = self.claimed_reminder(NOW, with_email=True)
        with freeze_time(NOW + timedelta(minutes=45)):
            self.dispatch()
            self.dispatch()
        self.assertEqual(self.mails(self.customer), reminder.mail_id)

    def test_stale_claim_without_email_is_requeued_and_sent_once(self):
        reminder = self.claimed_reminder(NOW, with_email=False)
        with freeze_time(NOW + timedelta(minutes=45)):
            self.dispatch()
        with freeze_time(NOW + timedelta(minutes=50)):
            self.dispatch()
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(len(self.mails(self.customer)), 1)

    def test_recent_claim_is_left_to_its_worker(self):
        reminder = self.claimed_reminder(NOW, with_email=False)
        with freeze_time(NOW + timedelta(minutes=10)):
            self.dispatch()
        self.assertEqual(reminder.state, "sending")
        self.assertFalse(self.mails(self.customer))


@tagged("post_install", "-at_install")
class TestPaymentStopsReminders(DunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls.create_invoice(due=TUESDAY - days(1), amount=1000.0)

    def test_full_payment_cancels_the_queued_reminder(self):
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.register_payment(self.invoice)
        self.assertEqual(self.invoice.payment_state, "paid")
        self.assertEqual(reminder.state, "cancelled")

    def test_full_payment_resets_the_invoice_level(self):
        self.plan_on(TUESDAY)
        self.register_payment(self.invoice)
        self.assertFalse(self.invoice.dunning_level_id)
        self.assertFalse(self.invoice.dunning_next_date)

    def test_full_payment_cancels_a_deferred_reminder(self):
        with freeze_time("2026-11-28 18:00:00"):  # Saturday: deferred to Monday
            self.plan()
            self.dispatch()
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.state, "deferred")
        self.register_payment(self.invoice)
        self.assertEqual(reminder.state, "cancelled")

    def test_partial_payment_keeps_the_reminder(self):
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.register_payment(self.invoice, amount=400.0)
        self.assertEqual(self.invoice.payment_state, "partial")
        self.assertEqual(reminder.state, "queued")
        self.assertEqual(self.invoice.dunning_level_id, self.levels[1])

    def test_reminder_goes_out_without_the_paid_invoice(self):
        other = self.create_invoice(due=TUESDAY - days(7), amount=300.0)
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.line_ids.move_id, self.invoice | other)
        self.register_payment(self.invoice)
        self.assertEqual(reminder.state, "queued")
        with freeze_time(TUESDAY_NOON_MX):
            self.dispatch()
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.move_ids, other)
        self.assertAlmostEqual(reminder.amount_due, 300.0)

    def test_invoice_reset_to_draft_cancels_the_queued_reminder(self):
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.invoice.button_draft()
        self.assertEqual(reminder.state, "cancelled")
        self.assertFalse(self.invoice.dunning_level_id)

    def test_invoice_paid_between_plan_and_dispatch_is_not_reminded(self):
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        with freeze_time(TUESDAY_NOON_MX):
            self.register_payment(self.invoice)
            self.dispatch()
        self.assertEqual(reminder.state, "cancelled")
        # The only email is the thank-you for the payment (policy option).
        self.assertEqual(
            self.mails(self.customer).mapped("subject"),
            [
                f"{self.company.name}: thank you for your payment of "
                f"{self.company.currency_id.format(1000.0)} USD"
            ],
        )
