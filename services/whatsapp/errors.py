"""WhatsApp errors: one class per thing to do, decided by Meta's ``error.code``.

Every failure is raised as a :class:`WhatsAppError` subclass that says what to
do, decided by Meta's ``error.code`` and never by the HTTP status or the text
(Meta's advice: titles are deprecated, statuses are coarse):

* :class:`RetryableError` - retry this message later with backoff;
* :class:`RecipientRateLimitError` - this recipient only (about one message per
  6 s per user); the batch goes on;
* :class:`TerminalError` - this message failed: record the code and title, fall
  back to another channel;
* :class:`AccountError` - the account cannot send (token, permission, policy):
  pause every send of it and alert the managers;
* :class:`UncertainError` - the request may have reached Meta (a read timeout or
  a connection lost after sending): never resend; wait for a status webhook
  carrying our ``biz_opaque_callback_data``.

:func:`classify` maps a code (and the HTTP status, and Meta's ``is_transient``
flag) to its class and
:func:`error_from_response` reads a Graph API error envelope into an instance.
"""

from __future__ import annotations

from typing import Any

from .values import as_int, as_str

__all__ = [
    "ACCOUNT_CODES",
    "NOT_ON_WHATSAPP_CODE",
    "PAIR_RATE_LIMIT_SECONDS",
    "RECIPIENT_RATE_LIMIT_CODE",
    "RETRYABLE_CODES",
    "TERMINAL_CODES",
    "AccountError",
    "InvalidRequestError",
    "RecipientRateLimitError",
    "RetryableError",
    "TemplateParamsError",
    "TerminalError",
    "UncertainError",
    "WebhookPayloadError",
    "WhatsAppError",
    "classify",
    "error_from_response",
]

# Meta's pair rate limit: about one message every 6 s to the same user.
PAIR_RATE_LIMIT_SECONDS = 6.0

# --- error codes (WHATSAPP.md's table, plus a few documented Graph codes) ------

RETRYABLE_CODES = frozenset(
    {
        130429,  # Cloud API throughput reached
        131000,  # something went wrong
        131001,  # message too long (transient per WHATSAPP.md)
        131002,  # unknown error
        131057,  # account in maintenance mode
        131016,  # service unavailable: Meta's side is overloaded or down
        133004,  # server temporarily unavailable
        # Not in WHATSAPP.md's table; Graph API's documented temporary codes:
        2,  # API Service: temporary downtime or overload
        4,  # API Too Many Calls: the app's rate limit
        80007,  # the WhatsApp Business Account's rate limit
    }
)
RECIPIENT_RATE_LIMIT_CODE = 131056
# Undeliverable: the number is not on WhatsApp (or cannot receive business
# messages). Terminal for the message, and a fact about the number.
NOT_ON_WHATSAPP_CODE = 131026
TERMINAL_CODES = frozenset(
    {
        131047,  # more than 24 hours since the customer's last message
        NOT_ON_WHATSAPP_CODE,  # undeliverable: not on WhatsApp, old app, terms
        132000,  # template parameter count mismatch
        132001,  # template does not exist (name or language)
        132005,  # translated text too long
        132007,  # template format character policy violated
        132012,  # template parameter format mismatch
        132015,  # template paused for low quality
        132016,  # template disabled for low quality
        100,  # invalid parameter
        131008,  # required parameter missing
        131009,  # parameter value not valid
    }
)
ACCOUNT_CODES = frozenset(
    {
        190,  # access token expired
        0,  # AuthException
        3,  # API method: capability or permission
        10,  # permission denied
        368,  # temporarily blocked for policy violations
        131031,  # account locked
        # Not in WHATSAPP.md's table; every later send would fail the same way:
        131042,  # business eligibility: payment issue
        133010,  # phone number not registered on the Cloud API
    }
)
_PERMISSION_CODES = range(200, 300)  # API Permission (200-299)


class WhatsAppError(Exception):
    """A send or API call that did not succeed.

    ``code`` is Meta's ``error.code`` (None when the failure happened before a
    Graph API answer: network, no JSON envelope).  ``title`` is the short
    human-readable name to store with a failed message; ``details`` is
    ``error.error_data.details``, Meta's most specific explanation.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        title: str | None = None,
        details: str | None = None,
        fbtrace_id: str | None = None,
        http_status: int | None = None,
        error_type: str | None = None,
        error_subcode: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.title = title or message
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.error_type = error_type
        self.error_subcode = error_subcode

    def __str__(self) -> str:
        text = self.message
        if self.code is not None:
            text = f"(#{self.code}) {text}"
        if self.details and self.details not in self.message:
            text = f"{text}: {self.details}"
        extra = []
        if self.http_status is not None:
            extra.append(f"HTTP {self.http_status}")
        if self.fbtrace_id:
            extra.append(f"fbtrace_id {self.fbtrace_id}")
        if extra:
            text = f"{text} [{', '.join(extra)}]"
        return text


class RetryableError(WhatsAppError):
    """Transient: retry this message later with full-jitter backoff."""


class RecipientRateLimitError(WhatsAppError):
    """Too many messages to this user (131056): delay this recipient only."""


class TerminalError(WhatsAppError):
    """This message cannot be sent as is: mark it failed, use another channel."""


class AccountError(WhatsAppError):
    """The account cannot send at all: pause its sends and alert the managers."""


class UncertainError(WhatsAppError):
    """The request may have been sent: do NOT resend.

    Wait for a status webhook whose ``biz_opaque_callback_data`` is
    ``callback_data`` (our reminder's UUID), and escalate after a grace period.
    """

    def __init__(
        self, message: str, *, callback_data: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.callback_data = callback_data


class InvalidRequestError(TerminalError, ValueError):
    """Refused before sending: the request itself is wrong (recipient, sizes).

    Also a :class:`TerminalError`, so a dispatcher handling that class fails
    the message and falls back without a special case.
    """


class TemplateParamsError(InvalidRequestError):
    """Template parameters or a text body that Meta would reject."""


class WebhookPayloadError(ValueError):
    """A webhook body that is not a WhatsApp Business Account envelope."""


def classify(
    code: int | None, http_status: int | None = None, *, transient: bool = False
) -> type[WhatsAppError]:
    """Error class for a Graph API ``error.code`` (and the HTTP status).

    ``transient`` is the envelope's ``is_transient``: Meta saying that the same
    request may succeed later, whatever the code (the pair rate limit keeps its
    own class: only that recipient waits).  Otherwise the code decides whenever
    it is one we know.  An unknown code is terminal for the message (safe: a
    fallback channel takes over), unless the HTTP status is 5xx: the server
    failed, not the request.  Without a code (no Graph envelope: a proxy, a load
    balancer, an outage page) only the HTTP status is left: 5xx and 429 are
    transient, 401/403 mean credentials, anything else is terminal.
    """
    if code == RECIPIENT_RATE_LIMIT_CODE:
        return RecipientRateLimitError
    if transient:
        return RetryableError
    server_failed = http_status is not None and http_status >= 500
    if code is not None:
        if code in RETRYABLE_CODES:
            return RetryableError
        if code in ACCOUNT_CODES or code in _PERMISSION_CODES:
            return AccountError
        if code in TERMINAL_CODES or not server_failed:
            return TerminalError
        return RetryableError
    if http_status is not None:
        if server_failed or http_status == 429:
            return RetryableError
        if http_status in (401, 403):
            return AccountError
    return TerminalError


def error_from_response(http_status: int, body: Any) -> WhatsAppError:
    """The classified error for a Graph API error response."""
    envelope = body.get("error") if isinstance(body, dict) else None
    if not isinstance(envelope, dict):
        cls = classify(None, http_status)
        message = f"HTTP {http_status} without a Graph API error envelope"
        return cls(message, http_status=http_status)
    code = as_int(envelope.get("code"))
    error_data = envelope.get("error_data")
    details = None
    if isinstance(error_data, dict):
        details = as_str(error_data.get("details"))
    message = as_str(envelope.get("message")) or f"Graph API error {code}"
    title = as_str(envelope.get("error_user_title")) or message
    # Only a JSON true: a string "false" is truthy.
    cls = classify(code, http_status, transient=envelope.get("is_transient") is True)
    return cls(
        message,
        code=code,
        title=title,
        details=details,
        fbtrace_id=as_str(envelope.get("fbtrace_id")),
        http_status=http_status,
        error_type=as_str(envelope.get("type")),
        error_subcode=as_int(envelope.get("error_subcode")),
    )
