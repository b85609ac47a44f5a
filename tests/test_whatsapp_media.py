"""Files customers send by WhatsApp, downloaded through the sandbox on
loopback; "payment to verify" holding invoices from reminders; template buttons
sent at the indexes the synced template has."""

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from freezegun import freeze_time

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import _super_send

from ..services.whatsapp.webhook import parse_webhook
from .common import TUESDAY, TUESDAY_NOON_MX
from .test_whatsapp_common import APP_SECRET, PHONE_NUMBER_ID, WhatsAppCommon, sign
from .test_whatsapp_common import webhook_body as envelope

_SCRIPTS = str(Path(__file__).resolve().parents[1] / "scripts")
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)

import whatsapp_sandbox  # noqa: E402

NOW = datetime(2026, 11, 24, 18, 0)
JPEG = b"\xff\xd8\xff\xe0" + b"receipt" * 100
PDF = b"%PDF-1.4 transfer receipt"
WA_ID = "5215512345678"
# The test template as Meta lists it (its buttons not listed: not checked).
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


def media_value(kind, media_id, wamid="wamid.MEDIA1", **body):
    return {
        "contacts": [{"profile": {"name": "María Peña"}, "wa_id": WA_ID}],
        "messages": [
            {
                "from": WA_ID,
                "id": wamid,
                "timestamp": "1795543300",
                "type": kind,
                kind: {"id": media_id, "sha256": "abc", **body},
            }
        ],
    }


class MediaCommon(WhatsAppCommon):
    """The sandbox serves the Graph API, media included; a Spanish-speaking
    collector follows the customer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("es_MX")
        cls.env["ir.module.module"]._load_module_terms(
            ["account_dunning"], ["es_MX"], overwrite=True
        )
        cls.collector = new_test_user(
            cls.env,
            login="cobrador_media",
            lang="es_MX",
            groups="account_dunning.group_dunning_collector",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.wa_customer.with_company(cls.company).dunning_collector_id = cls.collector
        cls.inbox = cls.env["dunning.whatsapp.event"].sudo()

    def setUp(self):
        super().setUp()
        self.sandbox = whatsapp_sandbox.Sandbox(
            port=0,
            phone_number_id=PHONE_NUMBER_ID,
            access_token="EAAG-token",
            app_secret=APP_SECRET,
            templates=TEMPLATES,
        ).start()
        self.addCleanup(self.sandbox.stop)
        self.account.api_base_url = self.sandbox.url

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # The sandbox on loopback answers for real, with the client's timeouts.
        if urlsplit(r.url).hostname == "127.0.0.1":
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    def receive(self, value):
        """Store an inbound delivery as the webhook does, then run the inbox."""
        events = self.inbox._store_webhook(self.account, parse_webhook(envelope(value)))
        self.process_webhook_events()
        return events

    def inbound(self, wamid="wamid.MEDIA1"):
        messages = self.env["dunning.whatsapp.message"].sudo()
        return messages.search(messages._domain_wamid(wamid))

    def activities(self):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", self.wa_customer.id),
                ("user_id", "=", self.collector.id),
            ]
        )


@tagged("post_install", "-at_install")
class TestWhatsAppMedia(MediaCommon, HttpCase):
    def test_image_receipt_is_downloaded_attached_and_to_verify(self):
        self.sandbox.add_media("media-img-1", JPEG, "image/jpeg")
        (event,) = self.receive(
            media_value(
                "image", "media-img-1", caption="Pago factura", mime_type="image/jpeg"
            )
        )
        self.assertEqual(event.state, "done")
        message = self.inbound()
        self.assertEqual(message.body, "Pago factura")
        self.assertEqual(message.media_type, "image")
        self.assertEqual(message.attachment_id.raw, JPEG)
        self.assertEqual(message.attachment_id.mimetype, "image/jpeg")
        self.assertEqual(message.attachment_id.name, "image-MEDIA1.jpg")
        self.assertFalse(message.media_error)
        # The bearer token went with both calls.
        self.assertEqual(
            [auth for _path, auth in self.sandbox.media_requests],
            ["Bearer EAAG-token", "Bearer EAAG-token"],
        )
        # In the customer's chatter, with the file.
        post = self.wa_customer.message_ids.filtered("attachment_ids")
        self.assertEqual(len(post), 1)
        self.assertEqual(post.attachment_ids.raw, JPEG)
        self.assertIn("Pago factura", str(post.body))
        self.assertEqual(post.author_id, self.wa_customer)
        self.assertNotIn(self.wa_customer, self.wa_customer.message_partner_ids)
        # The collector verifies it, told in Spanish, with the file.
        activity = self.activities()
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.summary, "Comprobante de pago recibido: verificar")
        self.assertEqual(activity.attachment_ids, post.attachment_ids)
        self.assertIn("Pago factura", str(activity.note))
        self.assertTrue(self.wa_customer.whatsapp_last_inbound_at)

    def test_image_without_caption_reads_as_a_label(self):
        self.sandbox.add_media("media-img-2", JPEG, "image/jpeg")
        self.receive(media_value("image", "media-img-2", mime_type="image/jpeg"))
        self.assertEqual(self.inbound().body, "[image]")

    def test_document_keeps_its_file_name(self):
        self.sandbox.add_media("media-doc-1", PDF, "application/pdf")
        self.receive(
            media_value(
                "document",
                "media-doc-1",
                filename="recibo_transferencia.pdf",
                mime_type="application/pdf",
            )
        )
        message = self.inbound()
        self.assertEqual(message.body, "[document: recibo_transferencia.pdf]")
        self.assertEqual(message.attachment_id.name, "recibo_transferencia.pdf")
        self.assertEqual(message.attachment_id.raw, PDF)
        self.assertEqual(
            self.activities().attachment_ids.name, "recibo_transferencia.pdf"
        )

    def test_audio_asks_the_collector_to_listen_not_to_verify(self):
        self.sandbox.add_media("media-aud-1", b"OggS voice", "audio/ogg; codecs=opus")
        self.receive(media_value("audio", "media-aud-1", mime_type="audio/ogg"))
        message = self.inbound()
        self.assertEqual(message.attachment_id.name, "audio-MEDIA1.ogg")
        activity = self.activities()
        self.assertEqual(activity.summary, "Archivo recibido del cliente por WhatsApp")

    def test_expired_media_leaves_a_note_and_the_activity(self):
        # Meta no longer knows the id: the sandbox answers as for an expired one.
        (event,) = self.receive(media_value("image", "media-gone", caption="Pago"))
        self.assertEqual(event.state, "done")
        message = self.inbound()
        self.assertTrue(message)
        self.assertFalse(message.attachment_id)
        self.assertIn("Media could not be downloaded", message.media_error)
        self.assertIn("media-gone", message.media_error)
        note = message.chatter_message_ids.filtered(lambda m: m.model == "res.partner")
        self.assertIn("Media could not be downloaded", str(note.body))
        activity = self.activities()
        self.assertEqual(activity.summary, "Comprobante de pago recibido: verificar")
        self.assertIn("Media could not be downloaded", str(activity.note))

    def test_media_over_the_type_limit_is_not_downloaded(self):
        self.sandbox.add_media("media-big", b"x" * (600 * 1024), "image/webp")
        self.receive(media_value("sticker", "media-big"))
        message = self.inbound()
        self.assertFalse(message.attachment_id)
        self.assertIn("larger than 500 KB", message.media_error)
        # Refused on the size Meta announced: the file itself never read.
        self.assertEqual(len(self.sandbox.media_requests), 1)

    def test_server_error_retries_the_event_then_downloads(self):
        self.sandbox.add_media("media-img-3", JPEG, "image/jpeg")
        self.sandbox.media_failures["media-img-3"] = [500]
        (event,) = self.receive(media_value("image", "media-img-3"))
        self.assertEqual(event.state, "pending")
        self.assertEqual(event.retry_count, 1)
        self.assertIn("could not be downloaded yet", event.error)
        self.assertTrue(event.next_attempt_at)
        # Nothing written for the message yet: no half-recorded file.
        self.assertFalse(self.inbound())
        self.assertFalse(self.activities())
        event._process()
        self.assertEqual(event.state, "done")
        self.assertEqual(self.inbound().attachment_id.raw, JPEG)
        self.assertEqual(len(self.activities()), 1)

    def test_server_error_at_the_last_attempt_keeps_the_message(self):
        self.sandbox.media_failures["media-img-4"] = [500] * 20
        self.sandbox.add_media("media-img-4", JPEG, "image/jpeg")
        (event,) = self.receive(media_value("image", "media-img-4"))
        while event.state == "pending":
            event._process()
        self.assertEqual(event.state, "done")
        message = self.inbound()
        self.assertIn("Media could not be downloaded", message.media_error)
        self.assertEqual(len(self.activities()), 1)

    def test_signed_webhook_answers_before_any_download(self):
        self.sandbox.add_media("media-img-5", JPEG, "image/jpeg")
        raw = json.dumps(envelope(media_value("image", "media-img-5"))).encode()
        response = self.url_open(
            "/dunning/whatsapp/webhook",
            data=raw,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(raw),
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.sandbox.media_requests, [])
        self.assertFalse(self.inbound())
        self.process_webhook_events()
        self.assertEqual(self.inbound().attachment_id.raw, JPEG)


@tagged("post_install", "-at_install")
class TestPaymentToVerify(MediaCommon):
    def mark(self, invoices, until, user=None):
        wizard = (
            self.env["dunning.payment.verify"]
            .with_user(user or self.collector)
            .with_context(active_model="account.move", active_ids=invoices.ids)
            .create({"date_until": until})
        )
        wizard.action_confirm()

    def test_default_is_three_working_days_ahead(self):
        with freeze_time("2026-11-27 12:00"):  # a Friday
            wizard = self.env["dunning.payment.verify"].create({})
        self.assertEqual(wizard.date_until, datetime(2026, 12, 2).date())

    def test_held_from_planning_until_the_date_then_released(self):
        invoice = self.create_invoice(self.wa_customer, due=TUESDAY)
        with freeze_time(TUESDAY_NOON_MX):
            self.mark(invoice, TUESDAY + timedelta(days=2))
        self.assertEqual(invoice.dunning_verify_until, TUESDAY + timedelta(days=2))
        self.plan_on(TUESDAY)
        self.assertFalse(self.reminders(self.wa_customer))
        self.plan_on(TUESDAY + timedelta(days=2))
        self.assertFalse(self.reminders(self.wa_customer))
        self.plan_on(TUESDAY + timedelta(days=3))
        self.assertEqual(self.reminders(self.wa_customer).move_ids, invoice)

    def test_queued_reminder_leaves_it_out_at_send_time(self):
        held = self.create_invoice(self.wa_customer, due=TUESDAY, amount=700.0)
        other = self.create_invoice(self.wa_customer, due=TUESDAY, amount=300.0)
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.wa_customer)
        self.assertEqual(reminder.move_ids, held | other)
        with freeze_time(TUESDAY_NOON_MX):
            self.mark(held, TUESDAY + timedelta(days=3))
            self.assertEqual(reminder._get_statement_moves(), other)
            reminder.with_user(self.env.ref("base.user_root"))._dispatch(NOW)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.move_ids, other)
        body = self.sandbox.sent[0]["template"]["components"][0]["parameters"]
        self.assertIn("300.00", body[1]["text"])

    def test_marking_cancels_a_reminder_about_these_invoices_only(self):
        invoice = self.create_invoice(self.wa_customer, due=TUESDAY)
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.wa_customer)
        with freeze_time(TUESDAY_NOON_MX):
            self.mark(invoice, TUESDAY + timedelta(days=3))
        self.assertEqual(reminder.state, "cancelled")
        # The reason in the language of the collector who marked it.
        self.assertIn("verificando el pago", reminder.error_message)

    def test_dispatch_holds_a_reminder_whose_invoices_are_all_to_verify(self):
        invoice = self.create_invoice(self.wa_customer, due=TUESDAY)
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.wa_customer)
        # Set without the wizard's own cancellation (an import, another
        # module): the gate at send time still holds the reminder.
        invoice.sudo().dunning_verify_until = TUESDAY + timedelta(days=3)
        with freeze_time(TUESDAY_NOON_MX):
            reminder.with_user(self.env.ref("base.user_root"))._dispatch(NOW)
        self.assertEqual(reminder.state, "cancelled")
        self.assertIn("verifying the payment", reminder.error_message)
        self.assertFalse(self.sandbox.sent)

    def test_marking_leaves_an_audit_note_and_shows_on_the_customer(self):
        invoice = self.create_invoice(self.wa_customer, due=TUESDAY)
        with freeze_time(TUESDAY_NOON_MX):
            self.mark(invoice, TUESDAY + timedelta(days=3))
            self.assertIn(invoice.name, invoice.message_ids[0].body)
            self.assertIn(self.collector.name, invoice.message_ids[0].body)
            self.assertEqual(self.wa_customer.dunning_verify_count, 1)
            found = self.env["res.partner"].search([("dunning_verify_count", ">", 0)])
            self.assertEqual(found, self.wa_customer)
            moves = self.env["account.move"].search(
                [("dunning_verify_until", ">=", TUESDAY)]
            )
            self.assertEqual(moves, invoice)

    def test_not_received_releases_the_invoice(self):
        invoice = self.create_invoice(self.wa_customer, due=TUESDAY)
        with freeze_time(TUESDAY_NOON_MX):
            self.mark(invoice, TUESDAY + timedelta(days=3))
            invoice.with_user(self.collector).action_dunning_payment_not_received()
        self.assertFalse(invoice.dunning_verify_until)
        # Written in the collector's language.
        self.assertIn("no se recibió", invoice.message_ids[0].body)
        self.plan_on(TUESDAY)
        self.assertEqual(self.reminders(self.wa_customer).move_ids, invoice)

    def test_payment_clears_it(self):
        invoice = self.create_invoice(self.wa_customer, due=TUESDAY)
        with freeze_time(TUESDAY_NOON_MX):
            self.mark(invoice, TUESDAY + timedelta(days=3))
        self.register_payment(invoice)
        self.assertFalse(invoice.dunning_verify_until)


BUTTONS_TEMPLATE = {
    "id": "9",
    "name": "recordatorio_pago_v1",
    "language": "es_MX",
    "status": "APPROVED",
    "category": "UTILITY",
    "components": [
        {"type": "BODY", "text": "Hola {{1}}, su saldo de {{2}} vence el {{3}}."},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Ya pagué"},
                {"type": "QUICK_REPLY", "text": "Llámenme"},
                {
                    "type": "URL",
                    "text": "Pagar",
                    "url": "https://erp.example.com/{{1}}",
                },
            ],
        },
    ],
}


@tagged("post_install", "-at_install")
class TestTemplateButtons(MediaCommon):
    def test_buttons_go_at_the_indexes_of_the_synced_template(self):
        self.sandbox.templates = [BUTTONS_TEMPLATE]
        self.account.waba_id = whatsapp_sandbox.WABA_ID
        self.account.action_sync_templates()
        self.assertEqual(self.template.button_types, "QUICK_REPLY,QUICK_REPLY,URL")
        self.assertEqual(self.template.url_button_index, 2)
        self.assertTrue(self.template.url_button)
        reminder = self.queued_whatsapp()
        reminder.with_user(self.env.ref("base.user_root"))._dispatch(NOW)
        self.assertEqual(reminder.whatsapp_message_ids.state, "sent")
        (sent,) = self.sandbox.sent
        buttons = sorted(
            (c["index"], c["sub_type"], c["parameters"][0].get("payload"))
            for c in sent["template"]["components"]
            if c["type"] == "button"
        )
        self.assertEqual(
            buttons,
            [
                ("0", "quick_reply", "recordatorio_pago_v1:0"),
                ("1", "quick_reply", "recordatorio_pago_v1:1"),
                ("2", "url", None),
            ],
        )
