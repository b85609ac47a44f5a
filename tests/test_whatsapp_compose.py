from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged

from ..models import dunning_whatsapp_account
from ..services.whatsapp.webhook import parse_webhook
from .common import TUESDAY
from .test_whatsapp_common import WhatsAppCommon, status_value, webhook_body


@tagged("post_install", "-at_install")
class TestWhatsAppCompose(WhatsAppCommon):
    """A collector writes to a customer on WhatsApp from the contact or the invoice."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.collector = new_test_user(
            cls.env,
            login="wa_chat_collector",
            groups="account_dunning.group_dunning_collector",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        # Any hour of any day: these tests are about the 24-hour window, not
        # about the contact hours (one test narrows them again).
        cls.wa_policy.write(
            {
                "contact_hour_from": 0.0,
                "contact_hour_to": 24.0,
                "contact_weekdays": [
                    Command.set(cls.env["dunning.weekday"].search([]).ids)
                ],
                "skip_holidays": False,
            }
        )
        cls.invoice = cls.create_invoice(cls.wa_customer, due=TUESDAY)

    def wrote_hours_ago(self, hours, partner=None):
        partner = partner or self.wa_customer
        partner.whatsapp_last_inbound_at = fields.Datetime.now() - timedelta(
            hours=hours
        )

    def compose(self, record=None):
        record = record or self.wa_customer
        return Form(
            self.env["dunning.whatsapp.compose"]
            .with_user(self.collector)
            .with_context(active_model=record._name, active_id=record.id)
        )

    def messages(self):
        return self.env["dunning.whatsapp.message"].sudo().search([])

    def test_free_text_inside_the_window_sends_the_exact_text(self):
        self.wrote_hours_ago(2)
        form = self.compose()
        self.assertTrue(form.window_open)
        self.assertEqual(form.mode, "text")
        form.body = "Hola María, le comparto la cuenta CLABE: 012180001234567891 😊"
        action = form.save().action_send()
        self.assertEqual(action["params"]["type"], "success")
        self.assertFalse(self.graph.sends, "never from the collector's request")
        self.dispatch()
        message = self.messages()
        self.assertEqual(len(self.graph.sends), 1)
        self.assertEqual(
            self.graph.sends[0]["json"],
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "525512345678",
                "type": "text",
                "text": {
                    "body": "Hola María, le comparto la cuenta CLABE: "
                    "012180001234567891 😊"
                },
                "biz_opaque_callback_data": message.reminder_id.uuid,
            },
        )
        self.assertEqual(message.reminder_id.kind, "chat")
        self.assertEqual(message.reminder_id.author_id, self.collector)
        self.assertRecordValues(
            message,
            [
                {
                    "direction": "out",
                    "state": "sent",
                    "partner_id": self.wa_customer.id,
                    "user_id": self.collector.id,
                    "wa_id": "5215512345678",
                }
            ],
        )
        self.assertTrue(message.wamid.startswith("wamid.OK"))
        chatter = " ".join(self.wa_customer.message_ids.mapped("body"))
        self.assertIn("CLABE", chatter)
        self.assertIn("Sent", chatter)

    def test_free_text_outside_the_window_refused(self):
        self.wrote_hours_ago(25)
        form = self.compose()
        self.assertFalse(form.window_open)
        self.assertEqual(form.mode, "template")
        # The form offers no free text then; a stale or forged request still
        # meets the server's check.
        wizard = (
            self.env["dunning.whatsapp.compose"]
            .with_user(self.collector)
            .create(
                {
                    "partner_id": self.wa_customer.id,
                    "mode": "text",
                    "body": "¿Podría pagar hoy?",
                }
            )
        )
        with self.assertRaisesRegex(UserError, "24 hours"):
            wizard.action_send()
        self.assertFalse(self.graph.sends)
        self.assertFalse(self.messages())

    def test_template_allowed_outside_the_window_from_the_invoice(self):
        form = self.compose(self.invoice)
        self.assertEqual(form.mode, "template")
        form.template_id = self.template
        self.assertIn("María Peña", form.preview)
        action = form.save().action_send()
        self.assertEqual(action["params"]["type"], "success")
        self.dispatch()
        self.assertEqual(len(self.graph.sends), 1)
        payload = self.graph.sends[0]["json"]
        self.assertEqual(payload["type"], "template")
        self.assertEqual(payload["template"]["name"], "recordatorio_pago_v1")
        body, button = payload["template"]["components"]
        currency = self.invoice.currency_id
        self.assertEqual(
            body["parameters"][1]["text"],
            f"{currency.format(1000.0)} {currency.name}",
        )
        # The button opens the customer's statement page (a link of its own).
        suffix = button["parameters"][0]["text"]
        self.assertTrue(suffix.startswith("cobranza/"))
        link = self.env["dunning.portal.token"]._find_valid(suffix.split("/", 1)[1])
        self.assertEqual(link.partner_id, self.wa_customer)
        self.assertEqual(link.company_id, self.company)
        message = self.messages()
        self.assertEqual(message.move_id, self.invoice)
        self.assertEqual(message.template_id, self.template)
        self.assertIn("María Peña", " ".join(self.invoice.message_ids.mapped("body")))

    def test_template_outside_the_window_needs_consent(self):
        self.wa_customer.whatsapp_opt_in = False
        form = self.compose()
        form.template_id = self.template
        with self.assertRaisesRegex(UserError, "did not agree"):
            form.save().action_send()
        self.assertFalse(self.graph.sends)

    def test_template_outside_the_window_respects_the_contact_hours(self):
        self.wa_policy.write({"contact_hour_from": 8.0, "contact_hour_to": 20.0})
        form = self.compose()
        form.template_id = self.template
        wizard = form.save()
        # 23:00 in Mexico City: queued, and it waits for 08:00.
        with freeze_time("2026-11-25 05:00:00"):
            action = wizard.action_send()
            self.assertEqual(action["params"]["type"], "warning")
            self.assertIn("may only be contacted", action["params"]["message"])
            self.dispatch()
        self.assertFalse(self.graph.sends)
        row = self.reminders(self.wa_customer, kind="chat")
        self.assertEqual(row.state, "deferred")
        self.assertEqual(str(row.scheduled_at), "2026-11-25 14:00:00")

    def test_opted_out_customer_refused_even_inside_the_window(self):
        self.wrote_hours_ago(1)
        self.wa_customer.whatsapp_opt_out = True
        form = self.compose()
        form.body = "Hola"
        with self.assertRaisesRegex(UserError, "opted out"):
            form.save().action_send()
        self.assertFalse(self.graph.sends)

    def test_paused_account_refused(self):
        self.wrote_hours_ago(1)
        self.account.write({"state": "paused", "pause_reason": "Token expired"})
        form = self.compose()
        form.body = "Hola"
        with self.assertRaisesRegex(UserError, "paused: Token expired"):
            form.save().action_send()
        self.assertFalse(self.graph.sends)

    def test_missing_account_refused(self):
        self.wrote_hours_ago(1)
        self.account.active = False
        form = self.compose()
        form.body = "Hola"
        with self.assertRaisesRegex(UserError, "No WhatsApp account"):
            form.save().action_send()
        self.assertFalse(self.graph.sends)

    def test_refused_by_whatsapp_kept_as_failed(self):
        self.wrote_hours_ago(1)
        self.graph.respond = lambda request: self.graph.error(
            131047, title="Re-engagement message"
        )
        form = self.compose()
        form.body = "Hola"
        form.save().action_send()
        self.dispatch()
        message = self.messages()
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_code, 131047)
        self.assertEqual(len(self.graph.sends), 1)
        row = message.reminder_id
        self.assertEqual(row.state, "failed")
        self.assertIn("131047", row.error_message)
        self.assertIn("131047", " ".join(self.wa_customer.message_ids.mapped("body")))

    def test_failed_status_webhook_settles_a_chat_message(self):
        self.wrote_hours_ago(1)
        form = self.compose()
        form.body = "Hola"
        form.save().action_send()
        self.dispatch()
        message = self.messages()
        message._apply_status(
            "failed", fields.Datetime.now(), 131026, "Message undeliverable"
        )
        self.assertEqual(message.state, "failed")
        self.assertIn(
            "could not deliver",
            " ".join(self.wa_customer.message_ids.mapped("body")),
        )

    def test_uncertain_send_never_resent_and_settled_by_the_webhook(self):
        self.wrote_hours_ago(1)
        self.graph.respond = lambda request: ("sleep", 30)
        form = self.compose()
        form.body = "Hola"
        wizard = form.save()
        wizard.action_send()
        with patch.object(dunning_whatsapp_account, "CLIENT_TIMEOUT", (2, 0.3)):
            self.dispatch()
        message = self.messages()
        self.assertEqual(message.state, "sending")
        self.assertEqual(len(self.graph.sends), 1)
        events = parse_webhook(
            webhook_body(
                status_value(
                    "wamid.CHAT", "delivered", callback=message.reminder_id.uuid
                )
            )
        )
        inbox = self.env["dunning.whatsapp.event"].sudo()
        inbox._store_webhook(self.account, events)._process()
        self.assertEqual(message.wamid, "wamid.CHAT")
        self.assertEqual(message.state, "delivered")
        self.assertEqual(len(self.messages()), 1)
