from datetime import datetime, time, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import TUESDAY, DunningCommon


def days(n):
    return timedelta(days=n)


def at(day, hour=18):
    """``hour`` UTC of ``day``: 18:00 UTC is noon in Mexico City."""
    return datetime.combine(day, time(hour))


@tagged("post_install", "-at_install")
class TestPaymentPlan(DunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Plan = cls.env["dunning.payment.plan"]
        cls.policy.write({"promise_grace_days": 2, "plan_reminder_days": 3})
        cls.invoice = cls.create_invoice(due=TUESDAY - days(10), amount=3000.0)
        cls.schedule = [
            # Thursday 3 December: reminded on Monday 30 November.
            (TUESDAY + days(9), 1000.0),
            (TUESDAY + days(37), 1000.0),
            (TUESDAY + days(67), 1000.0),
        ]

    def agree(self, schedule=None, moves=None, **kw):
        """Agree a plan on Tuesday, inside the contact hours; the outbox sends
        its agreement then."""
        moves = moves or self.invoice
        with freeze_time(at(TUESDAY)):
            plan = self.Plan._dunning_create(
                self.customer, moves, schedule or self.schedule, **kw
            )
            self.dispatch()
        return plan

    def check_on(self, day, hour=18):
        """The promises' check, then the outbox, at ``hour`` UTC of ``day``."""
        cron = self.env.ref("account_dunning.ir_cron_promise_check").sudo()
        with freeze_time(at(day, hour)):
            cron.method_direct_trigger()
            self.dispatch()

    def pay_on(self, day, amount):
        with freeze_time(at(day)):
            self.register_payment(self.invoice, amount)

    def test_each_instalment_is_a_promise_of_the_plan(self):
        plan = self.agree()
        instalments = plan._get_instalments()
        self.assertEqual(len(instalments), 3)
        self.assertEqual(instalments.mapped("source"), ["plan"] * 3)
        self.assertEqual(instalments.mapped("amount"), [1000.0] * 3)
        self.assertEqual(
            instalments.mapped("date_promised"), [d for d, _a in self.schedule]
        )
        self.assertEqual(instalments.move_ids, self.invoice)
        self.assertEqual(plan.amount_total, 3000.0)
        self.assertEqual(plan.date_end, TUESDAY + days(67))
        self.assertEqual(plan.state, "open")

    def test_instalments_may_go_beyond_the_longest_promise(self):
        self.policy.promise_max_days = 30
        self.assertEqual(self.agree().instalment_count, 3)

    def test_plan_pauses_reminders_until_the_last_instalment(self):
        self.agree()
        self.pay_on(TUESDAY + days(6), 1000.0)
        self.check_on(TUESDAY + days(6))
        self.plan_on(TUESDAY + days(45))
        self.assertFalse(self.reminders(self.customer))

    def test_second_instalment_missed_breaks_the_plan(self):
        plan = self.agree()
        first, second, third = plan._get_instalments()
        self.pay_on(TUESDAY + days(6), 1000.0)
        self.check_on(TUESDAY + days(6))
        self.assertEqual(first.state, "kept")
        self.assertEqual(first.amount_paid, 1000.0)
        # The first payment is the first instalment's only.
        self.assertEqual(second.amount_paid, 0.0)
        self.check_on(TUESDAY + days(39))  # second's grace day
        self.assertEqual(second.state, "open")
        self.check_on(TUESDAY + days(40))
        self.assertEqual(second.state, "broken")
        self.assertEqual(third.state, "cancelled")
        self.assertEqual(plan.state, "broken")
        self.assertEqual(second.activity_ids.summary, "Promise broken")
        # The invoice is back in the flow and escalates at once.
        self.assertTrue(self.invoice.dunning_escalate)
        self.plan_on(TUESDAY + days(40))
        self.assertEqual(self.invoice.dunning_level_id, self.levels[30])
        self.assertTrue(self.reminders(self.customer, state="queued"))

    def test_payments_go_to_the_instalments_in_date_order(self):
        plan = self.agree()
        first, second, third = plan._get_instalments()
        self.pay_on(TUESDAY + days(6), 1500.0)
        self.check_on(TUESDAY + days(6))
        self.assertEqual(first.state, "kept")
        self.assertEqual(second.amount_paid, 500.0)
        self.assertEqual(third.amount_paid, 0.0)
        self.assertEqual(plan.amount_paid, 1500.0)

    def test_all_instalments_paid_completes_the_plan(self):
        plan = self.agree()
        self.pay_on(TUESDAY + days(6), 1000.0)
        self.check_on(TUESDAY + days(6))
        self.pay_on(TUESDAY + days(36), 1000.0)
        self.check_on(TUESDAY + days(36))
        self.assertEqual(plan.state, "open")
        self.pay_on(TUESDAY + days(66), 1000.0)
        self.assertEqual(plan.promise_ids.mapped("state"), ["kept"] * 3)
        self.assertEqual(plan.state, "done")

    def test_checking_a_broken_plan_twice_changes_nothing(self):
        plan = self.agree()
        self.check_on(TUESDAY + days(12))
        states = plan.promise_ids.mapped("state")
        activities = plan.promise_ids.activity_ids
        self.check_on(TUESDAY + days(13))
        self.assertEqual(plan.promise_ids.mapped("state"), states)
        self.assertEqual(plan.promise_ids.activity_ids, activities)
        self.assertEqual(plan.state, "broken")

    def test_agreement_is_emailed_with_the_pdf(self):
        plan = self.agree()
        mail = self.mails(self.customer).filtered(
            lambda m: m.model == "dunning.payment.plan"
        )
        self.assertEqual(len(mail), 1)
        self.assertEqual(len(mail.attachment_ids), 1)
        self.assertIn("Payment plan", mail.attachment_ids.name)
        self.assertIn("1,000.00", mail.body_html)
        self.assertTrue(plan.agreement_sent_at)
        # No separate confirmation per instalment: the agreement covers them.
        self.assertFalse(
            self.mails(self.customer).filtered(lambda m: m.model == "dunning.promise")
        )

    def test_agreement_pdf_renders(self):
        plan = self.agree(confirm=False)
        content, _type = self.env["ir.actions.report"]._render_qweb_html(
            "account_dunning.dunning_payment_plan_report", plan.ids
        )
        self.assertIn(b"Payment Plan Agreement", content)
        self.assertIn(self.invoice.name.encode(), content)

    def test_instalment_reminder_goes_three_days_before(self):
        plan = self.agree(confirm=False)
        first = plan._get_instalments()[0]
        self.check_on(TUESDAY + days(5))
        self.assertFalse(first.reminder_sent_at)
        self.check_on(TUESDAY + days(6))
        self.assertTrue(first.reminder_sent_at)
        mails = self.mails(self.customer)
        self.assertEqual(len(mails), 1)
        self.assertIn("instalment", mails.subject)
        # Once only.
        self.check_on(TUESDAY + days(7))
        self.assertEqual(len(self.mails(self.customer)), 1)

    def test_instalment_reminder_waits_for_the_contact_window(self):
        plan = self.agree(confirm=False)
        first = plan._get_instalments()[0]
        # 12:00 UTC is 06:00 in Mexico City: too early.
        self.check_on(TUESDAY + days(6), hour=12)
        row = self.reminders(self.customer, kind="instalment_reminder")
        self.assertEqual(row.state, "deferred")
        self.assertEqual(row.scheduled_at, at(TUESDAY + days(6), 14))
        self.assertFalse(self.mails(self.customer))
        self.check_on(TUESDAY + days(6), hour=18)
        self.assertEqual(row.state, "sent")
        self.assertEqual(row.promise_id, first)
        self.assertTrue(first.reminder_sent_at)
        self.assertEqual(len(self.mails(self.customer)), 1)

    def test_cancelling_the_plan_cancels_its_instalments(self):
        plan = self.agree()
        plan.action_cancel()
        self.assertEqual(plan.state, "cancelled")
        self.assertEqual(plan.promise_ids.mapped("state"), ["cancelled"] * 3)
        self.plan_on(TUESDAY + days(1))
        self.assertEqual(self.invoice.dunning_level_id, self.levels[7])

    def test_instalments_must_add_up_to_the_debt(self):
        with self.assertRaisesRegex(ValidationError, "must add up to the debt"):
            self.agree([(TUESDAY + days(9), 1000.0), (TUESDAY + days(37), 1500.0)])
        self.assertFalse(self.Plan.search([]))

    def test_a_single_instalment_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "at least two"):
            self.agree([(TUESDAY + days(7), 3000.0)])

    def test_two_instalments_on_one_day_are_refused(self):
        with self.assertRaisesRegex(ValidationError, "same day"):
            self.agree([(TUESDAY + days(7), 1500.0), (TUESDAY + days(7), 1500.0)])

    def test_instalment_in_the_past_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "after today"):
            self.agree([(TUESDAY - days(1), 1500.0), (TUESDAY + days(7), 1500.0)])
        self.assertFalse(self.Plan.search([]))
        self.assertFalse(self.env["dunning.promise"].search([]))

    def test_invoice_under_an_open_promise_is_refused(self):
        with freeze_time(at(TUESDAY)):
            self.env["dunning.promise"]._dunning_register(
                self.customer, self.invoice, 500.0, TUESDAY + days(3), "manual"
            )
        with self.assertRaisesRegex(ValidationError, "already have an open"):
            self.agree()

    def test_wizard_splits_the_overdue_debt_evenly(self):
        self.create_invoice(due=TUESDAY + days(20), amount=999.0)  # not overdue
        self.create_invoice(due=TUESDAY - days(2), amount=1.0)
        with freeze_time(at(TUESDAY)):
            form = Form(
                self.env["dunning.payment.plan.create"].with_context(
                    default_partner_id=self.customer.id
                )
            )
            self.assertEqual(form.amount_total, 3001.0)
            form.interval_days = 14
            wizard = form.save()
            self.assertEqual(
                wizard.line_ids.mapped("amount"), [1000.33, 1000.33, 1000.34]
            )
            self.assertEqual(
                wizard.line_ids.mapped("date"),
                [TUESDAY + days(7), TUESDAY + days(21), TUESDAY + days(35)],
            )
            line = wizard.line_ids[2]
            line.write({"amount": 500.34})
            wizard.line_ids[1].write({"amount": 1500.33})
            action = wizard.action_create()
        plan = self.Plan.browse(action["res_id"])
        self.assertEqual(
            plan._get_instalments().mapped("amount"), [1000.33, 1500.33, 500.34]
        )

    def test_collector_agrees_a_plan_and_cannot_cancel_a_colleagues(self):
        collector = new_test_user(
            self.env,
            login="plan_collector",
            groups="account_dunning.group_dunning_collector",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        colleague = new_test_user(
            self.env,
            login="plan_colleague",
            groups="account_dunning.group_dunning_collector",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        with freeze_time(at(TUESDAY)):
            plan = self.Plan.with_user(collector)._dunning_create(
                self.customer, self.invoice.with_user(collector), self.schedule
            )
        self.assertEqual(plan.user_id, collector)
        self.assertEqual(plan.promise_ids.user_id, collector)
        with self.assertRaises(AccessError):
            plan.with_user(colleague).action_cancel()
