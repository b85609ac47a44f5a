"""Unit tests of services/whatsapp/media.py: limits and file names of the media
customers send."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.whatsapp.errors import RetryableError  # noqa: E402
from services.whatsapp.media import (  # noqa: E402
    MediaTooLargeError,
    MediaUnavailableError,
    media_file_name,
    media_info,
    read_bounded,
)

from .whatsapp_stub import TOKEN, error_envelope  # noqa: E402


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


# --- the client's two calls, against the Graph API stub ---------------------------


def media_answer(graph, size=None, path="/media/1"):
    body = {"url": f"{graph.base_url}{path}", "mime_type": "image/jpeg", "id": "1"}
    if size is not None:
        body["file_size"] = size
    return body


def test_download_reads_the_url_then_the_bytes_with_the_token(graph, client):
    graph.reply(200, media_answer(graph, size=4))
    graph.reply(200, raw=b"\xff\xd8ab", content_type="image/jpeg")
    info = client.get_media("1")
    data, content_type = client.download_media(info, "image")
    assert (data, content_type) == (b"\xff\xd8ab", "image/jpeg")
    first, second = graph.requests
    assert (first.method, first.path) == ("GET", "/v21.0/1")
    assert second.path == "/media/1"
    assert second.headers["Authorization"] == f"Bearer {TOKEN}"


def test_an_unknown_media_id_is_unavailable(graph, client):
    graph.reply(400, error_envelope(100, "Unsupported get request"))
    with pytest.raises(MediaUnavailableError):
        client.get_media("gone")


def test_a_server_error_on_the_media_id_is_retried(graph, client):
    graph.reply(500, error_envelope(131000, "Something went wrong"))
    with pytest.raises(RetryableError):
        client.get_media("1")


def test_a_missing_file_is_unavailable_and_a_5xx_retried(graph, client):
    info = media_info(media_answer(graph))
    graph.reply(404, raw=b"")
    with pytest.raises(MediaUnavailableError, match="404"):
        client.download_media(info, "image")
    graph.reply(503, raw=b"")
    with pytest.raises(RetryableError):
        client.download_media(info, "image")


def test_an_announced_size_over_the_limit_is_not_downloaded(graph, client):
    info = media_info(media_answer(graph, size=6 * 1024 * 1024))
    with pytest.raises(MediaTooLargeError):
        client.download_media(info, "image")
    assert graph.requests == []


def test_the_token_never_goes_to_another_host_over_plain_http(graph, client):
    info = media_info({"url": "http://evil.example.com/x", "id": "1"})
    with pytest.raises(MediaUnavailableError, match="HTTPS"):
        client.download_media(info, "image")
    assert graph.requests == []
