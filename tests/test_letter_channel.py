import base64
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import tagged

from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon

LATE = TUESDAY - timedelta(days=30)
PRINT_ROUTE = "/iap/snailmail/1/print"


class _SnailmailServer:
    """Odoo's snail mail IAP service on loopback: answers the print JSON-RPC.

    Keeps every request's parameters; ``answers`` go to the next requests
    first, one each: an error code (its documents are refused with it), else
    the documents are sent.
    """

    def __init__(self):
        self.requests = []
        self.answers = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, body["params"]))
                error = outer.answers.pop(0) if outer.answers else None
                documents = [
                    {"letter_id": doc["letter_id"], "sent": False, "error": error}
                    if error
                    else {"letter_id": doc["letter_id"], "sent": True, "send_id": "T1"}
                    for doc in body["params"]["documents"]
                ]
                answer = json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "id": body["id"],
                        "result": {
                            "request_code": 200,
                            "total_cost": len(documents),
                            "request": {"documents": documents},
                        },
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format, *args):  # noqa: A002 -- quiet
                return

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%s" % self.http.server_address[1]
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.http.shutdown()
        self.http.server_close()

    def documents(self):
        return [doc for _path, params in self.requests for doc in params["documents"]]


class LetterCommon(DunningCommon):
    """A final notice by letter, at +30 days, to a customer with a full
    postal address; Odoo's snail mail service answers on loopback."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.final_level = cls.levels[30]
        cls.final_level.write(
            {"channel_email": False, "channel_letter": True, "tone": "final"}
        )
        cls.customer.write(
            {
                "street": "Av. Juárez 100",
                "city": "Ciudad de México",
                "zip": "06000",
            }
        )
        cls.invoice = cls.create_invoice(due=LATE, amount=1500.0)
        cls.env["iap.account"].create(
            {
                "service_id": cls.env.ref("snailmail.iap_service_snailmail").id,
                "account_token": "dunning-test-token",
            }
        )

    def setUp(self):
        super().setUp()
        self.server = _SnailmailServer()
        self.server.start()
        self.addCleanup(self.server.stop)
        self.env["ir.config_parameter"].sudo().set_param(
            "snailmail.endpoint", self.server.url
        )

    def dispatch_at(self, when=TUESDAY_NOON_MX):
        with freeze_time(when):
            self.plan()
            self.dispatch()
        return self.reminders(self.customer, channel="letter")

    def run_snailmail_queue(self, when=TUESDAY_NOON_MX):
        """Odoo's snail mail cron, with a real HTTP call: Odoo refuses IAP
        calls while a test runs, and the cron commits after each letter."""
        with (
            freeze_time(when),
            patch.object(threading.current_thread(), "testing", False),
            patch.object(self.env.cr, "commit", lambda: None),
        ):
            self.env["snailmail.letter"].sudo()._snailmail_cron(autocommit=False)

    def letter_text(self, reminder):
        return reminder.letter_attachment_id.raw.decode()


@tagged("post_install", "-at_install")
class TestLetterChannel(LetterCommon):
    def test_registry_lists_letter(self):
        channels = self.env["dunning.channel"]._dunning_channels()
        self.assertEqual(channels["letter"]._name, "dunning.channel.letter")
        self.assertIn("letter", self.env["dunning.channel"]._dunning_debtor_channels())
        self.assertIn(
            "letter", dict(self.env["dunning.channel"]._dunning_channel_selection())
        )

    def test_letter_waits_in_the_snail_mail_queue(self):
        reminder = self.dispatch_at()
        self.assertEqual(reminder.state, "sending")
        letter = reminder.letter_id
        self.assertEqual(letter.state, "pending")
        self.assertEqual(letter.partner_id, self.customer)
        self.assertEqual(letter.attachment_id, reminder.letter_attachment_id)
        self.assertEqual(letter.company_id, self.company)
        self.assertFalse(self.server.requests)

    def test_letter_is_posted_and_the_reminder_sent(self):
        reminder = self.dispatch_at()
        self.run_snailmail_queue()
        self.assertEqual(
            [path for path, _params in self.server.requests], [PRINT_ROUTE]
        )
        (document,) = self.server.documents()
        self.assertEqual(document["letter_id"], reminder.letter_id.id)
        self.assertEqual(document["address"]["zip"], "06000")
        self.assertEqual(document["address"]["country_code"], "MX")
        self.assertIn(self.invoice.name, base64.b64decode(document["pdf_bin"]).decode())
        self.assertEqual(reminder.letter_id.state, "sent")
        self.assertEqual(reminder.state, "sent")
        self.assertFalse(reminder.error_message)
        note = self.invoice.message_ids.filtered(lambda m: "Letter" in m.body)
        self.assertTrue(note, "the contact is logged on the invoice")

    def test_letter_is_the_formal_statement(self):
        reminder = self.dispatch_at()
        attachment = reminder.letter_attachment_id
        text = self.letter_text(reminder)
        # Without wkhtmltopdf (and under tests) Odoo renders reports as HTML.
        if attachment.mimetype == "application/pdf":
            self.assertTrue(attachment.raw.startswith(b"%PDF"))
        else:
            self.assertEqual(attachment.mimetype, "text/html")
        self.assertIn("Final notice", text)
        self.assertIn(self.invoice.name, text)
        self.assertIn("Av. Juárez 100", text)
        self.assertIn("1,500.00", text)
        self.assertIn("/cobranza/", text)

    def test_report_prints_from_the_reminder(self):
        reminder = self.dispatch_at()
        report = self.env.ref("account_dunning.dunning_reminder_letter_report")
        self.assertEqual(report.binding_model_id.model, "dunning.reminder")
        html, _type = report._render_qweb_html(report, reminder.ids)
        self.assertIn(self.invoice.name, html.decode())

    def test_provider_error_is_tried_again_with_the_same_letter(self):
        reminder = self.dispatch_at()
        letter = reminder.letter_id
        self.server.answers.append("UNKNOWN_ERROR")
        self.run_snailmail_queue()
        self.assertEqual(reminder.state, "queued")
        self.assertEqual(reminder.retry_count, 1)
        self.assertIn("Snail mail could not post", reminder.error_message)
        self.assertEqual(letter.state, "canceled", "out of snail mail's own queue")
        later = TUESDAY_NOON_MX.replace("18:00", "19:00")
        with freeze_time(later):
            self.dispatch()
        self.assertEqual(reminder.letter_id, letter)
        self.assertEqual(letter.state, "pending")
        self.run_snailmail_queue(later)
        self.assertEqual(len(self.server.requests), 2)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(letter.state, "sent")

    def test_no_credit_waits_and_tells_the_collector(self):
        reminder = self.dispatch_at()
        self.server.answers.append("CREDIT_ERROR")
        self.run_snailmail_queue()
        self.assertEqual(reminder.state, "queued")
        self.assertEqual(reminder.retry_count, 0)
        self.assertIn("no snail mail credit", reminder.error_message)
        activity = self.customer.activity_ids.filtered(
            lambda a: a.summary == "Letter waiting for snail mail credit"
        )
        self.assertEqual(len(activity), 1)
        self.assertEqual(reminder.letter_id.state, "canceled")

    def test_incomplete_address_fails_to_the_fallback(self):
        self.customer.street = False
        reminder = self.dispatch_at()
        self.assertEqual(reminder.state, "failed")
        self.assertIn("postal address", reminder.error_message)
        self.assertIn("Street", reminder.error_message)
        self.assertFalse(reminder.letter_id)
        fallback = reminder.fallback_ids
        self.assertEqual(fallback.channel, "activity")
        self.assertFalse(self.server.requests)

    def test_address_refused_by_the_provider_fails_to_the_fallback(self):
        reminder = self.dispatch_at()
        self.server.answers.append("NO_PRICE_AVAILABLE")
        self.run_snailmail_queue()
        self.assertEqual(reminder.state, "failed")
        self.assertIn("country is not served", reminder.error_message)
        self.assertEqual(reminder.fallback_ids.channel, "activity")

    def test_cancelled_letter_cancels_the_reminder(self):
        reminder = self.dispatch_at()
        reminder.letter_id.cancel()
        self.assertEqual(reminder.state, "cancelled")

    def test_stale_claim_waits_for_its_letter(self):
        reminder = self.dispatch_at()
        with freeze_time(TUESDAY_NOON_MX.replace("18:00", "19:00")):
            self._as_cron()._recover_stale_claims(
                reminder.claimed_at + timedelta(hours=1)
            )
        self.assertEqual(reminder.state, "sending")

    def test_print_mode_attaches_the_letter_for_the_collector(self):
        self.policy.letter_mode = "print"
        reminder = self.dispatch_at()
        self.assertEqual(reminder.state, "sent")
        self.assertFalse(reminder.letter_id)
        attachment = reminder.letter_attachment_id
        self.assertEqual(attachment.res_model, "dunning.reminder")
        self.assertEqual(attachment.res_id, reminder.id)
        self.assertIn(self.invoice.name, self.letter_text(reminder))
        activity = self.customer.activity_ids.filtered(
            lambda a: a.summary.startswith("Print and post")
        )
        self.assertEqual(activity.attachment_ids, attachment)
        self.assertIn("06000", activity.note)
        self.assertFalse(self.server.requests)


@tagged("post_install", "-at_install")
class TestLetterSpanish(LetterCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("es_MX")
        cls.env["ir.module.module"]._load_module_terms(
            ["account_dunning"], ["es_MX"], overwrite=True
        )
        cls.customer.lang = "es_MX"

    def test_letter_is_in_the_customers_language(self):
        reminder = self.dispatch_at()
        text = self.letter_text(reminder)
        self.assertIn("Aviso final", text)
        self.assertIn("Días de atraso", text)
        self.assertNotIn("Final notice", text)
