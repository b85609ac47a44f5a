"""The demo's WhatsApp sandbox (scripts/whatsapp_sandbox.py) end to end.

The add-on's real client sends to the sandbox on loopback, and the sandbox posts
its signed status webhooks to Odoo's real controller on the test server: the
path the demo shows.
"""

import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from odoo.tests import HttpCase, tagged
from odoo.tests.common import _super_send

from .test_whatsapp_common import APP_SECRET, PHONE_NUMBER_ID, WhatsAppCommon

_SCRIPTS = str(Path(__file__).resolve().parents[1] / "scripts")
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)

import whatsapp_sandbox  # noqa: E402

# Tuesday noon in Mexico City: inside every Mexican customer's contact window.
NOW = datetime(2026, 11, 24, 18, 0)
TEMPLATES = [
    {
        "id": "1",
        "name": "recordatorio_pago_v1",
        "language": "es_MX",
        "status": "APPROVED",
        "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": "Hola {{1}}, su saldo de {{2}} vence el {{3}}."}
        ],
    }
]


@tagged("post_install", "-at_install")
class TestWhatsAppSandbox(WhatsAppCommon, HttpCase):
    def setUp(self):
        super().setUp()
        self.sandbox = whatsapp_sandbox.Sandbox(
            port=0,
            webhook_url=f"{self.base_url()}/dunning/whatsapp/webhook",
            phone_number_id=PHONE_NUMBER_ID,
            access_token="EAAG-token",
            app_secret=APP_SECRET,
            status_delay=0.05,
            templates=TEMPLATES,
        ).start()
        self.addCleanup(self.sandbox.stop)
        # The webhooks wait until the dispatch is over and flushed: the test
        # server shares the test's cursor, which two threads must not use at
        # once, and reads what the dispatch wrote.
        self.sandbox.webhooks.hold()
        self.account.api_base_url = self.sandbox.url

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # Requests to the sandbox go out for real, on loopback.
        if urlsplit(r.url).hostname == "127.0.0.1" and "/v21.0/" in r.url:
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    def wait_for_webhooks(self, count, timeout=20):
        # As the dispatch's commit would: the test server reads the database.
        self.env.flush_all()
        self.sandbox.webhooks.release()
        self.sandbox.webhooks.wait_delivered(count, timeout=timeout)
        # The webhook stored the events; the inbox's cron applies them.
        self.process_webhook_events()
        return self.sandbox.webhooks.delivered

    def send(self, reminder):
        reminder.with_user(self.env.ref("base.user_root"))._dispatch(NOW)

    def test_loopback_account_is_a_sandbox(self):
        self.assertTrue(self.account.is_sandbox)
        self.account.api_base_url = "https://graph.facebook.com"
        self.assertFalse(self.account.is_sandbox)
        for url in ("http://localhost:9069", "http://[::1]:9069", "http://127.0.0.2"):
            self.account.api_base_url = url
            self.assertTrue(self.account.is_sandbox, url)

    def test_test_connection_reads_the_sandbox_number(self):
        self.account.action_test_connection()
        self.assertEqual(
            self.account.display_phone_number, whatsapp_sandbox.DISPLAY_PHONE_NUMBER
        )

    def test_sent_then_delivered_and_read_through_the_signed_webhook(self):
        reminder = self.queued_whatsapp()
        self.send(reminder)
        message = reminder.whatsapp_message_ids
        self.assertEqual(message.state, "sent")
        self.assertTrue(message.wamid.startswith("wamid.SANDBOX"))
        self.assertEqual(message.wa_id, "5215512345678")
        self.assertTrue(message.account_is_sandbox)
        delivered = self.wait_for_webhooks(3)
        self.assertEqual([status for _body, status in delivered], [200, 200, 200])
        self.env.invalidate_all()
        self.assertEqual(message.state, "read")
        self.assertTrue(message.delivered_at)
        self.assertTrue(message.read_at)
        events = self.env["dunning.whatsapp.event"].sudo().search([])
        self.assertEqual(
            sorted(events.mapped("event_key")),
            sorted(f"{message.wamid}:{s}" for s in ("sent", "delivered", "read")),
        )

    def test_number_not_on_whatsapp_fails_with_131026(self):
        customer = self._create_customer(
            "Hotel Caribe Azul",
            mobile="+52 998 123 0000",
            whatsapp_opt_in=True,
            whatsapp_opt_in_source="phone",
        )
        reminder = self.queued_whatsapp(customer)
        self.send(reminder)
        message = reminder.whatsapp_message_ids
        self.assertEqual(message.state, "sent")
        (posted,) = self.wait_for_webhooks(1)
        self.assertEqual(posted[1], 200)
        self.env.invalidate_all()
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_code, 131026)

    def test_a_webhook_signed_with_another_secret_is_refused(self):
        self.sandbox.webhooks.secret = "not-the-app-secret"
        reminder = self.queued_whatsapp()
        self.send(reminder)
        with self.assertLogs(
            "odoo.addons.account_dunning.controllers.whatsapp_webhook", "WARNING"
        ):
            posted = self.wait_for_webhooks(3)
        self.assertEqual([status for _body, status in posted], [403, 403, 403])
        self.env.invalidate_all()
        self.assertEqual(reminder.whatsapp_message_ids.state, "sent")
        self.assertFalse(self.env["dunning.whatsapp.event"].sudo().search([]))
