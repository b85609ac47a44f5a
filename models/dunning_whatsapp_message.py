import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.osv import expression
from odoo.tools import SQL

from ..services.whatsapp.errors import (
    NOT_ON_WHATSAPP_CODE,
    AccountError,
    TerminalError,
    WhatsAppError,
    classify,
)
from ..services.whatsapp.events import should_apply_status, status_rank
from ..services.whatsapp.webhook import key_hash

_logger = logging.getLogger(__name__)
# How long a notice whose send was uncertain waits for WhatsApp's status
# webhook before it is given up (as for reminders).
UNCERTAIN_GRACE = timedelta(hours=24)

# Context key: the caller posts the chatter notes itself, once, with
# ``_chatter_sync`` (the reminder dispatch, for a whole batch after its calls).
DEFER_CHATTER = "dunning_whatsapp_defer_chatter"

# Statuses only move forward: a late "delivered" never undoes a "read".
STATUS_RANK = {"sending": 0, "sent": 1, "delivered": 2, "read": 3}


class DunningWhatsappMessage(models.Model):
    """A WhatsApp message sent or received: the audit record of the channel."""

    _name = "dunning.whatsapp.message"
    _inherit = ["dunning.engine.record"]
    _description = "WhatsApp Message"
    _order = "create_date desc, id desc"
    _rec_name = "wamid"
    _check_company_auto = True

    # Meta's ids have no documented bound, and a btree entry cannot exceed
    # about 2.7 KB: ``wamid`` is stored whole but indexed (and kept unique)
    # through its hash. Look messages up with ``_domain_wamid``.
    wamid = fields.Char(string="WhatsApp Message ID", readonly=True)
    wamid_hash = fields.Char(
        compute="_compute_wamid_hash",
        store=True,
        precompute=True,
        readonly=True,
        help="SHA-256 of the WhatsApp message ID: its index.",
    )
    direction = fields.Selection(
        [("out", "Outgoing"), ("in", "Incoming")], required=True, readonly=True
    )
    state = fields.Selection(
        [
            ("queued", "Scheduled"),
            ("sending", "Sending"),
            ("sent", "Sent"),
            ("delivered", "Delivered"),
            ("read", "Read"),
            ("failed", "Failed"),
            ("received", "Received"),
            ("cancelled", "Cancelled"),
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
    # Not indexed: nothing looks messages up by it, and a webhook's sender id
    # has no documented bound.
    wa_id = fields.Char(string="WhatsApp ID", readonly=True)
    recipient_number = fields.Char(
        string="Sent To",
        readonly=True,
        help="The customer's WhatsApp number (E.164) the message went to.",
    )
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
    notice_type = fields.Selection(
        [
            ("promise_confirmation", "Promise confirmation"),
            ("thank_you", "Thank-you"),
            ("instalment_reminder", "Instalment reminder"),
        ],
        readonly=True,
        index="btree_not_null",
        help="A message that is not a collection reminder: the written "
        "confirmation of a payment promise, the reminder of a payment plan "
        "instalment, or the thanks after a payment. It waits here, scheduled, "
        "until the customer's contact window opens.",
    )
    promise_id = fields.Many2one(
        "dunning.promise",
        string="Payment Promise",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    notice_move_ids = fields.Many2many(
        "account.move",
        "dunning_whatsapp_message_notice_move_rel",
        "message_id",
        "move_id",
        string="Paid Invoices",
        readonly=True,
        help="The invoices a thank-you message is about.",
    )
    scheduled_at = fields.Datetime(
        string="Scheduled",
        readonly=True,
        help="A notice is not sent before this moment: the next opening of the "
        "customer's contact window, or a retry after a temporary error.",
    )
    claimed_at = fields.Datetime(readonly=True)
    attempted_at = fields.Datetime(
        readonly=True,
        help="When the call to Meta started, committed just before it: a "
        "reminder's message without it never left, and is sent again after a "
        "crash; one with it may have reached the customer.",
    )
    retry_count = fields.Integer(
        readonly=True,
        help="Sends that failed with a temporary error and were tried again.",
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

    # Every field says what Meta or the customer did: the engine's only.
    _dunning_engine_fields = None

    _sql_constraints = [
        # On the hash (the name kept, so that an update replaces the old
        # constraint on the id itself).
        ("wamid_unique", "UNIQUE(wamid_hash)", "A WhatsApp message is recorded once."),
    ]

    @api.depends("wamid")
    def _compute_wamid_hash(self):
        for message in self:
            message.wamid_hash = key_hash(message.wamid) if message.wamid else False

    def init(self):
        # Before the hash, ``wamid`` and ``wa_id`` had a btree index, which
        # refuses ids over about 2.7 KB; Odoo keeps an index a field no longer
        # declares.
        for column in ("wamid", "wa_id"):
            self.env.cr.execute(
                SQL(
                    "DROP INDEX IF EXISTS %s",
                    SQL.identifier(f"{self._table}__{column}_index"),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        partners = self.env["res.partner"]
        for vals in vals_list:
            if (
                vals.get("direction") == "out"
                and vals.get("partner_id")
                and "recipient_number" not in vals
            ):
                partner = partners.browse(vals["partner_id"])
                vals["recipient_number"] = partner.whatsapp_number
        messages = super().create(vals_list)
        messages.filtered(lambda m: m.state == "failed")._on_failure()
        if not self.env.context.get(DEFER_CHATTER):
            messages._chatter_sync()
        return messages

    def write(self, vals):
        result = super().write(vals)
        if vals.get("state") == "failed" or "error_code" in vals:
            self._on_failure()
        if {
            "state",
            "error_code",
            "error_title",
            "body",
            "partner_id",
        } & set(vals) and not self.env.context.get(DEFER_CHATTER):
            self._chatter_sync()
        return result

    def unlink(self):
        # A message Meta refused before it left was never sent: its notes go too.
        self.chatter_message_ids.sudo().unlink()
        return super().unlink()

    @api.model
    def _domain_wamid(self, wamid):
        """Domain of the message whose WhatsApp id is ``wamid``, by its hash."""
        if not wamid or not isinstance(wamid, str):
            return expression.FALSE_DOMAIN
        return [("wamid_hash", "=", key_hash(wamid))]

    def _on_failure(self):
        """What a failed message's error code says about its recipient: the one
        place for it, whichever path failed the message (Meta's refusal at send
        time, for a reminder, a notice or a collector's message; a ``failed``
        status webhook), as it goes through ``create`` or ``write``.

        131026 (not on WhatsApp): nothing more is sent to that number until the
        customer's number changes.
        """
        for message in self:
            if message.direction != "out" or message.state != "failed":
                continue
            if message.error_code == NOT_ON_WHATSAPP_CODE and message.partner_id:
                message.partner_id._whatsapp_mark_undeliverable(
                    message.recipient_number or message.partner_id.whatsapp_number,
                    message.error_title,
                )

    def _apply_status(self, status, when, error_code=None, error_title=None):
        """Move this outgoing message (and its reminder) forward to ``status``.

        Never backwards: webhooks arrive out of order and more than once. A
        ``failed`` after ``delivered`` is only logged (the customer has it).
        """
        self.ensure_one()
        if not should_apply_status(self.state, status or ""):
            if status == "failed" and self.state in ("delivered", "read"):
                self._log_late_failure(error_code, error_title)
            elif (
                status in ("sent", "delivered")
                and status_rank(status) < status_rank(self.state)
                and not self[f"{status}_at"]
            ):
                # An earlier status overtaken by a later one (a "delivered"
                # processed after the "read"): the state stays, its time is
                # still worth knowing.
                self.write({f"{status}_at": when})
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
        if reminder and reminder._is_notice():
            reminder._notice_on_sent(when)
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
    # Sending (the Cloud API call of a committed outgoing message)
    # ------------------------------------------------------------------------------

    def _call_provider(self, params=None, url_suffix=None):
        """Make the Cloud API call of this outgoing message and record the answer.

        The message must be committed (state ``sending``) before: whatever
        happens during the call, it is never sent twice. Its template (else its
        body as free text) goes to the customer's WhatsApp number, its
        ``uuid`` as callback data.

        :return: None when WhatsApp accepted it (the message is ``sent``), else
            the client's error, of which what concerns the message is recorded
            already: a refusal (``TerminalError``) failed it with its code, an
            authentication error (``AccountError``) paused the account, an
            uncertain outcome (``UncertainError``) left it ``sending`` until the
            status webhook. The other errors (retryable, recipient rate limit)
            left it untouched: the caller decides what follows.
        """
        self.ensure_one()
        account = self.account_id.sudo()
        number = self.partner_id.whatsapp_number
        now = fields.Datetime.now()
        account._pace()
        try:
            client = account._get_client()
            if self.template_id:
                template = self.template_id
                result = client.send_template(
                    number,
                    template.name,
                    template.language,
                    params or [],
                    url_button_suffix=url_suffix,
                    callback_data=self.uuid,
                    **template._button_params(),
                )
            else:
                result = client.send_text(number, self.body, callback_data=self.uuid)
        except TerminalError as error:
            self.write(
                {
                    "state": "failed",
                    "recipient_number": number,
                    "failed_at": now,
                    "error_code": error.code or 0,
                    "error_title": error.title,
                }
            )
            return error
        except AccountError as error:
            account._pause(str(error))
            return error
        except WhatsAppError as error:
            return error
        self.write(
            {
                "wamid": result.wamid,
                "wa_id": result.wa_id,
                "recipient_number": number,
                "state": "sent",
                "sent_at": now,
            }
        )
        return None

    # ------------------------------------------------------------------------------
    # Notices: promise confirmations and thank-you messages
    # ------------------------------------------------------------------------------

    def _notice_param_values(self):
        """The text of each parameter source this notice can fill."""
        self.ensure_one()
        partner = self.partner_id
        company = self.company_id
        values = {
            "partner_name": partner.name or "",
            "company_name": company.name or "",
        }
        promise = self.promise_id
        if promise:
            currency = promise.currency_id
            invoices = promise._get_template_lines()
            dates = [d for d in invoices.mapped("invoice_date_due") if d]
            values.update(
                promised_amount=partner._dunning_format_amount(
                    promise.amount, currency, company
                ),
                promised_date=partner._dunning_format_date(promise.date_promised),
                invoice_numbers=", ".join(invoices.mapped("name")),
                amount_due=partner._dunning_format_amount(
                    promise.amount_due, currency, company
                ),
            )
            if dates:
                values["oldest_due_date"] = partner._dunning_format_date(min(dates))
        invoices = self.notice_move_ids.sorted(lambda m: (m.invoice_date_due, m.id))
        if invoices:
            totals = {}
            for invoice in invoices:
                currency = invoice.currency_id
                totals[currency] = totals.get(currency, 0.0) + invoice.amount_total
            values.update(
                amount_paid=" + ".join(
                    partner._dunning_format_amount(total, currency, company)
                    for currency, total in totals.items()
                ),
                invoice_numbers=", ".join(invoices.mapped("name")),
            )
        return values

    def _notice_chatter_records(self):
        """Where a notice is logged besides the customer: its promise, or the
        invoices it thanks for."""
        self.ensure_one()
        if self.promise_id:
            return self.promise_id
        return self.notice_move_ids
