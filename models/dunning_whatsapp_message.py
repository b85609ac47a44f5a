from markupsafe import Markup

from odoo import _, api, fields, models

from ..services.whatsapp_client import TerminalError, classify, should_apply_status

# Statuses only move forward: a late "delivered" never undoes a "read".
STATUS_RANK = {"sending": 0, "sent": 1, "delivered": 2, "read": 3}


class DunningWhatsappMessage(models.Model):
    """A WhatsApp message sent or received: the audit record of the channel."""

    _name = "dunning.whatsapp.message"
    _description = "WhatsApp Message"
    _order = "create_date desc, id desc"
    _rec_name = "wamid"
    _check_company_auto = True

    wamid = fields.Char(string="WhatsApp Message ID", index=True, readonly=True)
    direction = fields.Selection(
        [("out", "Outgoing"), ("in", "Incoming")], required=True, readonly=True
    )
    state = fields.Selection(
        [
            ("sending", "Sending"),
            ("sent", "Sent"),
            ("delivered", "Delivered"),
            ("read", "Read"),
            ("failed", "Failed"),
            ("received", "Received"),
        ],
        default="sending",
        required=True,
        index=True,
        readonly=True,
    )
    account_id = fields.Many2one(
        "dunning.whatsapp.account", index=True, readonly=True, ondelete="restrict"
    )
    account_is_sandbox = fields.Boolean(
        string="Sandbox",
        related="account_id.is_sandbox",
        help="Sent through a local sandbox: it never reached WhatsApp.",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        readonly=True,
        default=lambda self: self.env.company,
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", index=True, readonly=True
    )
    reminder_id = fields.Many2one(
        "dunning.reminder", index=True, readonly=True, ondelete="set null"
    )
    move_id = fields.Many2one(
        "account.move",
        string="Invoice",
        index="btree_not_null",
        readonly=True,
        ondelete="set null",
        help="The invoice a collector wrote about, from the invoice's WhatsApp button.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Sent By",
        readonly=True,
        help="The collector who wrote this message by hand.",
    )
    uuid = fields.Char(
        string="Reference",
        index="btree_not_null",
        readonly=True,
        copy=False,
        help="Sent to WhatsApp as callback data with a message written by hand, "
        "to settle a send whose outcome was uncertain.",
    )
    template_id = fields.Many2one("dunning.whatsapp.template", readonly=True)
    wa_id = fields.Char(string="WhatsApp ID", index=True, readonly=True)
    body = fields.Text(readonly=True)
    error_code = fields.Integer(readonly=True, index=True)
    error_title = fields.Char(readonly=True)
    sent_at = fields.Datetime(string="Sent", readonly=True)
    delivered_at = fields.Datetime(string="Delivered", readonly=True)
    read_at = fields.Datetime(string="Read", readonly=True)
    failed_at = fields.Datetime(string="Failed", readonly=True)
    received_at = fields.Datetime(string="Received", readonly=True)
    reply_to_id = fields.Many2one(
        "dunning.whatsapp.message",
        string="In Reply To",
        readonly=True,
        ondelete="set null",
        help="The message of ours the customer answered (or tapped a button of).",
    )
    quick_reply_payload = fields.Char(
        readonly=True, help="The payload of the quick-reply button the customer tapped."
    )
    chatter_message_ids = fields.Many2many(
        "mail.message",
        "dunning_whatsapp_message_mail_message_rel",
        "whatsapp_message_id",
        "mail_message_id",
        string="Chatter Notes",
        readonly=True,
        copy=False,
        help="The notes showing this message, with its current status, in the "
        "chatter of the customer and of the invoices it is about.",
    )

    _sql_constraints = [
        ("wamid_unique", "UNIQUE(wamid)", "A WhatsApp message is recorded once."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        messages = super().create(vals_list)
        messages._chatter_sync()
        return messages

    def write(self, vals):
        result = super().write(vals)
        if {"state", "error_code", "error_title", "body", "partner_id"} & set(vals):
            self._chatter_sync()
        return result

    def unlink(self):
        # A message Meta refused before it left was never sent: its notes go too.
        self.chatter_message_ids.sudo().unlink()
        return super().unlink()

    def _apply_status(self, status, when, error_code=None, error_title=None):
        """Move this outgoing message (and its reminder) forward to ``status``.

        Never backwards: webhooks arrive out of order and more than once. A
        ``failed`` after ``delivered`` is only logged (the customer has it).
        """
        self.ensure_one()
        if not should_apply_status(self.state, status or ""):
            if status == "failed" and self.state in ("delivered", "read"):
                self._log_late_failure(error_code, error_title)
            return False
        if status == "failed":
            self.write(
                {
                    "state": "failed",
                    "failed_at": when,
                    "error_code": error_code or 0,
                    "error_title": error_title or False,
                }
            )
            reason = _(
                "WhatsApp could not deliver the message: %(code)s %(title)s",
                code=error_code or "",
                title=error_title or "",
            )
            reminder = self.reminder_id
            if reminder and reminder.state in ("sending", "sent", "queued"):
                if issubclass(classify(error_code), TerminalError):
                    # The customer was not reached: the policy's fallback
                    # channel takes over, as for a refusal at send time.
                    reminder._fail_with_fallback(reason)
                else:
                    reminder._set_failed(reason)
            elif not reminder:
                self._log_chat(reason)
            return True
        values = {"state": status, f"{status}_at": when}
        self.write(values)
        reminder = self.reminder_id
        if reminder and STATUS_RANK[status] > STATUS_RANK.get(reminder.state, 0):
            if reminder.state in STATUS_RANK:
                reminder_values = {"state": status}
                if not reminder.sent_at:
                    reminder_values["sent_at"] = when
                reminder.write(reminder_values)
        return True

    def _log_chat(self, body):
        """Leave ``body`` in the chatter of the message's customer and invoice."""
        self.ensure_one()
        for record in (self.partner_id, self.move_id):
            if record:
                record.sudo()._message_log(body=body)

    def _log_late_failure(self, error_code, error_title):
        partner = self.partner_id
        if partner:
            partner.sudo()._message_log(
                body=_(
                    "WhatsApp reported a failure (%(code)s %(title)s) after the "
                    "message %(wamid)s had been delivered.",
                    code=error_code or "",
                    title=error_title or "",
                    wamid=self.wamid,
                )
            )

    # ------------------------------------------------------------------------------
    # Chatter: one note per message and record, kept at the current status
    # ------------------------------------------------------------------------------

    def _chatter_invoices(self):
        """The invoices this message is about: its reminder's or the one a
        collector wrote about; for an answer, those of the message answered,
        else of the customer's last message about invoices."""
        self.ensure_one()
        about = self
        if self.direction == "in" and self.partner_id:
            about = self.reply_to_id or self.search(
                [
                    ("partner_id", "=", self.partner_id.id),
                    ("direction", "=", "out"),
                    "|",
                    ("reminder_id", "!=", False),
                    ("move_id", "!=", False),
                    ("id", "!=", self.id),
                ],
                order="id desc",
                limit=1,
            )
        invoices = about.reminder_id.move_ids | about.move_id
        return invoices.filtered(lambda m: m.move_type == "out_invoice")

    def _chatter_body(self):
        """The note: who wrote, the status now, the text, the error if any."""
        self.ensure_one()
        states = dict(self._fields["state"]._description_selection(self.env))
        if self.direction == "in":
            title = _("WhatsApp message from the customer")
        elif self.user_id:
            title = _(
                "WhatsApp message sent by %(user)s to the customer",
                user=self.user_id.name,
            )
        elif self.template_id:
            title = _(
                "WhatsApp message %(template)s sent to the customer",
                template=self.template_id.name,
            )
        else:
            title = _("WhatsApp message sent to the customer")
        body = Markup("<p><strong>%s</strong> · %s</p>") % (
            title,
            _("Status: %(state)s", state=states.get(self.state, self.state)),
        )
        if self.body:
            body += Markup("<p>%s</p>") % self.body
        if self.quick_reply_payload:
            body += Markup("<p>%s</p>") % _(
                "Quick reply: %(payload)s", payload=self.quick_reply_payload
            )
        if self.state == "failed" and (self.error_code or self.error_title):
            body += Markup("<p>%s</p>") % _(
                "Error %(code)s: %(title)s",
                code=self.error_code or "",
                title=self.error_title or "",
            )
        return body

    def _chatter_sync(self):
        """Post this message's notes, or bring them to its current status.

        The notes are the engine's: written as superuser, whoever triggered
        the change (a webhook, a cron, a collector).
        """
        for message in self.sudo():
            if not message.partner_id:
                continue
            body = message._chatter_body()
            if message.chatter_message_ids:
                message.chatter_message_ids.write({"body": body})
                continue
            notes = self.env["mail.message"].sudo()
            records = [message.partner_id.commercial_partner_id]
            records += list(message._chatter_invoices())
            for record in records:
                notes |= record.sudo()._message_log(body=body)
            message.chatter_message_ids = notes
