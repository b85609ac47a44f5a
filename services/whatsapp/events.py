"""WhatsApp events and what they mean: statuses, customer messages, opt-outs.

:class:`StatusEvent` (a status of one of our messages), :class:`MessageEvent`
(a message a customer sent, or a notice about the customer such as a new
number) and :class:`UnreadableEvent` (a part of a signed delivery that could
not be read, kept with the reason) are what :func:`~.webhook.parse_webhook`
yields, each with a unique ``event_key`` for at-least-once delivery.
:func:`is_opt_out` recognises opt-out keywords and :func:`should_apply_status`
keeps statuses monotonic (``sent < delivered < read``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import WhatsAppError, classify

__all__ = [
    "CHANGED_NUMBER_TYPES",
    "NOT_A_CONVERSATION_TYPES",
    "OPT_OUT_KEYWORDS",
    "STATUS_ORDER",
    "UNSUPPORTED_MESSAGE_CODE",
    "MessageEvent",
    "StatusError",
    "StatusEvent",
    "UnreadableEvent",
    "WebhookEvent",
    "is_opt_out",
    "should_apply_status",
    "status_rank",
]

OPT_OUT_KEYWORDS = frozenset({"BAJA", "ALTO", "STOP", "CANCELAR"})
STATUS_ORDER = ("sent", "delivered", "read")
# Messages that are not the customer writing to us: a reaction, an edit or a
# deletion of an earlier message, a notice from WhatsApp (``system``: a new
# number, a new identity), a type WhatsApp does not support. They neither open
# the 24-hour customer-service window nor call for a collector's answer.
NOT_A_CONVERSATION_TYPES = frozenset(
    {"reaction", "edit", "revoke", "system", "unsupported", "unknown"}
)
# "Message type unknown": what a deleted message (and any type the Cloud API
# does not support) comes with.
UNSUPPORTED_MESSAGE_CODE = 131051
# ``system`` notices that the customer's number changed (the older name first).
CHANGED_NUMBER_TYPES = frozenset({"customer_changed_number", "user_changed_number"})

_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")


def _timestamp_utc(timestamp: int | None) -> dt.datetime | None:
    """Naive UTC datetime of a unix timestamp (Odoo's convention)."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class StatusError:
    """One error of a ``failed`` (or warning) status webhook, or of a message
    WhatsApp could not pass on (an ``unsupported`` one)."""

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
    media_mime_type: str | None = None
    media_sha256: str | None = None
    media_filename: str | None = None
    waba_id: str | None = None
    errors: list[StatusError] = field(default_factory=list, hash=False)
    system_type: str | None = None
    new_wa_id: str | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_dict(cls, data: dict) -> MessageEvent:
        """The event stored as :func:`dataclasses.asdict` gave it; keys it does
        not know are left out, and those missing (an event stored by an earlier
        version) take their default."""
        names = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in names}
        values["errors"] = [
            StatusError(
                code=error.get("code"),
                title=error.get("title"),
                message=error.get("message"),
                details=error.get("details"),
            )
            for error in values.get("errors") or []
            if isinstance(error, dict)
        ]
        return cls(**values)

    @property
    def event_key(self) -> str:
        """Unique key for de-duplication: the message's ``wamid``."""
        return self.wamid

    @property
    def is_conversation(self) -> bool:
        """Whether the customer wrote to us (a text, a tap, a file...): what
        opens the 24-hour window and asks a collector to answer.

        Reactions, edits, deletions (``unsupported`` with error 131051),
        ``system`` notices and unsupported types are not.
        """
        if self.type in NOT_A_CONVERSATION_TYPES:
            return False
        return not any(e.code == UNSUPPORTED_MESSAGE_CODE for e in self.errors)

    @property
    def changed_number_to(self) -> str | None:
        """The new WhatsApp id of a customer who changed number, else None."""
        if self.type == "system" and self.system_type in CHANGED_NUMBER_TYPES:
            return self.new_wa_id
        return None

    @property
    def timestamp_utc(self) -> dt.datetime | None:
        """The message time as a naive UTC datetime."""
        return _timestamp_utc(self.timestamp)

    @property
    def is_opt_out(self) -> bool:
        """Whether the text (or a tapped button's text) is an opt-out keyword."""
        return is_opt_out(self.text) or is_opt_out(self.button_text)


@dataclass(frozen=True)
class UnreadableEvent:
    """A part of a signed delivery that could not be read (a message without
    an id, a change without a phone number id, an envelope of another kind).

    Stored with ``reason`` for the managers, so that the rest of the delivery
    goes on and Meta does not retry it for days. ``phone_number_id`` is None
    when the part does not say which number it is about.
    """

    phone_number_id: str | None
    reason: str
    raw: Any = field(default=None, repr=False, compare=False, hash=False)
    waba_id: str | None = None

    @property
    def event_key(self) -> str:
        """Unique key for de-duplication: the digest of the part's content, so
        that Meta's retries of the same delivery are stored once."""
        text = json.dumps(self.raw, sort_keys=True, ensure_ascii=False, default=str)
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return f"unreadable:{digest}"


WebhookEvent = MessageEvent | StatusEvent | UnreadableEvent


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
