"""Customer page links out of the server log.

The link to a customer's statement page is its own credential: whoever has the
URL sees the statement and may promise, dispute or opt out in the customer's
name. Only its SHA-256 is stored (``dunning.portal.token``), but the HTTP server
writes the path of every request to the log: werkzeug's access line
(``"GET /cobranza/<token> HTTP/1.1" 200 -``, logger ``werkzeug``), Odoo's CSRF
warnings (``odoo.http``), the routing's debug lines (``http_routing``) and, with
SQL logging on, the query looking for an attachment served at an unknown path
(``odoo.sql_db``). Logs are kept longer, copied wider and read by more people
than the database, so the raw token must never reach them.

Neither Odoo nor werkzeug offers a setting for this: the access line is built
in ``werkzeug.serving.WSGIRequestHandler.log_request`` from the raw path. A
logging filter on those loggers rewrites the record before any handler sees
it, whatever the handlers (console, file, syslog, the database), and leaves
every other line alone. The token is replaced by a prefix of its SHA-256: the
same as the start of the stored ``token_hash``, so that a request in the log
can still be matched to its link, and useless to open the page.

This module is pure Python (no Odoo import) so that it can be unit-tested alone.
"""

import hashlib
import logging
import re

# The loggers that write request paths (see the module's docstring).
REQUEST_LOGGERS = (
    "werkzeug",
    "odoo.http",
    "odoo.addons.http_routing.models.ir_http",
    "odoo.sql_db",
)
# 12 hex digits (48 bits): enough to tell the links of a database apart in a
# log, far too little to guess a 256-bit token from.
REF_LENGTH = 12
# The fixed words after /cobranza/ (routes without a token): logged as they are.
PUBLIC_SEGMENTS = frozenset({"paid"})

_TOKEN_IN_PATH = re.compile(r"(/cobranza/)([^/?#\s\"']+)")


def token_ref(token):
    """What may be logged about a customer page token: a prefix of its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()[:REF_LENGTH]


def redact(text):
    """``text`` with the token of each customer page path replaced by its ref."""
    if "/cobranza/" not in text:
        return text

    def replace(match):
        segment = match.group(2)
        if segment in PUBLIC_SEGMENTS or segment.startswith("[sha256:"):
            return match.group(0)
        return f"{match.group(1)}[sha256:{token_ref(segment)}]"

    return _TOKEN_IN_PATH.sub(replace, text)


class PortalTokenFilter(logging.Filter):
    """Rewrites log records that contain a customer page token; drops none."""

    # Recognised by this mark, not by class: the module may be imported under
    # two names in one process (as part of the add-on, and alone by the unit
    # tests), which makes two classes.
    is_portal_token_filter = True

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - logging reports a broken record itself
            return True
        redacted = redact(message)
        if redacted != message:
            # The formatted message replaces the template and its arguments:
            # the token may be in either.
            record.msg = redacted
            record.args = ()
        return True


def install(logger_names=REQUEST_LOGGERS):
    """Put the filter on ``logger_names``, once per logger and process.

    Installed when the add-on's code is imported, which is also the case of
    every server worker that loads a database with the add-on.
    """
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(getattr(f, "is_portal_token_filter", False) for f in logger.filters):
            logger.addFilter(PortalTokenFilter())
