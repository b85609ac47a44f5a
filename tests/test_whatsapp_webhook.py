import json
import logging
import random
import string

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..services.whatsapp.webhook import MAX_WEBHOOK_BYTES, parse_webhook
from .common import TUESDAY
from .test_whatsapp_common import (
    VERIFY_TOKEN,
    WhatsAppCommon,
    inbound_value,
    sign,
    status_value,
    webhook_body,
)

URL = "/dunning/whatsapp/webhook"
CONTROLLER = "odoo.addons.account_dunning.controllers.whatsapp_webhook"


def long_id(prefix, length=3072, seed=0):
    """An id of ``length`` characters PostgreSQL cannot compress, so that a
    btree entry of it would pass the ~2.7 KB limit (a repeated character,
    compressed, would not)."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(rng.choices(alphabet, k=length - len(prefix)))


@tagged("post_install", "-at_install")
class TestWhatsAppWebhook(WhatsAppCommon, HttpCase):
    def post(self, body, signature=True, raw=None, process=True):
        """Post ``body`` to the webhook; then, unless ``process`` is False, run
        the inbox's cron as the webhook triggers it."""
        raw = raw or json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if signature is True:
            headers["X-Hub-Signature-256"] = sign(raw)
        elif signature:
            headers["X-Hub-Signature-256"] = signature
        response = self.url_open(URL, data=raw, headers=headers)
        if process and response.status_code == 200:
            self.process_webhook_events()
        return response

    def events(self):
        return self.env["dunning.whatsapp.event"].sudo().search([])

    def sent_message(self, wamid="wamid.HBgL1"):
        """A reminder sent by WhatsApp with its wamid, as the dispatch leaves it."""
        reminder = self.queued_whatsapp()
        reminder.write({"state": "sent"})
        return (
            self.env["dunning.whatsapp.message"]
            .sudo()
            .create(
                {
                    "wamid": wamid,
                    "direction": "out",
                    "state": "sent",
                    "account_id": self.account.id,
                    "company_id": self.company.id,
                    "partner_id": self.wa_customer.id,
                    "reminder_id": reminder.id,
                }
            )
        )

    def test_verification_with_the_right_token(self):
        response = self.url_open(
            f"{URL}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}"
            "&hub.challenge=1158201444"
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.text, "1158201444")

    def test_verification_with_a_wrong_token(self):
        response = self.url_open(
            f"{URL}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444"
        )
        self.assertEqual(response.status_code, 403)

    def test_signed_body_with_accents_and_emoji_accepted(self):
        text = "Hola, ¿puedo pagar mañana? 🙏"
        response = self.post(webhook_body(inbound_value(text)))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(self.events()), 1)
        self.assertEqual(self.events().state, "done")
        message = self.env["dunning.whatsapp.message"].search(
            [("direction", "=", "in")]
        )
        self.assertEqual(message.body, text)
        self.assertEqual(message.partner_id, self.wa_customer)
        self.assertTrue(self.wa_customer.whatsapp_last_inbound_at)

    @mute_logger("odoo.addons.account_dunning.controllers.whatsapp_webhook")
    def test_missing_signature_rejected_and_nothing_written(self):
        response = self.post(webhook_body(inbound_value("Hola")), signature=None)
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.events())
        self.assertFalse(self.wa_customer.whatsapp_last_inbound_at)

    @mute_logger("odoo.addons.account_dunning.controllers.whatsapp_webhook")
    def test_wrong_signature_rejected_and_nothing_written(self):
        raw = json.dumps(webhook_body(inbound_value("Hola"))).encode()
        response = self.post(None, signature=sign(raw, "other-secret"), raw=raw)
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.events())

    def test_duplicate_event_processed_once(self):
        body = webhook_body(inbound_value("¿Cuánto debo?"))
        self.assertEqual(self.post(body).status_code, 200)
        self.assertEqual(self.post(body).status_code, 200)
        self.assertEqual(len(self.events()), 1)
        messages = self.env["dunning.whatsapp.message"].search(
            [("direction", "=", "in")]
        )
        self.assertEqual(len(messages), 1)

    def test_statuses_never_go_backwards(self):
        message = self.sent_message()
        self.post(webhook_body(status_value("wamid.HBgL1", "read", 1795543300)))
        self.post(webhook_body(status_value("wamid.HBgL1", "delivered", 1795543200)))
        self.assertEqual(message.state, "read")
        self.assertEqual(message.reminder_id.state, "read")
        self.assertTrue(message.read_at)
        self.assertEqual(len(self.events()), 2)

    def test_failed_after_delivered_only_logged(self):
        message = self.sent_message()
        self.post(webhook_body(status_value("wamid.HBgL1", "delivered")))
        errors = [{"code": 131026, "title": "Message undeliverable"}]
        self.post(webhook_body(status_value("wamid.HBgL1", "failed", errors=errors)))
        self.assertEqual(message.state, "delivered")
        self.assertEqual(message.reminder_id.state, "delivered")

    def test_failed_status_stores_code_and_title(self):
        message = self.sent_message()
        errors = [{"code": 131026, "title": "Message undeliverable"}]
        self.post(webhook_body(status_value("wamid.HBgL1", "failed", errors=errors)))
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_code, 131026)
        self.assertEqual(message.error_title, "Message undeliverable")
        self.assertEqual(message.reminder_id.state, "failed")

    def test_unknown_phone_number_id_ignored(self):
        """Signed with our app's secret, about a number we do not have:
        acknowledged, nothing stored. (Unsigned, it is refused before anything
        in it is read.)"""
        body = webhook_body(inbound_value("Hola"), phone_number_id="999999")
        response = self.post(body)
        self.assertEqual(response.status_code, 200)
        self.assertFalse(self.events())

    def test_unsigned_deeply_nested_body_refused_before_parsing(self):
        """Anyone can post: an unsigned body is refused (403) unread, so that
        JSON nested beyond the recursion limit never reaches the decoder (no
        500, no traceback in the log)."""
        with (
            self.assertNoLogs("odoo", level=logging.ERROR),
            self.assertLogs(CONTROLLER, level=logging.WARNING),
        ):
            response = self.post(None, signature=None, raw=b"[" * 100_000)
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.events())

    def test_signed_deeply_nested_body_answers_400(self):
        """A signed body that is not bounded JSON: 400 and one info line."""
        with (
            self.assertNoLogs("odoo", level=logging.WARNING),
            self.assertLogs(CONTROLLER, level=logging.INFO) as logs,
        ):
            response = self.post(None, raw=b"[" * 100_000)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(len(logs.records), 1)
        self.assertIn("nested", logs.output[0])
        self.assertFalse(self.events())

    def test_signed_body_not_json_answers_400(self):
        with self.assertLogs(CONTROLLER, level=logging.INFO):
            response = self.post(None, raw=b'{"object": "whatsapp_business_account"')
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.events())

    def test_oversized_body_answers_413(self):
        """A body over the limit is refused before it is read, signed or not."""
        raw = b" " * (MAX_WEBHOOK_BYTES + 1)
        with self.assertLogs(CONTROLLER, level=logging.INFO):
            response = self.post(None, raw=raw)
        self.assertEqual(response.status_code, 413)
        self.assertFalse(self.events())

    def test_oversized_chunked_body_answers_413(self):
        """Without a declared length (chunked), the body is read only until it
        passes the limit."""
        chunk = b" " * 65536
        chunks = (chunk for _ in range(MAX_WEBHOOK_BYTES // len(chunk) + 1))
        with self.assertLogs(CONTROLLER, level=logging.INFO):
            response = self.url_open(
                URL, data=chunks, headers={"Content-Type": "application/json"}
            )
        self.assertEqual(response.status_code, 413)
        self.assertFalse(self.events())

    def test_status_with_a_3kb_wamid_of_an_unknown_message_stored(self):
        """Ids are Meta's to size: a status whose wamid passes a btree entry's
        limit is stored (under its hash), not refused with its delivery; the
        message is not known (yet), so the event waits for a retry."""
        wamid = long_id("wamid.")
        body = webhook_body(status_value(wamid, "delivered"))
        with mute_logger("odoo.addons.account_dunning.models.dunning_whatsapp_event"):
            response = self.post(body)
        self.assertEqual(response.status_code, 200)
        event = self.events()
        self.assertEqual(len(event), 1)
        self.assertEqual(event.event_key, f"{wamid}:delivered")
        self.assertEqual(event.state, "pending")
        self.assertTrue(event.next_attempt_at)
        # Delivered again: the duplicate is found through the hash.
        self.assertEqual(self.post(body).status_code, 200)
        self.assertEqual(self.events(), event)

    def test_status_with_a_3kb_wamid_applied_to_its_message(self):
        wamid = long_id("wamid.", seed=1)
        message = self.sent_message(wamid)
        response = self.post(webhook_body(status_value(wamid, "delivered")))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.events().state, "done")
        self.assertEqual(message.state, "delivered")
        self.assertEqual(message.reminder_id.state, "delivered")

    def test_inbound_message_with_a_3kb_id_stored(self):
        wamid = long_id("wamid.", seed=2)
        body = webhook_body(inbound_value("Ya pagué", wamid=wamid))
        response = self.post(body)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.events().state, "done")
        message = self.env["dunning.whatsapp.message"].search(
            [("direction", "=", "in")]
        )
        self.assertEqual(message.wamid, wamid)
        self.assertEqual(message.partner_id, self.wa_customer)
        # Delivered again: acknowledged, not recorded twice.
        self.assertEqual(self.post(body).status_code, 200)
        self.assertEqual(len(self.events()), 1)

    def test_events_routed_only_to_accounts_whose_secret_signed(self):
        """One body, events of two numbers: only the number of the app that
        signed it gets its events; the other's are not trusted."""
        other = self.env["dunning.whatsapp.account"].create(
            {
                "name": "Otra app",
                "company_id": self.company.id,
                "phone_number_id": "200000000000001",
                "access_token": "EAAG-other",
                "app_secret": "other-app-secret",
                "api_base_url": self.graph.url,
            }
        )
        body = webhook_body(inbound_value("Hola", wamid="wamid.MINE"))
        theirs = webhook_body(
            inbound_value("Hola", wamid="wamid.THEIRS"),
            phone_number_id=other.phone_number_id,
        )
        body["entry"] += theirs["entry"]
        response = self.post(body)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.events().account_id, self.account)
        self.assertEqual(self.events().event_key, "wamid.MINE")

    def test_baja_opts_out_and_cancels_queued_whatsapp_reminders(self):
        reminder = self.queued_whatsapp()
        self.post(webhook_body(inbound_value("Baja")))
        self.assertTrue(self.wa_customer.whatsapp_opt_out)
        self.assertTrue(self.wa_customer.whatsapp_opt_out_date)
        self.assertEqual(reminder.state, "cancelled")

    def test_inbound_wa_id_with_mobile_one_finds_the_partner(self):
        self.assertEqual(self.wa_customer.mobile, "+52 55 1234 5678")
        self.post(webhook_body(inbound_value("Ya pagué", wa_id="5215512345678")))
        message = self.env["dunning.whatsapp.message"].search(
            [("direction", "=", "in")]
        )
        self.assertEqual(message.partner_id, self.wa_customer)
        self.assertEqual(self.wa_customer.whatsapp_last_inbound_at.date(), TUESDAY)

    def test_inbound_message_notifies_the_collector(self):
        self.wa_customer.with_company(self.company).dunning_collector_id = self.env.user
        self.post(webhook_body(inbound_value("¿Me pueden llamar?")))
        activity = self.wa_customer.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.env.user)
        self.assertIn("llamar", activity.note)

    def test_inbound_markup_reaches_the_collector_as_text(self):
        self.wa_customer.with_company(self.company).dunning_collector_id = self.env.user
        text = 'Pague aquí <a href="https://evil.example">link</a><img src=x>'
        self.post(webhook_body(inbound_value(text)))
        note = self.wa_customer.activity_ids.note
        self.assertNotIn("<a ", note)
        self.assertNotIn("<img", note)
        self.assertIn("&lt;a href=", note)

    def test_cron_processes_events_left_pending(self):
        message = self.sent_message()
        inbox = self.env["dunning.whatsapp.event"].sudo()
        events = parse_webhook(webhook_body(status_value("wamid.HBgL1", "delivered")))
        stored = inbox._store_webhook(self.account, events)
        self.assertEqual(stored.state, "pending")
        self.env.ref(
            "account_dunning.ir_cron_whatsapp_events"
        ).sudo().method_direct_trigger()
        self.assertEqual(stored.state, "done")
        self.assertEqual(message.state, "delivered")
