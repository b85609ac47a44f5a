"""Unit tests of services/whatsapp/webhook.py: decoding and parsing webhook bodies."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import pytest

# The add-on root is an Odoo package; import the pure service modules directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.whatsapp.errors import TerminalError, WebhookPayloadError  # noqa: E402
from services.whatsapp.events import (  # noqa: E402
    MessageEvent,
    StatusError,
    StatusEvent,
    UnreadableEvent,
)
from services.whatsapp.webhook import (  # noqa: E402
    MAX_WEBHOOK_DEPTH,
    key_hash,
    load_webhook_body,
    parse_webhook,
    parse_webhook_body,
)

from .whatsapp_stub import (  # noqa: E402
    CALLBACK,
    PHONE_NUMBER_ID,
    RAW_BODY,
    WABA_ID,
    WAMID,
)

# --- webhook parsing --------------------------------------------------------------


def envelope(value: dict, field_name: str = "messages") -> dict:
    """The WhatsApp Business Account envelope around one change value."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "field": field_name,
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                        }
                        | value,
                    }
                ],
            }
        ],
    }


CONTACT = {"profile": {"name": "María Peña"}, "wa_id": "5215512345678"}


def inbound(message: dict, contacts: list | None = None) -> dict:
    base = {"from": "5215512345678", "id": "wamid.IN1", "timestamp": "1750857384"}
    return envelope(
        {
            "contacts": [CONTACT] if contacts is None else contacts,
            "messages": [base | message],
        }
    )


def test_parse_inbound_text_with_context():
    """A text reply to one of our messages."""
    [event] = parse_webhook(
        inbound(
            {
                "type": "text",
                "text": {"body": "BAJA"},
                "context": {"from": "15550783881", "id": "wamid.OUT1"},
            }
        )
    )
    assert event == MessageEvent(
        phone_number_id=PHONE_NUMBER_ID,
        wamid="wamid.IN1",
        from_wa_id="5215512345678",
        user_id=None,
        profile_name="María Peña",
        timestamp=1750857384,
        type="text",
        text="BAJA",
        context_wamid="wamid.OUT1",
        waba_id=WABA_ID,
    )
    assert event.event_key == "wamid.IN1"
    assert event.timestamp_utc == dt.datetime(2025, 6, 25, 13, 16, 24)
    assert event.is_opt_out
    assert event.raw["text"] == {"body": "BAJA"}


def test_parse_quick_reply_button():
    """A tapped quick reply of a template comes back as type button."""
    [event] = parse_webhook(
        inbound(
            {
                "type": "button",
                "button": {"payload": "PROMISE_4711", "text": "Pagaré el viernes"},
                "context": {"id": "wamid.OUT1"},
            }
        )
    )
    assert (event.type, event.button_payload, event.button_text) == (
        "button",
        "PROMISE_4711",
        "Pagaré el viernes",
    )
    assert event.text is None
    assert event.context_wamid == "wamid.OUT1"
    assert not event.is_opt_out


@pytest.mark.parametrize("reply_type", ["button_reply", "list_reply"])
def test_parse_interactive_replies(reply_type):
    """Interactive button and list replies give their id and title."""
    [event] = parse_webhook(
        inbound(
            {
                "type": "interactive",
                "interactive": {
                    "type": reply_type,
                    reply_type: {"id": "OPT_OUT", "title": "Baja"},
                },
            }
        )
    )
    assert (event.button_payload, event.button_text) == ("OPT_OUT", "Baja")
    assert event.is_opt_out


def test_parse_image_with_caption():
    """Media messages give the media id (and the caption as text)."""
    [event] = parse_webhook(
        inbound(
            {
                "type": "image",
                "image": {
                    "id": "1479537139650973",
                    "mime_type": "image/jpeg",
                    "sha256": "abc",
                    "caption": "Comprobante de pago",
                },
            }
        )
    )
    assert (event.type, event.media_id, event.text) == (
        "image",
        "1479537139650973",
        "Comprobante de pago",
    )
    assert (event.media_mime_type, event.media_sha256) == ("image/jpeg", "abc")


def test_parse_document_reaction_and_unknown_types():
    """Documents, reactions and types we do not read are all events."""
    payload = envelope(
        {
            "contacts": [CONTACT],
            "messages": [
                {
                    "from": "5215512345678",
                    "id": "wamid.D",
                    "timestamp": "1750857384",
                    "type": "document",
                    "document": {"id": "doc-1", "filename": "pago.pdf"},
                },
                {
                    "from": "5215512345678",
                    "id": "wamid.R",
                    "timestamp": "1750857385",
                    "type": "reaction",
                    "reaction": {"message_id": "wamid.OUT1", "emoji": "👍"},
                },
                {
                    "from": "5215512345678",
                    "id": "wamid.L",
                    "timestamp": "1750857386",
                    "type": "location",
                    "location": {"latitude": 19.43, "longitude": -99.13},
                },
            ],
        }
    )
    document, reaction, location = parse_webhook(payload)
    assert (document.media_id, document.text) == ("doc-1", None)
    assert document.media_filename == "pago.pdf"
    assert (reaction.text, reaction.context_wamid) == ("👍", "wamid.OUT1")
    assert location.type == "location"
    assert location.text is location.media_id is None


def test_parse_user_id_without_wa_id():
    """From 2026 a business-scoped user id may replace the phone number."""
    payload = envelope(
        {
            "contacts": [
                {"profile": {"name": "Ana"}, "user_id": "MX.13491208655302741918"}
            ],
            "messages": [
                {
                    "from_user_id": "MX.13491208655302741918",
                    "id": "wamid.U1",
                    "timestamp": "1750857384",
                    "type": "text",
                    "text": {"body": "Hola"},
                }
            ],
        }
    )
    [event] = parse_webhook(payload)
    assert event.from_wa_id is None
    assert event.user_id == "MX.13491208655302741918"
    assert event.profile_name == "Ana"


def test_parse_user_id_next_to_wa_id():
    """Both identifiers may come together; the contact gives the user id."""
    contact = CONTACT | {"user_id": "MX.1"}
    [event] = parse_webhook(inbound({"type": "text", "text": {"body": "x"}}, [contact]))
    assert (event.from_wa_id, event.user_id) == ("5215512345678", "MX.1")


def test_parse_failed_status_with_errors_and_callback_data():
    """A failed status carries Meta's errors and our callback data back."""
    payload = envelope(
        {
            "statuses": [
                {
                    "id": WAMID,
                    "status": "failed",
                    "timestamp": "1750857390",
                    "recipient_id": "5215512345678",
                    "biz_opaque_callback_data": CALLBACK,
                    "errors": [
                        {
                            "code": 131047,
                            "title": "Re-engagement message",
                            "message": "Re-engagement message",
                            "error_data": {"details": "More than 24 hours"},
                        }
                    ],
                }
            ]
        }
    )
    [event] = parse_webhook(payload)
    assert event == StatusEvent(
        phone_number_id=PHONE_NUMBER_ID,
        wamid=WAMID,
        status="failed",
        timestamp=1750857390,
        recipient_id="5215512345678",
        callback_data=CALLBACK,
        errors=[
            StatusError(
                131047,
                "Re-engagement message",
                "Re-engagement message",
                "More than 24 hours",
            )
        ],
        waba_id=WABA_ID,
    )
    assert event.event_key == f"{WAMID}:failed"
    assert event.errors[0].error_class is TerminalError


def test_parse_statuses_in_order_with_pricing():
    """Several statuses: one event each, keyed by wamid and status."""
    statuses = [
        {
            "id": WAMID,
            "status": status,
            "timestamp": str(1750857390 + i),
            "recipient_id": "5215512345678",
            "pricing": {"billable": True, "category": "utility"},
        }
        for i, status in enumerate(["sent", "delivered", "read"])
    ]
    events = parse_webhook(envelope({"statuses": statuses}))
    assert [e.event_key for e in events] == [
        f"{WAMID}:sent",
        f"{WAMID}:delivered",
        f"{WAMID}:read",
    ]
    assert all(e.errors == [] and e.callback_data is None for e in events)
    assert events[0].raw["pricing"]["category"] == "utility"


def test_parse_ignores_other_fields_and_collects_every_entry():
    """Template status updates are skipped; several entries are all read."""
    template_update = envelope(
        {"event": "APPROVED", "message_template_name": "x"},
        "message_template_status_update",
    )
    assert parse_webhook(template_update) == []
    payload = inbound({"type": "text", "text": {"body": "uno"}})
    second = inbound({"type": "text", "text": {"body": "dos"}, "id": "wamid.IN2"})
    payload["entry"] += second["entry"] + template_update["entry"]
    assert [e.text for e in parse_webhook(payload)] == ["uno", "dos"]


def test_parse_value_with_nothing_to_report():
    """A messages change without messages or statuses gives no event."""
    assert parse_webhook(envelope({})) == []


def _without(path: list, key: str) -> dict:
    payload = inbound({"type": "text", "text": {"body": "x"}})
    target = payload
    for step in path:
        target = target[step]
    del target[key]
    return payload


def _with(path: list, key: str, value) -> dict:
    payload = inbound({"type": "text", "text": {"body": "x"}})
    target = payload
    for step in path:
        target = target[step]
    target[key] = value
    return payload


VALUE = ["entry", 0, "changes", 0, "value"]
# A message with neither a phone number nor a business-scoped user id.
NO_SENDER = envelope({"messages": [{"id": "w", "type": "text", "text": {"body": "x"}}]})
MESSAGE = [*VALUE, "messages", 0]


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "{}",
        {},
        {"object": "page", "entry": []},
        _without([], "entry"),
        _with([], "entry", {}),
        _with(["entry"], 0, "x"),
        _without(["entry", 0], "changes"),
        _with(["entry", 0], "changes", None),
        _with(["entry", 0, "changes"], 0, []),
        _without(["entry", 0, "changes", 0], "value"),
        _without(VALUE, "metadata"),
        _without([*VALUE, "metadata"], "phone_number_id"),
    ],
)
def test_unreadable_envelopes(payload):
    """What does not say which number it is about is one unreadable event,
    never an exception: the delivery is acknowledged and the reason kept."""
    [event] = parse_webhook(payload)
    assert isinstance(event, UnreadableEvent)
    assert event.phone_number_id is None
    assert event.reason
    assert event.event_key.startswith("unreadable:")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (_with(VALUE, "messages", {"id": "x"}), "messages must be an array"),
        (_with(VALUE, "statuses", "sent"), "statuses must be an array"),
        (_with([*VALUE, "messages"], 0, "x"), "message must be an object"),
        (_without(MESSAGE, "id"), "missing 'id'"),
        (_without(MESSAGE, "type"), "missing 'type'"),
        (_with(MESSAGE, "id", 123), "'id' must be a string"),
        (NO_SENDER, "no sender"),
        (envelope({"statuses": [{"status": "sent"}]}), "missing 'id'"),
        (envelope({"statuses": [{"id": "w"}]}), "missing 'status'"),
    ],
)
def test_unreadable_elements_keep_their_number_and_reason(payload, reason):
    """An element without what identifies it is unreadable, with the number
    it came to (to be stored for that account) and the reason; the rest of
    the value is read."""
    events = parse_webhook(payload)
    [event] = [e for e in events if isinstance(e, UnreadableEvent)]
    assert isinstance(event, UnreadableEvent)
    assert event.phone_number_id == PHONE_NUMBER_ID
    assert reason in event.reason
    assert event.waba_id == WABA_ID


def test_contact_card_does_not_refuse_the_statuses_next_to_it():
    """A message of a shape we do not read (a contact card: ``contacts`` is a
    list) is still a message; the statuses of the same delivery are read, and
    one element without an id is the only part left out."""
    card = {
        "from": "5215512345678",
        "id": "wamid.CARD",
        "timestamp": "1750857384",
        "type": "contacts",
        "contacts": [{"name": {"formatted_name": "Ana"}, "phones": []}],
    }
    payload = envelope(
        {
            "contacts": [CONTACT],
            "messages": [card, {"type": "text", "from": "5215512345678"}],
            "statuses": [{"id": WAMID, "status": "read", "timestamp": "1750857390"}],
        }
    )
    message, unreadable, status = parse_webhook(payload)
    assert (message.wamid, message.type, message.text) == (
        "wamid.CARD",
        "contacts",
        None,
    )
    assert message.raw["contacts"] == card["contacts"]
    assert isinstance(unreadable, UnreadableEvent)
    assert "missing 'id'" in unreadable.reason
    assert (status.wamid, status.status) == (WAMID, "read")


@pytest.mark.parametrize(
    ("path", "key", "value"),
    [
        (MESSAGE, "timestamp", "yesterday"),
        (MESSAGE, "text", "BAJA"),
        (MESSAGE, "context", ["wamid.OUT1"]),
        (MESSAGE, "errors", "x"),
    ],
)
def test_odd_optional_parts_are_left_out(path, key, value):
    """An optional part of another shape is left out of the event, the
    message itself is read."""
    [event] = parse_webhook(_with(path, key, value))
    assert isinstance(event, MessageEvent)
    assert event.wamid == "wamid.IN1"


def test_odd_status_errors_are_left_out():
    payload = envelope(
        {"statuses": [{"id": "w", "status": "failed", "errors": ["x", {"code": 1}]}]}
    )
    [event] = parse_webhook(payload)
    assert event.errors == [StatusError(1, None)]


def test_unreadable_event_key_is_the_digest_of_its_content():
    """Meta retries the same delivery: the same part, the same key."""
    first = parse_webhook(_without(MESSAGE, "id"))[0]
    again = parse_webhook(_without(MESSAGE, "id"))[0]
    other = parse_webhook(_with(MESSAGE, "id", 123))[0]
    assert first.event_key == again.event_key != other.event_key


def test_reaction_edit_deletion_and_system_are_not_a_conversation():
    """Only what the customer writes to us opens the 24-hour window."""
    base = {"from": "5215512345678", "timestamp": "1750857384"}
    messages = [
        base | {"id": "wamid.T", "type": "text", "text": {"body": "Hola"}},
        base
        | {
            "id": "wamid.R",
            "type": "reaction",
            "reaction": {"message_id": "wamid.OUT1", "emoji": "👍"},
        },
        base
        | {
            "id": "wamid.E",
            "type": "edit",
            "edit": {
                "original_message_id": "wamid.T",
                "message": {"type": "text", "text": {"body": "Hola!"}},
            },
        },
        base
        | {
            "id": "wamid.D",
            "type": "unsupported",
            "errors": [
                {
                    "code": 131051,
                    "title": "Message type unknown",
                    "error_data": {"details": "Message type is not supported"},
                }
            ],
        },
        base
        | {
            "id": "wamid.S",
            "type": "system",
            "system": {
                "body": "María changed from 5215512345678 to 5215587654321",
                "new_wa_id": "5215587654321",
                "type": "user_changed_number",
            },
        },
        base | {"id": "wamid.X", "type": "text", "errors": [{"code": 131051}]},
    ]
    events = parse_webhook(envelope({"contacts": [CONTACT], "messages": messages}))
    assert [e.is_conversation for e in events] == [
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    _text, _reaction, edit, deletion, system, _x = events
    assert (edit.context_wamid, edit.text) == ("wamid.T", "Hola!")
    assert deletion.errors[0].code == 131051
    assert deletion.errors[0].details == "Message type is not supported"
    assert system.changed_number_to == "5215587654321"
    assert system.system_type == "user_changed_number"
    assert [e.changed_number_to for e in events if e is not system] == [None] * 5


def test_older_customer_changed_number_gives_the_new_number():
    payload = inbound(
        {
            "type": "system",
            "system": {
                "body": "changed",
                "wa_id": "5215587654321",
                "type": "customer_changed_number",
            },
        }
    )
    [event] = parse_webhook(payload)
    assert event.changed_number_to == "5215587654321"
    assert not event.is_conversation


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b'{"object": "whatsapp_business_account", "entry": [}',
        b"\xff\xfe\x00",  # not UTF-8 (nor UTF-16: odd length)
        b"1" * 5000,  # an integer Python refuses to convert
        b"[" * 100_000,  # the decoder itself exceeds the recursion limit
        b"[" * 100_000 + b"]" * 100_000,
        b"[" * (MAX_WEBHOOK_DEPTH + 1) + b"]" * (MAX_WEBHOOK_DEPTH + 1),
        b'{"a":' * (MAX_WEBHOOK_DEPTH + 1) + b"1" + b"}" * (MAX_WEBHOOK_DEPTH + 1),
    ],
)
def test_load_webhook_body_refuses_what_is_not_bounded_json(raw):
    """Malformed, undecodable or too deeply nested bodies are a payload error,
    never a RecursionError or another exception (the webhook answers 400)."""
    with pytest.raises(WebhookPayloadError):
        load_webhook_body(raw)


def test_load_webhook_body_accepts_nesting_up_to_the_bound():
    """MAX_WEBHOOK_DEPTH levels are fine; Meta's envelope is far shallower."""
    raw = b"[" * MAX_WEBHOOK_DEPTH + b"]" * MAX_WEBHOOK_DEPTH
    assert load_webhook_body(raw) == json.loads(raw)
    assert load_webhook_body(RAW_BODY) == json.loads(RAW_BODY)


def test_load_webhook_body_needs_bytes():
    """The raw bytes are what was signed: decoded text is a programming error."""
    with pytest.raises(TypeError):
        load_webhook_body(RAW_BODY.decode())


def test_parse_webhook_body_decodes_then_parses():
    """The raw body of an inbound message gives its typed event."""
    [event] = parse_webhook_body(RAW_BODY)
    assert event.wamid == "wamid.ABC"
    assert event.text == "Mañana pago 🙏"
    with pytest.raises(WebhookPayloadError):
        parse_webhook_body(b"[" * 100_000)


def test_parse_webhook_keeps_ids_of_any_length():
    """Ids are Meta's to size: a 3 KB wamid is parsed whole (and hashed to
    index it, see key_hash)."""
    wamid = "wamid." + "A" * 3000
    payload = envelope({"statuses": [{"id": wamid, "status": "delivered"}]})
    [event] = parse_webhook(payload)
    assert event.wamid == wamid
    assert event.event_key == f"{wamid}:delivered"


def test_key_hash_is_a_fixed_size_sha256():
    """64 hexadecimal characters whatever the key's length; distinct keys,
    distinct hashes; the text's UTF-8, even with a lone surrogate."""
    assert key_hash("wamid.ABC") == hashlib.sha256(b"wamid.ABC").hexdigest()
    long_key = "wamid." + "x" * 100_000
    assert len(key_hash(long_key)) == 64
    assert key_hash("wamid.ABC:sent") != key_hash("wamid.ABC:read")
    assert key_hash("ñ") == hashlib.sha256("ñ".encode()).hexdigest()
    assert len(key_hash("\ud83d")) == 64
    with pytest.raises(TypeError):
        key_hash(None)
