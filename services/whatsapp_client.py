"""WhatsApp Business Cloud API: sending, error classes, webhooks (WHATSAPP.md).

Sending goes through :class:`WhatsAppClient` (``requests``): template messages
for payment reminders, free text inside the customer's 24-hour window, the
phone number's details for a "Test connection" button, and the account's
templates.  Payloads are built and validated by pure functions first
(:func:`build_template_payload`, :func:`validate_template_params`) so that a
message Meta would reject never leaves.

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

Webhooks: :func:`verify_signature` checks ``X-Hub-Signature-256`` over the raw
bytes (:func:`signed_by`: which of several secrets signed them),
:func:`verify_subscription` answers Meta's GET handshake, and
:func:`parse_webhook` turns an envelope into typed :class:`MessageEvent` and
:class:`StatusEvent` objects with a unique :attr:`~MessageEvent.event_key` for
at-least-once delivery; :func:`parse_webhook_body` decodes the raw body first,
with its nesting bounded.  Ids are Meta's to size: :func:`key_hash` gives the
fixed-size digest to index instead.  :func:`is_opt_out` recognises opt-out keywords and
:func:`should_apply_status` keeps statuses monotonic.

This module is pure Python (no Odoo import) so that it can be unit-tested alone;
the access token never appears in an exception, a repr or a log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3 import exceptions as urllib3_exceptions

__all__ = [
    "ACCOUNT_CODES",
    "DEFAULT_API_BASE_URL",
    "DEFAULT_TIMEOUT",
    "MAX_CALLBACK_DATA_CHARS",
    "MAX_TEMPLATE_BODY_CHARS",
    "MAX_TEXT_CHARS",
    "MAX_WEBHOOK_BYTES",
    "MAX_WEBHOOK_DEPTH",
    "OPT_OUT_KEYWORDS",
    "PAIR_RATE_LIMIT_SECONDS",
    "RECIPIENT_RATE_LIMIT_CODE",
    "RETRYABLE_CODES",
    "STATUS_ORDER",
    "TERMINAL_CODES",
    "AccountError",
    "InvalidRequestError",
    "MessageEvent",
    "PhoneNumberInfo",
    "RecipientRateLimitError",
    "RetryableError",
    "SendResult",
    "StatusError",
    "StatusEvent",
    "TemplateInfo",
    "TemplateParamsError",
    "TerminalError",
    "UncertainError",
    "WebhookEvent",
    "WebhookPayloadError",
    "WhatsAppClient",
    "WhatsAppError",
    "build_template_payload",
    "build_text_payload",
    "classify",
    "is_opt_out",
    "key_hash",
    "load_webhook_body",
    "parse_webhook",
    "parse_webhook_body",
    "should_apply_status",
    "signed_by",
    "status_rank",
    "template_param_count",
    "validate_template_params",
    "verify_signature",
    "verify_subscription",
]

DEFAULT_API_BASE_URL = "https://graph.facebook.com"
# (connect, read) seconds: a connection not made in 5 s was never sent and can
# be retried; a reply not read in 20 s leaves the send uncertain.
DEFAULT_TIMEOUT = (5, 20)
MAX_TEMPLATE_BODY_CHARS = 1024
MAX_TEXT_CHARS = 4096
MAX_CALLBACK_DATA_CHARS = 512
# Meta's pair rate limit: about one message every 6 s to the same user.
PAIR_RATE_LIMIT_SECONDS = 6.0
# A webhook body is refused beyond this size, before it is read further: a
# status or a message notification is a few KB, and a batch of them stays far
# below, while anyone can post to the webhook's URL.
MAX_WEBHOOK_BYTES = 4 * 1024 * 1024
# Meta's envelope nests about ten levels deep (entry, changes, value, statuses,
# errors, error_data...); anything much deeper is not a WhatsApp notification,
# and storing it would recurse as deep.
MAX_WEBHOOK_DEPTH = 64

# --- error codes (WHATSAPP.md's table, plus a few documented Graph codes) ------

RETRYABLE_CODES = frozenset(
    {
        130429,  # Cloud API throughput reached
        131000,  # something went wrong
        131001,  # message too long (transient per WHATSAPP.md)
        131002,  # unknown error
        131057,  # account in maintenance mode
        # Not in WHATSAPP.md's table; Graph API's documented temporary codes:
        2,  # API Service: temporary downtime or overload
        4,  # API Too Many Calls: the app's rate limit
        80007,  # the WhatsApp Business Account's rate limit
    }
)
RECIPIENT_RATE_LIMIT_CODE = 131056
TERMINAL_CODES = frozenset(
    {
        131047,  # more than 24 hours since the customer's last message
        131026,  # undeliverable: not on WhatsApp, old app, terms not accepted
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

OPT_OUT_KEYWORDS = frozenset({"BAJA", "ALTO", "STOP", "CANCELAR"})
STATUS_ORDER = ("sent", "delivered", "read")

_TEMPLATE_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_RECIPIENT = re.compile(r"\+?(\d{8,15})")
_PATH_SEGMENT = re.compile(r"[^/?#\s]+")
_API_VERSION = re.compile(r"v\d+\.\d+")
# Meta rejects template parameters holding a newline or tab, or more than four
# consecutive spaces (error 132018 / 100: "Param text cannot have new-line/tab
# characters or more than 4 consecutive spaces").
_BAD_PARAM_TEXT = re.compile(r"[\n\r\t]| {5,}")
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")


# --- errors --------------------------------------------------------------------


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


def classify(code: int | None, http_status: int | None = None) -> type[WhatsAppError]:
    """Error class for a Graph API ``error.code`` (and the HTTP status).

    The code decides whenever there is one; unknown codes are terminal for the
    message (safe: a fallback channel takes over).  Without a code (no Graph
    envelope: a proxy, a load balancer, an outage page) only the HTTP status is
    left: 5xx and 429 are transient, 401/403 mean credentials, anything else is
    terminal.
    """
    if code is not None:
        if code in RETRYABLE_CODES:
            return RetryableError
        if code == RECIPIENT_RATE_LIMIT_CODE:
            return RecipientRateLimitError
        if code in ACCOUNT_CODES or code in _PERMISSION_CODES:
            return AccountError
        return TerminalError
    if http_status is not None:
        if http_status >= 500 or http_status == 429:
            return RetryableError
        if http_status in (401, 403):
            return AccountError
    return TerminalError


def _as_int(value: Any) -> int | None:
    """An integer from an int or a digit string (Graph sends both), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value)
    return None


def _as_str(value: Any) -> str | None:
    """A non-empty string or None."""
    return value if isinstance(value, str) and value else None


def _error_from_response(http_status: int, body: Any) -> WhatsAppError:
    """The classified error for a Graph API error response."""
    envelope = body.get("error") if isinstance(body, dict) else None
    if not isinstance(envelope, dict):
        cls = classify(None, http_status)
        message = f"HTTP {http_status} without a Graph API error envelope"
        return cls(message, http_status=http_status)
    code = _as_int(envelope.get("code"))
    error_data = envelope.get("error_data")
    details = None
    if isinstance(error_data, dict):
        details = _as_str(error_data.get("details"))
    message = _as_str(envelope.get("message")) or f"Graph API error {code}"
    title = _as_str(envelope.get("error_user_title")) or message
    cls = classify(code, http_status)
    return cls(
        message,
        code=code,
        title=title,
        details=details,
        fbtrace_id=_as_str(envelope.get("fbtrace_id")),
        http_status=http_status,
        error_type=_as_str(envelope.get("type")),
        error_subcode=_as_int(envelope.get("error_subcode")),
    )


# --- payloads ------------------------------------------------------------------


def template_param_count(body_text: str) -> int:
    """Number of positional parameters ({{1}}..{{n}}) in a template body.

    Raises TemplateParamsError for named parameters ({{customer}}) or numbers
    that are not exactly 1..n, which an approved template cannot have.
    """
    if not isinstance(body_text, str):
        raise TemplateParamsError(f"template body must be text, got {body_text!r}")
    found = set()
    for name in _TEMPLATE_PLACEHOLDER.findall(body_text):
        if not name.isdigit():
            raise TemplateParamsError(
                f"template parameter {{{{{name}}}}} is not positional "
                "(named parameters are not supported)"
            )
        found.add(int(name))
    if found != set(range(1, len(found) + 1)):
        raise TemplateParamsError(
            f"template parameters must be numbered 1..n, found {sorted(found)}"
        )
    return len(found)


def _check_param_text(index: int, value: Any) -> str:
    """A template parameter value Meta accepts, or TemplateParamsError."""
    if not isinstance(value, str):
        raise TemplateParamsError(
            f"parameter {{{{{index}}}}} must be text, got {type(value).__name__}"
        )
    if not value.strip():
        raise TemplateParamsError(f"parameter {{{{{index}}}}} is empty")
    if _BAD_PARAM_TEXT.search(value):
        raise TemplateParamsError(
            f"parameter {{{{{index}}}}} contains a newline, a tab or more than "
            "4 consecutive spaces, which Meta rejects"
        )
    return value


def validate_template_params(
    body_text_template: str | None, params: Sequence[str]
) -> str | None:
    """Check body parameters against the approved body; return the rendered body.

    Each parameter must be non-empty text without newlines, tabs or runs of
    more than four spaces.  When the template's body text is known, the number
    of parameters must equal its placeholders (else Meta answers 132000) and
    the body after substitution must fit in 1,024 characters; the rendered body
    is returned (for the chatter).  Without the body text only the parameters
    themselves are checked and None is returned.  Raises TemplateParamsError.
    """
    if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
        raise TemplateParamsError(f"parameters must be a list, got {params!r}")
    values = [_check_param_text(i, v) for i, v in enumerate(params, start=1)]
    if body_text_template is None:
        return None
    expected = template_param_count(body_text_template)
    if len(values) != expected:
        raise TemplateParamsError(
            f"the template expects {expected} body parameter(s), got {len(values)}"
        )
    rendered = _TEMPLATE_PLACEHOLDER.sub(
        lambda match: values[int(match.group(1)) - 1], body_text_template
    )
    if len(rendered) > MAX_TEMPLATE_BODY_CHARS:
        raise TemplateParamsError(
            f"the body is {len(rendered)} characters after substitution; "
            f"WhatsApp allows {MAX_TEMPLATE_BODY_CHARS}"
        )
    return rendered


def _recipient(to: str) -> str:
    """Digits of an international number (``+52...`` or ``52...``) for ``to``."""
    match = _RECIPIENT.fullmatch(to.strip()) if isinstance(to, str) else None
    if not match:
        raise InvalidRequestError(
            f"recipient {to!r} is not an international number (E.164 digits)"
        )
    return match.group(1)


def _check_callback_data(callback_data: str | None) -> None:
    """``biz_opaque_callback_data`` must be text of at most 512 characters."""
    if callback_data is None:
        return
    if not isinstance(callback_data, str) or not callback_data:
        raise InvalidRequestError(f"callback data must be text, got {callback_data!r}")
    if len(callback_data) > MAX_CALLBACK_DATA_CHARS:
        raise InvalidRequestError(
            f"callback data is {len(callback_data)} characters; "
            f"WhatsApp allows {MAX_CALLBACK_DATA_CHARS}"
        )


def _check_name(label: str, value: Any) -> str:
    """A non-empty string without surrounding blanks."""
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise InvalidRequestError(f"{label} must be non-empty text, got {value!r}")
    return value


def build_template_payload(
    to: str,
    template_name: str,
    language: str,
    body_params: Sequence[str],
    url_button_suffix: str | None = None,
    quick_replies: Sequence[str] | None = None,
    callback_data: str | None = None,
    *,
    body_text: str | None = None,
    url_button_index: int = 0,
    first_quick_reply_index: int | None = None,
) -> dict:
    """JSON body of a template message, exactly as WHATSAPP.md shows it.

    ``to`` is E.164 (the ``+`` is dropped); ``language`` the template's
    language code (``es_MX``).  ``url_button_suffix`` fills the dynamic part of
    the template's URL button, ``quick_replies`` the payloads of its quick-reply
    buttons, returned in the inbound ``button`` message when tapped.  Buttons
    are addressed by their position in the template: the URL button at
    ``url_button_index`` (0), the quick replies from ``first_quick_reply_index``
    (default: right after the URL button if there is one, else 0).
    ``body_text`` is the approved body, to check the parameters against.
    Raises InvalidRequestError / TemplateParamsError.
    """
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": _recipient(to),
        "type": "template",
    }
    template: dict[str, Any] = {
        "name": _check_name("template name", template_name),
        "language": {"code": _check_name("template language", language)},
    }
    validate_template_params(body_text, body_params)
    components: list[dict] = []
    if body_params:
        components.append(
            {
                "type": "body",
                "parameters": [{"type": "text", "text": p} for p in body_params],
            }
        )
    if url_button_suffix is not None:
        if not isinstance(url_button_suffix, str) or not url_button_suffix.strip():
            raise TemplateParamsError("the URL button suffix must be non-empty text")
        if any(char.isspace() for char in url_button_suffix):
            raise TemplateParamsError("the URL button suffix must not contain spaces")
        components.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": str(url_button_index),
                "parameters": [{"type": "text", "text": url_button_suffix}],
            }
        )
    if quick_replies:
        start = first_quick_reply_index
        if start is None:
            start = url_button_index + 1 if url_button_suffix is not None else 0
        for offset, reply_payload in enumerate(quick_replies):
            if not isinstance(reply_payload, str) or not reply_payload:
                raise TemplateParamsError(
                    f"quick-reply payload must be non-empty text, got {reply_payload!r}"
                )
            components.append(
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": str(start + offset),
                    "parameters": [{"type": "payload", "payload": reply_payload}],
                }
            )
    indexes = [c["index"] for c in components if c["type"] == "button"]
    if len(indexes) != len(set(indexes)):
        raise TemplateParamsError(f"two buttons share one index: {indexes}")
    if components:
        template["components"] = components
    payload["template"] = template
    _check_callback_data(callback_data)
    if callback_data is not None:
        payload["biz_opaque_callback_data"] = callback_data
    return payload


def build_text_payload(to: str, body: str, callback_data: str | None = None) -> dict:
    """JSON body of a free-text message (only inside the 24-hour window).

    Raises TemplateParamsError for an empty body or one over 4,096 characters.
    """
    if not isinstance(body, str) or not body.strip():
        raise TemplateParamsError("the text body must be non-empty text")
    if len(body) > MAX_TEXT_CHARS:
        raise TemplateParamsError(
            f"the text is {len(body)} characters; WhatsApp allows {MAX_TEXT_CHARS}"
        )
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": _recipient(to),
        "type": "text",
        "text": {"body": body},
    }
    _check_callback_data(callback_data)
    if callback_data is not None:
        payload["biz_opaque_callback_data"] = callback_data
    return payload


# --- client ----------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    """Meta accepted the message (not yet delivered): what to store."""

    wamid: str
    wa_id: str | None
    message_status: str | None


@dataclass(frozen=True)
class PhoneNumberInfo:
    """The business phone number's details ("Test connection")."""

    id: str | None
    display_phone_number: str | None
    verified_name: str | None
    quality_rating: str | None

    def get(self, key: str, default: Any = None) -> Any:
        """Read a field like the Graph JSON object (``info.get("verified_name")``)."""
        if key in self.__dataclass_fields__:
            value = getattr(self, key)
            return default if value is None else value
        return default


@dataclass(frozen=True)
class TemplateInfo:
    """One message template of the WhatsApp Business Account."""

    id: str | None
    name: str
    language: str | None
    status: str | None
    category: str | None
    body_text: str | None
    components: list = field(default_factory=list, hash=False)
    rejected_reason: str | None = None
    quality_score: str | None = None

    @property
    def body_param_count(self) -> int:
        """Positional parameters of the body ({{1}}..{{n}}); 0 without a body."""
        return template_param_count(self.body_text) if self.body_text else 0

    @property
    def buttons(self) -> list[dict]:
        """The template's buttons, in index order."""
        for component in self.components:
            if str(component.get("type", "")).upper() == "BUTTONS":
                return list(component.get("buttons") or [])
        return []

    @property
    def url_button(self) -> dict | None:
        """The first URL button ({"type": "URL", "text", "url"}), if any."""
        for button in self.buttons:
            if isinstance(button, dict) and str(button.get("type", "")).upper() == (
                "URL"
            ):
                return button
        return None

    @property
    def quick_replies(self) -> list[str]:
        """The texts of the quick-reply buttons, in index order."""
        return [
            button["text"]
            for button in self.buttons
            if isinstance(button, dict)
            and str(button.get("type", "")).upper() == "QUICK_REPLY"
            and _as_str(button.get("text"))
        ]


def _template_info(data: Any) -> TemplateInfo:
    """TemplateInfo from one element of ``message_templates``' data."""
    if not isinstance(data, dict) or not _as_str(data.get("name")):
        raise TerminalError(f"unexpected template entry {data!r}")
    components = [c for c in data.get("components") or [] if isinstance(c, dict)]
    body_text = None
    for component in components:
        if str(component.get("type", "")).upper() == "BODY":
            body_text = _as_str(component.get("text"))
    # quality_score is {"score": "GREEN", "date": ...}; "NONE" means not rated.
    quality = data.get("quality_score")
    quality_score = _as_str(quality.get("score")) if isinstance(quality, dict) else None
    rejected_reason = _as_str(data.get("rejected_reason"))
    if rejected_reason and rejected_reason.upper() == "NONE":
        rejected_reason = None
    return TemplateInfo(
        id=_as_str(data.get("id")),
        name=data["name"],
        language=_as_str(data.get("language")),
        status=_as_str(data.get("status")),
        category=_as_str(data.get("category")),
        body_text=body_text,
        components=components,
        rejected_reason=rejected_reason,
        quality_score=quality_score,
    )


def _before_sending(exc: requests.exceptions.ConnectionError) -> bool:
    """Whether a connection error happened before the request left.

    urllib3 (no retries) wraps failures to connect in MaxRetryError with the
    cause as ``reason``: a refused connection, a DNS failure or a connect
    timeout (NewConnectionError is a ConnectTimeoutError).  Anything else (a
    reset or a closed connection while sending or reading) may come after the
    server got the request.
    """
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, urllib3_exceptions.MaxRetryError):
        return isinstance(
            cause.reason,
            (urllib3_exceptions.ConnectTimeoutError, urllib3_exceptions.ProxyError),
        )
    return False


class WhatsAppClient:
    """Cloud API client for one business phone number.

    ``base_url`` is ``https://graph.facebook.com`` in production and a local
    server in tests; ``api_version`` is the Graph version (``v21.0``), kept
    configurable because each one lives about two years.  ``timeout`` is
    ``(connect, read)`` seconds.  ``session`` may be shared (connection reuse);
    it must not retry by itself (the default ``requests.Session`` does not): a
    resent POST would be a duplicate message.
    """

    def __init__(
        self,
        base_url: str,
        api_version: str,
        phone_number_id: str,
        access_token: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        parts = urlsplit(base_url) if isinstance(base_url, str) else None
        if not parts or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if not isinstance(api_version, str) or not _API_VERSION.fullmatch(api_version):
            raise ValueError(f"api_version must look like v21.0, got {api_version!r}")
        if not isinstance(phone_number_id, str) or not _PATH_SEGMENT.fullmatch(
            phone_number_id
        ):
            raise ValueError(f"invalid phone_number_id {phone_number_id!r}")
        if not isinstance(access_token, str) or not access_token.strip():
            raise ValueError("an access token is required")
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.phone_number_id = phone_number_id
        self._access_token = access_token.strip()
        self.timeout = timeout
        self._session = session or requests.Session()
        self._origin = (parts.scheme, parts.netloc)

    def __repr__(self) -> str:
        return (
            f"<WhatsAppClient {self.base_url}/{self.api_version}/"
            f"{self.phone_number_id}>"
        )

    def _url(self, *segments: str) -> str:
        """Absolute Graph URL of ``/{version}/{segments...}``."""
        for segment in segments:
            if not isinstance(segment, str) or not _PATH_SEGMENT.fullmatch(segment):
                raise ValueError(f"invalid Graph API path segment {segment!r}")
        return "/".join((self.base_url, self.api_version, *segments))

    def _request(
        self,
        method: str,
        url: str,
        *,
        payload: dict | None = None,
        params: dict | None = None,
        callback_data: str | None = None,
    ) -> dict:
        """Perform one call, return its JSON object or raise a WhatsAppError.

        A POST sends a message, so once it may have left, any doubt is an
        UncertainError; a GET only reads and is safe to retry.
        """
        sends = method == "POST"
        headers = {
            "Authorization": f"Bearer {self._access_token}",
            "Accept": "application/json",
        }
        try:
            response = self._session.request(
                method,
                url,
                json=payload,
                params=params,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.exceptions.ConnectTimeout:
            raise RetryableError("connect timeout: nothing was sent") from None
        except requests.exceptions.ConnectionError as exc:
            if _before_sending(exc):
                raise RetryableError(
                    f"could not connect ({type(exc.args[0].reason).__name__}): "
                    "nothing was sent"
                ) from None
            raise self._lost(
                sends, f"connection lost ({_describe(exc)})", callback_data
            ) from None
        except requests.exceptions.Timeout:
            raise self._lost(sends, "read timeout", callback_data) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as exc:
            raise AccountError(f"invalid API URL: {_describe(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise self._lost(sends, _describe(exc), callback_data) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if 200 <= status < 300 and isinstance(body, dict) and "error" not in body:
            return body
        if 200 <= status < 300:
            message = f"HTTP {status} without a JSON object"
            if sends:
                raise UncertainError(
                    f"{message}: the message may have been accepted",
                    callback_data=callback_data,
                    http_status=status,
                )
            if not isinstance(body, dict):
                raise TerminalError(message, http_status=status)
        raise _error_from_response(status, body)

    @staticmethod
    def _lost(sends: bool, what: str, callback_data: str | None) -> WhatsAppError:
        """The error for a request lost after it may have been sent."""
        if sends:
            return UncertainError(
                f"{what} after sending: the message may have gone; do not resend",
                callback_data=callback_data,
            )
        return RetryableError(what)

    def _send(self, payload: dict) -> SendResult:
        """POST a message payload and read Meta's acceptance."""
        callback_data = payload.get("biz_opaque_callback_data")
        body = self._request(
            "POST",
            self._url(self.phone_number_id, "messages"),
            payload=payload,
            callback_data=callback_data,
        )
        messages = body.get("messages")
        message = messages[0] if isinstance(messages, list) and messages else None
        wamid = _as_str(message.get("id")) if isinstance(message, dict) else None
        if not wamid:
            raise UncertainError(
                "accepted without a message id: wait for the status webhook",
                callback_data=callback_data,
                http_status=200,
            )
        contacts = body.get("contacts")
        contact = contacts[0] if isinstance(contacts, list) and contacts else None
        wa_id = _as_str(contact.get("wa_id")) if isinstance(contact, dict) else None
        return SendResult(
            wamid=wamid,
            wa_id=wa_id,
            message_status=_as_str(message.get("message_status")),
        )

    def send_template(
        self,
        to: str,
        template_name: str,
        language: str,
        body_params: Sequence[str],
        url_button_suffix: str | None = None,
        quick_replies: Sequence[str] | None = None,
        callback_data: str | None = None,
        *,
        body_text: str | None = None,
        url_button_index: int = 0,
        first_quick_reply_index: int | None = None,
    ) -> SendResult:
        """Send an approved template; see :func:`build_template_payload`.

        Returns the ``wamid`` to store (up to 128 characters) and the ``wa_id``
        WhatsApp resolved the number to.  Raises a WhatsAppError subclass.
        """
        payload = build_template_payload(
            to,
            template_name,
            language,
            body_params,
            url_button_suffix,
            quick_replies,
            callback_data,
            body_text=body_text,
            url_button_index=url_button_index,
            first_quick_reply_index=first_quick_reply_index,
        )
        return self._send(payload)

    def send_text(
        self, to: str, body: str, callback_data: str | None = None
    ) -> SendResult:
        """Send free text (only within 24 h of the customer's last message)."""
        return self._send(build_text_payload(to, body, callback_data))

    def get_phone_number(self) -> PhoneNumberInfo:
        """The phone number's display number, verified name and quality rating."""
        body = self._request(
            "GET",
            self._url(self.phone_number_id),
            params={"fields": "display_phone_number,verified_name,quality_rating"},
        )
        return PhoneNumberInfo(
            id=_as_str(body.get("id")),
            display_phone_number=_as_str(body.get("display_phone_number")),
            verified_name=_as_str(body.get("verified_name")),
            quality_rating=_as_str(body.get("quality_rating")),
        )

    def list_templates(
        self, waba_id: str, *, page_size: int = 100, max_pages: int = 100
    ) -> list[TemplateInfo]:
        """Every message template of the WhatsApp Business Account ``waba_id``.

        Follows ``paging.next`` links, only on the API's own host (the token
        goes with each request), at most ``max_pages`` pages.
        """
        url: str | None = self._url(waba_id, "message_templates")
        params: dict | None = {
            "fields": "id,name,language,status,category,components,"
            "rejected_reason,quality_score",
            "limit": page_size,
        }
        templates: list[TemplateInfo] = []
        seen: set[str] = set()
        for _page in range(max_pages):
            if url is None:
                break
            seen.add(url)
            body = self._request("GET", url, params=params)
            data = body.get("data")
            if not isinstance(data, list):
                raise TerminalError("template list without a data array")
            templates.extend(_template_info(item) for item in data)
            paging = body.get("paging")
            url = _as_str(paging.get("next")) if isinstance(paging, dict) else None
            params = None  # the next link carries the query string
            if url is not None:
                next_parts = urlsplit(url)
                if (next_parts.scheme, next_parts.netloc) != self._origin:
                    raise TerminalError(
                        "refusing to follow a paging link to another host"
                    )
                if url in seen:
                    break
        return templates


def _describe(exc: BaseException) -> str:
    """Short description of a requests exception, without URLs or secrets."""
    root: BaseException = exc
    while root.args and isinstance(root.args[0], BaseException):
        root = root.args[0]
    reason = getattr(root, "reason", None)
    if isinstance(reason, BaseException):
        root = reason
    return type(root).__name__


# --- webhooks --------------------------------------------------------------------


def verify_signature(
    app_secret: str, raw_body: bytes, header_value: str | None
) -> bool:
    """Whether ``X-Hub-Signature-256`` signs ``raw_body`` with ``app_secret``.

    The header is ``sha256=<hex HMAC-SHA256(app_secret, raw body)>``.  Hash the
    request bytes exactly as received: Meta signs its own serialisation, with
    non-ASCII characters escaped (``\\u00f1``), so re-encoding parsed JSON would
    not match.  Constant-time comparison; False for a missing or malformed
    header and for an empty secret (never accept unsigned input).
    """
    if not isinstance(raw_body, (bytes, bytearray, memoryview)):
        raise TypeError("raw_body must be the request's bytes, not decoded text")
    if not app_secret or not isinstance(app_secret, str):
        return False
    if not isinstance(header_value, str):
        return False
    match = _SIGNATURE.fullmatch(header_value.strip())
    if not match:
        return False
    expected = hmac.new(
        app_secret.encode("utf-8"), bytes(raw_body), hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, match.group(1).lower())


def signed_by(
    secrets: Iterable[tuple[Any, str]], raw_body: bytes, header_value: str | None
) -> list:
    """The keys of ``secrets`` whose secret signed ``raw_body``, in their order.

    ``secrets`` are ``(key, app_secret)`` pairs: several numbers (accounts)
    may share one Meta app, hence one secret, and several apps may post to the
    same URL.  Each distinct secret is checked once, in constant time (see
    :func:`verify_signature`).  An empty list means nobody we know signed the
    body: refuse it before reading anything in it.
    """
    verdicts: dict[str, bool] = {}
    keys = []
    for key, secret in secrets:
        if not secret or not isinstance(secret, str):
            continue
        if secret not in verdicts:
            verdicts[secret] = verify_signature(secret, raw_body, header_value)
        if verdicts[secret]:
            keys.append(key)
    return keys


def verify_subscription(params: Mapping[str, Any], verify_token: str) -> str | None:
    """The challenge to echo for Meta's GET handshake, or None (answer 403).

    ``params`` is the query string: ``hub.mode=subscribe``,
    ``hub.verify_token`` equal to ours (compared in constant time) and a
    ``hub.challenge`` to return as plain text.
    """
    if not verify_token:
        return None
    mode = params.get("hub.mode")
    token = params.get("hub.verify_token")
    challenge = params.get("hub.challenge")
    if mode != "subscribe" or not isinstance(token, str):
        return None
    if not isinstance(challenge, str) or not challenge:
        return None
    if not hmac.compare_digest(token.encode("utf-8"), verify_token.encode("utf-8")):
        return None
    return challenge


def _timestamp_utc(timestamp: int | None) -> dt.datetime | None:
    """Naive UTC datetime of a unix timestamp (Odoo's convention)."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class StatusError:
    """One error of a ``failed`` (or warning) status webhook."""

    code: int | None
    title: str | None
    message: str | None = None
    details: str | None = None

    @property
    def error_class(self) -> type[WhatsAppError]:
        """What the code means for us (terminal, account, retryable...)."""
        return classify(self.code, None)


@dataclass(frozen=True)
class StatusEvent:
    """A status of one of our messages: sent, delivered, read or failed."""

    phone_number_id: str
    wamid: str
    status: str
    timestamp: int | None
    recipient_id: str | None
    callback_data: str | None
    errors: list[StatusError] = field(default_factory=list, hash=False)
    recipient_user_id: str | None = None
    waba_id: str | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def event_key(self) -> str:
        """Unique key for de-duplication: ``wamid:status``."""
        return f"{self.wamid}:{self.status}"

    @property
    def timestamp_utc(self) -> dt.datetime | None:
        """The status time as a naive UTC datetime."""
        return _timestamp_utc(self.timestamp)


@dataclass(frozen=True)
class MessageEvent:
    """A message a customer sent to our number."""

    phone_number_id: str
    wamid: str
    from_wa_id: str | None
    user_id: str | None
    profile_name: str | None
    timestamp: int | None
    type: str
    text: str | None = None
    button_payload: str | None = None
    button_text: str | None = None
    context_wamid: str | None = None
    media_id: str | None = None
    waba_id: str | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def event_key(self) -> str:
        """Unique key for de-duplication: the message's ``wamid``."""
        return self.wamid

    @property
    def timestamp_utc(self) -> dt.datetime | None:
        """The message time as a naive UTC datetime."""
        return _timestamp_utc(self.timestamp)

    @property
    def is_opt_out(self) -> bool:
        """Whether the text (or a tapped button's text) is an opt-out keyword."""
        return is_opt_out(self.text) or is_opt_out(self.button_text)


WebhookEvent = MessageEvent | StatusEvent


def _field(container: dict, key: str, where: str, *, required: bool = False) -> Any:
    """``container[key]`` as a string, or None; WebhookPayloadError if wrong."""
    value = container.get(key)
    if value is None or value == "":
        if required:
            raise WebhookPayloadError(f"{where}: missing {key!r}")
        return None
    if not isinstance(value, str):
        raise WebhookPayloadError(f"{where}: {key!r} must be a string")
    return value


def _object(value: Any, where: str, *, required: bool = True) -> dict:
    """A JSON object (dict) or WebhookPayloadError; {} when optional and absent."""
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise WebhookPayloadError(f"{where} must be an object")
    return value


def _array(value: Any, where: str, *, required: bool = True) -> list:
    """A JSON array (list) or WebhookPayloadError; [] when optional and absent."""
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise WebhookPayloadError(f"{where} must be an array")
    return value


def _timestamp(container: dict, where: str) -> int | None:
    """Unix timestamp (a digit string in Meta's payloads) or None if absent."""
    value = container.get("timestamp")
    if value is None:
        return None
    number = _as_int(value)
    if number is None or number < 0:
        raise WebhookPayloadError(f"{where}: invalid timestamp {value!r}")
    return number


def _find_contact(contacts: list, from_wa_id: str | None, user_id: str | None) -> dict:
    """The contacts[] entry of a message's sender ({} when none matches)."""
    entries = [c for c in contacts if isinstance(c, dict)]
    for contact in entries:
        if from_wa_id and contact.get("wa_id") == from_wa_id:
            return contact
        if user_id and contact.get("user_id") == user_id:
            return contact
    return entries[0] if len(entries) == 1 else {}


def _parse_message(
    message: Any, contacts: list, phone_number_id: str, waba_id: str | None
) -> MessageEvent:
    """MessageEvent from one ``value.messages[]`` element."""
    where = "message"
    message = _object(message, where)
    wamid = _field(message, "id", where, required=True)
    where = f"message {wamid}"
    kind = _field(message, "type", where, required=True)
    from_wa_id = _field(message, "from", where)
    user_id = _field(message, "from_user_id", where)
    contact = _find_contact(contacts, from_wa_id, user_id)
    from_wa_id = from_wa_id or _as_str(contact.get("wa_id"))
    user_id = user_id or _as_str(contact.get("user_id"))
    if not from_wa_id and not user_id:
        raise WebhookPayloadError(f"{where}: no sender (neither wa_id nor user_id)")
    profile = contact.get("profile")
    profile_name = _as_str(profile.get("name")) if isinstance(profile, dict) else None
    context = _object(message.get("context"), f"{where} context", required=False)
    values: dict[str, Any] = {"context_wamid": _as_str(context.get("id"))}
    body = _object(message.get(kind), f"{where} {kind}", required=False)
    if kind == "text":
        values["text"] = _field(body, "body", f"{where} text")
    elif kind == "button":
        values["button_payload"] = _field(body, "payload", f"{where} button")
        values["button_text"] = _field(body, "text", f"{where} button")
    elif kind == "interactive":
        reply_type = _as_str(body.get("type"))
        reply = body.get(reply_type) if reply_type else None
        if reply_type in ("button_reply", "list_reply") and isinstance(reply, dict):
            values["button_payload"] = _field(reply, "id", f"{where} {reply_type}")
            values["button_text"] = _field(reply, "title", f"{where} {reply_type}")
    elif kind in ("image", "document", "audio", "video", "sticker"):
        values["media_id"] = _field(body, "id", f"{where} {kind}")
        values["text"] = _field(body, "caption", f"{where} {kind}")
    elif kind == "reaction":
        values["text"] = _field(body, "emoji", f"{where} reaction")
        values["context_wamid"] = _field(body, "message_id", f"{where} reaction")
    return MessageEvent(
        phone_number_id=phone_number_id,
        wamid=wamid,
        from_wa_id=from_wa_id,
        user_id=user_id,
        profile_name=profile_name,
        timestamp=_timestamp(message, where),
        type=kind,
        waba_id=waba_id,
        raw=message,
        **values,
    )


def _parse_status(
    status: Any, phone_number_id: str, waba_id: str | None
) -> StatusEvent:
    """StatusEvent from one ``value.statuses[]`` element."""
    where = "status"
    status = _object(status, where)
    wamid = _field(status, "id", where, required=True)
    where = f"status of {wamid}"
    name = _field(status, "status", where, required=True).lower()
    errors = []
    for item in _array(status.get("errors"), f"{where} errors", required=False):
        item = _object(item, f"{where} error")
        error_data = item.get("error_data")
        details = error_data.get("details") if isinstance(error_data, dict) else None
        errors.append(
            StatusError(
                code=_as_int(item.get("code")),
                title=_as_str(item.get("title")),
                message=_as_str(item.get("message")),
                details=_as_str(details),
            )
        )
    return StatusEvent(
        phone_number_id=phone_number_id,
        wamid=wamid,
        status=name,
        timestamp=_timestamp(status, where),
        recipient_id=_field(status, "recipient_id", where),
        callback_data=_field(status, "biz_opaque_callback_data", where),
        errors=errors,
        recipient_user_id=_field(status, "recipient_user_id", where),
        waba_id=waba_id,
        raw=status,
    )


def parse_webhook(payload: dict) -> list[WebhookEvent]:
    """Typed events of a webhook body (already JSON-decoded), in payload order.

    Changes whose ``field`` is not ``messages`` (template status updates,
    account alerts...) are skipped.  Each event carries the
    ``metadata.phone_number_id`` to route it to an account.  Raises
    WebhookPayloadError when the body is not a WhatsApp Business Account
    envelope or an element lacks what identifies it (ids, status, sender).
    """
    root = _object(payload, "webhook payload")
    if root.get("object") != "whatsapp_business_account":
        raise WebhookPayloadError(
            f"not a WhatsApp Business Account webhook (object={root.get('object')!r})"
        )
    events: list[WebhookEvent] = []
    for entry in _array(root.get("entry"), "entry"):
        entry = _object(entry, "entry[]")
        waba_id = _field(entry, "id", "entry")
        for change in _array(entry.get("changes"), "entry changes"):
            change = _object(change, "change")
            if change.get("field") != "messages":
                continue
            value = _object(change.get("value"), "change value")
            metadata = _object(value.get("metadata"), "value metadata")
            phone_number_id = _field(
                metadata, "phone_number_id", "metadata", required=True
            )
            contacts = _array(value.get("contacts"), "value contacts", required=False)
            for message in _array(value.get("messages"), "messages", required=False):
                events.append(
                    _parse_message(message, contacts, phone_number_id, waba_id)
                )
            for status in _array(value.get("statuses"), "statuses", required=False):
                events.append(_parse_status(status, phone_number_id, waba_id))
    return events


def _check_depth(value: Any, max_depth: int) -> None:
    """WebhookPayloadError if JSON ``value`` nests deeper than ``max_depth``.

    Iterative, so that checking a deep value cannot exhaust the stack itself.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > max_depth:
            raise WebhookPayloadError(f"JSON nested more than {max_depth} levels deep")
        stack.extend(
            (child, depth + 1) for child in children if isinstance(child, (dict, list))
        )


def load_webhook_body(raw_body: bytes, max_depth: int = MAX_WEBHOOK_DEPTH) -> Any:
    """The JSON value of a webhook body, with its nesting bounded.

    Every failure is a :class:`WebhookPayloadError` (answer 400): bytes that
    are not JSON text, numbers Python refuses to convert, and nesting beyond
    ``max_depth`` levels or the interpreter's recursion limit (``"[" * 10**5``
    makes the decoder itself raise RecursionError).
    """
    if not isinstance(raw_body, (bytes, bytearray)):
        raise TypeError("raw_body must be the request's bytes, not decoded text")
    try:
        payload = json.loads(raw_body)
    except RecursionError:
        raise WebhookPayloadError("JSON nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, huge ints
        raise WebhookPayloadError(f"not JSON: {error}") from None
    if isinstance(payload, (dict, list)):
        _check_depth(payload, max_depth)
    return payload


def parse_webhook_body(raw_body: bytes) -> list[WebhookEvent]:
    """Typed events of a raw webhook body: :func:`load_webhook_body`, then
    :func:`parse_webhook`.  Raises WebhookPayloadError."""
    return parse_webhook(load_webhook_body(raw_body))


def key_hash(key: str) -> str:
    """Fixed-size digest of an id or event key: what to index and look up by.

    Meta's ids (``wamid``, a status's ``wamid:status`` key) are strings of no
    documented bound, and a PostgreSQL btree entry cannot exceed about 2.7 KB:
    an index (or UNIQUE constraint) on the string itself would refuse a long
    id, and with it the whole webhook delivery.  The SHA-256 of the UTF-8 text,
    64 hexadecimal characters.
    """
    if not isinstance(key, str):
        raise TypeError(f"key must be text, got {type(key).__name__}")
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


# --- opt-out and statuses -----------------------------------------------------------


def _fold(text: str) -> str:
    """Case- and accent-insensitive form: "báJA" and "BAJA" fold alike.

    NFKD splits accented letters into base + combining mark (and maps
    full-width letters to ASCII); the marks are dropped.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold()


_OPT_OUT_FOLDED = frozenset(_fold(keyword) for keyword in OPT_OUT_KEYWORDS)


def is_opt_out(text: str | None) -> bool:
    """Whether a whole message is an opt-out keyword (BAJA, ALTO, STOP, CANCELAR).

    Case and accents are ignored, and so are spaces, punctuation and emoji
    around the word ("Baja", "báJA.", " stop ", "¡ALTO!").  Only the keyword
    alone counts: "no me den de baja" is a sentence, not an opt-out.
    """
    if not isinstance(text, str):
        return False
    word = _EDGE_PUNCTUATION.sub("", _fold(text).strip())
    return word in _OPT_OUT_FOLDED


def status_rank(status: str | None) -> int:
    """Position of a delivery status: sent 1 < delivered 2 < read 3, else 0.

    ``failed`` and anything unknown rank 0: failures are handled apart (see
    :func:`should_apply_status`).
    """
    if not isinstance(status, str):
        return 0
    try:
        return STATUS_ORDER.index(status.lower()) + 1
    except ValueError:
        return 0


def should_apply_status(current: str | None, new: str) -> bool:
    """Whether a status webhook moves a message from ``current`` to ``new``.

    Webhooks arrive late, duplicated and out of order, so statuses only move
    forward (``sent < delivered < read``).  ``failed`` applies unless the
    message was already delivered or read (a late failure is only logged) or
    already failed; nothing applies after ``failed``.  ``current`` may be one of
    our own states (``queued``, ``sending``, ``unknown``...), which rank below
    ``sent``.
    """
    current = current.lower() if isinstance(current, str) else None
    new = new.lower() if isinstance(new, str) else ""
    if current == "failed":
        return False
    if new == "failed":
        return status_rank(current) < status_rank("delivered")
    rank = status_rank(new)
    return rank > 0 and rank > status_rank(current)
