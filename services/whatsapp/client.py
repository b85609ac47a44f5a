"""WhatsApp Business Cloud API client (``requests``): sends and reads.

:class:`WhatsAppClient` sends template messages for payment reminders and free
text inside the customer's 24-hour window, reads the phone number's details for
a "Test connection" button, and lists the account's templates.  Payloads come
from :mod:`.payloads`; every failure is raised as a :mod:`.errors` class, and a
request that may have left is never resent (:class:`~.errors.UncertainError`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3 import exceptions as urllib3_exceptions

from .errors import (
    AccountError,
    RetryableError,
    TerminalError,
    UncertainError,
    WhatsAppError,
    error_from_response,
)
from .media import (
    MediaInfo,
    MediaUnavailableError,
    max_bytes,
    media_info,
    read_bounded,
    too_large,
)
from .payloads import build_template_payload, build_text_payload, template_param_count
from .values import as_str

__all__ = [
    "DEFAULT_API_BASE_URL",
    "DEFAULT_TIMEOUT",
    "PhoneNumberInfo",
    "SendResult",
    "TemplateInfo",
    "WhatsAppClient",
]

DEFAULT_API_BASE_URL = "https://graph.facebook.com"
# (connect, read) seconds: a connection not made in 5 s was never sent and can
# be retried; a reply not read in 20 s leaves the send uncertain.
DEFAULT_TIMEOUT = (5, 20)

_PATH_SEGMENT = re.compile(r"[^/?#\s]+")
_API_VERSION = re.compile(r"v\d+\.\d+")


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
            and as_str(button.get("text"))
        ]


def _template_info(data: Any) -> TemplateInfo:
    """TemplateInfo from one element of ``message_templates``' data."""
    if not isinstance(data, dict) or not as_str(data.get("name")):
        raise TerminalError(f"unexpected template entry {data!r}")
    components = [c for c in data.get("components") or [] if isinstance(c, dict)]
    body_text = None
    for component in components:
        if str(component.get("type", "")).upper() == "BODY":
            body_text = as_str(component.get("text"))
    # quality_score is {"score": "GREEN", "date": ...}; "NONE" means not rated.
    quality = data.get("quality_score")
    quality_score = as_str(quality.get("score")) if isinstance(quality, dict) else None
    rejected_reason = as_str(data.get("rejected_reason"))
    if rejected_reason and rejected_reason.upper() == "NONE":
        rejected_reason = None
    return TemplateInfo(
        id=as_str(data.get("id")),
        name=data["name"],
        language=as_str(data.get("language")),
        status=as_str(data.get("status")),
        category=as_str(data.get("category")),
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
        raise error_from_response(status, body)

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
        wamid = as_str(message.get("id")) if isinstance(message, dict) else None
        if not wamid:
            raise UncertainError(
                "accepted without a message id: wait for the status webhook",
                callback_data=callback_data,
                http_status=200,
            )
        contacts = body.get("contacts")
        contact = contacts[0] if isinstance(contacts, list) and contacts else None
        wa_id = as_str(contact.get("wa_id")) if isinstance(contact, dict) else None
        return SendResult(
            wamid=wamid,
            wa_id=wa_id,
            message_status=as_str(message.get("message_status")),
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
            id=as_str(body.get("id")),
            display_phone_number=as_str(body.get("display_phone_number")),
            verified_name=as_str(body.get("verified_name")),
            quality_rating=as_str(body.get("quality_rating")),
        )

    def get_media(self, media_id: str) -> MediaInfo:
        """Where to download an inbound media (a URL valid a few minutes).

        An id Meta no longer knows (expired, deleted) is a
        MediaUnavailableError; a server error or a timeout a RetryableError.
        """
        try:
            return media_info(self._request("GET", self._url(media_id)))
        except TerminalError as error:
            if isinstance(error, MediaUnavailableError):
                raise
            raise MediaUnavailableError(
                str(error), http_status=error.http_status
            ) from None

    def download_media(self, info: MediaInfo, kind: str) -> tuple[bytes, str | None]:
        """The bytes of a media and its content type, read with the bearer
        token, at most :func:`.media.max_bytes` of ``kind``.

        The URL is Meta's (its CDN, another host than the API): it is only
        followed over HTTPS, or on the API's own origin (a local sandbox).
        A 404 or 410 is a MediaUnavailableError; a 401 or 403 (the short-lived
        URL expired meanwhile), a 5xx or a network failure a RetryableError:
        the next attempt asks for a fresh URL.
        """
        parts = urlsplit(info.url)
        if parts.scheme != "https" and (parts.scheme, parts.netloc) != self._origin:
            raise MediaUnavailableError("refusing a media URL that is not HTTPS")
        if info.file_size is not None and info.file_size > max_bytes(kind):
            raise too_large(kind, info.file_size)
        try:
            response = self._session.get(
                info.url,
                headers={"Authorization": f"Bearer {self._access_token}"},
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            with response:
                status = response.status_code
                if status in (404, 410):
                    raise MediaUnavailableError(
                        f"the media is no longer available (HTTP {status})",
                        http_status=status,
                    )
                if status != 200:
                    raise RetryableError(
                        f"media download answered HTTP {status}", http_status=status
                    )
                data = read_bounded(response.iter_content(64 * 1024), kind)
                content_type = as_str(response.headers.get("Content-Type"))
        except requests.exceptions.RequestException as exc:
            raise RetryableError(f"media download failed ({_describe(exc)})") from None
        return data, content_type or info.mime_type

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
            url = as_str(paging.get("next")) if isinstance(paging, dict) else None
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
