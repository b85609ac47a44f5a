"""Unit tests of services.log_privacy (pure Python, no Odoo needed)."""

from __future__ import annotations

import hashlib
import logging
import sys
from pathlib import Path

# The add-on root is an Odoo package; import the pure service module directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.log_privacy import (  # noqa: E402
    PortalTokenFilter,
    install,
    redact,
    token_ref,
)

TOKEN = "kX3v0_Qm9-ZpYt7RwA2bLc8NdEf4GhJi5KlMn6OpQrS"
REF = hashlib.sha256(TOKEN.encode()).hexdigest()[:12]


def access_line(path, code="200"):
    """A record as werkzeug's request handler logs it."""
    return logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '127.0.0.1 - - [24/Nov/2026 18:00:00] "%s" %s %s',
        (f"GET {path} HTTP/1.1", code, "-"),
        None,
    )


def test_ref_is_a_prefix_of_the_stored_hash():
    assert token_ref(TOKEN) == REF
    assert len(REF) == 12


def test_access_line_keeps_the_path_without_the_token():
    record = access_line(f"/cobranza/{TOKEN}/invoice/7?download=1")
    assert PortalTokenFilter().filter(record) is True
    message = record.getMessage()
    assert TOKEN not in message
    assert f'"GET /cobranza/[sha256:{REF}]/invoice/7?download=1 HTTP/1.1" 200' in (
        message
    )


def test_token_in_the_message_template_is_redacted_too():
    record = logging.LogRecord(
        "odoo.http",
        logging.WARNING,
        __file__,
        1,
        f"CSRF validation failed on path '/cobranza/{TOKEN}/contact'",
        (),
        None,
    )
    PortalTokenFilter().filter(record)
    assert record.getMessage() == (
        f"CSRF validation failed on path '/cobranza/[sha256:{REF}]/contact'"
    )


def test_coloured_access_line_is_redacted():
    # werkzeug wraps the request in ANSI colours on a terminal (404 in yellow).
    record = access_line(f"\x1b[33m/cobranza/{TOKEN}\x1b[0m", code="404")
    PortalTokenFilter().filter(record)
    assert TOKEN not in record.getMessage()


def test_other_lines_are_left_alone():
    for path in ("/cobranza/paid?tx_id=3", "/web/login", "/odoo/action-12"):
        record = access_line(path)
        PortalTokenFilter().filter(record)
        assert record.args == (f"GET {path} HTTP/1.1", "200", "-")


def test_redacting_twice_changes_nothing():
    once = redact(f"/cobranza/{TOKEN}")
    assert redact(once) == once


def test_install_adds_one_filter_per_logger():
    name = "account_dunning.tests.log_privacy"
    install((name,))
    install((name,))
    logger = logging.getLogger(name)
    try:
        assert len(logger.filters) == 1
    finally:
        logger.filters.clear()
