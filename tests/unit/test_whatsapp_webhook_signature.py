"""Unit tests of services/whatsapp/webhook.py: the signature and the handshake."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from pathlib import Path

import pytest

# The add-on root is an Odoo package; import the pure service modules directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.whatsapp.webhook import (  # noqa: E402
    signed_by,
    verify_signature,
    verify_subscription,
)

from .whatsapp_stub import RAW_BODY  # noqa: E402

# --- webhook signature ------------------------------------------------------------


APP_SECRET = "6c2f0b5b1e0f4f5d9c1a2b3c4d5e6f70"


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
