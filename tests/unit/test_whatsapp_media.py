"""Unit tests of services/whatsapp/media.py: limits and file names of the media
customers send."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.whatsapp.media import (  # noqa: E402
    MediaTooLargeError,
    MediaUnavailableError,
    media_file_name,
    media_info,
    read_bounded,
)


def test_a_document_keeps_the_customers_file_name():
    name = media_file_name("document", "application/pdf", "recibo.pdf", "wamid.X")
    assert name == "recibo.pdf"


def test_a_file_name_cannot_climb_out_of_its_folder():
    name = media_file_name("document", None, "../../etc/passwd", "wamid.X")
    assert "/" not in name and not name.startswith(".")


def test_an_image_is_named_after_its_type_and_message():
    assert media_file_name("image", "image/jpeg", None, "wamid.HBgL1") == (
        "image-HBgL1.jpg"
    )
    assert media_file_name("audio", "audio/ogg; codecs=opus", None, "wamid.A") == (
        "audio-A.ogg"
    )


def test_an_unknown_type_gets_a_neutral_extension():
    assert media_file_name("document", "application/x-odd", None, "m") == (
        "document-m.bin"
    )


def test_reading_stops_past_the_limit_of_the_type():
    chunks = iter([b"x" * 400 * 1024, b"x" * 200 * 1024, b"never read"])
    with pytest.raises(MediaTooLargeError, match="500 KB"):
        read_bounded(chunks, "sticker")
    assert next(chunks) == b"never read"


def test_reading_within_the_limit_returns_the_bytes():
    assert read_bounded([b"ab", b"cd"], "image") == b"abcd"


def test_an_answer_without_url_is_unavailable():
    with pytest.raises(MediaUnavailableError):
        media_info({"id": "1", "mime_type": "image/jpeg"})


def test_media_info_reads_the_graph_answer():
    info = media_info(
        {
            "url": "https://lookaside.fbsbx.com/x?mid=1",
            "mime_type": "image/jpeg",
            "sha256": "abc",
            "file_size": "2048",
            "id": "1",
        }
    )
    assert (info.url, info.mime_type, info.file_size) == (
        "https://lookaside.fbsbx.com/x?mid=1",
        "image/jpeg",
        2048,
    )
