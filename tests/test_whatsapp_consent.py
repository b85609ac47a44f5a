from datetime import datetime

from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged

from .test_whatsapp_common import WhatsAppCommon

WORDING = "Acepto recibir recordatorios de mis facturas por WhatsApp."


@tagged("post_install", "-at_install")
class TestWhatsAppConsent(WhatsAppCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.collector = new_test_user(
            cls.env,
            login="collector_consent",
            name="Lucía Cobranza",
            groups="account_dunning.group_dunning_collector",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )
        cls.new_customer = cls._create_customer(
            "Abarrotes Lupita", mobile="+52 55 8765 4321"
        )

    def record(self, partner, source="phone", text=WORDING, user=None):
        wizard_model = self.env["dunning.whatsapp.consent.record"].with_user(
            user or self.collector
        )
        form = Form(
            wizard_model.with_context(active_model="res.partner", active_id=partner.id)
        )
        form.source = source
        form.consent_text = text
        return form.save().action_record()

    def test_collector_records_consent_with_source_and_wording(self):
        self.record(self.new_customer)
        customer = self.new_customer
        self.assertTrue(customer.whatsapp_opt_in)
        self.assertEqual(customer.whatsapp_opt_in_source, "phone")
        self.assertEqual(customer.whatsapp_opt_in_text, WORDING)
        self.assertTrue(customer.whatsapp_opt_in_date)
        note = customer.message_ids.filtered(lambda m: "consent recorded" in m.body)
        self.assertEqual(note.author_id, self.collector.partner_id)
        self.assertIn("Lucía Cobranza", note.body)
        self.assertIn(WORDING, note.body)

    def test_opt_in_after_opt_out_lifts_the_opt_out(self):
        self.wa_customer.write({"whatsapp_opt_out": True})
        self.assertTrue(self.wa_customer.whatsapp_opt_out_date)
        self.record(self.wa_customer, source="contract")
        customer = self.wa_customer
        self.assertFalse(customer.whatsapp_opt_out)
        self.assertFalse(customer.whatsapp_opt_out_date)
        self.assertTrue(customer.whatsapp_opt_in)
        self.assertEqual(customer.whatsapp_opt_in_source, "contract")
        self.assertTrue(
            customer.message_ids.filtered(lambda m: "opt-out is lifted" in m.body)
        )

    def test_opted_in_again_customer_receives_reminders(self):
        self.wa_customer.write({"whatsapp_opt_out": True})
        self.record(self.wa_customer)
        reminder = self.queued_whatsapp()
        reminder.with_user(self.env.ref("base.user_root"))._dispatch(
            datetime(2026, 11, 24, 18, 0)
        )
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(len(self.graph.sends), 1)

    def test_consent_wording_is_mandatory(self):
        wizard = self.env["dunning.whatsapp.consent.record"].create(
            {"partner_id": self.new_customer.id, "source": "phone", "consent_text": " "}
        )
        with self.assertRaisesRegex(UserError, "exact wording"):
            wizard.action_record()
        self.assertFalse(self.new_customer.whatsapp_opt_in)

    def test_consent_on_a_contact_is_recorded_on_its_company(self):
        contact = self.env["res.partner"].create(
            {"name": "Lupita", "parent_id": self.new_customer.id, "type": "contact"}
        )
        self.record(contact)
        self.assertTrue(self.new_customer.whatsapp_opt_in)
