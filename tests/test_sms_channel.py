"""The SMS channel, end to end: Odoo's SMS queue against a provider on loopback.

Odoo's SMS queue (``sms.sms``) talks to its provider through ``SmsApi``, whose
endpoint is the ``sms.endpoint`` system parameter: here a local HTTP server
that answers the provider API's JSON-RPC as the real one does.
"""

import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.tests import Form, HttpCase, tagged

from ..models.dunning_channel_sms import gsm7_text
from .common import TUESDAY, DunningCommon

# Tuesday 2026-11-24 18:00 UTC: 12:00 in Mexico City, inside the window.
NOON = datetime(2026, 11, 24, 18, 0)
# 03:00 in Mexico City: outside it; it opens at 08:00 (14:00 UTC).
NIGHT = datetime(2026, 11, 24, 9, 0)
OPENING = datetime(2026, 11, 24, 14, 0)
# Typed with the obsolete mobile prefix: normalised to E.164.
MOBILE = "044 55 1234 5678"
E164 = "+525512345678"
# The GSM 03.38 default alphabet: a text made of these goes as 160-character
# parts; any other character makes the whole SMS UCS-2 (70 a part).
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


class FakeSmsProvider:
    """A local HTTP server answering Odoo's SMS provider API (``/api/sms/3/send``).

    Each number of each message gets the next state of ``states`` (the
    provider's own codes: ``success``, ``server_error``, ``insufficient_credit``,
    ``wrong_number_format``...), ``success`` once they are used up.
    """

    def __init__(self):
        self.requests = []
        self.states = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length))
                fake.requests.append({"path": self.path, "json": payload})
                results = [
                    {
                        "uuid": number["uuid"],
                        "state": fake.states.pop(0) if fake.states else "success",
                        "credit": 1,
                    }
                    for message in payload["params"]["messages"]
                    for number in message["numbers"]
                ]
                data = json.dumps(
                    {"jsonrpc": "2.0", "id": payload.get("id"), "result": results}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        host, port = self.server.server_address
        return f"http://{host}:{port}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def sent(self):
        """``(number, text)`` of every SMS the provider was asked to send."""
        return [
            (number["number"], message["content"])
            for request in self.requests
            for message in request["json"]["params"]["messages"]
            for number in message["numbers"]
        ]


class SmsCommon(DunningCommon):
    """A policy whose due-date level sends an SMS, and a customer with a mobile."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = FakeSmsProvider()
        cls.addClassCleanup(cls.provider.stop)
        cls.env["ir.config_parameter"].sudo().set_param(
            "sms.endpoint", cls.provider.url
        )
        # The SMS account the queue sends with (IAP would create one).
        cls.env["iap.account"].sudo().create(
            {"service_id": cls.env.ref("sms.iap_service_sms").id}
        )
        cls.sms_template = cls.env.ref("account_dunning.sms_template_dunning_friendly")
        cls.sms_policy = cls._create_policy(
            cls.company,
            ladder=((0, "email", "account_dunning.mail_template_dunning_due"),),
        )
        # SMS only; the level's email template is the fallback's.
        cls.sms_level = cls.sms_policy.level_ids
        cls.sms_level.write(
            {
                "channel_email": False,
                "channel_sms": True,
                "sms_template_id": cls.sms_template.id,
            }
        )
        cls.company.dunning_policy_id = cls.sms_policy
        cls.customer.mobile = MOBILE
        cls.invoice = cls.create_invoice(due=TUESDAY - timedelta(days=1))

    def setUp(self):
        super().setUp()
        self.provider.requests.clear()
        self.provider.states.clear()

    def run_sms_queue(self):
        """Odoo's SMS cron (``sms.sms._process_queue``) without its commit.

        Odoo's IAP client refuses every request from a test thread; the
        provider is the loopback server here, so the guard is lifted for the
        call.
        """
        with patch.object(threading.current_thread(), "testing", False, create=True):
            self.env["sms.sms"].sudo().search([("state", "=", "outgoing")]).send()

    def send_reminder(self, when=NOON):
        with freeze_time(when):
            self.plan()
            self.dispatch()
            self.run_sms_queue()
        return self.reminders(self.customer, origin="plan")

    def fallback_of(self, reminder):
        return self.reminders(origin="fallback", fallback_of_id=reminder.id)


@tagged("post_install", "-at_install")
class TestSmsChannel(SmsCommon):
    def test_registry_lists_sms(self):
        channels = self.env["dunning.channel"]._dunning_channels()
        self.assertIn("sms", channels)
        self.assertEqual(channels["sms"]._name, "dunning.channel.sms")
        self.assertIn("sms", self.env["dunning.channel"]._dunning_debtor_channels())
        self.assertEqual(self.sms_level._get_channels(), ["sms"])

    def test_reminder_reaches_the_provider_and_is_sent(self):
        with freeze_time(NOON):
            self.plan()
            self.dispatch()
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.channel, "sms")
        # Handed to Odoo's SMS queue, whose cron is woken.
        self.assertEqual(reminder.state, "sending")
        self.assertEqual(reminder.sms_id.state, "outgoing")
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action")
        self.assertTrue(
            self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id)])
        )
        self.assertFalse(self.provider.requests)
        with freeze_time(NOON):
            self.run_sms_queue()
        self.assertEqual(len(self.provider.requests), 1)
        self.assertEqual(self.provider.requests[0]["path"], "/api/sms/3/send")
        [(number, text)] = self.provider.sent
        self.assertEqual(number, E164)
        self.assertIn(self.company.name, text)
        self.assertIn("/cobranza/", text)
        self.assertIn("1,000.00", text)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.sent_at, NOON)
        self.assertEqual(reminder.recipient_id, self.customer)

    def test_sms_is_in_the_customers_chatter_with_its_status(self):
        reminder = self.send_reminder()
        message = reminder.message_id
        self.assertEqual(message.message_type, "sms")
        self.assertEqual(
            (message.model, message.res_id), ("res.partner", self.customer.id)
        )
        notification = message.notification_ids
        self.assertEqual(notification.notification_type, "sms")
        self.assertEqual(notification.notification_status, "pending")
        self.assertIn(
            "sent by SMS", self.invoice.message_ids[:1].body or "", "invoice note"
        )

    def test_text_is_one_gsm7_sms_in_english_and_spanish(self):
        self.env["res.lang"]._activate_lang("es_MX")
        # Activated after the add-on was installed: load its Spanish terms as
        # an update of the add-on would.
        self.env["ir.module.module"]._load_module_terms(
            ["account_dunning"], ["es_MX"], overwrite=True
        )
        spanish = self._create_customer(
            "Papelería del Sur", mobile="+52 33 1234 5678", lang="es_MX"
        )
        self.create_invoice(partner=spanish, due=TUESDAY - timedelta(days=1))
        self.send_reminder()
        texts = {
            lang: self.reminders(partner).sms_id.body
            for lang, partner in (("en_US", self.customer), ("es_MX", spanish))
        }
        self.assertIn("Reply STOP", texts["en_US"])
        self.assertIn("BAJA", texts["es_MX"])
        for lang, text in texts.items():
            self.assertLessEqual(len(text), 160, f"{lang}: {text}")
            self.assertFalse(set(text) - GSM7, f"{lang}: {text}")

    def test_send_wizard_previews_the_sms(self):
        wizard = self.env["dunning.reminder.send"].with_context(
            active_model="account.move", active_ids=self.invoice.ids
        )
        with freeze_time(NOON):
            form = Form(wizard)
        self.assertEqual(form.channel, "sms")
        self.assertFalse(form.preview_error)
        self.assertEqual(form.preview_recipient, E164)
        self.assertEqual(form.preview_subject, self.sms_template.name)
        self.assertIn("/cobranza/", form.preview_body)

    def test_every_shipped_template_fits_one_sms(self):
        reminder = self.send_reminder()
        url_length = len(reminder._get_portal_url())
        for tone in ("preventive", "friendly", "firm", "final"):
            template = self.env.ref(f"account_dunning.sms_template_dunning_{tone}")
            text = reminder._dunning_sms_body(template)
            self.assertLessEqual(len(text), 160, text)
            self.assertFalse(set(text) - GSM7, text)
            self.assertGreater(url_length, 60)

    def test_gsm7_text_replaces_look_alikes(self):
        self.assertEqual(
            gsm7_text("$\u00a01,000.00 \u201cok\u201d \u2013 yes\u2026"),
            '$ 1,000.00 "ok" - yes...',
        )

    def test_outside_the_window_waits_for_the_opening(self):
        with freeze_time(NIGHT):
            self.plan()
            self.dispatch()
            self.run_sms_queue()
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.state, "deferred")
        self.assertEqual(reminder.scheduled_at, OPENING)
        self.assertFalse(reminder.sms_id)
        self.assertFalse(self.provider.requests)
        with freeze_time(OPENING):
            self.dispatch()
            self.run_sms_queue()
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(len(self.provider.sent), 1)

    def assert_failed_with_email_fallback(self, reminder, reason):
        self.assertEqual(reminder.state, "failed")
        self.assertIn(reason, reminder.error_message)
        fallback = self.fallback_of(reminder)
        self.assertEqual(len(fallback), 1)
        self.assertEqual(fallback.channel, "email")
        self.assertFalse(self.provider.requests)

    def test_no_mobile_fails_and_queues_the_fallback(self):
        self.customer.mobile = False
        reminder = self.send_reminder()
        self.assert_failed_with_email_fallback(reminder, "has no mobile number")
        self.assertFalse(reminder.sms_id)

    def test_invalid_number_fails_and_queues_the_fallback(self):
        self.customer.mobile = "55 1234"
        reminder = self.send_reminder()
        self.assert_failed_with_email_fallback(reminder, "is not valid")

    def test_blacklisted_number_fails_and_queues_the_fallback(self):
        self.env["phone.blacklist"].sudo()._add([E164])
        reminder = self.send_reminder()
        self.assert_failed_with_email_fallback(reminder, "is blacklisted")

    def test_policy_asking_for_consent_skips_customers_without_it(self):
        self.sms_policy.sms_require_opt_in = True
        reminder = self.send_reminder()
        self.assert_failed_with_email_fallback(reminder, "did not agree")

    def test_recorded_consent_lets_the_sms_go(self):
        self.sms_policy.sms_require_opt_in = True
        self.customer.dunning_sms_opt_in = True
        self.assertTrue(self.customer.dunning_sms_opt_in_date)
        reminder = self.send_reminder()
        self.assertEqual(reminder.state, "sent")

    def test_policy_fallback_can_be_a_collector_activity(self):
        self.sms_policy.sms_fallback = "activity"
        self.customer.mobile = False
        reminder = self.send_reminder()
        self.assertEqual(self.fallback_of(reminder).channel, "activity")

    def test_provider_error_is_retried_and_then_succeeds(self):
        self.provider.states = ["server_error"]
        reminder = self.send_reminder()
        self.assertEqual(reminder.state, "queued")
        self.assertEqual(reminder.retry_count, 1)
        self.assertIn("Server Error", reminder.error_message)
        self.assertGreaterEqual(reminder.scheduled_at, NOON)
        # The refused attempt never reached the customer: no chatter message.
        self.assertFalse(reminder.message_id)
        self.assertFalse(
            self.customer.message_ids.filtered(lambda m: m.message_type == "sms")
        )
        # The retry time has microseconds, the dispatcher's clock whole seconds.
        with freeze_time(reminder.scheduled_at + timedelta(seconds=1)):
            self.dispatch()
            self.run_sms_queue()
        self.assertEqual(reminder.state, "sent")
        self.assertEqual([number for number, _text in self.provider.sent], [E164] * 2)
        self.assertEqual(reminder.retry_count, 1)

    def test_number_refused_by_the_provider_falls_back(self):
        self.provider.states = ["wrong_number_format"]
        reminder = self.send_reminder()
        self.assertEqual(reminder.state, "failed")
        self.assertIn("Wrong Number Format", reminder.error_message)
        self.assertEqual(self.fallback_of(reminder).channel, "email")

    def test_no_credit_waits_an_hour_without_counting_a_failure(self):
        self.provider.states = ["insufficient_credit"]
        reminder = self.send_reminder()
        self.assertEqual(reminder.state, "queued")
        self.assertEqual(reminder.retry_count, 0)
        self.assertEqual(reminder.scheduled_at, NOON + timedelta(hours=1))
        self.assertIn("Insufficient Credit", reminder.error_message)

    def test_stop_reply_blacklists_the_number(self):
        with freeze_time(NIGHT):
            self.plan()
            self.dispatch()
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.state, "deferred")
        partners = self.env["res.partner"]
        self.assertFalse(partners._dunning_sms_inbound(E164, "no me den de baja"))
        self.assertTrue(partners._dunning_sms_inbound("+52 1 55 1234 5678", " Baja. "))
        self.assertTrue(
            self.env["phone.blacklist"].sudo().search([("number", "=", E164)])
        )
        self.assertEqual(reminder.state, "cancelled")
        self.assertIn("opted out", self.customer.message_ids[:1].body)

    def test_stop_reply_stops_the_next_sms(self):
        self.env["res.partner"]._dunning_sms_inbound(E164, "STOP")
        reminder = self.send_reminder()
        self.assert_failed_with_email_fallback(reminder, "opted out of SMS")

    def test_stale_claim_with_its_sms_waits_for_the_sms_queue(self):
        with freeze_time(NOON):
            self.plan()
            self.dispatch()
        reminder = self.reminders(self.customer)
        later = NOON + timedelta(hours=1)
        self.env["dunning.reminder"].sudo()._recover_stale_claims(later)
        self.assertEqual(reminder.state, "sending")
        with freeze_time(later):
            self.run_sms_queue()
        self.assertEqual(reminder.state, "sent")

    def test_stale_claim_without_its_sms_is_sent_again(self):
        with freeze_time(NOON):
            self.plan()
        reminder = self.reminders(self.customer)
        reminder.sudo().write({"state": "sending", "claimed_at": NOON})
        later = NOON + timedelta(hours=1)
        self.env["dunning.reminder"].sudo()._recover_stale_claims(later)
        self.assertEqual(reminder.state, "queued")

    def test_whatsapp_policy_can_fall_back_to_sms(self):
        self.sms_policy.whatsapp_fallback = "sms"
        level = self.sms_level
        # The level's SMS template stays: the fallback SMS uses it.
        level.write({"channel_sms": False, "channel_activity": True})
        whatsapp = (
            self.env["dunning.reminder"]
            .sudo()
            .create(
                {
                    "partner_id": self.customer.id,
                    "level_id": level.id,
                    "channel": "whatsapp",
                    "currency_id": self.company.currency_id.id,
                    "move_ids": [Command.set(self.invoice.ids)],
                    "origin": "manual",
                }
            )
        )
        fallback = whatsapp._create_fallback(NOON)[0]
        self.assertEqual(fallback.channel, "sms")
        self.assertEqual(fallback.sms_template_id, self.sms_template)

    # The caps on contacts count every channel that reaches the debtor.

    def test_contact_caps_count_sms_reminders(self):
        self.sms_policy.max_contacts_per_day = 1
        # The caps alone decide here, not the days between two reminders.
        self.sms_policy.min_days_between_reminders = 0
        self.env["dunning.reminder"].sudo().create(
            {
                "partner_id": self.customer.id,
                "level_id": self.sms_level.id,
                "channel": "sms",
                "currency_id": self.company.currency_id.id,
                "state": "sent",
                "scheduled_at": NOON - timedelta(hours=2),
                "claimed_at": NOON - timedelta(hours=2),
                "sent_at": NOON - timedelta(hours=2),
                "origin": "manual",
            }
        )
        reminder = self.send_reminder()
        self.assertEqual(reminder.state, "deferred")
        self.assertIn("cap per day", reminder.error_message)
        self.assertFalse(self.provider.requests)

    def test_contact_caps_count_sms_sent_outside_reminders(self):
        self.sms_policy.max_contacts_per_day = 1
        with freeze_time(NOON - timedelta(hours=1)):
            self.customer.sudo()._message_sms(
                "Hola", partner_ids=self.customer.ids, put_in_queue=True
            )
        reminder = self.send_reminder()
        self.assertEqual(reminder.state, "deferred")
        self.assertIn("cap per day", reminder.error_message)


@tagged("post_install", "-at_install")
class TestSmsDeliveryReports(SmsCommon, HttpCase):
    """The provider's delivery reports reach Odoo's ``/sms/status`` route."""

    def report(self, reminder, status):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {
                "message_statuses": [
                    {"sms_status": status, "uuids": [reminder.sms_uuid]}
                ]
            },
        }
        response = self.url_open(
            "/sms/status",
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.json().get("result"), "OK")

    def test_delivered_report_marks_the_reminder_delivered(self):
        reminder = self.send_reminder()
        self.assertEqual(reminder.state, "sent")
        self.report(reminder, "delivered")
        self.env.invalidate_all()
        self.assertEqual(reminder.state, "delivered")
        self.assertEqual(
            reminder.message_id.notification_ids.notification_status, "sent"
        )

    def test_undelivered_report_fails_the_reminder_with_its_fallback(self):
        reminder = self.send_reminder()
        self.report(reminder, "not_delivered")
        self.env.invalidate_all()
        self.assertEqual(reminder.state, "failed")
        self.assertIn("not delivered", reminder.error_message)
        self.assertEqual(self.fallback_of(reminder).channel, "email")

    def test_delivered_reminder_never_moves_back(self):
        reminder = self.send_reminder()
        self.report(reminder, "delivered")
        self.report(reminder, "not_delivered")
        self.env.invalidate_all()
        self.assertEqual(reminder.state, "delivered")
