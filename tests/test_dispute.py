from datetime import timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon


def days(n):
    return timedelta(days=n)


@tagged("post_install", "-at_install")
class TestDispute(DunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Dispute = cls.env["dunning.dispute"]
        cls.collector = new_test_user(
            cls.env,
            login="dispute_collector",
            groups="account_dunning.group_dunning_collector",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.customer.with_company(cls.company).dunning_collector_id = cls.collector
        cls.invoice = cls.create_invoice(due=TUESDAY - days(10), amount=1000.0)

    def test_disputed_invoice_leaves_the_reminder_flow(self):
        dispute = self.Dispute._dunning_open(self.invoice, "wrong_amount", "Billed 10")
        self.assertEqual(dispute.state, "open")
        self.assertEqual(dispute.partner_id, self.customer)
        self.assertEqual(self.invoice.dunning_dispute_id, dispute)
        self.plan_on(TUESDAY)
        self.assertFalse(self.reminders(self.customer))
        self.assertFalse(self.invoice.dunning_level_id)

    def test_opening_a_dispute_cancels_the_queued_reminder(self):
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.Dispute._dunning_open(self.invoice, "not_received")
        self.assertEqual(reminder.state, "cancelled")
        self.assertIn("dispute", reminder.error_message)

    def test_dispatch_cancels_a_reminder_whose_invoices_are_all_disputed(self):
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        # An invoice not due yet keeps the statement from being empty.
        self.create_invoice(due=TUESDAY + days(20))
        # Flagged directly, as an import would: dispatch still holds it.
        dispute = self.Dispute._dunning_open(self.create_invoice(due=TUESDAY), "other")
        self.invoice.dunning_dispute_id = dispute
        with freeze_time(TUESDAY_NOON_MX):
            self.dispatch()
        self.assertEqual(reminder.state, "cancelled")
        self.assertIn("disputes", reminder.error_message)

    def test_disputed_invoice_is_left_out_of_other_reminders(self):
        other = self.create_invoice(due=TUESDAY - days(1), amount=300.0)
        self.Dispute._dunning_open(self.invoice, "goods_issue")
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.move_ids, other)
        self.assertEqual(reminder.amount_due, 300.0)

    def test_collector_gets_an_activity(self):
        dispute = self.Dispute._dunning_open(self.invoice, "already_paid", "Paid 3/11")
        self.assertEqual(dispute.activity_ids.user_id, self.collector)
        self.assertIn("Paid 3/11", dispute.activity_ids.note)

    def test_managers_get_the_activity_when_the_customer_has_no_collector(self):
        manager = new_test_user(
            self.env,
            login="dispute_manager",
            groups="account_dunning.group_dunning_manager",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        self.customer_cancun.user_id = False
        invoice = self.create_invoice(self.customer_cancun)
        # Opened from the customer page: no internal user behind it.
        public = self.env.ref("base.public_user")
        dispute = (
            self.Dispute.with_user(public)
            .sudo()
            ._dunning_open(invoice, "not_received", source="portal")
        )
        self.assertIn(manager, dispute.activity_ids.user_id)
        self.assertEqual(dispute.source, "portal")

    def test_resolving_brings_the_invoice_back(self):
        dispute = self.Dispute._dunning_open(self.invoice, "wrong_amount")
        self.plan_on(TUESDAY)
        self.assertFalse(self.invoice.dunning_level_id)
        dispute.action_resolve()
        self.assertEqual(dispute.state, "resolved")
        self.assertFalse(self.invoice.dunning_dispute_id)
        self.assertFalse(dispute.activity_ids)
        self.plan_on(TUESDAY + days(1))
        self.assertEqual(self.invoice.dunning_level_id, self.levels[7])

    def test_rejecting_brings_the_invoice_back(self):
        dispute = self.Dispute._dunning_open(self.invoice, "other")
        dispute.action_reject()
        self.assertEqual(dispute.state, "rejected")
        self.plan_on(TUESDAY)
        self.assertEqual(self.invoice.dunning_level_id, self.levels[7])

    def test_attachments_are_kept(self):
        attachment = self.env["ir.attachment"].create(
            {"name": "photo.jpg", "raw": b"\xff\xd8\xff", "mimetype": "image/jpeg"}
        )
        dispute = self.Dispute._dunning_open(
            self.invoice, "goods_issue", attachments=attachment
        )
        self.assertEqual(dispute.attachment_ids, attachment)

    def test_unknown_reason_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "Unknown dispute reason"):
            self.Dispute._dunning_open(self.invoice, "no_money")

    def test_paid_invoice_cannot_be_disputed(self):
        self.register_payment(self.invoice)
        with self.assertRaisesRegex(ValidationError, "Only open customer invoices"):
            self.Dispute._dunning_open(self.invoice, "other")

    def test_invoice_already_disputed_is_refused(self):
        self.Dispute._dunning_open(self.invoice, "other")
        with self.assertRaisesRegex(ValidationError, "already disputed"):
            self.Dispute._dunning_open(self.invoice, "wrong_amount")

    def test_invoices_of_two_customers_are_refused(self):
        other = self.create_invoice(self.customer_cancun)
        with self.assertRaisesRegex(ValidationError, "one customer"):
            self.Dispute._dunning_open(self.invoice | other, "other")

    def test_collector_opens_a_dispute_from_the_invoice(self):
        action = self.invoice.with_user(self.collector).action_dunning_dispute()
        form = Form(
            self.Dispute.with_user(self.collector).with_context(**action["context"])
        )
        form.reason = "not_received"
        form.comment = "Never got the PDF."
        dispute = form.save()
        self.assertEqual(dispute.move_ids, self.invoice)
        self.assertEqual(dispute.user_id, self.collector)
        self.assertEqual(self.invoice.dunning_dispute_id, dispute)

    def test_collector_cannot_resolve_a_colleagues_dispute(self):
        colleague = new_test_user(
            self.env,
            login="dispute_colleague",
            groups="account_dunning.group_dunning_collector",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        dispute = self.Dispute.with_user(colleague)._dunning_open(
            self.invoice.with_user(colleague), "other"
        )
        self.assertEqual(dispute.with_user(self.collector).reason, "other")
        with self.assertRaises(AccessError):
            dispute.with_user(self.collector).action_resolve()

    def test_other_company_cannot_see_the_dispute(self):
        company_2 = self.setup_other_company(name="Acme Puebla")["company"]
        outsider = new_test_user(
            self.env,
            login="dispute_outsider",
            groups="account_dunning.group_dunning_manager",
            company_id=company_2.id,
            company_ids=[Command.set(company_2.ids)],
        )
        dispute = self.Dispute._dunning_open(self.invoice, "other")
        self.assertFalse(
            self.Dispute.with_user(outsider).search([("id", "=", dispute.id)])
        )
