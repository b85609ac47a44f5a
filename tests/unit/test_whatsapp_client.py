"""Unit tests of services.whatsapp (pure Python, no Odoo, no Internet).

The client talks to a real HTTP server on loopback (``ThreadingHTTPServer`` on
127.0.0.1, port 0) that speaks the Graph API's shapes: it records every request
and answers what each test queues (a success body, an error envelope, a 5xx
page, a slow reply, a dropped connection).  Network failures are real too: a
closed port for "connection refused", a listening socket whose backlog is full
for a connect timeout.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import socket
import sys
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

# The add-on root is an Odoo package; import the pure service module directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.whatsapp.client import (  # noqa: E402
    PhoneNumberInfo,
    SendResult,
    WhatsAppClient,
)
from services.whatsapp.errors import (  # noqa: E402
    AccountError,
    InvalidRequestError,
    RecipientRateLimitError,
    RetryableError,
    TemplateParamsError,
    TerminalError,
    UncertainError,
    WebhookPayloadError,
    WhatsAppError,
    classify,
)
from services.whatsapp.events import (  # noqa: E402
    OPT_OUT_KEYWORDS,
    STATUS_ORDER,
    MessageEvent,
    StatusError,
    StatusEvent,
    is_opt_out,
    should_apply_status,
    status_rank,
)
from services.whatsapp.payloads import (  # noqa: E402
    build_template_payload,
    template_param_count,
    validate_template_params,
)
from services.whatsapp.webhook import (  # noqa: E402
    MAX_WEBHOOK_DEPTH,
    key_hash,
    load_webhook_body,
    parse_webhook,
    parse_webhook_body,
    signed_by,
    verify_signature,
    verify_subscription,
)

PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
TOKEN = "EAAGtest-token-0123456789"
VERSION = "v21.0"
WAMID = "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEjQyRkI3QjM4OUIxQ0Y5QjY0RgA="
CALLBACK = "6f1c2a9e-3b7d-4c55-9a10-8d2e4f6b7c01"
BODY_TEXT = (
    "Hola {{1}}, le recordamos que su saldo de {{2}} vence el {{3}}. "
    "Puede consultar y pagar sus facturas con el botón de abajo."
)
SUCCESS = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "525512345678", "wa_id": "5215512345678"}],
    "messages": [{"id": WAMID, "message_status": "accepted"}],
}


# --- the Graph API stub ------------------------------------------------------------


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    """What the server answers to the next request."""

    status: int = 200
    body: object = None
    raw: bytes | None = None
    delay: float = 0.0
    drop: bool = False
    content_type: str = "application/json"


class GraphStub:
    """State shared by the server's handler threads and the test."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: deque[Reply] = deque()
        self.release = threading.Event()
        self.base_url = ""

    def reply(self, status: int = 200, body: object = None, **kwargs) -> None:
        self.replies.append(Reply(status, body, **kwargs))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base signature
        """Keep the test output clean."""

    def _handle(self) -> None:
        stub: GraphStub = self.server.stub
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        stub.requests.append(
            Recorded(
                self.command, url.path, parse_qs(url.query), dict(self.headers), body
            )
        )
        reply = stub.replies.popleft() if stub.replies else Reply(500, raw=b"")
        if reply.delay:
            stub.release.wait(reply.delay)
        if reply.drop:
            # The request was read in full; close without answering, as a
            # connection reset after sending looks to the client.
            self.close_connection = True
            return
        data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _handle
    do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that gave up (read timeout) is expected, not an error."""


@pytest.fixture
def graph():
    """A Graph API stub on 127.0.0.1, on a free port."""
    stub = GraphStub()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.stub = stub
    # A short poll interval: shutdown() waits for the loop's next poll.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    stub.base_url = f"http://127.0.0.1:{server.server_port}"
    yield stub
    stub.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def client(graph):
    """A client of the stub, with its own session."""
    with requests.Session() as session:
        yield WhatsAppClient(
            graph.base_url, VERSION, PHONE_NUMBER_ID, TOKEN, (2, 5), session
        )


def error_envelope(code: int, message: str = "Error", details: str = "details"):
    """A Graph API error body as Meta sends it."""
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "AbCdEfGh123",
        }
    }


def send_reminder(client: WhatsAppClient) -> SendResult:
    """The payment reminder of WHATSAPP.md."""
    return client.send_template(
        "+525512345678",
        "recordatorio_pago_v1",
        "es_MX",
        ["María Peña", "$1,250.00 MXN", "15/07/2026"],
        url_button_suffix="s/4711?t=9f3c",
        callback_data=CALLBACK,
        body_text=BODY_TEXT,
    )


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- sending ---------------------------------------------------------------------


def test_send_template_exact_payload_headers_and_path(graph, client):
    """The reminder of WHATSAPP.md, byte for byte in meaning, to the right URL."""
    graph.reply(200, SUCCESS)
    result = send_reminder(client)
    assert result == SendResult(WAMID, "5215512345678", "accepted")
    [request] = graph.requests
    assert request.method == "POST"
    assert request.path == f"/{VERSION}/{PHONE_NUMBER_ID}/messages"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "525512345678",
        "type": "template",
        "template": {
            "name": "recordatorio_pago_v1",
            "language": {"code": "es_MX"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "María Peña"},
                        {"type": "text", "text": "$1,250.00 MXN"},
                        {"type": "text", "text": "15/07/2026"},
                    ],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": "s/4711?t=9f3c"}],
                },
            ],
        },
        "biz_opaque_callback_data": CALLBACK,
    }


def test_send_template_with_quick_replies(graph, client):
    """Quick replies carry payloads; they follow the URL button's index."""
    graph.reply(200, SUCCESS)
    client.send_template(
        "525512345678",
        "recordatorio_pago_v2",
        "es_MX",
        ["María"],
        url_button_suffix="s/4711",
        quick_replies=["PROMISE_4711", "PAID_4711"],
    )
    payload = graph.requests[0].json()
    assert "biz_opaque_callback_data" not in payload
    assert payload["template"]["components"][1:] == [
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "s/4711"}],
        },
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "1",
            "parameters": [{"type": "payload", "payload": "PROMISE_4711"}],
        },
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "2",
            "parameters": [{"type": "payload", "payload": "PAID_4711"}],
        },
    ]


def test_quick_replies_alone_start_at_index_zero():
    """Without a URL button the first quick reply is button 0."""
    payload = build_template_payload(
        "+525512345678", "t", "es", [], quick_replies=["PROMISE_1"]
    )
    assert payload["template"]["components"] == [
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "0",
            "parameters": [{"type": "payload", "payload": "PROMISE_1"}],
        }
    ]
    custom = build_template_payload(
        "+525512345678",
        "t",
        "es",
        [],
        "x",
        ["A"],
        first_quick_reply_index=0,
        url_button_index=1,
    )
    assert [c["index"] for c in custom["template"]["components"]] == ["1", "0"]
    with pytest.raises(TemplateParamsError, match="share one index"):
        build_template_payload(
            "+525512345678", "t", "es", [], "x", ["A"], first_quick_reply_index=0
        )


def test_template_without_parameters_has_no_components(graph, client):
    """A template with nothing to fill is sent without a components list."""
    graph.reply(200, SUCCESS)
    client.send_template("+16502530000", "aviso_sin_datos", "en_US", [])
    assert graph.requests[0].json()["template"] == {
        "name": "aviso_sin_datos",
        "language": {"code": "en_US"},
    }
    assert graph.requests[0].json()["to"] == "16502530000"


def test_send_text_exact_payload(graph, client):
    """Free text inside the 24-hour window."""
    graph.reply(200, SUCCESS)
    result = client.send_text("+525512345678", "Gracias, ¡recibimos su pago! 🙌", "u-1")
    assert result.wamid == WAMID
    [request] = graph.requests
    assert request.path == f"/{VERSION}/{PHONE_NUMBER_ID}/messages"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "525512345678",
        "type": "text",
        "text": {"body": "Gracias, ¡recibimos su pago! 🙌"},
        "biz_opaque_callback_data": "u-1",
    }


def test_success_without_contacts_still_returns_the_wamid(graph, client):
    """wa_id and message_status are optional in the answer; the id is not."""
    graph.reply(200, {"messages": [{"id": WAMID}]})
    assert send_reminder(client) == SendResult(WAMID, None, None)


# --- validation before sending -------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (["María", "$1,250.00"], "expects 3 body parameter"),
        (["María", "$1", "15/07", "extra"], "expects 3 body parameter"),
        (["María", "", "15/07/2026"], "is empty"),
        (["María", "  ", "15/07/2026"], "is empty"),
        (["María\nPeña", "$1", "15/07/2026"], "newline"),
        (["María\tPeña", "$1", "15/07/2026"], "newline"),
        (["María     Peña", "$1", "15/07/2026"], "consecutive spaces"),
        (["María", 1250, "15/07/2026"], "must be text"),
        (["María", "x" * 1000, "15/07/2026"], "after substitution"),
    ],
)
def test_invalid_template_params_are_never_sent(graph, client, params, message):
    """Wrong count, bad text or a body over 1,024 characters: no request."""
    with pytest.raises(TemplateParamsError, match=message) as info:
        client.send_template(
            "+525512345678",
            "recordatorio_pago_v1",
            "es_MX",
            params,
            body_text=BODY_TEXT,
        )
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, TerminalError)
    assert graph.requests == []


def test_validate_template_params_renders_the_body():
    """The rendered body is returned, for the chatter."""
    rendered = validate_template_params("{{1}} debe {{2}}; {{ 1 }}.", ["Ana", "$5"])
    assert rendered == "Ana debe $5; Ana."
    assert validate_template_params(None, ["Ana"]) is None
    assert validate_template_params("Sin datos.", []) == "Sin datos."


def test_rendered_body_limit_is_exactly_1024():
    """1,024 characters after substitution pass, 1,025 do not."""
    body = "{{1}}" + "x" * 24
    assert len(validate_template_params(body, ["y" * 1000])) == 1024
    with pytest.raises(TemplateParamsError, match="1025 characters"):
        validate_template_params(body, ["y" * 1001])


@pytest.mark.parametrize(
    ("body", "expected"),
    [("Hola", 0), ("{{1}} {{2}} {{1}}", 2), ("{{ 1 }}{{2}}{{3}}", 3)],
)
def test_template_param_count(body, expected):
    """Distinct positional placeholders."""
    assert template_param_count(body) == expected


@pytest.mark.parametrize("body", ["{{1}} {{3}}", "{{2}}", "{{nombre}}", "{{0}}"])
def test_template_param_count_rejects_malformed_templates(body):
    """Gaps, named parameters and {{0}} cannot be approved templates."""
    with pytest.raises(TemplateParamsError):
        template_param_count(body)


def test_text_body_limit(graph, client):
    """4,096 characters pass, 4,097 do not; empty text is refused."""
    graph.reply(200, SUCCESS)
    client.send_text("+525512345678", "a" * 4096)
    with pytest.raises(TemplateParamsError, match="4097"):
        client.send_text("+525512345678", "a" * 4097)
    with pytest.raises(TemplateParamsError):
        client.send_text("+525512345678", " ")
    assert len(graph.requests) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"to": "55 1234 5678"}, "recipient"),
        ({"to": "+52 55 1234 5678"}, "recipient"),
        ({"to": "MX.1349120865"}, "recipient"),
        ({"to": None}, "recipient"),
        ({"callback_data": "u" * 513}, "513 characters"),
        ({"callback_data": ""}, "callback data"),
        ({"template_name": ""}, "template name"),
        ({"language": " es_MX"}, "template language"),
        ({"url_button_suffix": ""}, "URL button"),
        ({"url_button_suffix": "s/4711 x"}, "spaces"),
        ({"quick_replies": [""]}, "quick-reply"),
    ],
)
def test_invalid_requests_are_refused(kwargs, message):
    """Recipient, callback data (<= 512), names and buttons are checked."""
    arguments = {
        "to": "+525512345678",
        "template_name": "recordatorio_pago_v1",
        "language": "es_MX",
        "body_params": ["María"],
    } | kwargs
    with pytest.raises(InvalidRequestError, match=message):
        build_template_payload(**arguments)


def test_callback_data_limit_is_512():
    """512 characters of callback data are accepted."""
    payload = build_template_payload(
        "+525512345678", "t", "es", [], None, None, "u" * 512
    )
    assert len(payload["biz_opaque_callback_data"]) == 512


# --- errors --------------------------------------------------------------------------

CODE_CLASSES = [
    (130429, RetryableError),
    (131000, RetryableError),
    (131001, RetryableError),
    (131002, RetryableError),
    (131057, RetryableError),
    (131056, RecipientRateLimitError),
    (131047, TerminalError),
    (131026, TerminalError),
    (132000, TerminalError),
    (132001, TerminalError),
    (132005, TerminalError),
    (132007, TerminalError),
    (132012, TerminalError),
    (132015, TerminalError),
    (132016, TerminalError),
    (100, TerminalError),
    (131008, TerminalError),
    (131009, TerminalError),
    (190, AccountError),
    (0, AccountError),
    (3, AccountError),
    (10, AccountError),
    (200, AccountError),
    (250, AccountError),
    (299, AccountError),
    (368, AccountError),
    (131031, AccountError),
    (999999, TerminalError),  # unknown: terminal for the message
    (300, TerminalError),
]


@pytest.mark.parametrize(("code", "expected"), CODE_CLASSES)
def test_classify_by_code(code, expected):
    """The code decides, whatever the HTTP status."""
    assert classify(code, None) is expected
    assert classify(code, 400) is expected
    assert classify(code, 500) is expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, RetryableError),
        (502, RetryableError),
        (503, RetryableError),
        (429, RetryableError),
        (401, AccountError),
        (403, AccountError),
        (404, TerminalError),
        (400, TerminalError),
        (None, TerminalError),
    ],
)
def test_classify_without_a_code(status, expected):
    """No envelope: 5xx (and 429) retry, 401/403 stop the account."""
    assert classify(None, status) is expected


@pytest.mark.parametrize(("code", "expected"), CODE_CLASSES)
def test_error_envelopes_raise_their_class(graph, client, code, expected):
    """Each error envelope over HTTP becomes its class, with every field."""
    graph.reply(400, error_envelope(code, "Some title", "Meta's details"))
    with pytest.raises(expected) as info:
        send_reminder(client)
    error = info.value
    assert type(error) is expected
    assert error.code == code
    assert error.message == error.title == "Some title"
    assert error.details == "Meta's details"
    assert error.fbtrace_id == "AbCdEfGh123"
    assert error.http_status == 400
    assert error.error_type == "OAuthException"
    assert str(error) == (
        f"(#{code}) Some title: Meta's details [HTTP 400, fbtrace_id AbCdEfGh123]"
    )
    assert TOKEN not in str(error)
    assert len(graph.requests) == 1


def test_the_code_wins_over_the_http_status(graph, client):
    """131047 with HTTP 500 is terminal; 130429 with HTTP 400 is retryable."""
    graph.reply(500, error_envelope(131047, "Re-engagement message"))
    with pytest.raises(TerminalError):
        send_reminder(client)
    graph.reply(400, error_envelope(130429, "Rate limit hit"))
    with pytest.raises(RetryableError):
        send_reminder(client)
    graph.reply(500, {"error": {"message": "x", "code": "131056"}})
    with pytest.raises(RecipientRateLimitError) as info:
        send_reminder(client)
    assert info.value.code == 131056


@pytest.mark.parametrize(
    ("status", "raw", "content_type", "expected"),
    [
        (502, b"<html>Bad Gateway</html>", "text/html", RetryableError),
        (503, b"", "text/plain", RetryableError),
        (500, b'{"no": "envelope"}', "application/json", RetryableError),
        (401, b"Unauthorized", "text/plain", AccountError),
        (404, b"Not Found", "text/plain", TerminalError),
    ],
)
def test_responses_without_an_envelope(
    graph, client, status, raw, content_type, expected
):
    """A proxy or outage page has no code: the HTTP status decides."""
    graph.reply(status, raw=raw, content_type=content_type)
    with pytest.raises(expected) as info:
        send_reminder(client)
    assert info.value.code is None
    assert info.value.http_status == status


def test_read_timeout_is_uncertain_and_not_resent(graph):
    """The server got the request but answered too late: do not resend."""
    graph.reply(200, SUCCESS, delay=1.5)
    with requests.Session() as session:
        slow = WhatsAppClient(
            graph.base_url, VERSION, PHONE_NUMBER_ID, TOKEN, (1, 0.5), session
        )
        with pytest.raises(UncertainError, match="do not resend") as info:
            send_reminder(slow)
    assert info.value.callback_data == CALLBACK
    assert info.value.code is None
    assert len(graph.requests) == 1


def test_connection_dropped_after_sending_is_uncertain(graph, client):
    """The server read the whole request, then closed without answering."""
    graph.reply(drop=True)
    with pytest.raises(UncertainError) as info:
        send_reminder(client)
    assert info.value.callback_data == CALLBACK
    assert len(graph.requests) == 1
    assert graph.requests[0].json()["biz_opaque_callback_data"] == CALLBACK


def test_connection_refused_is_retryable():
    """Nothing listens: nothing was sent, so retrying is safe."""
    port = closed_port()
    client = WhatsAppClient(
        f"http://127.0.0.1:{port}", VERSION, PHONE_NUMBER_ID, TOKEN, (1, 1)
    )
    with pytest.raises(RetryableError, match="nothing was sent"):
        send_reminder(client)


def test_connect_timeout_is_retryable():
    """A server that never accepts (backlog full): connect timeout, retry."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            # A non-blocking connect is still in progress: that is the point.
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        client = WhatsAppClient(
            f"http://127.0.0.1:{port}", VERSION, PHONE_NUMBER_ID, TOKEN, (0.3, 1)
        )
        with pytest.raises(RetryableError, match="nothing was sent"):
            send_reminder(client)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, raw=b"OK", content_type="text/plain"),
        Reply(200, {"messages": []}),
        Reply(200, {"contacts": [{"wa_id": "5215512345678"}]}),
        Reply(200, error_envelope(131000)),
    ],
)
def test_unreadable_success_is_uncertain(graph, client, reply):
    """HTTP 200 means accepted: without a message id, wait for the webhook."""
    graph.replies.append(reply)
    with pytest.raises(UncertainError) as info:
        send_reminder(client)
    assert info.value.callback_data == CALLBACK


def test_errors_share_one_base_class():
    """Every class is a WhatsAppError; the groups are disjoint."""
    classes = [
        RetryableError,
        RecipientRateLimitError,
        TerminalError,
        AccountError,
        UncertainError,
    ]
    for cls in classes:
        assert issubclass(cls, WhatsAppError)
        assert [other for other in classes if issubclass(cls, other)] == [cls]
    assert issubclass(TemplateParamsError, ValueError)
    assert issubclass(WebhookPayloadError, ValueError)


# --- reading: phone number and templates -------------------------------------------


def test_get_phone_number(graph, client):
    """Test connection: GET /{version}/{phone_number_id} with the three fields."""
    graph.reply(
        200,
        {
            "display_phone_number": "+52 55 5123 4567",
            "verified_name": "Distribuidora del Valle",
            "quality_rating": "GREEN",
            "id": PHONE_NUMBER_ID,
        },
    )
    info = client.get_phone_number()
    assert info == PhoneNumberInfo(
        PHONE_NUMBER_ID, "+52 55 5123 4567", "Distribuidora del Valle", "GREEN"
    )
    # Also readable like the JSON object.
    assert info.get("verified_name") == "Distribuidora del Valle"
    assert info.get("unknown", "-") == "-"
    [request] = graph.requests
    assert request.method == "GET"
    assert request.path == f"/{VERSION}/{PHONE_NUMBER_ID}"
    assert request.query == {
        "fields": ["display_phone_number,verified_name,quality_rating"]
    }
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_get_phone_number_with_an_expired_token(graph, client):
    """Error 190 on Test connection is an account error."""
    graph.reply(401, error_envelope(190, "Error validating access token"))
    with pytest.raises(AccountError, match="190"):
        client.get_phone_number()


def test_read_timeout_on_a_get_is_retryable(graph):
    """Reading is idempotent: a timeout there is simply retryable."""
    graph.reply(200, {}, delay=1.5)
    with requests.Session() as session:
        slow = WhatsAppClient(
            graph.base_url, VERSION, PHONE_NUMBER_ID, TOKEN, (1, 0.5), session
        )
        with pytest.raises(RetryableError, match="read timeout"):
            slow.get_phone_number()


def _template(name: str, body: str, language: str = "es_MX") -> dict:
    return {
        "id": f"id-{name}",
        "name": name,
        "language": language,
        "status": "APPROVED",
        "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": body},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "URL", "text": "Pagar", "url": "https://x.mx/{{1}}"}
                ],
            },
        ],
    }


def test_list_templates_follows_paging(graph, client):
    """GET message_templates, then each paging.next on the same host."""
    next_url = (
        f"{graph.base_url}/{VERSION}/{WABA_ID}/message_templates?limit=1&after=QVFI"
    )
    graph.reply(
        200,
        {
            "data": [_template("recordatorio_pago_v1", BODY_TEXT)],
            "paging": {"cursors": {"after": "QVFI"}, "next": next_url},
        },
    )
    graph.reply(
        200,
        {
            "data": [_template("gracias_pago", "Gracias {{1}}", "es")],
            "paging": {"cursors": {"before": "QVFI"}},
        },
    )
    templates = client.list_templates(WABA_ID)
    assert [t.name for t in templates] == ["recordatorio_pago_v1", "gracias_pago"]
    first = templates[0]
    assert (first.language, first.status, first.category) == (
        "es_MX",
        "APPROVED",
        "UTILITY",
    )
    assert first.body_text == BODY_TEXT
    assert first.body_param_count == 3
    assert first.buttons[0]["type"] == "URL"
    assert templates[1].body_param_count == 1
    first_request, second_request = graph.requests
    assert first_request.path == f"/{VERSION}/{WABA_ID}/message_templates"
    assert first_request.query["limit"] == ["100"]
    assert second_request.query == {"limit": ["1"], "after": ["QVFI"]}
    assert second_request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_list_templates_reads_buttons_rejection_and_quality(graph, client):
    """Quick replies, the URL button, the rejection reason and the quality score."""
    paused = _template("recordatorio_pago_v2", BODY_TEXT)
    paused["status"] = "PAUSED"
    paused["quality_score"] = {"score": "RED", "date": 1750000000}
    paused["rejected_reason"] = "NONE"
    paused["components"][1]["buttons"] += [
        {"type": "QUICK_REPLY", "text": "Ya pagué"},
        {"type": "QUICK_REPLY", "text": "Pagaré el viernes"},
    ]
    rejected = _template("promo", "Oferta {{1}}")
    rejected.update(status="REJECTED", rejected_reason="INCORRECT_CATEGORY")
    rejected["components"] = rejected["components"][:1]
    graph.reply(200, {"data": [paused, rejected]})
    first, second = client.list_templates(WABA_ID)
    assert first.quality_score == "RED"
    assert first.rejected_reason is None
    assert first.url_button["url"] == "https://x.mx/{{1}}"
    assert first.quick_replies == ["Ya pagué", "Pagaré el viernes"]
    assert second.rejected_reason == "INCORRECT_CATEGORY"
    assert second.url_button is None
    assert second.quick_replies == []
    assert "rejected_reason" in graph.requests[0].query["fields"][0]


def test_list_templates_never_sends_the_token_elsewhere(graph, client):
    """A paging link to another host is refused, not followed."""
    graph.reply(
        200,
        {"data": [], "paging": {"next": "https://evil.example/v21.0/x?after=1"}},
    )
    with pytest.raises(TerminalError, match="another host"):
        client.list_templates(WABA_ID)
    assert len(graph.requests) == 1


def test_list_templates_stops_on_a_paging_loop(graph, client):
    """A next link pointing back to a page already read ends the listing."""
    url = f"{graph.base_url}/{VERSION}/{WABA_ID}/message_templates?after=A"
    graph.reply(200, {"data": [], "paging": {"next": url}})
    graph.reply(200, {"data": [_template("a", "x")], "paging": {"next": url}})
    assert [t.name for t in client.list_templates(WABA_ID)] == ["a"]
    assert len(graph.requests) == 2


# --- client settings -----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("graph.facebook.com", VERSION, PHONE_NUMBER_ID, TOKEN),
        ("ftp://graph.facebook.com", VERSION, PHONE_NUMBER_ID, TOKEN),
        ("https://graph.facebook.com", "21.0", PHONE_NUMBER_ID, TOKEN),
        ("https://graph.facebook.com", VERSION, "1/2", TOKEN),
        ("https://graph.facebook.com", VERSION, "", TOKEN),
        ("https://graph.facebook.com", VERSION, PHONE_NUMBER_ID, " "),
    ],
)
def test_client_rejects_bad_settings(args):
    """URL, version, ids and token are checked when the client is built."""
    with pytest.raises(ValueError):
        WhatsAppClient(*args)


def test_client_repr_hides_the_token():
    """The token never shows in a repr (logs, tracebacks)."""
    client = WhatsAppClient("https://graph.facebook.com/", VERSION, "1", TOKEN)
    assert TOKEN not in repr(client)
    assert repr(client) == "<WhatsAppClient https://graph.facebook.com/v21.0/1>"


# --- webhook signature ----------------------------------------------------------------

APP_SECRET = "6c2f0b5b1e0f4f5d9c1a2b3c4d5e6f70"
# Meta's serialisation escapes non-ASCII: "ñ" as \u00f1, an emoji as a
# surrogate pair.  These are the bytes that are signed.
RAW_BODY = (
    b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398",'
    b'"changes":[{"value":{"messaging_product":"whatsapp","metadata":'
    b'{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},'
    b'"contacts":[{"profile":{"name":"Mar\\u00eda Pe\\u00f1a"},'
    b'"wa_id":"5215512345678"}],"messages":[{"from":"5215512345678",'
    b'"id":"wamid.ABC","timestamp":"1750857384","type":"text",'
    b'"text":{"body":"Ma\\u00f1ana pago \\ud83d\\ude4f"}}]},"field":"messages"}]}]}'
)


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_signature_over_the_exact_raw_bytes():
    """The HMAC of the bytes as received verifies; the text really has ñ and 🙏."""
    assert verify_signature(APP_SECRET, RAW_BODY, sign(RAW_BODY))
    assert verify_signature(APP_SECRET, bytearray(RAW_BODY), sign(RAW_BODY))
    decoded = json.loads(RAW_BODY)
    text = decoded["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"]
    assert text == "Mañana pago 🙏"


def test_signature_of_re_serialised_json_does_not_match():
    """Re-encoding the parsed JSON (UTF-8, no escapes) gives other bytes."""
    reencoded = json.dumps(json.loads(RAW_BODY), ensure_ascii=False).encode()
    assert not verify_signature(APP_SECRET, reencoded, sign(RAW_BODY))
    assert verify_signature(APP_SECRET, reencoded, sign(reencoded))


def test_signature_accepts_uppercase_hex_and_surrounding_spaces():
    """Hex case and stray whitespace do not change the digest."""
    header = sign(RAW_BODY)
    assert verify_signature(APP_SECRET, RAW_BODY, " sha256=" + header[7:].upper())


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        "sha256=" + "0" * 64,
        "sha256=xyz",
        "sha256=" + "a" * 63,
        "sha256=" + "a" * 65,
        sign(RAW_BODY, "another-secret"),
        sign(RAW_BODY + b" "),
        sign(RAW_BODY)[7:],  # no "sha256=" prefix
    ],
)
def test_wrong_or_missing_signature(header):
    """Missing, malformed or wrong signatures are refused."""
    assert verify_signature(APP_SECRET, RAW_BODY, header) is False


def test_empty_secret_never_verifies():
    """An account without an app secret accepts nothing."""
    assert verify_signature("", RAW_BODY, sign(RAW_BODY, "")) is False


def test_signature_needs_bytes():
    """Decoded text is a programming error: the raw bytes are needed."""
    with pytest.raises(TypeError):
        verify_signature(APP_SECRET, RAW_BODY.decode(), sign(RAW_BODY))


def test_signed_by_names_the_accounts_whose_secret_signed():
    """Of several accounts, those whose secret signed the bytes, in order;
    accounts sharing one Meta app (one secret) are all named."""
    secrets = [(1, "other-secret"), (2, APP_SECRET), (3, ""), (4, APP_SECRET)]
    assert signed_by(secrets, RAW_BODY, sign(RAW_BODY)) == [2, 4]
    assert signed_by(secrets, RAW_BODY, sign(RAW_BODY, "other-secret")) == [1]


@pytest.mark.parametrize(
    "header", [None, "", sign(RAW_BODY, "nobody"), sign(RAW_BODY + b" ")]
)
def test_signed_by_nobody(header):
    """A missing, unknown or stale signature is signed by no account."""
    assert signed_by([(1, APP_SECRET), (2, "other")], RAW_BODY, header) == []


def test_signed_by_checks_each_secret_once():
    """Many numbers of one app cost one HMAC, not one each."""
    calls = []
    real = hmac.new

    def counting(key, *args, **kwargs):
        calls.append(key)
        return real(key, *args, **kwargs)

    secrets = [(i, APP_SECRET) for i in range(50)]
    header = sign(RAW_BODY)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hmac, "new", counting)
        assert len(signed_by(secrets, RAW_BODY, header)) == 50
    assert len(calls) == 1


def test_verify_subscription():
    """The GET handshake echoes the challenge only for our token."""
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": "mi-token",
        "hub.challenge": "1158201444",
    }
    assert verify_subscription(params, "mi-token") == "1158201444"
    assert verify_subscription(params, "otro") is None
    assert verify_subscription(params, "") is None
    assert verify_subscription(params | {"hub.mode": "unsubscribe"}, "mi-token") is None
    assert verify_subscription({"hub.mode": "subscribe"}, "mi-token") is None


# --- webhook parsing ---------------------------------------------------------


def envelope(value: dict, field_name: str = "messages") -> dict:
    """The WhatsApp Business Account envelope around one change value."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "field": field_name,
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                        }
                        | value,
                    }
                ],
            }
        ],
    }


CONTACT = {"profile": {"name": "María Peña"}, "wa_id": "5215512345678"}


def inbound(message: dict, contacts: list | None = None) -> dict:
    base = {"from": "5215512345678", "id": "wamid.IN1", "timestamp": "1750857384"}
    return envelope(
        {
            "contacts": [CONTACT] if contacts is None else contacts,
            "messages": [base | message],
        }
    )


def test_parse_inbound_text_with_context():
    """A text reply to one of our messages."""
    [event] = parse_webhook(
        inbound(
            {
                "type": "text",
                "text": {"body": "BAJA"},
                "context": {"from": "15550783881", "id": "wamid.OUT1"},
            }
        )
    )
    assert event == MessageEvent(
        phone_number_id=PHONE_NUMBER_ID,
        wamid="wamid.IN1",
        from_wa_id="5215512345678",
        user_id=None,
        profile_name="María Peña",
        timestamp=1750857384,
        type="text",
        text="BAJA",
        context_wamid="wamid.OUT1",
        waba_id=WABA_ID,
    )
    assert event.event_key == "wamid.IN1"
    assert event.timestamp_utc == dt.datetime(2025, 6, 25, 13, 16, 24)
    assert event.is_opt_out
    assert event.raw["text"] == {"body": "BAJA"}


def test_parse_quick_reply_button():
    """A tapped quick reply of a template comes back as type button."""
    [event] = parse_webhook(
        inbound(
            {
                "type": "button",
                "button": {"payload": "PROMISE_4711", "text": "Pagaré el viernes"},
                "context": {"id": "wamid.OUT1"},
            }
        )
    )
    assert (event.type, event.button_payload, event.button_text) == (
        "button",
        "PROMISE_4711",
        "Pagaré el viernes",
    )
    assert event.text is None
    assert event.context_wamid == "wamid.OUT1"
    assert not event.is_opt_out


@pytest.mark.parametrize("reply_type", ["button_reply", "list_reply"])
def test_parse_interactive_replies(reply_type):
    """Interactive button and list replies give their id and title."""
    [event] = parse_webhook(
        inbound(
            {
                "type": "interactive",
                "interactive": {
                    "type": reply_type,
                    reply_type: {"id": "OPT_OUT", "title": "Baja"},
                },
            }
        )
    )
    assert (event.button_payload, event.button_text) == ("OPT_OUT", "Baja")
    assert event.is_opt_out


def test_parse_image_with_caption():
    """Media messages give the media id (and the caption as text)."""
    [event] = parse_webhook(
        inbound(
            {
                "type": "image",
                "image": {
                    "id": "1479537139650973",
                    "mime_type": "image/jpeg",
                    "sha256": "abc",
                    "caption": "Comprobante de pago",
                },
            }
        )
    )
    assert (event.type, event.media_id, event.text) == (
        "image",
        "1479537139650973",
        "Comprobante de pago",
    )


def test_parse_document_reaction_and_unknown_types():
    """Documents, reactions and types we do not read are all events."""
    payload = envelope(
        {
            "contacts": [CONTACT],
            "messages": [
                {
                    "from": "5215512345678",
                    "id": "wamid.D",
                    "timestamp": "1750857384",
                    "type": "document",
                    "document": {"id": "doc-1", "filename": "pago.pdf"},
                },
                {
                    "from": "5215512345678",
                    "id": "wamid.R",
                    "timestamp": "1750857385",
                    "type": "reaction",
                    "reaction": {"message_id": "wamid.OUT1", "emoji": "👍"},
                },
                {
                    "from": "5215512345678",
                    "id": "wamid.L",
                    "timestamp": "1750857386",
                    "type": "location",
                    "location": {"latitude": 19.43, "longitude": -99.13},
                },
            ],
        }
    )
    document, reaction, location = parse_webhook(payload)
    assert (document.media_id, document.text) == ("doc-1", None)
    assert (reaction.text, reaction.context_wamid) == ("👍", "wamid.OUT1")
    assert location.type == "location"
    assert location.text is location.media_id is None


def test_parse_user_id_without_wa_id():
    """From 2026 a business-scoped user id may replace the phone number."""
    payload = envelope(
        {
            "contacts": [
                {"profile": {"name": "Ana"}, "user_id": "MX.13491208655302741918"}
            ],
            "messages": [
                {
                    "from_user_id": "MX.13491208655302741918",
                    "id": "wamid.U1",
                    "timestamp": "1750857384",
                    "type": "text",
                    "text": {"body": "Hola"},
                }
            ],
        }
    )
    [event] = parse_webhook(payload)
    assert event.from_wa_id is None
    assert event.user_id == "MX.13491208655302741918"
    assert event.profile_name == "Ana"


def test_parse_user_id_next_to_wa_id():
    """Both identifiers may come together; the contact gives the user id."""
    contact = CONTACT | {"user_id": "MX.1"}
    [event] = parse_webhook(inbound({"type": "text", "text": {"body": "x"}}, [contact]))
    assert (event.from_wa_id, event.user_id) == ("5215512345678", "MX.1")


def test_parse_failed_status_with_errors_and_callback_data():
    """A failed status carries Meta's errors and our callback data back."""
    payload = envelope(
        {
            "statuses": [
                {
                    "id": WAMID,
                    "status": "failed",
                    "timestamp": "1750857390",
                    "recipient_id": "5215512345678",
                    "biz_opaque_callback_data": CALLBACK,
                    "errors": [
                        {
                            "code": 131047,
                            "title": "Re-engagement message",
                            "message": "Re-engagement message",
                            "error_data": {"details": "More than 24 hours"},
                        }
                    ],
                }
            ]
        }
    )
    [event] = parse_webhook(payload)
    assert event == StatusEvent(
        phone_number_id=PHONE_NUMBER_ID,
        wamid=WAMID,
        status="failed",
        timestamp=1750857390,
        recipient_id="5215512345678",
        callback_data=CALLBACK,
        errors=[
            StatusError(
                131047,
                "Re-engagement message",
                "Re-engagement message",
                "More than 24 hours",
            )
        ],
        waba_id=WABA_ID,
    )
    assert event.event_key == f"{WAMID}:failed"
    assert event.errors[0].error_class is TerminalError


def test_parse_statuses_in_order_with_pricing():
    """Several statuses: one event each, keyed by wamid and status."""
    statuses = [
        {
            "id": WAMID,
            "status": status,
            "timestamp": str(1750857390 + i),
            "recipient_id": "5215512345678",
            "pricing": {"billable": True, "category": "utility"},
        }
        for i, status in enumerate(["sent", "delivered", "read"])
    ]
    events = parse_webhook(envelope({"statuses": statuses}))
    assert [e.event_key for e in events] == [
        f"{WAMID}:sent",
        f"{WAMID}:delivered",
        f"{WAMID}:read",
    ]
    assert all(e.errors == [] and e.callback_data is None for e in events)
    assert events[0].raw["pricing"]["category"] == "utility"


def test_parse_ignores_other_fields_and_collects_every_entry():
    """Template status updates are skipped; several entries are all read."""
    template_update = envelope(
        {"event": "APPROVED", "message_template_name": "x"},
        "message_template_status_update",
    )
    assert parse_webhook(template_update) == []
    payload = inbound({"type": "text", "text": {"body": "uno"}})
    second = inbound({"type": "text", "text": {"body": "dos"}, "id": "wamid.IN2"})
    payload["entry"] += second["entry"] + template_update["entry"]
    assert [e.text for e in parse_webhook(payload)] == ["uno", "dos"]


def test_parse_value_with_nothing_to_report():
    """A messages change without messages or statuses gives no event."""
    assert parse_webhook(envelope({})) == []


def _without(path: list, key: str) -> dict:
    payload = inbound({"type": "text", "text": {"body": "x"}})
    target = payload
    for step in path:
        target = target[step]
    del target[key]
    return payload


def _with(path: list, key: str, value) -> dict:
    payload = inbound({"type": "text", "text": {"body": "x"}})
    target = payload
    for step in path:
        target = target[step]
    target[key] = value
    return payload


VALUE = ["entry", 0, "changes", 0, "value"]
# A message with neither a phone number nor a business-scoped user id.
NO_SENDER = envelope({"messages": [{"id": "w", "type": "text", "text": {"body": "x"}}]})
MESSAGE = [*VALUE, "messages", 0]


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "{}",
        {},
        {"object": "page", "entry": []},
        _without([], "entry"),
        _with([], "entry", {}),
        _with(["entry"], 0, "x"),
        _without(["entry", 0], "changes"),
        _with(["entry", 0], "changes", None),
        _with(["entry", 0, "changes"], 0, []),
        _without(["entry", 0, "changes", 0], "value"),
        _without(VALUE, "metadata"),
        _without([*VALUE, "metadata"], "phone_number_id"),
        _with(VALUE, "messages", {"id": "x"}),
        _with(VALUE, "statuses", "sent"),
        _with([*VALUE, "messages"], 0, "x"),
        _without(MESSAGE, "id"),
        _without(MESSAGE, "type"),
        _with(MESSAGE, "id", 123),
        _with(MESSAGE, "timestamp", "yesterday"),
        _with(MESSAGE, "text", "BAJA"),
        NO_SENDER,
        envelope({"statuses": [{"status": "sent"}]}),
        envelope({"statuses": [{"id": "w"}]}),
        envelope({"statuses": [{"id": "w", "status": "failed", "errors": "x"}]}),
    ],
)
def test_malformed_payloads(payload):
    """Anything that is not a WhatsApp Business Account envelope is refused."""
    with pytest.raises(WebhookPayloadError):
        parse_webhook(payload)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b'{"object": "whatsapp_business_account", "entry": [}',
        b"\xff\xfe\x00",  # not UTF-8 (nor UTF-16: odd length)
        b"1" * 5000,  # an integer Python refuses to convert
        b"[" * 100_000,  # the decoder itself exceeds the recursion limit
        b"[" * 100_000 + b"]" * 100_000,
        b"[" * (MAX_WEBHOOK_DEPTH + 1) + b"]" * (MAX_WEBHOOK_DEPTH + 1),
        b'{"a":' * (MAX_WEBHOOK_DEPTH + 1) + b"1" + b"}" * (MAX_WEBHOOK_DEPTH + 1),
    ],
)
def test_load_webhook_body_refuses_what_is_not_bounded_json(raw):
    """Malformed, undecodable or too deeply nested bodies are a payload error,
    never a RecursionError or another exception (the webhook answers 400)."""
    with pytest.raises(WebhookPayloadError):
        load_webhook_body(raw)


def test_load_webhook_body_accepts_nesting_up_to_the_bound():
    """MAX_WEBHOOK_DEPTH levels are fine; Meta's envelope is far shallower."""
    raw = b"[" * MAX_WEBHOOK_DEPTH + b"]" * MAX_WEBHOOK_DEPTH
    assert load_webhook_body(raw) == json.loads(raw)
    assert load_webhook_body(RAW_BODY) == json.loads(RAW_BODY)


def test_load_webhook_body_needs_bytes():
    """The raw bytes are what was signed: decoded text is a programming error."""
    with pytest.raises(TypeError):
        load_webhook_body(RAW_BODY.decode())


def test_parse_webhook_body_decodes_then_parses():
    """The raw body of an inbound message gives its typed event."""
    [event] = parse_webhook_body(RAW_BODY)
    assert event.wamid == "wamid.ABC"
    assert event.text == "Mañana pago 🙏"
    with pytest.raises(WebhookPayloadError):
        parse_webhook_body(b"[" * 100_000)


def test_parse_webhook_keeps_ids_of_any_length():
    """Ids are Meta's to size: a 3 KB wamid is parsed whole (and hashed to
    index it, see key_hash)."""
    wamid = "wamid." + "A" * 3000
    payload = envelope({"statuses": [{"id": wamid, "status": "delivered"}]})
    [event] = parse_webhook(payload)
    assert event.wamid == wamid
    assert event.event_key == f"{wamid}:delivered"


def test_key_hash_is_a_fixed_size_sha256():
    """64 hexadecimal characters whatever the key's length; distinct keys,
    distinct hashes; the text's UTF-8, even with a lone surrogate."""
    assert key_hash("wamid.ABC") == hashlib.sha256(b"wamid.ABC").hexdigest()
    long_key = "wamid." + "x" * 100_000
    assert len(key_hash(long_key)) == 64
    assert key_hash("wamid.ABC:sent") != key_hash("wamid.ABC:read")
    assert key_hash("ñ") == hashlib.sha256("ñ".encode()).hexdigest()
    assert len(key_hash("\ud83d")) == 64
    with pytest.raises(TypeError):
        key_hash(None)


# --- opt-out and statuses ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "BAJA",
        "Baja",
        "baja",
        "báJA.",
        " stop ",
        "STOP",
        "Stop!",
        "¡ALTO!",
        "alto",
        "Cancelar",
        "CANCELÁR",
        "  cancelar...  ",
        "baja 🙏",
        "«BAJA»",
        "ＳＴＯＰ",
        "Baja\n",
    ],
)
def test_opt_out_keywords(text):
    """Case, accents and surrounding punctuation or emoji do not matter."""
    assert is_opt_out(text)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "no me den de baja",
        "bajar",
        "stopped",
        "ALTO AHÍ",
        "pago mañana",
        "BA JA",
    ],
)
def test_not_opt_out(text):
    """Only the keyword alone counts."""
    assert not is_opt_out(text)


def test_opt_out_keywords_constant():
    """At least the four keywords of WHATSAPP.md."""
    assert {"BAJA", "ALTO", "STOP", "CANCELAR"} <= OPT_OUT_KEYWORDS


def test_status_rank():
    """sent < delivered < read; failed and unknown states rank 0."""
    assert STATUS_ORDER == ("sent", "delivered", "read")
    assert [status_rank(s) for s in ("sent", "delivered", "read")] == [1, 2, 3]
    assert status_rank("READ") == 3
    assert status_rank("failed") == status_rank("queued") == status_rank(None) == 0


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        ("sending", "sent", True),
        (None, "delivered", True),
        ("sent", "delivered", True),
        ("sent", "read", True),
        ("delivered", "read", True),
        ("read", "delivered", False),
        ("delivered", "sent", False),
        ("delivered", "delivered", False),
        ("sent", "failed", True),
        ("unknown", "failed", True),
        ("delivered", "failed", False),  # a late failure is only logged
        ("read", "failed", False),
        ("failed", "failed", False),
        ("failed", "delivered", False),
        ("sent", "deleted", False),
    ],
)
def test_should_apply_status(current, new, expected):
    """Statuses only move forward; failures only before delivery."""
    assert should_apply_status(current, new) is expected
