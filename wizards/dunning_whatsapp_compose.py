from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.dunning_reminder import OPEN_CUSTOMER_INVOICE_DOMAIN
from ..services.contact_window import is_open
from ..services.whatsapp.payloads import MAX_TEXT_CHARS

# Meta's customer-service window: free text is allowed within 24 hours of the
# customer's last message; after it, only an approved template.
SERVICE_WINDOW = timedelta(hours=24)


class DunningWhatsappCompose(models.TransientModel):
    """Write to a customer on WhatsApp from their contact or one of their invoices.

    Inside the 24-hour customer-service window (the customer wrote less than 24
    hours ago) a collector may answer with free text; outside it only an approved
    template may be sent, and then it is a business-initiated message: the
    policy's consent rule and the customer's contact hours apply, as for a
    reminder. An opt-out always wins. The message follows the reminders' outbox
    discipline: recorded and committed before the call, never sent again when
    WhatsApp's answer is uncertain.
    """

    _name = "dunning.whatsapp.compose"
    _description = "Write a WhatsApp Message"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True
    )
    move_id = fields.Many2one("account.move", string="Invoice", readonly=True)
    company_id = fields.Many2one("res.company", compute="_compute_company_id")
    account_id = fields.Many2one(
        "dunning.whatsapp.account",
        string="Send From",
        compute="_compute_account_id",
        store=True,
        readonly=False,
        domain="[('company_id', '=', company_id)]",
    )
    whatsapp_number = fields.Char(related="partner_id.whatsapp_number")
    window_open = fields.Boolean(
        string="Conversation Open",
        compute="_compute_window",
        help="The customer wrote less than 24 hours ago: free text is allowed.",
    )
    window_ends_at = fields.Datetime(
        string="Free Text Until", compute="_compute_window"
    )
    mode = fields.Selection(
        [("text", "Free text"), ("template", "Approved template")],
        compute="_compute_mode",
        store=True,
        readonly=False,
        required=True,
    )
    body = fields.Text(string="Message")
    template_id = fields.Many2one(
        "dunning.whatsapp.template",
        domain="[('account_id', '=', account_id), ('status', '=', 'approved')]",
    )
    preview = fields.Text(compute="_compute_preview")
    preview_error = fields.Char(compute="_compute_preview")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        model = self.env.context.get("active_model")
        active_id = self.env.context.get("active_id")
        if not active_id or values.get("partner_id"):
            return values
        if model == "account.move":
            move = self.env["account.move"].browse(active_id)
            values["move_id"] = move.id
            values["partner_id"] = move.commercial_partner_id.id
        elif model == "res.partner":
            partner = self.env["res.partner"].browse(active_id)
            values["partner_id"] = partner.commercial_partner_id.id
        return values

    @api.depends("move_id")
    def _compute_company_id(self):
        for wizard in self:
            wizard.company_id = wizard.move_id.company_id or self.env.company

    @api.depends("company_id")
    def _compute_account_id(self):
        accounts = self.env["dunning.whatsapp.account"]
        for wizard in self:
            if wizard.account_id.company_id == wizard.company_id:
                continue
            # An active account first; a paused one is still shown, so that the
            # collector is told why nothing can be sent.
            wizard.account_id = accounts.search(
                [("company_id", "=", wizard.company_id.id)],
                order="state, id",
                limit=1,
            )

    @api.depends("partner_id")
    def _compute_window(self):
        now = fields.Datetime.now()
        for wizard in self:
            last = wizard.partner_id.commercial_partner_id.whatsapp_last_inbound_at
            ends = last + SERVICE_WINDOW if last else False
            wizard.window_ends_at = ends
            wizard.window_open = bool(ends and ends > now)

    @api.depends("window_open")
    def _compute_mode(self):
        for wizard in self:
            wizard.mode = "text" if wizard.window_open else "template"

    @api.depends("mode", "template_id", "partner_id", "move_id")
    def _compute_preview(self):
        for wizard in self:
            wizard.preview = False
            wizard.preview_error = False
            if wizard.mode != "template" or not wizard.template_id:
                continue
            try:
                wizard.preview = wizard._render_template()[2]
            except UserError as error:
                wizard.preview_error = error.args[0]

    # ------------------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------------------

    def action_send(self):
        """Queue the message in the outbox and wake the dispatcher: it leaves
        in a moment, through the contact gate (a template outside the
        customer's contact hours waits for them; a reply to a customer who just
        wrote goes at once). Its status shows in the chatter."""
        self.ensure_one()
        partner = self.partner_id.commercial_partner_id
        account = self.account_id.sudo()  # the state and pause reason, not secrets
        now = fields.Datetime.now()
        self._check_can_send(partner, account, now)
        if self.mode == "text":
            template, body = None, (self.body or "").strip()
        else:
            template, body = self.template_id, None
            self._render_template()  # what Meta would refuse, refused now
        row = self.env["dunning.reminder"]._enqueue_chat(
            partner, self.company_id, self._statement_moves(), template, body
        )
        if not self._in_contact_hours(partner, now) and not body:
            return self._notify(
                "warning",
                _(
                    "Queued: %(partner)s may only be contacted in their contact "
                    "hours; it leaves when they open.",
                    partner=partner.display_name,
                ),
            )
        return self._notify(
            "success",
            _(
                "Message queued for WhatsApp: it leaves in a moment (%(ref)s).",
                ref=row.uuid[:8],
            ),
        )

    # ------------------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------------------

    def _check_can_send(self, partner, account, now):
        """Refuse, with the reason, what must not or cannot be sent."""
        if not account:
            raise UserError(
                _(
                    "No WhatsApp account is configured for %(company)s.",
                    company=self.company_id.name,
                )
            )
        if account.state != "active" or not account.active:
            raise UserError(
                _(
                    "The WhatsApp account %(account)s is paused: %(reason)s",
                    account=account.name,
                    reason=account.pause_reason or _("no reason given"),
                )
            )
        if partner.whatsapp_opt_out:
            raise UserError(
                _(
                    "%(partner)s opted out of WhatsApp: nothing may be sent to them.",
                    partner=partner.display_name,
                )
            )
        if not partner.whatsapp_number:
            raise UserError(
                _(
                    "%(partner)s has no valid mobile number for WhatsApp.",
                    partner=partner.display_name,
                )
            )
        if partner.whatsapp_undeliverable:
            # The reason as reminders and notices give it (consent aside: it
            # is checked below, with the 24-hour window).
            raise UserError(partner._whatsapp_unreachable_reason(None, written=True))
        in_window = self._window_open_at(partner, now)
        if self.mode == "text":
            if not in_window:
                raise UserError(
                    _(
                        "%(partner)s has not written in the last 24 hours: outside "
                        "that window WhatsApp only delivers approved templates. "
                        "Choose a template.",
                        partner=partner.display_name,
                    )
                )
            body = (self.body or "").strip()
            if not body:
                raise UserError(_("Write the message."))
            if len(body) > MAX_TEXT_CHARS:
                raise UserError(
                    _(
                        "The message has %(count)s characters; WhatsApp allows "
                        "%(max)s.",
                        count=len(body),
                        max=MAX_TEXT_CHARS,
                    )
                )
            return
        if not self.template_id:
            raise UserError(_("Choose the template to send."))
        if in_window:
            return
        # Outside the window the company starts the conversation: the rules of a
        # reminder apply.
        policy = self._get_policy(partner)
        if (not policy or policy.whatsapp_require_opt_in) and not (
            partner.whatsapp_opt_in
        ):
            raise UserError(
                _(
                    "%(partner)s did not agree to receive WhatsApp messages.",
                    partner=partner.display_name,
                )
            )

    def _in_contact_hours(self, partner, now):
        """Whether the policy's contact hours are open for ``partner`` now."""
        policy = self._get_policy(partner)
        if not policy:
            return True
        window, zones = partner._dunning_contact_window(policy, company=self.company_id)
        return is_open(window, now, zones)

    @api.model
    def _window_open_at(self, partner, now):
        last = partner.whatsapp_last_inbound_at
        return bool(last and last + SERVICE_WINDOW > now)

    def _get_policy(self, partner):
        return partner._dunning_policy(self.company_id)

    def _render_template(self):
        """The template's parameters, URL suffix and body for this customer.

        Rendered on an unsaved reminder, as the reminders are: about the invoice
        the wizard was opened from, else about the customer's open statement in
        the currency of its oldest open invoice.
        """
        self.ensure_one()
        template = self.template_id
        partner = self.partner_id.commercial_partner_id
        moves = self._statement_moves()
        reminder = self.env["dunning.reminder"].new(
            {
                "company_id": self.company_id.id,
                "partner_id": partner.id,
                "currency_id": moves.currency_id[:1].id
                or self.company_id.currency_id.id,
                "move_ids": [fields.Command.set(moves.ids)],
                "amount_due": sum(
                    -m.amount_residual
                    if m.move_type == "out_refund"
                    else m.amount_residual
                    for m in moves
                ),
            }
        )
        params = template._render_params(reminder)
        url_suffix = template._render_url_suffix(reminder)
        body = template._validate_message(params, url_suffix)
        return params, url_suffix, body

    def _statement_moves(self):
        """What the message is about: the invoice the wizard was opened from,
        else the customer's open statement in the currency of its oldest open
        invoice."""
        self.ensure_one()
        partner = self.partner_id.commercial_partner_id
        reminders = self.env["dunning.reminder"]
        if self.move_id:
            moves = self.move_id
        else:
            oldest = self.env["account.move"].search(
                [
                    ("commercial_partner_id", "=", partner.id),
                    ("company_id", "=", self.company_id.id),
                    *OPEN_CUSTOMER_INVOICE_DOMAIN,
                ],
                order="dunning_due_date, id",
                limit=1,
            )
            currency = oldest.currency_id or self.company_id.currency_id
            moves = reminders.new(
                {
                    "company_id": self.company_id.id,
                    "partner_id": partner.id,
                    "currency_id": currency.id,
                }
            )._get_statement_moves()
        return moves

    def _notify(self, kind, message):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": kind,
                "title": _("WhatsApp"),
                "message": message,
                "sticky": kind != "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
