"""Unit tests of services/whatsapp/client.py (pure Python, no Odoo, no Internet).

The client talks to the Graph API stub of whatsapp_stub.py (the ``graph`` and
``client`` fixtures of conftest.py).  Network failures are real too: a closed
port for "connection refused", a listening socket whose backlog is full for a
connect timeout.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from pathlib import Path

import pytest
import requests

# The add-on root is an Odoo package; import the pure service modules directly.
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
    RetryableError,
    TerminalError,
    UncertainError,
)

from .whatsapp_stub import (  # noqa: E402
    BODY_TEXT,
    CALLBACK,
    PHONE_NUMBER_ID,
    SUCCESS,
    TOKEN,
    VERSION,
    WABA_ID,
    WAMID,
    Reply,
    closed_port,
    error_envelope,
    send_reminder,
)

# --- sending ----------------------------------------------------------------------


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


# --- network failures and unreadable answers --------------------------------------


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


# --- reading: phone number and templates ------------------------------------------


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


# --- client settings --------------------------------------------------------------


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
