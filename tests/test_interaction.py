from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .collect_common import CollectCommon
from .common import TUESDAY


@tagged("post_install", "-at_install")
class TestIdentityGuard(CollectCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls.create_invoice(due=TUESDAY - timedelta(days=10))

    def test_no_amount_before_the_identity_is_confirmed(self):
        form = self.log_form()
        self.assertEqual(form.amount_due, 0.0)
        self.assertEqual(form.amount_overdue, 0.0)
        self.assertFalse(form.due_move_ids)
        form.identity_confirmed = True
        self.assertEqual(form.amount_due, 1000.0)
        self.assertEqual(form.due_move_ids.ids, self.invoice.ids)

    def test_outcomes_about_the_debt_are_offered_only_after_confirmation(self):
        form = self.log_form()
        offered = form.allowed_outcome_ids
        self.assertNotIn(self.outcomes["promise"], offered)
        self.assertNotIn(self.outcomes["dispute"], offered)
        self.assertIn(self.outcomes["no_answer"], offered)
        self.assertIn(self.outcomes["call_back"], offered)
        form.identity_confirmed = True
        self.assertIn(self.outcomes["promise"], form.allowed_outcome_ids)

    def test_a_promise_cannot_be_saved_without_identity(self):
        wizard = (
            self.env["dunning.interaction.log"]
            .with_user(self.collector)
            .create(
                {
                    "partner_id": self.customer.id,
                    "outcome_id": self.outcomes["promise"].id,
                }
            )
        )
        with self.assertRaisesRegex(UserError, "Confirm that you are speaking"):
            wizard.action_log()
        self.assertFalse(self.env["dunning.interaction"].search([]))

    def test_the_log_itself_refuses_a_debt_outcome_without_identity(self):
        with self.assertRaises(ValidationError):
            self.env["dunning.interaction"].create(
                {
                    "partner_id": self.customer.id,
                    "outcome_id": self.outcomes["refused"].id,
                }
            )

    def test_someone_else_answered_logs_without_disclosure(self):
        form = self.log_form()
        form.third_party = True
        self.assertEqual(form.amount_due, 0.0)
        self.assertNotIn(self.outcomes["promise"], form.allowed_outcome_ids)
        form.outcome_id = self.outcomes["call_back"]
        form.callback_at = fields.Datetime.now() + timedelta(hours=3)
        form.save().action_log()
        interaction = self.env["dunning.interaction"].search([])
        self.assertTrue(interaction.third_party)
        self.assertFalse(interaction.identity_confirmed)
        self.assertFalse(interaction.counts_as_contact)
        body = self.customer.message_ids[:1].body
        self.assertIn("Call back later", body)
        self.assertNotIn("1,000", body)
        self.assertNotIn("1000", body)

    def test_third_party_cannot_log_a_debt_outcome(self):
        wizard = (
            self.env["dunning.interaction.log"]
            .with_user(self.collector)
            .create(
                {
                    "partner_id": self.customer.id,
                    "identity_confirmed": True,
                    "third_party": True,
                    "outcome_id": self.outcomes["already_paid"].id,
                }
            )
        )
        with self.assertRaises(UserError):
            wizard.action_log()

    def test_script_names_the_collector_the_company_and_the_contact(self):
        form = self.log_form()
        self.assertIn("Lucía Cobranza", form.script)
        self.assertIn(self.company.name, form.script)
        self.assertIn(self.customer.name, form.script)
        self.assertIn("Confirm the identity", form.script)

    def test_log_from_an_invoice_takes_its_customer_and_the_invoice(self):
        form = self.log_form(moves=self.invoice)
        self.assertEqual(form.partner_id, self.customer)
        self.assertEqual(form.move_ids.ids, self.invoice.ids)

    def test_contact_is_logged_in_the_customer_chatter(self):
        interaction, _action = self.log("refused", note="Dice que no tiene dinero")
        self.assertEqual(interaction.user_id, self.collector)
        self.assertEqual(interaction.channel, "call")
        self.assertTrue(interaction.identity_confirmed)
        self.assertIn("Dice que no tiene dinero", self.customer.message_ids[:1].body)

    def test_contact_window_warning_outside_the_customers_hours(self):
        # 03:00 UTC is 21:00 in Mexico City: outside the 08:00-20:00 window.
        with freeze_time(datetime(2026, 11, 25, 3, 0)):
            form = self.log_form()
            self.assertIn("Outside the customer's contact hours", form.window_warning)
        with freeze_time(datetime(2026, 11, 24, 18, 0)):
            form = self.log_form()
            self.assertFalse(form.window_warning)


@tagged("post_install", "-at_install")
class TestOutcomeSteps(CollectCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls.create_invoice(due=TUESDAY - timedelta(days=10))

    def test_no_answer_only_logs(self):
        activities = self.customer.activity_ids
        interaction, action = self.log("no_answer", identity=False)
        self.assertEqual(interaction.outcome_id, self.outcomes["no_answer"])
        self.assertFalse(interaction.counts_as_contact)
        self.assertEqual(action["type"], "ir.actions.act_window_close")
        self.assertEqual(self.customer.activity_ids, activities)

    def test_invoice_not_received_resends_it_and_restarts_its_level(self):
        self.plan_on(TUESDAY)
        self.assertEqual(self.invoice.dunning_level_id, self.levels[7])
        with freeze_time(datetime(2026, 11, 24, 18, 0)):
            self.log("not_received", moves=self.invoice)
        # Sent by Odoo's own invoice email, with the invoice template.
        message = self.invoice.message_ids.filtered(
            lambda m: m.message_type == "comment" and self.invoice.name in m.subject
        )
        self.assertTrue(message)
        self.assertIn(self.customer, message.partner_ids.commercial_partner_id)
        # The ladder restarts: the resend stands for the "due" reminder.
        self.assertEqual(self.invoice.dunning_level_id, self.levels[0])
        self.assertEqual(self.invoice.dunning_restart_date, TUESDAY)
        # The friendly level is reached tomorrow, but the customer was reminded
        # today: "Next Reminder" says the day it will really go.
        with freeze_time(datetime(2026, 11, 24, 18, 0)):
            self.invoice._dunning_refresh_next_date()
        self.assertEqual(self.invoice.dunning_next_date, TUESDAY + timedelta(days=3))
        self.plan_on(TUESDAY + timedelta(days=1))
        # Not earlier than the policy's 3 days after the last reminder ...
        self.assertEqual(self.invoice.dunning_level_id, self.levels[0])
        self.plan_on(TUESDAY + timedelta(days=3))
        # ... then the friendly reminder, not straight back to the firm one.
        self.assertEqual(self.invoice.dunning_level_id, self.levels[1])

    def test_invoice_not_received_needs_the_invoice(self):
        with self.assertRaisesRegex(UserError, "did not receive"):
            self.log("not_received")
        self.assertFalse(self.env["dunning.interaction"].search([]))

    def test_dispute_takes_the_invoice_out_and_tells_the_manager(self):
        interaction, _action = self.log(
            "dispute",
            moves=self.invoice,
            note="Mercancía dañada",
            dispute_reason="other",
        )
        dispute = self.invoice.dunning_dispute_id
        self.assertEqual(dispute.source, "call")
        self.assertEqual(dispute.comment, "Mercancía dañada")
        activity = interaction.activity_id
        self.assertTrue(
            activity.user_id.has_group("account_dunning.group_dunning_manager")
        )
        self.assertIn(self.invoice.name, activity.summary)
        self.assertEqual(activity.res_id, self.customer.id)

    def test_wrong_number_marks_the_phone_and_whatsapp_invalid(self):
        self.assertEqual(self.customer.whatsapp_number, "+525512345678")
        self.assertFalse(self.customer.whatsapp_number_invalid)
        self.log("wrong_number", identity=False)
        self.assertTrue(self.customer.dunning_phone_invalid)
        self.assertEqual(self.customer.dunning_phone_invalid_number, "+525512345678")
        # WhatsApp uses the same number: it would reach the same stranger.
        self.assertTrue(self.customer.whatsapp_number_invalid)
        self.assertIn("reported the number", self.customer.message_ids[:1].body)

    def test_a_new_number_clears_the_wrong_number_flag(self):
        self.log("wrong_number", identity=False)
        self.customer.mobile = "+52 55 8765 4321"
        self.assertFalse(self.customer.dunning_phone_invalid)
        self.assertFalse(self.customer.whatsapp_number_invalid)

    def test_already_paid_asks_an_accountant_to_reconcile(self):
        interaction, _action = self.log("already_paid", moves=self.invoice)
        activity = interaction.activity_id
        self.assertTrue(activity.user_id.has_group("account.group_account_manager"))
        self.assertNotEqual(activity.user_id, self.collector)
        self.assertIn("reconcile", activity.summary)
        self.assertIn(self.invoice.name, activity.summary)

    def test_call_back_schedules_a_call_for_the_collector(self):
        # 16:30 in Mexico City on Thursday.
        when = datetime(2026, 11, 26, 22, 30)
        interaction, _action = self.log("call_back", identity=False, callback_at=when)
        activity = interaction.activity_id
        self.assertEqual(activity.user_id, self.collector)
        self.assertEqual(
            activity.activity_type_id, self.env.ref("mail.mail_activity_data_call")
        )
        self.assertEqual(str(activity.date_deadline), "2026-11-26")
        self.assertIn("16:30", activity.summary)

    def test_call_back_needs_a_time(self):
        wizard = (
            self.env["dunning.interaction.log"]
            .with_user(self.collector)
            .create(
                {
                    "partner_id": self.customer.id,
                    "outcome_id": self.outcomes["call_back"].id,
                }
            )
        )
        with self.assertRaisesRegex(UserError, "when to call"):
            wizard.action_log()

    def test_waiting_for_approval_also_schedules_the_call_back(self):
        when = datetime(2026, 11, 30, 17, 0)
        interaction, _action = self.log("waiting_approval", callback_at=when)
        self.assertTrue(interaction.counts_as_contact)
        self.assertEqual(interaction.activity_id.user_id, self.collector)
