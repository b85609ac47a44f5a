"""Fixtures of the WhatsApp unit tests: the Graph API stub and a client of it."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
import requests

# The add-on root is an Odoo package; import the pure service modules directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.whatsapp.client import WhatsAppClient  # noqa: E402

from .whatsapp_stub import (  # noqa: E402
    PHONE_NUMBER_ID,
    TOKEN,
    VERSION,
    GraphHandler,
    GraphServer,
    GraphStub,
)


@pytest.fixture
def graph():
    """A Graph API stub on 127.0.0.1, on a free port."""
    stub = GraphStub()
    server = GraphServer(("127.0.0.1", 0), GraphHandler)
    server.stub = stub
    # A short poll interval: shutdown() waits for the loop's next poll.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    stub.base_url = f"http://127.0.0.1:{server.server_port}"
    yield stub
    stub.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def client(graph):
    """A client of the stub, with its own session."""
    with requests.Session() as session:
        yield WhatsAppClient(
            graph.base_url, VERSION, PHONE_NUMBER_ID, TOKEN, (2, 5), session
        )
