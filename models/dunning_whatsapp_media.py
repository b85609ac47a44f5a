import logging
from dataclasses import dataclass

from markupsafe import Markup

from odoo import Command, _, api, fields, models
from odoo.tools import plaintext2html

from ..services.whatsapp.errors import AccountError, RetryableError, WhatsAppError
from ..services.whatsapp.media import (
    MEDIA_TYPES,
    PROOF_MEDIA_TYPES,
    MediaUnavailableError,
    media_file_name,
)

_logger = logging.getLogger(__name__)


class MediaNotReady(Exception):
    """The media could not be downloaded now but may be later (a server error,
    a timeout): the inbox tries its event again with backoff."""


@dataclass(frozen=True)
class MediaDownload:
    """What became of an inbound media: its file, or why there is none."""

    kind: str
    name: str
    data: bytes | None = None
    mime_type: str | None = None
    error: str | None = None


class DunningWhatsappMessage(models.Model):
    """Files a customer sends by WhatsApp (often a photo of a transfer receipt).

    The inbox's cron downloads them while it processes the inbound message's
    event, never the webhook's request: the file goes on the message and in
    the customer's chatter, and the collector gets an activity to verify the
    payment (an image or a document) or to look at it (an audio, a video, a
    sticker). A file that can no longer be downloaded leaves a note saying why,
    and the activity all the same.
    """

    _inherit = "dunning.whatsapp.message"

    media_type = fields.Selection(
        [
            ("image", "Image"),
            ("document", "Document"),
            ("audio", "Audio"),
            ("video", "Video"),
            ("sticker", "Sticker"),
        ],
        readonly=True,
        help="The kind of file the customer sent.",
    )
    media_id = fields.Char(
        string="WhatsApp Media ID",
        readonly=True,
        help="Meta's id of the file, valid for a limited time.",
    )
    attachment_id = fields.Many2one(
        "ir.attachment",
        string="File",
        readonly=True,
        ondelete="set null",
        help="The file the customer sent, downloaded from WhatsApp.",
    )
    media_error = fields.Char(
        readonly=True,
        help="Why the file the customer sent could not be downloaded.",
    )

    @api.model
    def _media_download(self, account, event, last_attempt=False):
        """Download the media of the inbound ``event`` (a MessageEvent).

        :return: a :class:`MediaDownload`, or None when the event carries no
            media; with ``error`` (and no data) when it cannot be downloaded:
            expired or unknown on Meta's side, larger than WhatsApp allows, or
            still failing at the event's ``last_attempt``.
        :raise MediaNotReady: a failure that may go away (a server error, a
            timeout, the token refused for now): the event is tried again.
        """
        if event.type not in MEDIA_TYPES or not event.media_id:
            return None
        name = media_file_name(
            event.type, event.media_mime_type, event.media_filename, event.wamid
        )
        try:
            client = account._get_client()
            info = client.get_media(event.media_id)
            data, mime_type = client.download_media(info, event.type)
        except MediaUnavailableError as error:
            reason = error.message
        except (RetryableError, AccountError) as error:
            if not last_attempt:
                raise MediaNotReady(
                    _("The file could not be downloaded yet: %(error)s", error=error)
                ) from error
            reason = error.message
        except (WhatsAppError, ValueError) as error:
            reason = str(error)
        else:
            mime_type = (mime_type or event.media_mime_type or "").split(";")[0]
            return MediaDownload(event.type, name, data, mime_type or None)
        _logger.info(
            "WhatsApp media %s of message %s not downloaded: %s",
            event.media_id,
            event.wamid,
            reason,
        )
        return MediaDownload(
            event.type,
            name,
            error=_("Media could not be downloaded: %(reason)s", reason=reason),
        )

    @api.model
    def _media_values(self, download, event):
        """The inbound message's values for the file of ``event`` (none without
        one): the body is the caption, else a label such as ``[image]`` or
        ``[document: receipt.pdf]``."""
        if not download:
            return {}
        label = f"[{download.kind}]"
        if event.media_filename:
            label = f"[{download.kind}: {event.media_filename}]"
        return {
            "body": event.text or label,
            "media_id": event.media_id,
            "media_type": download.kind,
            "media_error": download.error or False,
        }

    def _media_store(self, download):
        """Keep the file on this inbound message and in its customer's chatter,
        with the caption (``media_type`` and ``media_error`` are set already).
        Return the attachments of the customer's chatter."""
        self.ensure_one()
        attachments = self.env["ir.attachment"].sudo()
        if download.data is not None:
            self.attachment_id = attachments.create(
                {
                    "name": download.name,
                    "raw": download.data,
                    "mimetype": download.mime_type,
                    "res_model": self._name,
                    "res_id": self.id,
                }
            )
        partner = self.partner_id.commercial_partner_id
        if not partner:
            return attachments
        if download.kind in PROOF_MEDIA_TYPES:
            title = _("Payment proof received by WhatsApp")
        else:
            title = _("File received by WhatsApp")
        body = Markup("<p><strong>%s</strong></p>") % title
        if self.body:
            body += Markup("<p>%s</p>") % self.body
        if self.media_error:
            body += Markup("<p>%s</p>") % self.media_error
        # The customer's own file: posted as theirs, an internal note; nobody
        # subscribed to the customer by it (neither the cron's user nor the
        # customer, who would then get the collectors' messages by email).
        note = (
            partner.sudo()
            .with_context(mail_create_nosubscribe=True)
            .message_post(
                body=body,
                author_id=partner.id,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
                attachments=[(download.name, download.data)]
                if download.data is not None
                else None,
            )
        )
        return note.attachment_ids

    def _media_notify(self, partner, attachments, when):
        """Ask the collector to verify the payment proof (an image, a document)
        or to look at the file (an audio, a video, a sticker); the customer
        wrote, so the 24-hour window opens."""
        self.ensure_one()
        partner = partner.commercial_partner_id.sudo()
        (self.partner_id | partner).sudo().write({"whatsapp_last_inbound_at": when})
        user = partner.dunning_collector_id or partner.user_id
        if not user:
            return self.env["mail.activity"]
        local = user._dunning_in_my_lang(partner)
        if self.media_type in PROOF_MEDIA_TYPES:
            summary = local.env._("Payment proof received — verify")
            note = local.env._(
                "The customer sent a payment proof by WhatsApp. Check it against "
                "the bank, then register the payment, or mark the invoices "
                "Payment to Verify."
            )
        else:
            summary = local.env._("WhatsApp file received from the customer")
            note = local.env._(
                "The customer sent a file by WhatsApp: look at it, then reply."
            )
        lines = [note, self.body or ""]
        if self.media_error:
            lines.append(self.media_error)
        activity = local.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=summary,
            # The caption is the customer's text: shown as text, never markup.
            note=plaintext2html("\n\n".join(line for line in lines if line)),
            user_id=user.id,
        )
        if attachments:
            activity.attachment_ids = [Command.link(a.id) for a in attachments]
        return activity

    def _media_chatter_lines(self):
        """The chatter note's lines about the file (why it is missing)."""
        self.ensure_one()
        if not self.media_error:
            return Markup()
        return Markup("<p>%s</p>") % self.media_error
