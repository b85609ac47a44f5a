import json
from unittest.mock import patch

from odoo.tests import HttpCase, tagged

from .test_whatsapp_common import WhatsAppCommon, sign, webhook_body

URL = "/dunning/whatsapp/webhook"


def reply_value(message, wa_id="5215512345678", wamid="wamid.QR1"):
    return {
        "contacts": [{"profile": {"name": "María Peña"}, "wa_id": wa_id}],
        "messages": [
            {
                "from": wa_id,
                "id": wamid,
                "timestamp": "1795543300",
                "context": {"id": "wamid.OUT1"},
                **message,
            }
        ],
    }


def button(payload, text):
    return {"type": "button", "button": {"payload": payload, "text": text}}


@tagged("post_install", "-at_install")
class TestWhatsAppQuickReply(WhatsAppCommon, HttpCase):
    def post(self, value):
        raw = json.dumps(webhook_body(value), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)}
        response = self.url_open(URL, data=raw, headers=headers)
        self.assertEqual(response.status_code, 200)
        self.process_webhook_events()

    def patched_hook(self):
        """Replace the hook; each call is recorded as plain values (the records
        belong to the request's cursor, closed once it answered)."""
        self.calls = []

        def hook(partner, payload, message):
            self.calls.append(
                (partner.id, payload, message.direction, message.wamid, message.body)
            )
            return True

        return patch.object(
            type(self.env["res.partner"]),
            "_dunning_whatsapp_quick_reply",
            autospec=True,
            side_effect=hook,
        )

    def test_button_payload_reaches_the_hook(self):
        with self.patched_hook() as hook:
            self.post(reply_value(button("PROMISE_4711", "Pagaré el viernes")))
        hook.assert_called_once()
        self.assertEqual(
            self.calls,
            [
                (
                    self.wa_customer.id,
                    "PROMISE_4711",
                    "in",
                    "wamid.QR1",
                    "Pagaré el viernes",
                )
            ],
        )

    def test_interactive_reply_id_reaches_the_hook(self):
        interactive = {
            "type": "interactive",
            "interactive": {
                "type": "list_reply",
                "list_reply": {"id": "CALL_ME", "title": "Llámenme"},
            },
        }
        with self.patched_hook() as hook:
            self.post(reply_value(interactive))
        hook.assert_called_once()
        self.assertEqual(self.calls[0][1:3], ("CALL_ME", "in"))

    def test_default_hook_logs_and_asks_the_collector(self):
        self.wa_customer.with_company(self.company).dunning_collector_id = self.env.user
        self.post(reply_value(button("PROMISE_4711", "Pagaré el viernes")))
        self.assertTrue(self.wa_customer.whatsapp_last_inbound_at)
        note = self.wa_customer.message_ids.filtered(
            lambda m: "Pagaré el viernes" in m.body
        )
        self.assertEqual(len(note), 1)
        self.assertIn("Quick reply: PROMISE_4711", note.body)
        activity = self.wa_customer.activity_ids
        self.assertEqual(activity.user_id, self.env.user)
        self.assertIn("PROMISE_4711", activity.note)

    def test_opt_out_keyword_as_button_text_opts_out(self):
        reminder = self.queued_whatsapp()
        with self.patched_hook() as hook:
            self.post(reply_value(button("STOP_REMINDERS", "Baja")))
        hook.assert_not_called()
        self.assertTrue(self.wa_customer.whatsapp_opt_out)
        self.assertEqual(reminder.state, "cancelled")

    def test_reply_from_an_unknown_number_reaches_no_hook(self):
        with self.patched_hook() as hook:
            self.post(reply_value(button("PROMISE_1", "Sí"), wa_id="5218112345678"))
        hook.assert_not_called()
        message = self.env["dunning.whatsapp.message"].search(
            [("wamid", "=", "wamid.QR1")]
        )
        self.assertFalse(message.partner_id)
