from datetime import datetime

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import TUESDAY
from .test_whatsapp_common import WhatsAppCommon

# Tuesday noon in Mexico City: inside every Mexican customer's contact window.
NOW = datetime(2026, 11, 24, 18, 0)


@tagged("post_install", "-at_install")
class TestWhatsAppAutomation(WhatsAppCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.notice = cls.env["dunning.whatsapp.template"].create(
            {
                "name": "aviso_cobranza",
                "language": "es_MX",
                "account_id": cls.account.id,
                "body_text": "{{1}}: tiene facturas pendientes ({{2}}).",
                "param_ids": [
                    Command.create({"sequence": 1, "source": "partner_name"}),
                    Command.create({"sequence": 2, "source": "invoice_numbers"}),
                ],
            }
        )
        cls.no_consent = cls._create_customer(
            "Abarrotes Lupita", mobile="+52 55 8765 4321"
        )

    def server_action(self, model="res.partner", template=None):
        return self.env["ir.actions.server"].create(
            {
                "name": "Aviso por WhatsApp",
                "model_id": self.env["ir.model"]._get_id(model),
                "state": "dunning_whatsapp",
                "dunning_whatsapp_template_id": (template or self.notice).id,
            }
        )

    def run_action(self, action, records):
        return action.with_context(
            active_model=records._name, active_ids=records.ids
        ).run()

    def whatsapp_reminders(self, partner):
        return self.env["dunning.reminder"].search(
            [("partner_id", "=", partner.id), ("channel", "=", "whatsapp")]
        )

    def send(self, reminders):
        reminders.with_user(self.env.ref("base.user_root"))._dispatch(NOW)

    def test_on_a_customer_queues_then_sends_the_actions_template(self):
        first = self.create_invoice(self.wa_customer, due=TUESDAY)
        second = self.create_invoice(self.wa_customer, due=TUESDAY, amount=500)
        result = self.run_action(self.server_action(), self.wa_customer)
        self.assertIn("1 WhatsApp reminder(s) queued", result["params"]["message"])
        reminder = self.whatsapp_reminders(self.wa_customer)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.state, "queued")
        self.assertEqual(reminder.origin, "automation")
        self.assertEqual(reminder.whatsapp_template_id, self.notice)
        self.assertEqual(reminder.move_ids, first | second)
        self.assertFalse(self.graph.sends, "an automation rule never sends itself")
        self.send(reminder)
        self.assertEqual(reminder.state, "sent")
        [request] = self.graph.sends
        template = request["json"]["template"]
        self.assertEqual(template["name"], "aviso_cobranza")
        self.assertEqual(
            template["components"][0]["parameters"][1]["text"],
            f"{first.name}, {second.name}",
        )
        self.assertEqual(reminder.whatsapp_message_ids.template_id, self.notice)

    def test_on_invoices_one_reminder_per_customer(self):
        first = self.create_invoice(self.wa_customer, due=TUESDAY)
        second = self.create_invoice(self.wa_customer, due=TUESDAY)
        self.create_invoice(self.wa_customer, due=TUESDAY)  # not selected
        action = self.server_action("account.move")
        self.run_action(action, first | second)
        reminder = self.whatsapp_reminders(self.wa_customer)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.move_ids, first | second)
        self.send(reminder)
        self.assertEqual(len(self.graph.sends), 1)
        self.assertEqual(
            self.graph.sends[0]["json"]["template"]["name"], "aviso_cobranza"
        )

    def test_customer_without_consent_gets_nothing_and_a_reason(self):
        self.create_invoice(self.no_consent, due=TUESDAY)
        result = self.run_action(self.server_action(), self.no_consent)
        self.assertFalse(self.whatsapp_reminders(self.no_consent))
        self.assertEqual(result["params"]["type"], "warning")
        self.assertIn("did not agree", result["params"]["message"])
        note = self.no_consent.message_ids[0]
        self.assertIn("Aviso por WhatsApp: no WhatsApp message sent", note.body)
        self.assertIn("did not agree to receive WhatsApp messages", note.body)
        self.dispatch()
        self.assertFalse(self.graph.sends)

    def test_opted_out_customer_gets_nothing(self):
        self.create_invoice(self.wa_customer, due=TUESDAY)
        self.wa_customer.whatsapp_opt_out = True
        self.run_action(self.server_action(), self.wa_customer)
        self.assertFalse(self.whatsapp_reminders(self.wa_customer))
        self.assertIn("opted out", self.wa_customer.message_ids[0].body)

    def test_consent_withdrawn_after_queueing_is_still_honoured(self):
        self.create_invoice(self.wa_customer, due=TUESDAY)
        self.run_action(self.server_action(), self.wa_customer)
        reminder = self.whatsapp_reminders(self.wa_customer)
        self.wa_customer.whatsapp_opt_in = False
        self.send(reminder)
        self.assertNotIn(reminder.state, ("sent", "queued"))
        self.assertIn("did not agree", reminder.error_message)
        self.assertFalse(self.graph.sends)

    def test_rule_firing_twice_queues_once(self):
        self.create_invoice(self.wa_customer, due=TUESDAY)
        action = self.server_action()
        self.run_action(action, self.wa_customer)
        self.run_action(action, self.wa_customer)
        self.assertEqual(len(self.whatsapp_reminders(self.wa_customer)), 1)

    def test_nothing_to_collect_queues_nothing(self):
        self.run_action(self.server_action(), self.wa_customer)
        self.assertFalse(self.whatsapp_reminders(self.wa_customer))

    def test_only_customers_and_invoices(self):
        with self.assertRaisesRegex(ValidationError, "customers or invoices"):
            self.env["ir.actions.server"].create(
                {
                    "name": "Aviso",
                    "model_id": self.env["ir.model"]._get_id("res.users"),
                    "state": "dunning_whatsapp",
                    "dunning_whatsapp_template_id": self.notice.id,
                }
            )

    def test_template_not_approved_is_refused(self):
        self.create_invoice(self.wa_customer, due=TUESDAY)
        self.notice.status = "paused"
        result = self.run_action(self.server_action(), self.wa_customer)
        self.assertFalse(self.whatsapp_reminders(self.wa_customer))
        self.assertIn("cannot be sent", result["params"]["message"])
