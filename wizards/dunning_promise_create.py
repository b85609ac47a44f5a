from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.dunning_promise import PROMISE_CHANNELS, PROMISE_SOURCES
from ..models.dunning_reminder import OPEN_CUSTOMER_INVOICE_DOMAIN


class DunningPromiseCreate(models.TransientModel):
    """Register a customer's promise to pay: invoices, amount, date, channel.

    Opened from an invoice, a customer or a call log with ``default_partner_id``
    and ``default_move_ids`` in the context; the validation and the written
    confirmation are ``dunning.promise._dunning_register``'s.
    """

    _name = "dunning.promise.create"
    _description = "Register Payment Promise"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        domain="[('parent_id', '=', False)]",
    )
    move_ids = fields.Many2many(
        "account.move",
        string="Invoices",
        compute="_compute_move_ids",
        store=True,
        readonly=False,
        domain="[('commercial_partner_id', '=', partner_id), "
        "('company_id', '=', company_id), ('move_type', '=', 'out_invoice'), "
        "('state', '=', 'posted'), ('payment_state', 'in', ('not_paid', 'partial'))]",
    )
    currency_id = fields.Many2one("res.currency", compute="_compute_amount_due")
    amount_due = fields.Monetary(
        compute="_compute_amount_due", currency_field="currency_id"
    )
    amount = fields.Monetary(
        string="Promised Amount",
        compute="_compute_amount",
        store=True,
        readonly=False,
        currency_field="currency_id",
    )
    date_promised = fields.Date(
        string="Promised Date",
        required=True,
        default=lambda self: fields.Date.context_today(self) + timedelta(days=7),
    )
    source = fields.Selection(PROMISE_SOURCES, default="manual", required=True)
    channel = fields.Selection(PROMISE_CHANNELS, default="phone", required=True)
    note = fields.Text()
    interaction_id = fields.Many2one(
        "dunning.interaction",
        string="Contact",
        readonly=True,
        help="The call the promise was made on: the promise is linked to it.",
    )
    confirm = fields.Boolean(
        string="Send Written Confirmation",
        default=True,
        help="Email the agreed terms to the customer now.",
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        model = self.env.context.get("active_model")
        active_ids = self.env.context.get("active_ids") or []
        if model == "account.move" and active_ids and not values.get("move_ids"):
            moves = self.env["account.move"].browse(active_ids)
            values["move_ids"] = [fields.Command.set(moves.ids)]
            values.setdefault("partner_id", moves[:1].commercial_partner_id.id)
        elif model == "res.partner" and active_ids:
            partner = self.env["res.partner"].browse(active_ids[:1])
            values.setdefault("partner_id", partner.commercial_partner_id.id)
        if values.get("partner_id"):
            partner = self.env["res.partner"].browse(values["partner_id"])
            values["partner_id"] = partner.commercial_partner_id.id
        return values

    @api.depends("partner_id", "company_id")
    def _compute_move_ids(self):
        for wizard in self:
            if wizard.move_ids and wizard.move_ids.commercial_partner_id == (
                wizard.partner_id
            ):
                continue
            moves = self.env["account.move"].search(
                [
                    ("commercial_partner_id", "=", wizard.partner_id.id),
                    ("company_id", "=", wizard.company_id.id),
                    *OPEN_CUSTOMER_INVOICE_DOMAIN,
                ],
                order="dunning_due_date, id",
            )
            # One currency per promise: the company's when it has invoices in it.
            in_company_currency = moves.filtered(
                lambda m, c=wizard.company_id.currency_id: m.currency_id == c
            )
            wizard.move_ids = in_company_currency or moves.filtered(
                lambda m, c=moves[:1].currency_id: m.currency_id == c
            )

    @api.depends("move_ids")
    def _compute_amount_due(self):
        for wizard in self:
            wizard.currency_id = (
                wizard.move_ids[:1].currency_id or wizard.company_id.currency_id
            )
            wizard.amount_due = sum(wizard.move_ids.mapped("amount_residual"))

    @api.depends("move_ids")
    def _compute_amount(self):
        for wizard in self:
            wizard.amount = sum(wizard.move_ids.mapped("amount_residual"))

    def action_register(self):
        self.ensure_one()
        if not self.partner_id:
            raise UserError(_("Choose the customer who promised to pay."))
        extra = {}
        if self.interaction_id:
            # Refused before anything is sent if the call is someone else's.
            self.interaction_id.check_access("write")
            # The promise's follow-up goes to who made the call.
            extra["user_id"] = self.interaction_id.user_id.id
        promise = self.env["dunning.promise"]._dunning_register(
            self.partner_id,
            self.move_ids,
            self.amount,
            self.date_promised,
            self.source,
            channel=self.channel,
            note=self.note,
            confirm=self.confirm,
            **extra,
        )
        if self.interaction_id:
            self.interaction_id._link_promise(promise)
        return {
            "type": "ir.actions.act_window",
            "res_model": "dunning.promise",
            "res_id": promise.id,
            "view_mode": "form",
            "target": "current",
        }
