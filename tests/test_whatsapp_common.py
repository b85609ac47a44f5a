"""Fixtures of the WhatsApp tests: a Graph-API-like server on loopback.

Not a test module of its own: the classes here have no test method.
"""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch
from urllib.parse import urlsplit

from odoo import Command
from odoo.tests.common import _super_send

from ..models import dunning_whatsapp_account as whatsapp_account
from .common import TUESDAY, DunningCommon

PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "s3cr3t-app"
VERIFY_TOKEN = "verify-me-please"


class FakeGraphAPI:
    """A local HTTP server speaking the shapes of the WhatsApp Cloud API.

    ``respond`` is called with each request (a dict: method, path, headers,
    json) and returns ``(status, body)``, or ``("sleep", seconds)`` to answer
    too late (a read timeout on the client's side): the answer waits until
    ``release`` is set (at the end of each test) or ``seconds`` have passed.
    ``clock``, when set, stamps each request with its instant (``at``).
    """

    def __init__(self):
        self.requests = []
        self.respond = self.accept
        self.phone = None  # the answer to GET /{version}/{phone_number_id}
        self.clock = None
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "json": json.loads(raw) if raw else None,
                }
                if fake.clock:
                    request["at"] = fake.clock()
                fake.requests.append(request)
                status, body = fake.respond(request)
                if status == "sleep":
                    fake.release.wait(body)
                    status, body = fake.accept(request)
                if request["method"] == "GET" and status == 200 and fake.phone:
                    body = fake.phone
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    return  # the client gave up (read timeout): nobody to answer

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        host, port = self.server.server_address
        return f"http://{host}:{port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def sends(self):
        return [r for r in self.requests if r["method"] == "POST"]

    def accept(self, request):
        to = (request["json"] or {}).get("to", "")
        wa_id = "521" + to[2:] if to.startswith("52") else to
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": wa_id}],
            "messages": [
                {
                    "id": f"wamid.OK{len(self.requests)}.{to}",
                    "message_status": "accepted",
                }
            ],
        }

    @staticmethod
    def error(code, status=400, title="Error"):
        return status, {
            "error": {
                "message": title,
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": title},
                "fbtrace_id": "AbCdEf",
            }
        }


class FakeClock:
    """A monotonic clock that only moves when slept on: the pacers' time in tests."""

    def __init__(self, start=1000.0):
        self.now = start
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0, seconds
        self.slept.append(seconds)
        self.now += seconds


def sign(raw, secret=APP_SECRET):
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def webhook_body(value, phone_number_id=PHONE_NUMBER_ID):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550001111",
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def status_value(wamid, status, timestamp=1795543200, callback=None, errors=None):
    item = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": "5215512345678",
    }
    if callback:
        item["biz_opaque_callback_data"] = callback
    if errors:
        item["errors"] = errors
    return {"statuses": [item]}


def inbound_value(text, wa_id="5215512345678", wamid="wamid.IN1"):
    return {
        "contacts": [{"profile": {"name": "María Peña"}, "wa_id": wa_id}],
        "messages": [
            {
                "from": wa_id,
                "id": wamid,
                "timestamp": "1795543300",
                "type": "text",
                "text": {"body": text},
            }
        ],
    }


class WhatsAppCommon(DunningCommon):
    """A company with a WhatsApp account, an approved template and a policy
    whose due-date level sends it; a Mexican customer who agreed to WhatsApp."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.graph = FakeGraphAPI().start()
        cls.addClassCleanup(cls.graph.stop)
        cls.account = cls.env["dunning.whatsapp.account"].create(
            {
                "name": "Cobranza",
                "company_id": cls.company.id,
                "phone_number_id": PHONE_NUMBER_ID,
                "waba_id": "WABA1",
                "access_token": "EAAG-token",
                "app_secret": APP_SECRET,
                "verify_token": VERIFY_TOKEN,
                "api_base_url": cls.graph.url,
            }
        )
        cls.template = cls.env["dunning.whatsapp.template"].create(
            {
                "name": "recordatorio_pago_v1",
                "language": "es_MX",
                "account_id": cls.account.id,
                "body_text": "Hola {{1}}, su saldo de {{2}} vence el {{3}}.",
                "url_button": True,
                "param_ids": [
                    Command.create({"sequence": 1, "source": "partner_name"}),
                    Command.create({"sequence": 2, "source": "amount_due"}),
                    Command.create({"sequence": 3, "source": "oldest_due_date"}),
                ],
            }
        )
        cls.wa_policy = cls._create_policy(cls.company, ladder=())
        cls.wa_level = cls.env["dunning.level"].create(
            {
                "policy_id": cls.wa_policy.id,
                "name": "WhatsApp on the due date",
                "offset_days": 0,
                "channel_email": False,
                "channel_whatsapp": True,
                "whatsapp_template_id": cls.template.id,
            }
        )
        cls.company.dunning_policy_id = cls.wa_policy
        cls.wa_customer = cls._create_customer(
            "María Peña",
            mobile="+52 55 1234 5678",
            whatsapp_opt_in=True,
            whatsapp_opt_in_source="contract",
        )

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # Odoo's test harness raises every timeout below 10 s to 10 s and expects
        # a number: requests to the fake Graph API keep the client's own
        # (connect, read) pair, so that a read timeout can be tested.
        graph = getattr(cls, "graph", None)
        if graph and urlsplit(r.url).netloc == urlsplit(graph.url).netloc:
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    def setUp(self):
        super().setUp()
        self.graph.requests.clear()
        self.graph.respond = self.graph.accept
        self.graph.phone = None
        # A late answer is held until the test is over, never longer.
        self.graph.release.clear()
        self.addCleanup(self.graph.release.set)
        # Sending paces on a fake clock: no test waits for, or measures, wall time.
        self.clock = FakeClock()
        self.graph.clock = self.clock
        self.addCleanup(setattr, self.graph, "clock", None)
        self.startPatcher(patch.object(whatsapp_account, "PACING_CLOCK", self.clock))
        self.startPatcher(
            patch.object(whatsapp_account, "PACING_SLEEP", self.clock.sleep)
        )
        self.startPatcher(patch.dict(whatsapp_account._PACERS, clear=True))

    def process_webhook_events(self):
        """Run the inbox's cron, as the webhook triggers it: the webhook only
        stores the events; applying them is the cron's, in the background."""
        self.env.ref(
            "account_dunning.ir_cron_whatsapp_events"
        ).sudo().method_direct_trigger()

    def queued_whatsapp(self, partner=None):
        """Plan an invoice of ``partner`` due on Tuesday: its WhatsApp reminder."""
        partner = partner or self.wa_customer
        self.create_invoice(partner, due=TUESDAY)
        self.plan_on(TUESDAY)
        reminder = self.reminders(partner, channel="whatsapp")
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.state, "queued")
        return reminder
