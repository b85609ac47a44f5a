"""Unit tests of services/whatsapp/events.py: opt-out keywords and status order."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The add-on root is an Odoo package; import the pure service modules directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.whatsapp.events import (  # noqa: E402
    OPT_OUT_KEYWORDS,
    STATUS_ORDER,
    is_opt_out,
    should_apply_status,
    status_rank,
)

# --- opt-out and statuses ---------------------------------------------------------


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
