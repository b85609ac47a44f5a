"""Unit tests of services/whatsapp/errors.py: each code and HTTP status to its class.

Error envelopes go over HTTP through the Graph API stub (conftest.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The add-on root is an Odoo package; import the pure service modules directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.whatsapp.errors import (  # noqa: E402
    AccountError,
    RecipientRateLimitError,
    RetryableError,
    TemplateParamsError,
    TerminalError,
    UncertainError,
    WebhookPayloadError,
    WhatsAppError,
    classify,
)

from .whatsapp_stub import TOKEN, error_envelope, send_reminder  # noqa: E402

# --- classify ---------------------------------------------------------------------


CODE_CLASSES = [
    (130429, RetryableError),
    (131000, RetryableError),
    (131001, RetryableError),
    (131002, RetryableError),
    (131057, RetryableError),
    (131016, RetryableError),
    (133004, RetryableError),
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
]
# Codes we do not know: terminal for the message, unless the server failed.
UNKNOWN_CODES = [999999, 300, 1]


@pytest.mark.parametrize(("code", "expected"), CODE_CLASSES)
def test_classify_by_code(code, expected):
    """A code we know decides, whatever the HTTP status."""
    assert classify(code, None) is expected
    assert classify(code, 400) is expected
    assert classify(code, 500) is expected


@pytest.mark.parametrize("code", UNKNOWN_CODES)
def test_unknown_code_is_terminal_unless_the_server_failed(code):
    """An unknown code with HTTP 5xx is Meta's failure, not the request's."""
    assert classify(code, None) is TerminalError
    assert classify(code, 400) is TerminalError
    assert classify(code, 500) is RetryableError
    assert classify(code, 503) is RetryableError


@pytest.mark.parametrize("code", [None, 131026, 132000, 999999, 131000])
def test_is_transient_retries_whatever_the_code(code):
    """Meta's ``is_transient: true`` says the same request may succeed later."""
    assert classify(code, 400, transient=True) is RetryableError


def test_is_transient_keeps_the_pair_rate_limit_apart():
    """131056 waits for that recipient only, transient or not."""
    assert classify(131056, 400, transient=True) is RecipientRateLimitError


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


# --- error envelopes over HTTP ----------------------------------------------------


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


@pytest.mark.parametrize(
    ("status", "envelope", "expected"),
    [
        (503, {"message": "Service unavailable", "code": 131016}, RetryableError),
        (500, {"message": "Temporarily unavailable", "code": 133004}, RetryableError),
        (
            400,
            {"message": "Undeliverable", "code": 131026, "is_transient": True},
            RetryableError,
        ),
        (
            400,
            {"message": "Undeliverable", "code": 131026, "is_transient": "true"},
            TerminalError,
        ),
        (500, {"message": "An unknown error occurred", "code": 1}, RetryableError),
    ],
)
def test_transient_errors_over_http_are_retryable(
    graph, client, status, envelope, expected
):
    """131016, 133004, ``is_transient: true`` (a JSON true, not a string) and an
    unknown code with HTTP 5xx are retried, not failed at once; the details of
    ``error_data`` come along when they are a plain string."""
    body = {
        "error": envelope
        | {
            "type": "OAuthException",
            "error_data": {"messaging_product": "whatsapp", "details": "Try later"},
            "fbtrace_id": "AbC",
        }
    }
    graph.reply(status, body)
    with pytest.raises(expected) as info:
        send_reminder(client)
    assert info.value.code == envelope["code"]
    assert info.value.details == "Try later"
    assert str(info.value).startswith(f"(#{envelope['code']}) {envelope['message']}")


@pytest.mark.parametrize("details", [{"reason": "x"}, ["x"], 42, "", None])
def test_error_data_details_kept_only_when_a_plain_string(graph, client, details):
    """Details of any other shape are left out, never raised on."""
    body = {
        "error": {
            "message": "Service unavailable",
            "code": 131016,
            "error_data": {"details": details},
        }
    }
    graph.reply(503, body)
    with pytest.raises(RetryableError) as info:
        send_reminder(client)
    assert info.value.details is None
    assert str(info.value) == "(#131016) Service unavailable [HTTP 503]"


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
