"""Unit tests of services.smtp_failure: which failed e-mails are tried again."""

import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.smtp_failure import PERMANENT, TEMPORARY, classify  # noqa: E402


@pytest.mark.parametrize(
    "failure_type",
    ["mail_email_invalid", "mail_email_missing", "mail_from_invalid", "mail_bl"],
)
def test_odoo_address_failures_are_permanent(failure_type):
    assert classify(failure_type, "whatever") == PERMANENT


def test_server_unreachable_is_temporary_even_with_a_5xx_looking_text():
    assert classify("mail_smtp", "[Errno 111] Connection refused 550") == TEMPORARY


@pytest.mark.parametrize(
    "reason",
    [
        "{'nadie@acme.mx': (550, b'5.1.1 <nadie@acme.mx>: Recipient address "
        "rejected: User unknown')}",
        "(554, b'5.7.1 Message rejected as spam')",
        "550 5.1.1 mailbox unavailable",
        "Recipient refused: 5.1.1",
    ],
)
def test_5xx_refusals_are_permanent(reason):
    assert classify("unknown", reason) == PERMANENT


@pytest.mark.parametrize(
    "reason",
    [
        "(421, b'4.7.0 Try again later, closing connection.')",
        "{'a@b.mx': (450, b'4.2.0 Greylisted, please retry')}",
        "Connection unexpectedly closed",
        "[Errno 111] Connection refused (127.0.0.1:2525)",
        "",
        None,
    ],
)
def test_4xx_and_unknown_failures_are_temporary(reason):
    assert classify("unknown", reason) == TEMPORARY
