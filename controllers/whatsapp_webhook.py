import json
import logging

from odoo import http
from odoo.http import request

from ..services.whatsapp_client import (
    WebhookPayloadError,
    parse_webhook,
    verify_signature,
    verify_subscription,
)

_logger = logging.getLogger(__name__)


class WhatsAppWebhookController(http.Controller):
    """Meta's webhooks for the WhatsApp Cloud API.

    Thin on purpose: check the signature over the raw bytes, store the events
    in the inbox, answer 200; the models do the rest.
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
        """Store the events of a signed webhook, then process them."""
        raw = request.httprequest.get_data(cache=True)
        try:
            payload = json.loads(raw)
            events = parse_webhook(payload)
        except (ValueError, WebhookPayloadError) as error:
            _logger.info("WhatsApp webhook ignored: %s", error)
            return request.make_response("Bad Request", status=400)
        phone_number_ids = {event.phone_number_id for event in events}
        accounts = request.env["dunning.whatsapp.account"].sudo().browse()
        for phone_number_id in phone_number_ids:
            accounts |= accounts._find_by_phone_number_id(phone_number_id)
        if not accounts:
            # Not ours (or nothing to do): acknowledge so Meta stops retrying.
            return request.make_response("OK")
        signature = request.httprequest.headers.get("X-Hub-Signature-256")
        # One body, one signature: every account it routes to must have signed it.
        if not all(verify_signature(a.app_secret, raw, signature) for a in accounts):
            _logger.warning("WhatsApp webhook with a missing or wrong signature")
            return request.make_response("Forbidden", status=403)
        inbox = request.env["dunning.whatsapp.event"].sudo()
        stored = inbox.browse()
        for account in accounts:
            stored |= inbox._store_webhook(
                account,
                [e for e in events if e.phone_number_id == account.phone_number_id],
            )
        stored._process()
        return request.make_response("OK")
