"""What the WhatsApp unit tests share: a Graph API stub and Meta's sample data.

The client talks to a real HTTP server on loopback (``ThreadingHTTPServer`` on
127.0.0.1, port 0) that speaks the Graph API's shapes: it records every request
and answers what each test queues (a success body, an error envelope, a 5xx
page, a slow reply, a dropped connection).  The ``graph`` and ``client``
fixtures that start it are in conftest.py.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# The add-on root is an Odoo package; import the pure service modules directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.whatsapp.client import SendResult, WhatsAppClient  # noqa: E402

# --- sample data ------------------------------------------------------------------


PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
TOKEN = "EAAGtest-token-0123456789"
VERSION = "v21.0"
WAMID = "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEjQyRkI3QjM4OUIxQ0Y5QjY0RgA="
CALLBACK = "6f1c2a9e-3b7d-4c55-9a10-8d2e4f6b7c01"
BODY_TEXT = (
    "Hola {{1}}, le recordamos que su saldo de {{2}} vence el {{3}}. "
    "Puede consultar y pagar sus facturas con el botón de abajo."
)
SUCCESS = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "525512345678", "wa_id": "5215512345678"}],
    "messages": [{"id": WAMID, "message_status": "accepted"}],
}


# Meta's serialisation escapes non-ASCII: "ñ" as \u00f1, an emoji as a
# surrogate pair.  These are the bytes that are signed.
RAW_BODY = (
    b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398",'
    b'"changes":[{"value":{"messaging_product":"whatsapp","metadata":'
    b'{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},'
    b'"contacts":[{"profile":{"name":"Mar\\u00eda Pe\\u00f1a"},'
    b'"wa_id":"5215512345678"}],"messages":[{"from":"5215512345678",'
    b'"id":"wamid.ABC","timestamp":"1750857384","type":"text",'
    b'"text":{"body":"Ma\\u00f1ana pago \\ud83d\\ude4f"}}]},"field":"messages"}]}]}'
)


# --- the Graph API stub -----------------------------------------------------------


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    """What the server answers to the next request."""

    status: int = 200
    body: object = None
    raw: bytes | None = None
    delay: float = 0.0
    drop: bool = False
    content_type: str = "application/json"


class GraphStub:
    """State shared by the server's handler threads and the test."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: deque[Reply] = deque()
        self.release = threading.Event()
        self.base_url = ""

    def reply(self, status: int = 200, body: object = None, **kwargs) -> None:
        self.replies.append(Reply(status, body, **kwargs))


class GraphHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base signature
        """Keep the test output clean."""

    def _handle(self) -> None:
        stub: GraphStub = self.server.stub
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        stub.requests.append(
            Recorded(
                self.command, url.path, parse_qs(url.query), dict(self.headers), body
            )
        )
        reply = stub.replies.popleft() if stub.replies else Reply(500, raw=b"")
        if reply.delay:
            stub.release.wait(reply.delay)
        if reply.drop:
            # The request was read in full; close without answering, as a
            # connection reset after sending looks to the client.
            self.close_connection = True
            return
        data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _handle
    do_POST = _handle


class GraphServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that gave up (read timeout) is expected, not an error."""


# --- helpers ----------------------------------------------------------------------


def error_envelope(code: int, message: str = "Error", details: str = "details"):
    """A Graph API error body as Meta sends it."""
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "AbCdEfGh123",
        }
    }


def send_reminder(client: WhatsAppClient) -> SendResult:
    """The payment reminder of WHATSAPP.md."""
    return client.send_template(
        "+525512345678",
        "recordatorio_pago_v1",
        "es_MX",
        ["María Peña", "$1,250.00 MXN", "15/07/2026"],
        url_button_suffix="s/4711?t=9f3c",
        callback_data=CALLBACK,
        body_text=BODY_TEXT,
    )


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
