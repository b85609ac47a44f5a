"""What a batch of emails shares is prepared once: the links' tokens minted
together, each invoice's PDF rendered once and kept on the invoice."""

from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import tagged

from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon


@tagged("post_install", "-at_install")
class TestDispatchLinks(DunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.env["res.partner"].union(
            *(cls._create_customer(f"Cliente {number}") for number in range(3))
        )
        cls.invoices = cls.env["account.move"].union(
            *(cls.create_invoice(customer, due=TUESDAY) for customer in cls.customers)
        )

    def plan_and_dispatch(self):
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            self._as_cron()._cron_dispatch()
        return self.reminders().filtered(lambda r: r.partner_id in self.customers)

    def test_invoice_tokens_minted_without_writing_the_invoices(self):
        self.assertFalse(any(self.invoices.mapped("access_token")))
        written = []
        real_write = type(self.invoices).write

        def write(moves, vals):
            if "access_token" in vals:
                written.append(moves)
            return real_write(moves, vals)

        with patch.object(type(self.invoices), "write", write):
            reminders = self.plan_and_dispatch()
        self.assertEqual(len(reminders), 3)
        self.assertFalse(written, "no ORM write on an invoice for its token")
        for invoice in self.invoices:
            self.assertTrue(invoice.access_token)
            mail = self.mails(invoice.partner_id)
            self.assertIn(f"access_token={invoice.access_token}", mail.body_html)

    def test_statement_links_minted_together_one_per_reminder(self):
        reminders = self.plan_and_dispatch()
        links = self.env["dunning.portal.token"].search(
            [("reminder_id", "in", reminders.ids)]
        )
        self.assertEqual(links.reminder_id, reminders)
        self.assertEqual(len(links), 3)
        for reminder in reminders:
            self.assertIn("/cobranza/", self.mails(reminder.partner_id).body_html)

    def test_invoice_pdf_rendered_once_and_kept_on_the_invoice(self):
        self.policy.level_ids.attach_invoice_pdf = True
        report = self.env.registry["ir.actions.report"]
        real_render = report._render_qweb_pdf
        rendered = []

        def render(reports, report_ref, res_ids=None, data=None):
            rendered.extend(res_ids)
            return real_render(reports, report_ref, res_ids=res_ids, data=data)

        with patch.object(report, "_render_qweb_pdf", render):
            reminders = self.plan_and_dispatch()
            self.assertEqual(sorted(rendered), sorted(self.invoices.ids))
            for reminder in reminders:
                invoice = reminder.move_ids
                self.assertEqual(invoice.invoice_pdf_report_id.res_id, invoice.id)
                self.assertEqual(
                    reminder.mail_id.attachment_ids, invoice.invoice_pdf_report_id
                )
                # A later reminder of the same invoice attaches the same PDF.
                attachments, notes = reminder._get_invoice_pdfs()
                self.assertEqual(attachments, invoice.invoice_pdf_report_id)
                self.assertFalse(notes)
        self.assertEqual(len(rendered), 3, "each invoice rendered once")
