"""Pacing the calls of a WhatsApp number, and which API addresses are local:
no database work, callable from the threads that make the calls."""

import ipaddress
from urllib.parse import urlsplit

import requests


def pace(bucket):
    """Wait for the next slot of a number's token ``bucket``: no database
    work, callable from the threads that make the calls."""
    # Looked up at each call: tests swap the account module's clock.
    from . import dunning_whatsapp_account

    wait = bucket.take()
    if wait:
        dunning_whatsapp_account.PACING_SLEEP(wait)


class _PacedSession(requests.Session):
    """A session whose POSTs (messages) go through an arrival limiter."""

    def __init__(self, limiter):
        super().__init__()
        self._limiter = limiter

    def request(self, method, url, *args, **kwargs):
        if method.upper() != "POST":
            return super().request(method, url, *args, **kwargs)
        slot = self._limiter.start()
        try:
            return super().request(method, url, *args, **kwargs)
        finally:
            self._limiter.end(slot)


def is_loopback_url(url):
    """Whether ``url`` points at this machine (localhost, 127.0.0.0/8, ::1)."""
    try:
        host = urlsplit(url or "").hostname
    except ValueError:
        return False
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
