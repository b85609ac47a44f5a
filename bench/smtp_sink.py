"""An SMTP sink for the dispatch benchmark: accepts every message after a delay.

    .venv/bin/python bench/smtp_sink.py --port 2526 --latency-ms 150

A real mail server (a relay, a provider's submission port) takes tens to
hundreds of milliseconds to accept a message; a loopback server that answers at
once hides what a sender that waits for each answer costs. The sink holds the
answer to each message's end of DATA ``--latency-ms`` (default 150) with an
``asyncio.sleep``: the server's event loop keeps serving the other connections
meanwhile, so a client that sends over several connections at once gets through
faster, and one that sends one message after the other does not.

Nothing is stored or relayed. :class:`SmtpSink` runs it in a thread of the
calling process (bench/run.py) and counts what arrived: the receive instant of
each message (``time.monotonic()``, when its DATA ended), its size, its
Message-ID (a message sent twice shows as a duplicate) and its PDF attachments.
"""

# A command-line tool: it prints what it receives.
# pylint: disable=print-used

import argparse
import asyncio
import re
import threading
import time

from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^Message-Id:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
PDF_PART = re.compile(
    rb"^Content-Type:\s*application/pdf", re.IGNORECASE | re.MULTILINE
)


class SlowHandler:
    """aiosmtpd handler: records each message, answers after ``latency`` s."""

    def __init__(self, latency=0.15, verbose=False):
        self.latency = latency
        self.verbose = verbose
        self.lock = threading.Lock()
        self.received = []  # (monotonic instant, bytes, message id, PDF parts)

    async def handle_DATA(self, server, session, envelope):
        at = time.monotonic()
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        head = content.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(head)
        entry = (
            at,
            len(content),
            found.group(1).decode(errors="replace") if found else None,
            len(PDF_PART.findall(content)),
        )
        with self.lock:
            self.received.append(entry)
        if self.verbose:
            print(
                f"smtp_sink: {', '.join(envelope.rcpt_tos)}: {entry[1]:,} bytes,"
                f" {entry[3]} PDF",
                flush=True,
            )
        remaining = at + self.latency - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)
        return "250 Message accepted for delivery"


class SmtpSink:
    """The sink on a loopback port, served by aiosmtpd's thread; a context manager."""

    def __init__(self, port, latency=0.15, host="127.0.0.1"):
        self.host = host
        self.port = port
        self.handler = SlowHandler(latency)
        self.controller = Controller(self.handler, hostname=host, port=port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def received(self):
        with self.handler.lock:
            return list(self.handler.received)

    def summary(self):
        """Counts of what arrived: messages, distinct Message-IDs, bytes, PDFs."""
        received = self.received()
        ids = [entry[2] for entry in received if entry[2]]
        return {
            "messages": len(received),
            "distinct_message_ids": len(set(ids)),
            "bytes": sum(entry[1] for entry in received),
            "pdf_parts": sum(entry[3] for entry in received),
            "instants": [entry[0] for entry in received],
        }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2526)
    parser.add_argument("--latency-ms", type=float, default=150.0)
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the sink listens on loopback only")
    handler = SlowHandler(args.latency_ms / 1000, verbose=True)
    controller = Controller(handler, hostname=args.host, port=args.port)
    controller.start()
    print(
        f"smtp_sink: accepting on {args.host}:{args.port} after"
        f" {args.latency_ms:.0f} ms per message",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
