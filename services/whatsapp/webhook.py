"""WhatsApp webhooks: signature, handshake, bounded decoding, typed events.

:func:`verify_signature` checks ``X-Hub-Signature-256`` over the raw bytes
(:func:`signed_by`: which of several secrets signed them),
:func:`verify_subscription` answers Meta's GET handshake, and
:func:`parse_webhook` turns an envelope into the typed events of :mod:`.events`,
never refusing a delivery for one part it cannot read;
:func:`parse_webhook_body` decodes the raw body first, with its nesting bounded.
Ids are Meta's to size: :func:`key_hash` gives the fixed-size digest to index
instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import WebhookPayloadError
from .events import (
    MessageEvent,
    StatusError,
    StatusEvent,
    UnreadableEvent,
    WebhookEvent,
)
from .values import as_int, as_str

__all__ = [
    "MAX_WEBHOOK_BYTES",
    "MAX_WEBHOOK_DEPTH",
    "key_hash",
    "load_webhook_body",
    "parse_webhook",
    "parse_webhook_body",
    "signed_by",
    "verify_signature",
    "verify_subscription",
]

# A webhook body is refused beyond this size, before it is read further: a
# status or a message notification is a few KB, and a batch of them stays far
# below, while anyone can post to the webhook's URL.
MAX_WEBHOOK_BYTES = 4 * 1024 * 1024
# Meta's envelope nests about ten levels deep (entry, changes, value, statuses,
# errors, error_data...); anything much deeper is not a WhatsApp notification,
# and storing it would recurse as deep.
MAX_WEBHOOK_DEPTH = 64

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")


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


def _field(container: dict, key: str, where: str, *, required: bool = False) -> Any:
    """``container[key]`` as a string, or None.

    A required field missing or not a string makes the element unreadable
    (WebhookPayloadError); an optional one of another shape is left out.
    """
    value = container.get(key)
    if isinstance(value, str) and value:
        return value
    if not required:
        return None
    if value is None or value == "":
        raise WebhookPayloadError(f"{where}: missing {key!r}")
    raise WebhookPayloadError(f"{where}: {key!r} must be a string")


def _object(value: Any, where: str, *, required: bool = True) -> dict:
    """A JSON object (dict); WebhookPayloadError when required and it is not
    one; {} when optional and absent or of another shape."""
    if isinstance(value, dict):
        return value
    if not required:
        return {}
    raise WebhookPayloadError(f"{where} must be an object")


def _array(value: Any, where: str, *, required: bool = True) -> list:
    """A JSON array (list) or WebhookPayloadError; [] when optional and absent."""
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise WebhookPayloadError(f"{where} must be an array")
    return value


def _timestamp(container: dict) -> int | None:
    """Unix timestamp (a digit string in Meta's payloads); None when absent or
    not one (the event is still applied, at the time it is processed)."""
    number = as_int(container.get("timestamp"))
    return number if number is not None and number >= 0 else None


def _errors(value: Any) -> list[StatusError]:
    """The ``errors`` of a status or a message, skipping what is not an error."""
    errors = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict):
            continue
        error_data = item.get("error_data")
        details = error_data.get("details") if isinstance(error_data, dict) else None
        errors.append(
            StatusError(
                code=as_int(item.get("code")),
                title=as_str(item.get("title")),
                message=as_str(item.get("message")),
                details=as_str(details),
            )
        )
    return errors


def _find_contact(contacts: list, from_wa_id: str | None, user_id: str | None) -> dict:
    """The contacts[] entry of a message's sender ({} when none matches)."""
    entries = [c for c in contacts if isinstance(c, dict)]
    for contact in entries:
        if from_wa_id and contact.get("wa_id") == from_wa_id:
            return contact
        if user_id and contact.get("user_id") == user_id:
            return contact
    return entries[0] if len(entries) == 1 else {}


def _message_values(kind: str, body: dict, where: str) -> dict[str, Any]:
    """What a message of type ``kind`` says, read from its ``body`` object.

    Only what is read is kept; anything of an unexpected shape (a contact card's
    list, a location's numbers) is left in ``raw`` and never refuses the message.
    """
    values: dict[str, Any] = {}
    if kind == "text":
        values["text"] = _field(body, "body", f"{where} text")
    elif kind == "button":
        values["button_payload"] = _field(body, "payload", f"{where} button")
        values["button_text"] = _field(body, "text", f"{where} button")
    elif kind == "interactive":
        reply_type = as_str(body.get("type"))
        reply = body.get(reply_type) if reply_type else None
        if reply_type in ("button_reply", "list_reply") and isinstance(reply, dict):
            values["button_payload"] = _field(reply, "id", f"{where} {reply_type}")
            values["button_text"] = _field(reply, "title", f"{where} {reply_type}")
    elif kind in ("image", "document", "audio", "video", "sticker"):
        values["media_id"] = _field(body, "id", f"{where} {kind}")
        values["media_mime_type"] = _field(body, "mime_type", f"{where} {kind}")
        values["media_sha256"] = _field(body, "sha256", f"{where} {kind}")
        values["media_filename"] = _field(body, "filename", f"{where} {kind}")
        values["text"] = _field(body, "caption", f"{where} {kind}")
    elif kind == "reaction":
        values["text"] = _field(body, "emoji", f"{where} reaction")
        values["context_wamid"] = _field(body, "message_id", f"{where} reaction")
    elif kind == "edit":
        values["context_wamid"] = _field(body, "original_message_id", where)
        edited = _object(body.get("message"), where, required=False)
        text = _object(edited.get("text"), where, required=False)
        values["text"] = _field(text, "body", where)
    elif kind == "system":
        values["text"] = _field(body, "body", f"{where} system")
        values["system_type"] = _field(body, "type", f"{where} system")
        # ``new_wa_id`` today; ``wa_id`` in the older customer_changed_number.
        values["new_wa_id"] = _field(body, "new_wa_id", where) or _field(
            body, "wa_id", where
        )
    return values


def _parse_message(
    message: Any, contacts: list, phone_number_id: str, waba_id: str | None
) -> MessageEvent:
    """MessageEvent from one ``value.messages[]`` element.

    WebhookPayloadError when what identifies it is missing: its id, its type,
    its sender (neither a phone number nor a user id).
    """
    where = "message"
    message = _object(message, where)
    wamid = _field(message, "id", where, required=True)
    where = f"message {wamid}"
    kind = _field(message, "type", where, required=True)
    from_wa_id = _field(message, "from", where)
    user_id = _field(message, "from_user_id", where)
    contact = _find_contact(contacts, from_wa_id, user_id)
    from_wa_id = from_wa_id or as_str(contact.get("wa_id"))
    user_id = user_id or as_str(contact.get("user_id"))
    if not from_wa_id and not user_id:
        raise WebhookPayloadError(f"{where}: no sender (neither wa_id nor user_id)")
    profile = contact.get("profile")
    profile_name = as_str(profile.get("name")) if isinstance(profile, dict) else None
    context = _object(message.get("context"), where, required=False)
    values: dict[str, Any] = {"context_wamid": as_str(context.get("id"))}
    body = _object(message.get(kind), where, required=False)
    values.update(_message_values(kind, body, where))
    return MessageEvent(
        phone_number_id=phone_number_id,
        wamid=wamid,
        from_wa_id=from_wa_id,
        user_id=user_id,
        profile_name=profile_name,
        timestamp=_timestamp(message),
        type=kind,
        waba_id=waba_id,
        errors=_errors(message.get("errors")),
        raw=message,
        **values,
    )


def _parse_status(
    status: Any, phone_number_id: str, waba_id: str | None
) -> StatusEvent:
    """StatusEvent from one ``value.statuses[]`` element.

    WebhookPayloadError when its message id or its status is missing.
    """
    where = "status"
    status = _object(status, where)
    wamid = _field(status, "id", where, required=True)
    where = f"status of {wamid}"
    name = _field(status, "status", where, required=True).lower()
    return StatusEvent(
        phone_number_id=phone_number_id,
        wamid=wamid,
        status=name,
        timestamp=_timestamp(status),
        recipient_id=_field(status, "recipient_id", where),
        callback_data=_field(status, "biz_opaque_callback_data", where),
        errors=_errors(status.get("errors")),
        recipient_user_id=_field(status, "recipient_user_id", where),
        waba_id=waba_id,
        raw=status,
    )


def _parse_value(
    value: dict, phone_number_id: str, waba_id: str | None
) -> list[WebhookEvent]:
    """The events of one ``messages`` change value, each element on its own:
    one that cannot be read is an :class:`UnreadableEvent`, the others go on."""
    events: list[WebhookEvent] = []
    contacts = value.get("contacts")
    contacts = contacts if isinstance(contacts, list) else []

    def message(item):
        return _parse_message(item, contacts, phone_number_id, waba_id)

    def status(item):
        return _parse_status(item, phone_number_id, waba_id)

    for key, parse in (("messages", message), ("statuses", status)):
        items = value.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            reason = f"{key} must be an array"
            events.append(UnreadableEvent(phone_number_id, reason, items, waba_id))
            continue
        for item in items:
            try:
                events.append(parse(item))
            except WebhookPayloadError as error:
                events.append(
                    UnreadableEvent(phone_number_id, str(error), item, waba_id)
                )
    return events


def _parse_change(change: Any, waba_id: str | None) -> list[WebhookEvent]:
    """The events of one ``entry.changes[]`` element (none but ``messages``)."""
    change = _object(change, "change")
    if change.get("field") != "messages":
        return []
    value = _object(change.get("value"), "change value")
    metadata = _object(value.get("metadata"), "value metadata")
    phone_number_id = _field(metadata, "phone_number_id", "metadata", required=True)
    return _parse_value(value, phone_number_id, waba_id)


def parse_webhook(payload: Any) -> list[WebhookEvent]:
    """Typed events of a webhook body (already JSON-decoded), in payload order.

    Changes whose ``field`` is not ``messages`` (template status updates,
    account alerts...) are skipped.  Each event carries the
    ``metadata.phone_number_id`` to route it to an account.  Never raises on
    the content: each part that cannot be read (not a WhatsApp Business Account
    envelope, a change without its phone number id, a message without an id or
    a sender...) is an :class:`UnreadableEvent` with the reason, in its place,
    and the other parts are read as usual.
    """
    if not isinstance(payload, dict):
        return [UnreadableEvent(None, "webhook payload must be an object", payload)]
    if payload.get("object") != "whatsapp_business_account":
        reason = (
            "not a WhatsApp Business Account webhook "
            f"(object={payload.get('object')!r})"
        )
        return [UnreadableEvent(None, reason, payload)]
    entries = payload.get("entry")
    if not isinstance(entries, list):
        return [UnreadableEvent(None, "entry must be an array", payload)]
    events: list[WebhookEvent] = []
    for entry in entries:
        waba_id = as_str(entry.get("id")) if isinstance(entry, dict) else None
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            reason = "entry must be an object with an array of changes"
            events.append(UnreadableEvent(None, reason, entry, waba_id))
            continue
        for change in changes:
            try:
                events.extend(_parse_change(change, waba_id))
            except WebhookPayloadError as error:
                events.append(UnreadableEvent(None, str(error), change, waba_id))
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
    :func:`parse_webhook`.  Raises WebhookPayloadError only when the bytes are
    not bounded JSON."""
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
