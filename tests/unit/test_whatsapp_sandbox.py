"""Unit tests of scripts/whatsapp_sandbox.py, the demo's WhatsApp Cloud API sandbox.

The sandbox runs on loopback (port 0) and is driven by the add-on's own client
(services/whatsapp/client.py), as in the demo; its status webhooks go to a
local HTTP server that records the raw bytes and checks them with the add-on's
own ``verify_signature`` and ``parse_webhook``.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
for path in (_ROOT, _ROOT / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import whatsapp_sandbox as sandbox_module  # noqa: E402

from services.whatsapp.client import WhatsAppClient  # noqa: E402
from services.whatsapp.errors import AccountError, TerminalError  # noqa: E402
from services.whatsapp.events import StatusEvent  # noqa: E402
from services.whatsapp.webhook import parse_webhook, verify_signature  # noqa: E402

BODY_PARAMS = [
    "Abarrotes La Esperanza",
    "$12,750.00 MXN",
    "23/11/2026",
    "INV/2026/00003, INV/2026/00004",
    "Distribuidora del Valle S.A. de C.V.",
]


class WebhookReceiver:
    """The Odoo side of the webhooks: records each POST's headers and raw body."""

    def __init__(self, status=200):
        self.posts = []
        self.status = status
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.arrived:
                    receiver.posts.append((dict(self.headers), raw))
                    receiver.arrived.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        host, port = self.server.server_address
        return f"http://{host}:{port}/dunning/whatsapp/webhook"

    def wait_for(self, count, timeout=60):
        """Block until ``count`` webhooks arrived: woken by each arrival, never
        by polling a clock (``timeout`` only bounds a failing test)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.posts) >= count, timeout)
        return self.posts

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def sandbox(receiver, tmp_path):
    sandbox = sandbox_module.Sandbox(
        port=0, folder=tmp_path, webhook_url=receiver.url, status_delay=0.05
    ).start()
    yield sandbox
    sandbox.stop()


def client(sandbox, token=sandbox_module.ACCESS_TOKEN):
    return WhatsAppClient(
        sandbox.url, "v21.0", sandbox_module.PHONE_NUMBER_ID, token, timeout=(5, 5)
    )


def send(sandbox, to="+525512345601", params=None):
    return client(sandbox).send_template(
        to,
        "recordatorio_pago_v1",
        "es_MX",
        params or BODY_PARAMS,
        url_button_suffix="my/invoices/7?access_token=abc",
        callback_data="reminder-uuid-1",
    )


def statuses(posts):
    events = []
    for _headers, raw in posts:
        events.extend(parse_webhook(json.loads(raw)))
    return [e for e in events if isinstance(e, StatusEvent)]


def test_send_answers_wamid_and_wa_id_and_saves_the_message(sandbox, tmp_path):
    result = send(sandbox)
    assert result.wamid.startswith("wamid.")
    # Mexican mobiles come back in WhatsApp's 521 form.
    assert result.wa_id == "5215512345601"
    assert result.message_status == "accepted"
    (saved,) = tmp_path.glob("*-525512345601.json")
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data["wamid"] == result.wamid
    request = data["request"]
    assert request["template"]["name"] == "recordatorio_pago_v1"
    body = request["template"]["components"][0]
    assert [p["text"] for p in body["parameters"]] == BODY_PARAMS
    assert request["biz_opaque_callback_data"] == "reminder-uuid-1"


def test_status_webhooks_are_signed_over_the_raw_body_and_ordered(sandbox, receiver):
    result = send(sandbox)
    posts = receiver.wait_for(3)
    assert len(posts) == 3
    for headers, raw in posts:
        signature = headers["X-Hub-Signature-256"]
        assert verify_signature(sandbox_module.APP_SECRET, raw, signature)
        assert not verify_signature("another-secret", raw, signature)
        # Meta's bytes: unicode-escaped JSON, ASCII only.
        raw.decode("ascii")
    events = statuses(posts)
    assert [e.status for e in events] == ["sent", "delivered", "read"]
    for event in events:
        assert event.wamid == result.wamid
        assert event.phone_number_id == sandbox_module.PHONE_NUMBER_ID
        assert event.callback_data == "reminder-uuid-1"
        assert event.recipient_id == "5215512345601"


def test_a_number_not_on_whatsapp_fails_with_131026(sandbox, receiver):
    # Statuses are scheduled while the send is answered: held, they can be counted.
    sandbox.webhooks.hold()
    result = send(sandbox, to="529981230000")
    assert sandbox.webhooks.pending() == 1, "nothing after a failure"
    sandbox.webhooks.release()
    (event,) = statuses(receiver.wait_for(1))
    assert event.wamid == result.wamid
    assert event.status == "failed"
    assert [e.code for e in event.errors] == [131026]


def test_webhooks_are_retried_until_the_server_answers(tmp_path):
    receiver = WebhookReceiver(status=503)
    sandbox = sandbox_module.Sandbox(
        port=0, webhook_url=receiver.url, status_delay=0.05
    )
    sandbox.webhooks.retry_every = 0.1
    sandbox.start()
    try:
        send(sandbox)
        receiver.wait_for(2)
        receiver.status = 200

        sandbox.webhooks.wait_delivered(3, ok_only=True)
        assert len([s for _body, s in sandbox.webhooks.delivered if s == 200]) == 3
        ok_events = [
            body["entry"][0]["changes"][0]["value"]["statuses"][0]["status"]
            for body, status in sandbox.webhooks.delivered
            if status == 200
        ]
        assert ok_events == ["sent", "delivered", "read"]
    finally:
        sandbox.stop()
        receiver.stop()


def test_phone_number_and_templates_for_test_connection_and_sync(sandbox):
    info = client(sandbox).get_phone_number()
    assert info.id == sandbox_module.PHONE_NUMBER_ID
    assert info.display_phone_number == sandbox_module.DISPLAY_PHONE_NUMBER
    assert "sandbox" in info.verified_name
    templates = client(sandbox).list_templates(sandbox_module.WABA_ID)
    assert {(t.name, t.language) for t in templates} == {
        (name, language)
        for name in (
            "recordatorio_preventivo",
            "recordatorio_vencimiento",
            "recordatorio_firme",
            "aviso_final",
            "confirmacion_promesa_pago",
            "agradecimiento_pago",
        )
        for language in ("es_MX", "en")
    } | {("recordatorio_pago_v1", "es_MX")}
    template = next(t for t in templates if t.name == "recordatorio_pago_v1")
    assert template.status == "APPROVED"
    assert template.category == "UTILITY"
    assert template.body_param_count == len(BODY_PARAMS)
    assert template.buttons[0]["type"] == "URL"


def test_refuses_what_meta_refuses(sandbox, receiver):
    with pytest.raises(AccountError) as error:
        client(sandbox, token="wrong").get_phone_number()
    assert error.value.code == 190
    with pytest.raises(TerminalError) as error:
        send(sandbox, params=BODY_PARAMS[:3])
    assert error.value.code == 132000
    with pytest.raises(TerminalError) as error:
        client(sandbox).send_template("525512345601", "no_such_template", "es_MX", [])
    assert error.value.code == 132001
    assert sandbox.received == []
    # Statuses are scheduled before a send is answered: none means none will come.
    assert sandbox.webhooks.pending() == 0
    assert receiver.posts == []


def test_benchmark_mode_records_receive_instants():
    sandbox = sandbox_module.Sandbox(port=0).start()
    try:
        for _ in range(3):
            send(sandbox)
        import urllib.request

        with urllib.request.urlopen(f"{sandbox.url}/_sandbox/received") as response:
            received = json.load(response)["received"]
        assert len(received) == 3
        assert received == sorted(received)
    finally:
        sandbox.stop()
