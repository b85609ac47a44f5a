#!/usr/bin/env python3
"""A local SMTP server for the demo: every email is saved, none is delivered.

    .venv/bin/python scripts/mail_catcher.py --port 2525 --dir .build/demo-mail

Each message lands in DIR as an ``.eml`` file (open it with any mail reader), so
the demo's reminders really leave Odoo's mail queue without reaching the example
addresses of the demo customers.
"""

import argparse
import asyncio
import datetime
import pathlib

from aiosmtpd.controller import Controller


class SaveToFolder:
    def __init__(self, folder):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        path = self.folder / f"{stamp}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        print(f"mail_catcher: {', '.join(envelope.rcpt_tos)} -> {path}", flush=True)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", required=True, type=pathlib.Path)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    controller = Controller(SaveToFolder(args.dir), hostname=args.host, port=args.port)
    controller.start()
    try:
        asyncio.get_event_loop_policy().get_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
