import logging

from odoo import http
from odoo.http import request

from ..services.whatsapp.errors import WebhookPayloadError
from ..services.whatsapp.webhook import (
    MAX_WEBHOOK_BYTES,
    parse_webhook_body,
    signed_by,
    verify_subscription,
)

_logger = logging.getLogger(__name__)


class WhatsAppWebhookController(http.Controller):
    """Meta's webhooks for the WhatsApp Cloud API.

    Thin on purpose: check the signature over the raw bytes, store the events
    in the inbox, answer 200; the inbox's cron does the rest, in the background.

    Anyone can post to the URL: nothing of a body is trusted, nor even parsed,
    before its signature. The size is bounded first (413), then the signature
    checked over the raw bytes (403), and only a signed body is decoded, with
    its nesting bounded (400 when it is not bounded JSON). No input reaches a
    500, and a signed delivery of JSON is never refused for its content.
    """

    _webhook_url = "/dunning/whatsapp/webhook"

    @http.route(
        _webhook_url,
        type="http",
        auth="public",
        methods=["GET"],
        csrf=False,
        save_session=False,
    )
    def whatsapp_verify(self, **params):
        """Meta's subscription handshake: echo the challenge to the right token."""
        tokens = (
            request.env["dunning.whatsapp.account"]
            .sudo()
            .search([("verify_token", "!=", False)])
            .mapped("verify_token")
        )
        for token in tokens:
            # verify_subscription compares in constant time.
            challenge = verify_subscription(params, token)
            if challenge is not None:
                return request.make_response(
                    challenge, headers=[("Content-Type", "text/plain")]
                )
        return request.make_response("Forbidden", status=403)

    @http.route(
        _webhook_url,
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def whatsapp_event(self, **_kwargs):
        """Store the events of a signed webhook; the inbox's cron processes them.

        Answered as soon as the events are stored: applying them (a delivery
        may carry hundreds of statuses) is the cron's, triggered here. Nothing
        in a signed delivery's content makes it refused: what cannot be read is
        stored with the reason, the rest goes on (refused, Meta would retry the
        whole delivery for days, statuses included).
        """
        raw = self._read_body(MAX_WEBHOOK_BYTES)
        if raw is None:
            _logger.info("WhatsApp webhook refused: over %s bytes", MAX_WEBHOOK_BYTES)
            return request.make_response("Payload Too Large", status=413)
        accounts = (
            request.env["dunning.whatsapp.account"]
            .sudo()
            .with_context(active_test=False)
            .search([("app_secret", "!=", False)], order="id")
        )
        signature = request.httprequest.headers.get("X-Hub-Signature-256")
        # Only the accounts whose app secret signed these bytes: an event goes
        # to the one of them with its number, or nowhere.
        signers = accounts.browse(
            signed_by(((a.id, a.app_secret) for a in accounts), raw, signature)
        )
        if not signers:
            _logger.warning("WhatsApp webhook with a missing or wrong signature")
            return request.make_response("Forbidden", status=403)
        try:
            events = parse_webhook_body(raw)
        except WebhookPayloadError as error:
            # Not even bounded JSON: nothing in it can be stored or read.
            _logger.info("WhatsApp webhook ignored: %s", error)
            return request.make_response("Bad Request", status=400)
        inbox = request.env["dunning.whatsapp.event"].sudo()
        stored = inbox.browse()
        for account in signers:
            mine = [e for e in events if e.phone_number_id == account.phone_number_id]
            if account == signers[0]:
                # A part that does not say its number is kept by the first
                # account whose secret signed it, for the managers to see.
                mine += [e for e in events if e.phone_number_id is None]
            if mine:
                stored |= inbox._store_webhook(account, mine)
        # The events of a number no signer has are not ours: acknowledged, so
        # that Meta stops retrying them, and dropped.
        stored._trigger_processing()
        return request.make_response("OK")

    @staticmethod
    def _read_body(limit):
        """The request's raw body, or None when it is longer than ``limit``.

        Never reads more than ``limit`` + 1 bytes: a declared length over the
        limit is refused unread, and a body without one (chunked) is read only
        until it passes the limit.
        """
        httprequest = request.httprequest
        if (httprequest.content_length or 0) > limit:
            return None
        # Odoo's request exposes get_data(), which reads a body whole, however
        # long: read the stream of the werkzeug request underneath instead (as
        # the bus reaches its socket through the environ underneath).
        stream = httprequest._HTTPRequest__wrapped.stream
        chunks, size = [], 0
        while size <= limit:
            # A raw stream may return less than asked: read until its end.
            chunk = stream.read(limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return None if size > limit else b"".join(chunks)
