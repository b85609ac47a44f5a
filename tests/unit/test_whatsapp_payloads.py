"""Unit tests of services/whatsapp/payloads.py: template and text bodies, checked
before anything is sent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The add-on root is an Odoo package; import the pure service modules directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.whatsapp.errors import (  # noqa: E402
    InvalidRequestError,
    TemplateParamsError,
    TerminalError,
)
from services.whatsapp.payloads import (  # noqa: E402
    build_template_payload,
    template_param_count,
    validate_template_params,
)

from .whatsapp_stub import BODY_TEXT, SUCCESS  # noqa: E402

# --- template payloads ------------------------------------------------------------


def test_buttons_go_at_the_indexes_the_template_has():
    """A template of [QUICK_REPLY, QUICK_REPLY, URL]: the URL button's suffix at
    index 2, each quick-reply payload at its own button's index."""
    payload = build_template_payload(
        "+525512345678",
        "t",
        "es",
        [],
        "s/4711",
        {0: "t:0", 1: "t:1"},
        url_button_index=2,
    )
    buttons = [c for c in payload["template"]["components"] if c["type"] == "button"]
    assert sorted((b["index"], b["sub_type"], b["parameters"][0]) for b in buttons) == [
        ("0", "quick_reply", {"type": "payload", "payload": "t:0"}),
        ("1", "quick_reply", {"type": "payload", "payload": "t:1"}),
        ("2", "url", {"type": "text", "text": "s/4711"}),
    ]


def test_quick_reply_at_the_url_buttons_index_is_refused():
    with pytest.raises(TemplateParamsError, match="share one index"):
        build_template_payload(
            "+525512345678", "t", "es", [], "s/1", {0: "t:0"}, url_button_index=0
        )


def test_quick_reply_index_must_be_a_position():
    with pytest.raises(TemplateParamsError, match="index"):
        build_template_payload("+525512345678", "t", "es", [], None, {-1: "t:0"})


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


# --- validation before sending ----------------------------------------------------


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
