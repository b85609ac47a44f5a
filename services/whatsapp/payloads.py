"""WhatsApp message bodies: template and free-text payloads, validated first.

:func:`build_template_payload` and :func:`build_text_payload` return the JSON
body to POST, exactly as WHATSAPP.md shows it, or raise
:class:`~.errors.InvalidRequestError` / :class:`~.errors.TemplateParamsError`
for what Meta would reject (recipient, sizes, parameter text), so that such a
message never leaves.  :func:`validate_template_params` checks body parameters
against the approved body and renders it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import InvalidRequestError, TemplateParamsError

__all__ = [
    "MAX_CALLBACK_DATA_CHARS",
    "MAX_TEMPLATE_BODY_CHARS",
    "MAX_TEXT_CHARS",
    "build_template_payload",
    "build_text_payload",
    "template_param_count",
    "validate_template_params",
]

MAX_TEMPLATE_BODY_CHARS = 1024
MAX_TEXT_CHARS = 4096
MAX_CALLBACK_DATA_CHARS = 512

_TEMPLATE_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_RECIPIENT = re.compile(r"\+?(\d{8,15})")
# Meta rejects template parameters holding a newline or tab, or more than four
# consecutive spaces (error 132018 / 100: "Param text cannot have new-line/tab
# characters or more than 4 consecutive spaces").
_BAD_PARAM_TEXT = re.compile(r"[\n\r\t]| {5,}")


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
    quick_replies: Sequence[str] | Mapping[int, str] | None = None,
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
    if isinstance(quick_replies, Mapping):
        # Each payload at the index its button has in the approved template.
        indexed = list(quick_replies.items())
    else:
        start = first_quick_reply_index
        if start is None:
            start = url_button_index + 1 if url_button_suffix is not None else 0
        indexed = [
            (start + offset, reply) for offset, reply in enumerate(quick_replies or ())
        ]
    for index, reply_payload in indexed:
        if not isinstance(reply_payload, str) or not reply_payload:
            raise TemplateParamsError(
                f"quick-reply payload must be non-empty text, got {reply_payload!r}"
            )
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise TemplateParamsError(f"invalid button index {index!r}")
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(index),
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
