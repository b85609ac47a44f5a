"""Whether a failed e-mail is worth sending again.

Odoo's mail queue marks a mail it could not send ``exception`` with a
``failure_type`` and the error's text, and never tries again: an SMTP server
down for ten minutes would lose every reminder of the morning. A reminder's
e-mail is tried again when the failure is temporary (the server could not be
reached, or answered with a 4xx code: greylisting, mailbox busy, too many
connections) and fails for good when it is permanent (no valid address, or a
5xx refusal: unknown mailbox, rejected as spam), so that the policy's fallback
takes over at once.

Pure Python (no Odoo import), unit-tested in tests/unit.
"""

import re

TEMPORARY = "temporary"
PERMANENT = "permanent"

# Odoo's failure types (mail.mail.failure_type) that no retry can fix.
PERMANENT_TYPES = frozenset(
    {
        "mail_email_invalid",
        "mail_email_missing",
        "mail_from_invalid",
        "mail_from_missing",
        "mail_bl",
        "mail_optout",
        "mail_dup",
    }
)
# The server could not be reached or the session broke: nothing was refused.
TEMPORARY_TYPES = frozenset({"mail_smtp"})

# An SMTP reply code in the text of smtplib's exceptions: "(550, b'5.1.1 ...')"
# or "{'a@b.mx': (550, b'...')}" (SMTPRecipientsRefused), "550 5.1.1 ...".
_REPLY_CODE = re.compile(r"(?:^|[(\s'\"])([245])\d\d(?=[,\s)'\"]|$)")
# Enhanced status codes (RFC 3463): "5.1.1", "4.7.0".
_ENHANCED_CODE = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")

# Retries of a temporary failure: an SMTP outage may last hours, so e-mail is
# tried for longer than a chat message before it fails.
EMAIL_MAX_ATTEMPTS = 12
EMAIL_BACKOFF_BASE = 60.0
EMAIL_BACKOFF_CAP = 6 * 3600.0


def classify(failure_type, failure_reason):
    """``TEMPORARY`` or ``PERMANENT`` for a mail that failed.

    An unknown failure without a reply code is taken as temporary: it is
    retried a bounded number of times, never lost, and fails for good after
    ``EMAIL_MAX_ATTEMPTS``.
    """
    if failure_type in PERMANENT_TYPES:
        return PERMANENT
    if failure_type in TEMPORARY_TYPES:
        return TEMPORARY
    text = failure_reason or ""
    classes = {m.group(1) for m in _REPLY_CODE.finditer(text)}
    classes |= {m.group(1) for m in _ENHANCED_CODE.finditer(text)}
    if "5" in classes:
        return PERMANENT
    return TEMPORARY
