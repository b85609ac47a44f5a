from datetime import datetime, time, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon


def days(n):
    return timedelta(days=n)


def noon(day):
    return datetime.combine(day, time(12))


class PromiseCommon(DunningCommon):
    """An invoice ten days late (level +7 reached) and helpers to promise it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Promise = cls.env["dunning.promise"]
        cls.policy.promise_grace_days = 2
        cls.invoice = cls.create_invoice(due=TUESDAY - days(10), amount=1000.0)

    def promise(self, moves=None, amount=1000.0, date=None, source="manual", **kw):
        moves = moves or self.invoice
        with freeze_time(noon(TUESDAY)):
            return self.Promise._dunning_register(
                moves.commercial_partner_id,
                moves,
                amount,
                date or TUESDAY + days(7),
                source,
                **kw,
            )

    def check_on(self, day):
        """Run the promise check as its scheduled action does, at noon of ``day``."""
        cron = self.env.ref("account_dunning.ir_cron_promise_check").sudo()
        with freeze_time(noon(day)):
            cron.method_direct_trigger()

    def pay_on(self, day, invoice=None, amount=None):
        with freeze_time(noon(day)):
            self.register_payment(invoice or self.invoice, amount)


@tagged("post_install", "-at_install")
class TestPromiseRegister(PromiseCommon):
    def test_register_records_an_open_promise_paused_until_the_grace_date(self):
        promise = self.promise(amount=800.0, date=TUESDAY + days(7))
        self.assertEqual(promise.state, "open")
        self.assertEqual(promise.partner_id, self.customer)
        self.assertEqual(promise.move_ids, self.invoice)
        self.assertEqual(promise.amount, 800.0)
        self.assertEqual(promise.currency_id, self.invoice.currency_id)
        self.assertEqual(promise.date_grace, TUESDAY + days(9))
        self.assertEqual(promise.policy_id, self.policy)
        self.assertEqual(promise.amount_paid, 0.0)
        self.assertEqual(self.invoice.dunning_promise_ids, promise)

    def test_register_sends_the_written_confirmation_to_the_customer(self):
        promise = self.promise(amount=800.0, date=TUESDAY + days(7))
        self.assertFalse(self.mails(self.customer), "never from the caller's request")
        with freeze_time(TUESDAY_NOON_MX):
            self.dispatch()
        mail = self.mails(self.customer).filtered(
            lambda m: m.model == "dunning.promise" and m.res_id == promise.id
        )
        self.assertEqual(len(mail), 1)
        self.assertIn("800.00", mail.subject)
        self.assertIn(self.invoice.name, mail.body_html)
        self.assertTrue(promise.confirmation_sent_at)
        # The written record stays in the promise's chatter.
        self.assertIn(
            self.invoice.name, "".join(promise.message_ids.mapped("body") or [""])
        )

    def test_register_without_confirmation_sends_nothing(self):
        promise = self.promise(confirm=False)
        self.assertFalse(self.mails(self.customer))
        self.assertFalse(promise.confirmation_sent_at)

    def test_policy_can_turn_the_email_confirmation_off(self):
        self.policy.promise_confirm_email = False
        self.promise()
        with freeze_time(TUESDAY_NOON_MX):
            self.dispatch()
        self.assertFalse(self.mails(self.customer))

    def test_confirmation_is_in_the_customers_language(self):
        self.env["res.lang"]._activate_lang("es_MX")
        # The language is activated after the add-on was installed: load its
        # shipped Spanish terms as an install would.
        self.env["ir.module.module"]._load_module_terms(
            ["account_dunning"], ["es_MX"], overwrite=True
        )
        self.customer.lang = "es_MX"
        self.promise(amount=800.0)
        with freeze_time(TUESDAY_NOON_MX):
            self.dispatch()
        mail = self.mails(self.customer)
        # It confirms a promise to pay by a date, not a payment received.
        self.assertIn("su promesa de pago de", mail.subject)
        self.assertIn("a más tardar el", mail.subject)
        self.assertIn("800.00", mail.subject)
        # A company is not "Estimado(a)".
        self.assertIn("A la atención de Ferretería del Centro:", mail.body_html)

    def test_register_from_a_contact_uses_its_company(self):
        contact = self.env["res.partner"].create(
            {"name": "Marisol Peña", "parent_id": self.customer.id}
        )
        with freeze_time(noon(TUESDAY)):
            promise = self.Promise._dunning_register(
                contact, self.invoice, 500.0, TUESDAY + days(3), "call"
            )
        self.assertEqual(promise.partner_id, self.customer)
        self.assertEqual(promise.channel, "phone")
        self.assertEqual(promise.source, "call")

    def test_register_logs_the_promise_on_the_invoice(self):
        self.promise()
        self.assertIn(
            "Payment promise", "".join(self.invoice.message_ids.mapped("body"))
        )


@tagged("post_install", "-at_install")
class TestPromiseValidation(PromiseCommon):
    def assertRefused(self, message, **kw):
        with self.assertRaisesRegex(ValidationError, message):
            self.promise(**kw)
        self.assertFalse(self.Promise.search([("partner_id", "=", self.customer.id)]))

    def test_date_today_is_refused(self):
        self.assertRefused("after today", date=TUESDAY)

    def test_date_in_the_past_is_refused(self):
        self.assertRefused("after today", date=TUESDAY - days(1))

    def test_date_beyond_the_policy_maximum_is_refused(self):
        self.policy.promise_max_days = 15
        self.assertRefused("more than 15 days", date=TUESDAY + days(16))

    def test_date_on_the_policy_maximum_is_accepted(self):
        self.policy.promise_max_days = 15
        self.assertEqual(self.promise(date=TUESDAY + days(15)).state, "open")

    def test_zero_amount_is_refused(self):
        self.assertRefused("must be positive", amount=0.0)

    def test_negative_amount_is_refused(self):
        self.assertRefused("must be positive", amount=-5.0)

    def test_amount_above_what_is_due_is_refused(self):
        self.assertRefused("more than what is due", amount=1000.01)

    def test_paid_invoice_is_refused(self):
        self.register_payment(self.invoice)
        self.assertRefused("Only open customer invoices")

    def test_draft_invoice_is_refused(self):
        draft = self.create_invoice(post=False)
        self.assertRefused("Only open customer invoices", moves=draft)

    def test_invoices_of_another_customer_are_refused(self):
        other = self.create_invoice(self.customer_cancun, due=TUESDAY)
        with (
            freeze_time(noon(TUESDAY)),
            self.assertRaisesRegex(ValidationError, "must all belong to"),
        ):
            self.Promise._dunning_register(
                self.customer, self.invoice | other, 100.0, TUESDAY + days(3), "manual"
            )

    def test_no_invoice_is_refused(self):
        with (
            freeze_time(noon(TUESDAY)),
            self.assertRaisesRegex(ValidationError, "at least one invoice"),
        ):
            self.Promise._dunning_register(
                self.customer,
                self.env["account.move"],
                100.0,
                TUESDAY + days(3),
                "manual",
            )

    def test_portal_promise_below_the_minimum_is_refused(self):
        self.policy.promise_min_amount = 500.0
        self.assertRefused("at least", amount=499.0, source="portal")

    def test_collector_promise_below_the_portal_minimum_is_accepted(self):
        self.policy.promise_min_amount = 500.0
        self.assertEqual(self.promise(amount=100.0).state, "open")

    def test_second_open_promise_on_the_same_invoice_is_refused(self):
        self.promise(amount=100.0)
        with self.assertRaisesRegex(ValidationError, "already have an open"):
            self.promise(amount=200.0)

    def test_new_promise_after_a_cancelled_one_is_accepted(self):
        self.promise(amount=100.0).action_cancel()
        self.assertEqual(self.promise(amount=200.0).state, "open")


@tagged("post_install", "-at_install")
class TestPromisePause(PromiseCommon):
    def test_planner_skips_invoices_under_an_open_promise(self):
        self.promise(date=TUESDAY + days(7))
        self.plan_on(TUESDAY)
        self.assertFalse(self.reminders(self.customer))
        self.assertFalse(self.invoice.dunning_level_id)

    def test_planner_skips_them_until_the_grace_date_included(self):
        self.promise(date=TUESDAY + days(7))  # grace until TUESDAY + 9
        self.plan_on(TUESDAY + days(9))
        self.assertFalse(self.reminders(self.customer))
        # The day after, even before the promise check has run, they are back.
        self.plan_on(TUESDAY + days(10))
        self.assertEqual(self.invoice.dunning_level_id, self.levels[15])

    def test_other_invoices_of_the_customer_are_still_reminded(self):
        other = self.create_invoice(due=TUESDAY - days(1), amount=300.0)
        self.promise()
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.line_ids.move_id, other)
        self.assertFalse(self.invoice.dunning_level_id)
        # The promised invoice is neither listed nor counted in the message.
        self.assertEqual(reminder.move_ids, other)
        self.assertAlmostEqual(reminder.amount_due, 300.0)
        with freeze_time(TUESDAY_NOON_MX):
            self.dispatch()
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.move_ids, other)
        self.assertNotIn(self.invoice.name, reminder.mail_id.body_html)

    def test_registering_cancels_the_queued_reminder_about_the_invoice(self):
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.state, "queued")
        self.promise()
        self.assertEqual(reminder.state, "cancelled")
        self.assertIn("promised", reminder.error_message)

    def test_queued_reminder_about_another_invoice_still_goes(self):
        self.create_invoice(due=TUESDAY - days(10), amount=300.0)
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.promise()
        self.assertEqual(reminder.state, "queued")

    def test_dispatch_skips_a_reminder_whose_invoices_are_all_promised(self):
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        # A promise recorded without the registration's own cancellation, as an
        # import or another module might: dispatch still holds the reminder.
        self.Promise.create(
            {
                "partner_id": self.customer.id,
                "move_ids": [Command.set(self.invoice.ids)],
                "currency_id": self.invoice.currency_id.id,
                "amount": 1000.0,
                "date_promised": TUESDAY + days(5),
            }
        )
        with freeze_time("2026-11-24 18:00:00"):
            self.dispatch()
        self.assertEqual(reminder.state, "cancelled")
        self.assertIn("payment promise", reminder.error_message)

    def test_cancelled_promise_gives_the_invoices_back_to_the_planner(self):
        promise = self.promise()
        promise.action_cancel()
        self.assertEqual(promise.state, "cancelled")
        self.plan_on(TUESDAY + days(1))
        self.assertEqual(self.invoice.dunning_level_id, self.levels[7])


@tagged("post_install", "-at_install")
class TestPromiseEvaluation(PromiseCommon):
    def test_full_payment_keeps_the_promise_at_once(self):
        promise = self.promise(date=TUESDAY + days(7))
        self.pay_on(TUESDAY + days(3))
        self.assertEqual(promise.state, "kept")
        self.assertEqual(promise.amount_paid, 1000.0)
        self.assertEqual(promise.date_settled, TUESDAY + days(3))

    def test_partial_payment_of_the_promised_amount_is_kept_by_the_check(self):
        promise = self.promise(amount=600.0, date=TUESDAY + days(7))
        self.pay_on(TUESDAY + days(6), amount=600.0)
        self.check_on(TUESDAY + days(6))
        self.assertEqual(promise.state, "kept")
        self.assertEqual(promise.amount_paid, 600.0)

    def test_paid_amount_is_capped_at_the_promised_amount(self):
        promise = self.promise(amount=600.0)
        self.pay_on(TUESDAY + days(2))
        self.assertEqual(promise.state, "kept")
        self.assertEqual(promise.amount_paid, 600.0)

    def test_open_promise_stays_open_until_after_the_grace_date(self):
        promise = self.promise(date=TUESDAY + days(7))
        self.check_on(TUESDAY + days(9))
        self.assertEqual(promise.state, "open")

    def test_unpaid_promise_is_broken_the_day_after_the_grace_date(self):
        promise = self.promise(date=TUESDAY + days(7))
        self.check_on(TUESDAY + days(10))
        self.assertEqual(promise.state, "broken")
        self.assertEqual(promise.amount_paid, 0.0)
        self.assertEqual(promise.date_settled, TUESDAY + days(10))

    def test_some_payment_makes_the_promise_partial(self):
        promise = self.promise(date=TUESDAY + days(7))
        self.pay_on(TUESDAY + days(5), amount=300.0)
        self.check_on(TUESDAY + days(10))
        self.assertEqual(promise.state, "partial")
        self.assertEqual(promise.amount_paid, 300.0)
        self.assertEqual(promise.activity_ids.summary, "Promise partially kept")

    def test_payment_made_before_the_promise_does_not_count(self):
        self.pay_on(TUESDAY - days(1), amount=400.0)
        promise = self.promise(amount=600.0, date=TUESDAY + days(7))
        self.check_on(TUESDAY + days(10))
        self.assertEqual(promise.state, "broken")
        self.assertEqual(promise.amount_paid, 0.0)

    def test_late_payment_within_the_grace_days_keeps_the_promise(self):
        promise = self.promise(date=TUESDAY + days(7))
        self.pay_on(TUESDAY + days(9))
        self.check_on(TUESDAY + days(10))
        self.assertEqual(promise.state, "kept")

    def test_checking_twice_changes_nothing(self):
        promise = self.promise(date=TUESDAY + days(7))
        self.check_on(TUESDAY + days(10))
        state, settled = promise.state, promise.date_settled
        activities = promise.activity_ids
        messages = promise.message_ids
        self.check_on(TUESDAY + days(11))
        self.assertEqual(promise.state, state)
        self.assertEqual(promise.date_settled, settled)
        self.assertEqual(promise.activity_ids, activities)
        self.assertEqual(promise.message_ids, messages)

    def test_a_payment_after_the_promise_was_broken_changes_nothing(self):
        promise = self.promise(date=TUESDAY + days(7))
        self.check_on(TUESDAY + days(10))
        self.pay_on(TUESDAY + days(11))
        self.check_on(TUESDAY + days(11))
        self.assertEqual(promise.state, "broken")

    def test_cancelled_invoice_cancels_its_promise(self):
        promise = self.promise()
        self.invoice.button_draft()
        self.invoice.button_cancel()
        self.check_on(TUESDAY + days(1))
        self.assertEqual(promise.state, "cancelled")

    def test_cancelled_promise_is_never_evaluated(self):
        promise = self.promise()
        promise.action_cancel()
        self.check_on(TUESDAY + days(30))
        self.assertEqual(promise.state, "cancelled")

    def test_check_runs_for_every_company(self):
        company_2 = self.setup_other_company(name="Acme Monterrey")["company"]
        self.env.user.company_ids |= company_2
        policy_2 = self._create_policy(company_2)
        company_2.dunning_policy_id = policy_2
        invoice_2 = self.create_invoice(due=TUESDAY, company=company_2)
        promise_1 = self.promise()
        promise_2 = self.promise(moves=invoice_2)
        self.assertEqual(promise_2.company_id, company_2)
        self.check_on(TUESDAY + days(12))
        self.assertEqual((promise_1 | promise_2).mapped("state"), ["broken", "broken"])


@tagged("post_install", "-at_install")
class TestBrokenPromise(PromiseCommon):
    def test_broken_promise_gives_the_collector_an_activity(self):
        collector = new_test_user(
            self.env,
            login="collector_broken",
            groups="account_dunning.group_dunning_collector",
        )
        self.customer.with_company(self.company).dunning_collector_id = collector
        promise = self.promise(date=TUESDAY + days(7))
        self.check_on(TUESDAY + days(10))
        activity = promise.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, collector)
        self.assertEqual(activity.summary, "Promise broken")

    def test_broken_promise_escalates_to_the_next_level_at_once(self):
        # Ten days late: level +7 is planned, then the customer promises for
        # tomorrow. On day 14 the promise is broken; the invoice has not reached
        # +15 by date, and the days between reminders have not passed, yet the
        # next level goes out the same day.
        self.policy.min_days_between_reminders = 10
        self.plan_on(TUESDAY)
        self.assertEqual(self.invoice.dunning_level_id, self.levels[7])
        self.promise(date=TUESDAY + days(1))  # grace until TUESDAY + 3
        self.check_on(TUESDAY + days(4))
        self.assertTrue(self.invoice.dunning_escalate)
        self.plan_on(TUESDAY + days(4))
        self.assertEqual(self.invoice.dunning_level_id, self.levels[15])
        self.assertFalse(self.invoice.dunning_escalate)
        latest = self.reminders(self.customer, state="queued")
        self.assertEqual(latest.level_id, self.levels[15])
        # Escalated once: the next run waits for the next level as usual.
        self.plan_on(TUESDAY + days(5))
        self.assertEqual(self.invoice.dunning_level_id, self.levels[15])

    def test_broken_promise_triggers_the_planner(self):
        cron = self.env.ref("account_dunning.ir_cron_dunning_plan")
        self.promise(date=TUESDAY + days(1))
        triggers = (
            self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id)])
        )
        self.check_on(TUESDAY + days(4))
        new = (
            self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id)])
            - triggers
        )
        self.assertTrue(new)

    def test_broken_promise_escalates_to_the_highest_level_reached(self):
        self.plan_on(TUESDAY)
        self.promise(date=TUESDAY + days(20))  # grace until TUESDAY + 22
        self.check_on(TUESDAY + days(23))
        self.plan_on(TUESDAY + days(23))
        # 33 days late: +30 reached by date, beyond the next level (+15).
        self.assertEqual(self.invoice.dunning_level_id, self.levels[30])

    def test_kept_promise_does_not_escalate(self):
        self.promise(amount=500.0, date=TUESDAY + days(1))
        self.pay_on(TUESDAY + days(1), amount=500.0)
        self.check_on(TUESDAY + days(4))
        self.assertFalse(self.invoice.dunning_escalate)


@tagged("post_install", "-at_install")
class TestPromiseStats(PromiseCommon):
    def test_partner_kept_rate_counts_partial_and_broken_against_it(self):
        second = self.create_invoice(due=TUESDAY - days(5), amount=500.0)
        third = self.create_invoice(due=TUESDAY - days(5), amount=500.0)
        kept = self.promise(date=TUESDAY + days(3))
        broken = self.promise(moves=second, amount=500.0, date=TUESDAY + days(3))
        cancelled = self.promise(moves=third, amount=500.0, date=TUESDAY + days(3))
        cancelled.action_cancel()
        self.pay_on(TUESDAY + days(1))
        self.check_on(TUESDAY + days(6))
        self.assertEqual(kept.state, "kept")
        self.assertEqual(broken.state, "broken")
        self.customer.invalidate_recordset(
            ["dunning_promise_count", "dunning_promise_kept_rate"]
        )
        self.assertEqual(self.customer.dunning_promise_count, 3)
        self.assertEqual(self.customer.dunning_promise_kept_rate, 50.0)

    def test_partner_without_settled_promises_has_no_rate(self):
        self.promise()
        self.assertEqual(self.customer.dunning_promise_count, 1)
        self.assertEqual(self.customer.dunning_promise_kept_rate, 0.0)


@tagged("post_install", "-at_install")
class TestPromiseWizard(PromiseCommon):
    def test_wizard_from_an_invoice_defaults_to_what_is_due(self):
        self.pay_on(TUESDAY - days(1), amount=250.0)
        with freeze_time(noon(TUESDAY)):
            wizard = Form(
                self.env["dunning.promise.create"].with_context(
                    active_model="account.move", active_ids=self.invoice.ids
                )
            )
            self.assertEqual(wizard.partner_id, self.customer)
            self.assertEqual(wizard.amount, 750.0)
            self.assertEqual(wizard.date_promised, TUESDAY + days(7))
            wizard.date_promised = TUESDAY + days(5)
            wizard.channel = "whatsapp"
            wizard.note = "Pays on Friday after the client's transfer."
            action = wizard.save().action_register()
        promise = self.Promise.browse(action["res_id"])
        self.assertEqual(promise.amount, 750.0)
        self.assertEqual(promise.date_promised, TUESDAY + days(5))
        self.assertEqual(promise.channel, "whatsapp")
        self.assertEqual(promise.note, "Pays on Friday after the client's transfer.")

    def test_wizard_from_a_partner_takes_its_open_invoices(self):
        second = self.create_invoice(due=TUESDAY + days(5), amount=200.0)
        self.create_invoice(self.customer_cancun, due=TUESDAY)
        with freeze_time(noon(TUESDAY)):
            wizard = Form(
                self.env["dunning.promise.create"].with_context(
                    default_partner_id=self.customer.id
                )
            )
            self.assertEqual(set(wizard.move_ids.ids), set((self.invoice | second).ids))
            self.assertEqual(wizard.amount, 1200.0)

    def test_wizard_refuses_a_past_date(self):
        with freeze_time(noon(TUESDAY)):
            wizard = Form(
                self.env["dunning.promise.create"].with_context(
                    default_partner_id=self.customer.id,
                    default_move_ids=self.invoice.ids,
                )
            )
            wizard.date_promised = TUESDAY - days(1)
            record = wizard.save()
            with self.assertRaisesRegex(ValidationError, "after today"):
                record.action_register()


@tagged("post_install", "-at_install")
class TestPromiseAccess(PromiseCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.collector = new_test_user(
            cls.env,
            login="promise_collector",
            groups="account_dunning.group_dunning_collector",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.colleague = new_test_user(
            cls.env,
            login="promise_colleague",
            groups="account_dunning.group_dunning_collector",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.manager = new_test_user(
            cls.env,
            login="promise_manager",
            groups="account_dunning.group_dunning_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.company_2 = cls.setup_other_company(name="Acme Guadalajara")["company"]
        cls.outsider = new_test_user(
            cls.env,
            login="promise_outsider",
            groups="account_dunning.group_dunning_manager",
            company_id=cls.company_2.id,
            company_ids=[Command.set(cls.company_2.ids)],
        )

    def collector_promise(self, user=None):
        Promise = self.Promise.with_user(user or self.collector)
        with freeze_time(noon(TUESDAY)):
            return Promise._dunning_register(
                self.customer,
                self.invoice.with_user(user or self.collector),
                400.0,
                TUESDAY + days(4),
                "call",
            )

    def test_collector_registers_a_promise_of_their_own(self):
        promise = self.collector_promise()
        self.assertEqual(promise.user_id, self.collector)
        promise.note = "Called the treasurer."
        self.assertEqual(promise.note, "Called the treasurer.")

    def test_collector_reads_a_colleagues_promise(self):
        promise = self.collector_promise(self.colleague)
        self.assertEqual(promise.with_user(self.collector).amount, 400.0)

    def test_collector_cannot_change_a_colleagues_promise(self):
        promise = self.collector_promise(self.colleague)
        with self.assertRaises(AccessError):
            promise.with_user(self.collector).write({"amount": 100.0})

    def test_collector_cannot_delete_a_promise(self):
        promise = self.collector_promise()
        with self.assertRaises(AccessError):
            promise.unlink()

    def test_manager_changes_any_promise(self):
        promise = self.collector_promise(self.colleague)
        promise.with_user(self.manager).action_cancel()
        self.assertEqual(promise.state, "cancelled")

    def test_other_company_cannot_see_the_promise(self):
        promise = self.collector_promise()
        self.assertFalse(
            self.Promise.with_user(self.outsider).search([("id", "=", promise.id)])
        )
        with self.assertRaises(AccessError):
            promise.with_user(self.outsider).read(["amount"])

    def test_payment_by_an_accountant_settles_a_collectors_promise(self):
        accountant = new_test_user(
            self.env,
            login="promise_accountant",
            groups="account.group_account_invoice",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        promise = self.collector_promise()
        with freeze_time(noon(TUESDAY + days(1))):
            self.env["account.payment.register"].with_user(accountant).with_context(
                active_model="account.move", active_ids=self.invoice.ids
            ).create({})._create_payments()
        self.assertEqual(promise.state, "kept")
