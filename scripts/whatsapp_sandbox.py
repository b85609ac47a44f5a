#!/usr/bin/env python3
"""A local WhatsApp Cloud API sandbox for the demo: no message leaves this machine.

    .venv/bin/python scripts/whatsapp_sandbox.py --port 9069 \\
        --dir .build/demo-whatsapp \\
        --webhook http://127.0.0.1:8069/dunning/whatsapp/webhook

It answers, on loopback, the Graph API calls the add-on makes, in the shapes of
Meta's WhatsApp Business Cloud API (../shared/WHATSAPP.md):

* ``POST /{version}/{phone_number_id}/messages``: a template or a text message;
  checked like Meta checks it (bearer token, phone number id, template name and
  language, number of body parameters), answered with a ``wamid`` and the
  ``wa_id`` WhatsApp resolves the number to (``521...`` for a Mexican mobile);
  the request is saved as a JSON file under ``--dir``;
* ``GET /{version}/{phone_number_id}``: the number's details ("Test connection");
* ``GET /{version}/{waba_id}/message_templates``: the approved templates;
* ``GET /{version}/{media-id}``: a media a customer sent (:meth:`Sandbox.add_media`),
  as ``{"url", "mime_type", "sha256", "file_size", "id"}``; ``GET`` that url (with
  the bearer token) answers its bytes with their content type. An unknown id
  answers Meta's error 100 (an expired media); ``media_failures`` makes the next
  downloads of an id fail with a status first (a 500: Meta's transient error).

A few seconds after each accepted message it posts the status webhooks Meta
would post (``sent`` -> ``delivered`` -> ``read``) to ``--webhook``, signed with
``X-Hub-Signature-256`` = HMAC-SHA256 of the app secret over the raw body, so
that the demo runs the add-on's real client and its real webhook controller.
Numbers ending in ``--fail-suffix`` (``0000``) are "not on WhatsApp": they get a
``failed`` status with error 131026. Webhooks that cannot be delivered (the Odoo
server is not up yet) are retried until it answers.

``--no-webhooks --no-save`` turns it into the benchmark's loopback server:
``GET /_sandbox/received`` returns the receive instant (``time.monotonic()`` of
this process) of every message. ``--latency-ms`` holds each Graph API answer
that long, like Meta's servers over the internet; each connection has a thread
of its own, so concurrent requests wait side by side, not one after the other.
"""

# A command-line tool: it prints what it receives and sends.
# pylint: disable=print-used

import argparse
import datetime
import hashlib
import heapq
import hmac
import importlib.util
import itertools
import json
import pathlib
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

# The demo account's settings: scripts/demo_data.py configures the add-on with
# the same values, so that the sandbox accepts its calls and it the webhooks.
PHONE_NUMBER_ID = "100000000000001"
WABA_ID = "200000000000002"
DISPLAY_PHONE_NUMBER = "+52 55 5000 1234"
VERIFIED_NAME = "Distribuidora del Valle (sandbox)"
ACCESS_TOKEN = "sandbox-access-token-not-a-meta-token"
APP_SECRET = "sandbox-app-secret"
VERIFY_TOKEN = "sandbox-verify-token"
FAIL_SUFFIX = "0000"

# The approved templates of the sandbox's business account.
TEMPLATES = [
    {
        "id": "300000000000003",
        "name": "recordatorio_pago_v1",
        "language": "es_MX",
        "status": "APPROVED",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Hola {{1}}, {{5}} le recuerda que tiene un saldo de {{2}}. "
                "Su factura más antigua venció el {{3}} (facturas: {{4}}). Puede "
                "consultarlas y pagar en línea con el botón de abajo. Si ya pagó, "
                "por favor ignore este mensaje.",
            },
            {
                "type": "FOOTER",
                "text": "Responda BAJA para dejar de recibir estos mensajes.",
            },
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Ver y pagar",
                        "url": "http://localhost:8069/{{1}}",
                    }
                ],
            },
        ],
    },
]


def _load_shipped_templates():
    """The add-on's shipped templates (services/whatsapp/templates.py, pure
    Python), read from the add-on this script belongs to."""
    path = pathlib.Path(__file__).resolve().parents[1] / "services" / "whatsapp"
    spec = importlib.util.spec_from_file_location(
        "dunning_shipped_templates", path / "templates.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SHIPPED_REMINDER_TEMPLATES + module.SHIPPED_NOTICE_TEMPLATES


# The add-on's shipped templates, as Meta lists them once approved.
TEMPLATES += [
    {
        "id": str(300000000000004 + index),
        "name": shipped["name"],
        "language": shipped["language"],
        "status": "APPROVED",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": shipped["body_text"]}],
    }
    for index, shipped in enumerate(_load_shipped_templates())
]

# Where Meta's short-lived media URLs point (lookaside.fbsbx.com in production).
MEDIA_PATH = "/whatsapp_business/attachments/"

_VERSION = re.compile(r"v\d+\.\d+")
PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


def sign(secret, raw):
    """``X-Hub-Signature-256`` of ``raw`` (bytes) with the app ``secret``."""
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def graph_error(code, message, details=None):
    """Meta's error envelope."""
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {
                "messaging_product": "whatsapp",
                "details": details or message,
            },
            "fbtrace_id": "Sandbox" + uuid.uuid4().hex[:12],
        }
    }


def wa_id_for(to):
    """The ``wa_id`` WhatsApp reports: Mexican mobiles come back as 521 + 10 digits."""
    if to.startswith("52") and len(to) == 12:
        return "521" + to[2:]
    return to


def status_envelope(
    phone_number_id, display_number, wamid, status, recipient, callback, errors=None
):
    """One status webhook, as Meta posts it."""
    item = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }
    if callback:
        item["biz_opaque_callback_data"] = callback
    if status in ("sent", "delivered"):
        item["conversation"] = {
            "id": "sandbox-conversation",
            "origin": {"type": "utility"},
        }
        item["pricing"] = {
            "billable": True,
            "pricing_model": "PMP",
            "category": "utility",
        }
    if errors:
        item["errors"] = errors
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": re.sub(
                                    r"\D", "", display_number
                                ),
                                "phone_number_id": phone_number_id,
                            },
                            "statuses": [item],
                        },
                    }
                ],
            }
        ],
    }


class WebhookSender:
    """Posts signed webhooks at their due time, retrying until the server answers.

    One thread, a heap of (due, sequence, body): statuses of a message leave in
    order; a webhook the server refuses with 403 (wrong secret) is dropped and
    logged, any other failure (connection refused, 5xx) is retried.
    """

    def __init__(self, url, secret, retry_every=3.0, give_up_after=3600.0):
        self.url = url
        self.secret = secret
        self.retry_every = retry_every
        self.give_up_after = give_up_after
        self._heap = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._held = False
        self.delivered = []  # (body, http status) of every webhook posted
        self._delivered_cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self.thread.join(timeout=5)

    def hold(self):
        """Post nothing until :meth:`release` (tests: let the sender finish first)."""
        with self._cond:
            self._held = True

    def wait_delivered(self, count, ok_only=False, timeout=60):
        """Block until ``count`` webhooks were posted (answered 200 when
        ``ok_only``); return every post. Woken by each post, not by polling a
        clock; ``timeout`` only bounds a test that fails."""

        def done():
            posts = [p for p in self.delivered if not ok_only or p[1] == 200]
            return len(posts) >= count

        with self._delivered_cond:
            self._delivered_cond.wait_for(done, timeout)
        return self.delivered

    def release(self):
        with self._cond:
            self._held = False
            self._cond.notify_all()

    def schedule(self, delay, body):
        with self._cond:
            heapq.heappush(
                self._heap, (time.monotonic() + delay, next(self._counter), body)
            )
            self._cond.notify_all()

    def pending(self):
        with self._cond:
            return len(self._heap)

    def _run(self):
        while True:
            with self._cond:
                while not self._stopped and (
                    self._held or not self._heap or self._heap[0][0] > time.monotonic()
                ):
                    timeout = None
                    if self._heap and not self._held:
                        timeout = self._heap[0][0] - time.monotonic()
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                due, seq, body = heapq.heappop(self._heap)
            first_try = body.pop("_first_try", time.monotonic())
            status = self._post(body)
            if status is None or status >= 500:
                if time.monotonic() - first_try < self.give_up_after:
                    body["_first_try"] = first_try
                    with self._cond:
                        # The server is down: everything waits, and on equal due
                        # times the sequence keeps the statuses in their order.
                        retry_at = time.monotonic() + self.retry_every
                        self._heap = [
                            (max(due, retry_at), other_seq, other)
                            for due, other_seq, other in self._heap
                        ]
                        self._heap.append((retry_at, seq, body))
                        heapq.heapify(self._heap)
                else:
                    print("whatsapp_sandbox: webhook given up", flush=True)

    def _post(self, body):
        # Meta posts unicode-escaped JSON and signs those exact bytes.
        raw = json.dumps(body, ensure_ascii=True).encode()
        request = urllib.request.Request(
            self.url,
            data=raw,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(self.secret, raw),
                "User-Agent": "facebookexternalua (whatsapp_sandbox)",
            },
        )
        status_item = body["entry"][0]["changes"][0]["value"]["statuses"][0]
        what = f"{status_item['status']} {status_item['id']}"
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except (urllib.error.URLError, OSError):
            return None  # the server is not up yet: retried
        print(f"whatsapp_sandbox: webhook {what} -> HTTP {status}", flush=True)
        with self._delivered_cond:
            self.delivered.append((body, status))
            self._delivered_cond.notify_all()
        return status


class Sandbox:
    """The sandbox server; ``start()`` serves it in a thread (tests, benchmark)."""

    def __init__(
        self,
        host="127.0.0.1",
        port=0,
        folder=None,
        webhook_url=None,
        phone_number_id=PHONE_NUMBER_ID,
        access_token=ACCESS_TOKEN,
        app_secret=APP_SECRET,
        display_phone_number=DISPLAY_PHONE_NUMBER,
        fail_suffix=FAIL_SUFFIX,
        status_delay=3.0,
        templates=None,
        latency=0.0,
    ):
        self.folder = pathlib.Path(folder) if folder else None
        self.phone_number_id = phone_number_id
        self.access_token = access_token
        self.display_phone_number = display_phone_number
        self.fail_suffix = fail_suffix
        self.status_delay = status_delay
        self.templates = TEMPLATES if templates is None else templates
        self.latency = latency  # seconds each Graph API answer is held
        self.received = []  # monotonic receive instants of the accepted messages
        self.sent = []  # the payloads of the accepted messages
        self.media = {}  # media id -> (bytes, mime type)
        self.media_failures = {}  # media id -> HTTP statuses to answer first
        self.media_requests = []  # (path, authorization) of each media request
        self._lock = threading.Lock()
        self.webhooks = WebhookSender(webhook_url, app_secret) if webhook_url else None
        sandbox = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like graph.facebook.com
            # One write per answer, sent at once: headers and body in separate
            # small writes would wait for the client's delayed ACK (Nagle),
            # about 40 ms per request on a keep-alive connection.
            disable_nagle_algorithm = True
            wbufsize = -1  # flushed by handle_one_request after each answer

            def _answer(self, status, body, content_type="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                path = urlsplit(self.path).path
                if path == "/_sandbox/received":
                    with sandbox._lock:
                        received = list(sandbox.received)
                    return self._answer(200, {"received": received})
                if path == MEDIA_PATH:
                    query = parse_qs(urlsplit(self.path).query)
                    media_id = (query.get("mid") or [""])[0]
                    return self._answer(*sandbox.handle_media(media_id, self.headers))
                answer = sandbox.handle_get(path, self.headers)
                sandbox.hold(time.monotonic())
                self._answer(*answer)

            def do_POST(self):
                at = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                answer = sandbox.handle_post(path, self.headers, raw, at)
                sandbox.hold(at)
                self._answer(*answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread = None

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        if self.webhooks:
            self.webhooks.start()
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        if self.webhooks:
            self.webhooks.stop()

    def hold(self, since):
        """Wait until ``latency`` seconds after ``since`` (the request's arrival)."""
        if self.latency:
            remaining = since + self.latency - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)

    # -- Media ------------------------------------------------------------------

    def add_media(self, media_id, data, mime_type):
        """Keep a file a customer sent: downloadable under ``media_id``."""
        self.media[media_id] = (data, mime_type)

    def _next_media_failure(self, media_id):
        with self._lock:
            failures = self.media_failures.get(media_id) or []
            return failures.pop(0) if failures else None

    def handle_media_info(self, media_id, headers):
        """``GET /{version}/{media-id}``: where to download the media."""
        with self._lock:
            self.media_requests.append((media_id, headers.get("Authorization")))
        failure = self._next_media_failure(media_id)
        if failure:
            return failure, graph_error(131000, "Something went wrong")
        if media_id not in self.media:
            return 400, graph_error(
                100,
                f"Unsupported get request. Object with ID '{media_id}' does not "
                "exist, cannot be loaded due to missing permissions, or does not "
                "support this operation.",
            )
        data, mime_type = self.media[media_id]
        return 200, {
            "messaging_product": "whatsapp",
            "url": f"{self.url}{MEDIA_PATH}?mid={quote(media_id)}&ext=1",
            "mime_type": mime_type,
            "sha256": hashlib.sha256(data).hexdigest(),
            "file_size": len(data),
            "id": media_id,
        }

    def handle_media(self, media_id, headers):
        """``GET`` a media URL: the bytes (with the bearer token), else 404."""
        with self._lock:
            self.media_requests.append((MEDIA_PATH, headers.get("Authorization")))
        if not self._authorized(headers):
            return 401, b"", "text/plain"
        if media_id not in self.media:
            return 404, b"", "text/plain"
        data, mime_type = self.media[media_id]
        return 200, data, mime_type

    # -- Graph API --------------------------------------------------------------

    def _authorized(self, headers):
        return headers.get("Authorization") == f"Bearer {self.access_token}"

    def _split(self, path):
        """(version, [segments]) of a Graph path, or (None, None)."""
        parts = [p for p in path.split("/") if p]
        if not parts or not _VERSION.fullmatch(parts[0]):
            return None, None
        return parts[0], parts[1:]

    def handle_get(self, path, headers):
        version, segments = self._split(path)
        if not version:
            return 404, graph_error(100, "Unknown path components")
        if not self._authorized(headers):
            return 401, graph_error(190, "Invalid OAuth access token.")
        if segments == [self.phone_number_id]:
            return 200, {
                "id": self.phone_number_id,
                "display_phone_number": self.display_phone_number,
                "verified_name": VERIFIED_NAME,
                "quality_rating": "GREEN",
                "code_verification_status": "VERIFIED",
                "platform_type": "CLOUD_API",
            }
        if len(segments) == 1 and segments[0] != self.phone_number_id:
            return self.handle_media_info(segments[0], headers)
        if len(segments) == 2 and segments[1] == "message_templates":
            if segments[0] != WABA_ID:
                return 400, graph_error(
                    100, f"Unknown WhatsApp Business Account {segments[0]}"
                )
            return 200, {
                "data": self.templates,
                "paging": {"cursors": {"before": "QVFIUk", "after": "QVFIUl"}},
            }
        return 400, graph_error(
            100, "Unsupported get request. Object does not exist or is not supported."
        )

    def handle_post(self, path, headers, raw, at=None):
        version, segments = self._split(path)
        if not version or len(segments) != 2 or segments[1] != "messages":
            return 404, graph_error(100, "Unknown path components")
        if not self._authorized(headers):
            return 401, graph_error(190, "Invalid OAuth access token.")
        if segments[0] != self.phone_number_id:
            return 400, graph_error(
                100, f"Object with ID '{segments[0]}' does not exist"
            )
        try:
            payload = json.loads(raw)
        except ValueError:
            return 400, graph_error(100, "Invalid JSON body")
        error = self._check_message(payload)
        if error:
            return 400, error
        to = payload["to"]
        wamid = "wamid.SANDBOX" + uuid.uuid4().hex.upper()
        wa_id = wa_id_for(to)
        with self._lock:
            self.received.append(at if at is not None else time.monotonic())
            self.sent.append(payload)
        if self.folder:
            self._save(payload, wamid, wa_id)
        if self.webhooks:
            self._schedule_statuses(payload, wamid, wa_id)
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": wa_id}],
            "messages": [{"id": wamid, "message_status": "accepted"}],
        }

    def _check_message(self, payload):
        """Meta's error for a message it would refuse, else None."""
        if (
            not isinstance(payload, dict)
            or payload.get("messaging_product") != "whatsapp"
        ):
            return graph_error(100, "The parameter messaging_product is required.")
        to = payload.get("to")
        if not isinstance(to, str) or not re.fullmatch(r"\d{8,15}", to):
            return graph_error(131009, "Parameter value is not valid", f"to={to!r}")
        kind = payload.get("type")
        if kind == "text":
            body = (payload.get("text") or {}).get("body")
            if not isinstance(body, str) or not body:
                return graph_error(131008, "Required parameter is missing", "text.body")
            return None
        if kind != "template":
            return graph_error(131009, "Parameter value is not valid", f"type={kind!r}")
        template = payload.get("template") or {}
        language = (template.get("language") or {}).get("code")
        approved = next(
            (
                t
                for t in self.templates
                if t["name"] == template.get("name") and t["language"] == language
            ),
            None,
        )
        if not approved:
            return graph_error(
                132001,
                "Template name does not exist in the translation",
                f"template name ({template.get('name')}) does not exist in {language}",
            )
        expected = 0
        for component in approved["components"]:
            if component["type"] == "BODY":
                expected = len(set(PLACEHOLDER.findall(component["text"])))
        sent = 0
        for component in template.get("components") or []:
            if component.get("type") == "body":
                sent = len(component.get("parameters") or [])
        if sent != expected:
            return graph_error(
                132000,
                "Number of parameters does not match the expected number of params",
                f"body: number of localizable_params ({sent}) does not match the "
                f"expected number of params ({expected})",
            )
        return self._check_buttons(approved, template)

    @staticmethod
    def _check_buttons(approved, template):
        """Meta's error for a button parameter at an index where the approved
        template has no button of that kind, else None. A template listed
        without its buttons (a test's shorthand) is not checked."""
        buttons = None
        for component in approved["components"]:
            if component["type"] == "BUTTONS":
                buttons = component.get("buttons") or []
        if buttons is None:
            return None
        for component in template.get("components") or []:
            if component.get("type") != "button":
                continue
            index = str(component.get("index"))
            kind = str(component.get("sub_type", "")).upper()
            position = int(index) if index.isdigit() else -1
            if not 0 <= position < len(buttons) or buttons[position]["type"] != kind:
                return graph_error(
                    131008,
                    "Required parameter is missing",
                    f"button at index {index}: the template has no {kind} button there",
                )
        return None

    def _save(self, payload, wamid, wa_id):
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        path = self.folder / f"{stamp}-{payload['to']}.json"
        path.write_text(
            json.dumps(
                {"wamid": wamid, "wa_id": wa_id, "request": payload},
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
        print(
            f"whatsapp_sandbox: {payload['type']} to +{payload['to']} -> {path}",
            flush=True,
        )

    def _schedule_statuses(self, payload, wamid, wa_id):
        callback = payload.get("biz_opaque_callback_data")

        def envelope(status, errors=None):
            return status_envelope(
                self.phone_number_id,
                self.display_phone_number,
                wamid,
                status,
                wa_id,
                callback,
                errors,
            )

        delay = self.status_delay
        if self.fail_suffix and payload["to"].endswith(self.fail_suffix):
            error = {
                "code": 131026,
                "title": "Message undeliverable",
                "message": "Message undeliverable",
                "error_data": {
                    "details": "The recipient is not a WhatsApp user (sandbox)."
                },
            }
            self.webhooks.schedule(delay, envelope("failed", [error]))
            return
        self.webhooks.schedule(delay, envelope("sent"))
        self.webhooks.schedule(2 * delay, envelope("delivered"))
        self.webhooks.schedule(4 * delay, envelope("read"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9069)
    parser.add_argument("--dir", type=pathlib.Path, help="save each message here")
    parser.add_argument("--webhook", help="URL of Odoo's /dunning/whatsapp/webhook")
    parser.add_argument("--app-secret", default=APP_SECRET)
    parser.add_argument("--access-token", default=ACCESS_TOKEN)
    parser.add_argument("--phone-number-id", default=PHONE_NUMBER_ID)
    parser.add_argument(
        "--fail-suffix",
        default=FAIL_SUFFIX,
        help="numbers ending in this are not on WhatsApp (131026); '' for none",
    )
    parser.add_argument(
        "--status-delay", type=float, default=3.0, help="seconds between statuses"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="hold each Graph API answer this long (a real provider's latency;"
        " the benchmark uses 150)",
    )
    parser.add_argument("--no-webhooks", action="store_true")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the sandbox listens on loopback only")
    sandbox = Sandbox(
        host=args.host,
        port=args.port,
        folder=None if args.no_save else args.dir,
        webhook_url=None if args.no_webhooks else args.webhook,
        phone_number_id=args.phone_number_id,
        access_token=args.access_token,
        app_secret=args.app_secret,
        fail_suffix=args.fail_suffix,
        status_delay=args.status_delay,
        latency=args.latency_ms / 1000,
    ).start()
    print(f"whatsapp_sandbox: serving the Graph API on {sandbox.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
