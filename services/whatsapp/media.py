"""Media a customer sends (a photo of a transfer receipt, a PDF): limits, names.

Downloading is two calls (see :meth:`~.client.WhatsAppClient.download_media`):
``GET /{version}/{media-id}`` answers ``{"url", "mime_type", "sha256",
"file_size", "id"}``, a URL valid for about five minutes; ``GET`` that URL with
the same bearer token answers the bytes.  A media id is only valid for a while
(Meta keeps inbound media about 30 days, less in practice): an unknown id is a
permanent failure (:class:`MediaUnavailableError`), as is a file over
:data:`MEDIA_MAX_BYTES` (:class:`MediaTooLargeError`); a server error or a
timeout is retried (:class:`~.errors.RetryableError`).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import TerminalError
from .values import as_int, as_str

__all__ = [
    "MEDIA_MAX_BYTES",
    "MEDIA_TYPES",
    "PROOF_MEDIA_TYPES",
    "MediaInfo",
    "MediaTooLargeError",
    "MediaUnavailableError",
    "max_bytes",
    "media_file_name",
    "media_info",
    "read_bounded",
    "too_large",
]

# The types of media a customer can send, which the add-on downloads.
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
# What a debtor sends as a payment proof: a photo or a scan of the receipt, a
# PDF from the bank. An audio, a video or a sticker is still kept, but asks the
# collector to listen or look, not to verify a payment.
PROOF_MEDIA_TYPES = frozenset({"image", "document"})
# Meta's own limits per type (Cloud API, "Supported media types"): WhatsApp
# never delivers a larger file, so anything above is not a customer's file and
# is refused before it is read whole. Stickers are 100 KB static, 500 KB
# animated.
MEDIA_MAX_BYTES = {
    "image": 5 * 1024 * 1024,
    "document": 100 * 1024 * 1024,
    "audio": 16 * 1024 * 1024,
    "video": 16 * 1024 * 1024,
    "sticker": 500 * 1024,
}
# The extension of a file named after its type, when the MIME type says
# nothing the platform's table knows (WhatsApp's voice notes are Opus in Ogg).
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "audio/mp4": ".m4a",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\\/:*?\"<>|]+")


class MediaUnavailableError(TerminalError):
    """The media cannot be downloaded any more: expired, deleted or unknown."""


class MediaTooLargeError(TerminalError):
    """The media is larger than WhatsApp allows for its type."""


@dataclass(frozen=True)
class MediaInfo:
    """What ``GET /{media-id}`` answers: where to download it, and what it is."""

    id: str | None
    url: str
    mime_type: str | None
    sha256: str | None
    file_size: int | None


def media_info(body: dict) -> MediaInfo:
    """MediaInfo from the Graph answer; MediaUnavailableError without a URL."""
    url = as_str(body.get("url"))
    if not url or not url.startswith(("https://", "http://")):
        raise MediaUnavailableError("the media has no download URL")
    return MediaInfo(
        id=as_str(body.get("id")),
        url=url,
        mime_type=as_str(body.get("mime_type")),
        sha256=as_str(body.get("sha256")),
        file_size=as_int(body.get("file_size")),
    )


def max_bytes(kind: str) -> int:
    """The largest file of type ``kind`` that is downloaded (the document's
    limit for a type WhatsApp may add later)."""
    return MEDIA_MAX_BYTES.get(kind, MEDIA_MAX_BYTES["document"])


def too_large(kind: str, size: int) -> MediaTooLargeError:
    """The error for a ``kind`` file of ``size`` bytes, over its limit."""
    limit = max_bytes(kind)
    return MediaTooLargeError(
        f"the {kind} is larger than {limit // 1024} KB ({size // 1024} KB or more)"
    )


def read_bounded(chunks: Iterable[bytes], kind: str) -> bytes:
    """The bytes of ``chunks``, refusing (MediaTooLargeError) past the limit of
    ``kind`` without reading further."""
    limit = max_bytes(kind)
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > limit:
            raise too_large(kind, len(data))
    return bytes(data)


def media_file_name(
    kind: str, mime_type: str | None, filename: str | None, ref: str
) -> str:
    """The attachment's name: the customer's file name (a document has one),
    else the type and ``ref`` with the extension of its MIME type
    (``image-wamid123.jpg``)."""
    if filename:
        name = _UNSAFE_NAME.sub("_", filename).strip(" .")
        if name:
            return name[:200]
    mime = (mime_type or "").split(";")[0].strip().lower()
    extension = _EXTENSIONS.get(mime) or mimetypes.guess_extension(mime) or ".bin"
    ref = re.sub(r"[^0-9A-Za-z]+", "", (ref or "").removeprefix("wamid."))
    ref = ref[-24:] or "whatsapp"
    return f"{kind}-{ref}{extension}"
