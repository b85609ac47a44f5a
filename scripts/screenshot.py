#!/usr/bin/env python3
"""Take a screenshot of a page of a running Odoo, logged in, with headless Chromium.

    .venv/bin/python scripts/screenshot.py \
        --url /odoo/action-account_dunning.dunning_reminder_action \
        --out docs/reminders.png [--login admin --password admin] \
        [--width 1366 --height 900] [--public] [--full-page] \
        [--click 'a[name=dunning_page]']

It logs in through Odoo's JSON-RPC, gives the session cookie to Chromium over the
DevTools protocol, opens the page, waits for Odoo's client to settle and saves a PNG.
``--public`` opens the page as a visitor, without logging in (the customer page);
``--full-page`` captures the whole page, not only the viewport (below 600 px wide
the page is emulated as a phone's); ``--click`` clicks what a CSS selector finds
(a form's tab; repeatable, in order) once the page settled. Used for the README's
pictures; the demo (``make demo``) must be running.
"""

import argparse
import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
from urllib.parse import urljoin

import requests
import websocket


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _login(base, db, login, password):
    response = requests.post(
        urljoin(base, "/web/session/authenticate"),
        json={"params": {"db": db, "login": login, "password": password}},
        timeout=30,
    )
    response.raise_for_status()
    if response.json().get("error"):
        raise SystemExit(f"login failed: {response.json()['error']}")
    return response.cookies["session_id"]


class Chromium:
    """A headless Chromium driven over the DevTools protocol."""

    def __init__(self, width, height):
        binary = shutil.which("chromium") or shutil.which("google-chrome")
        if not binary:
            raise SystemExit("chromium not found (apt-get install chromium)")
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="dunning-shot-")
        self.process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={self.profile}",
                f"--remote-debugging-port={self.port}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.socket = websocket.create_connection(self._page_ws(), timeout=60)
        self.next_id = 0

    def _page_ws(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                pages = requests.get(
                    f"http://127.0.0.1:{self.port}/json", timeout=2
                ).json()
                for page in pages:
                    if page.get("type") == "page":
                        return page["webSocketDebuggerUrl"]
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise SystemExit("chromium did not start")

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(
            json.dumps({"id": self.next_id, "method": method, "params": params})
        )
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def close(self):
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8069")
    parser.add_argument("--db", default="dunning_demo")
    parser.add_argument("--url", required=True, help="path of the page, e.g. /odoo")
    parser.add_argument("--out", required=True)
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--width", type=int, default=1366)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--wait", type=float, default=4.0, help="seconds to settle")
    parser.add_argument("--public", action="store_true", help="do not log in")
    parser.add_argument("--full-page", action="store_true")
    parser.add_argument(
        "--click",
        action="append",
        default=[],
        metavar="SELECTOR",
        help="CSS selector to click before the capture (repeatable)",
    )
    args = parser.parse_args()

    session_id = (
        None if args.public else _login(args.base, args.db, args.login, args.password)
    )
    browser = Chromium(args.width, args.height)
    try:
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            width=args.width,
            height=args.height,
            deviceScaleFactor=1,
            mobile=args.width < 600,
        )
        browser.call("Network.enable")
        if session_id:
            browser.call(
                "Network.setCookie",
                name="session_id",
                value=session_id,
                url=args.base,
            )
        browser.call("Page.enable")
        browser.call("Page.navigate", url=urljoin(args.base, args.url))
        time.sleep(args.wait)
        for selector in args.click:
            script = (
                f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
                " if (el) { el.click(); } return !!el; })()"
            )
            found = browser.call(
                "Runtime.evaluate", expression=script, returnByValue=True
            )
            if not found.get("result", {}).get("value"):
                raise SystemExit(f"nothing to click: {selector}")
            time.sleep(2)
        if args.full_page:
            size = browser.call("Page.getLayoutMetrics")["cssContentSize"]
            shot = browser.call(
                "Page.captureScreenshot",
                format="png",
                captureBeyondViewport=True,
                clip={
                    "x": 0,
                    "y": 0,
                    "width": args.width,
                    "height": size["height"],
                    "scale": 1,
                },
            )
        else:
            shot = browser.call("Page.captureScreenshot", format="png")
        with open(args.out, "wb") as out:
            out.write(base64.b64decode(shot["data"]))
        print(args.out)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
