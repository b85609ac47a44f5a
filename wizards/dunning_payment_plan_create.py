from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.dunning_reminder import OPEN_CUSTOMER_INVOICE_DOMAIN


class DunningPaymentPlanCreate(models.TransientModel):
    """Split a customer's overdue debt into instalments and agree the plan.

    The instalments start evenly spread and equal; each date and amount stays
    editable, as long as they add up to the debt.
    """

    _name = "dunning.payment.plan.create"
    _description = "Agree Payment Plan"

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
    currency_id = fields.Many2one("res.currency", compute="_compute_amount_total")
    amount_total = fields.Monetary(
        string="Debt", compute="_compute_amount_total", currency_field="currency_id"
    )
    instalment_count = fields.Integer(string="Instalments", default=3, required=True)
    date_first = fields.Date(
        string="First Instalment",
        required=True,
        default=lambda self: fields.Date.context_today(self) + timedelta(days=7),
    )
    interval_days = fields.Integer(string="Days Between Instalments", default=30)
    line_ids = fields.One2many(
        "dunning.payment.plan.create.line",
        "wizard_id",
        string="Schedule",
        compute="_compute_line_ids",
        store=True,
        readonly=False,
    )
    amount_scheduled = fields.Monetary(
        compute="_compute_amount_scheduled", currency_field="currency_id"
    )
    note = fields.Text(string="Terms")
    interaction_id = fields.Many2one(
        "dunning.interaction",
        string="Contact",
        readonly=True,
        help="The call the plan was agreed on: its first instalment is linked to it.",
    )
    confirm = fields.Boolean(
        string="Email the Agreement",
        default=True,
        help="Send the customer the plan agreement (PDF) now.",
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        model = self.env.context.get("active_model")
        active_ids = self.env.context.get("active_ids") or []
        if model == "res.partner" and active_ids:
            partner = self.env["res.partner"].browse(active_ids[:1])
            values.setdefault("partner_id", partner.commercial_partner_id.id)
        elif model == "account.move" and active_ids and not values.get("move_ids"):
            moves = self.env["account.move"].browse(active_ids)
            values["move_ids"] = [fields.Command.set(moves.ids)]
            values.setdefault("partner_id", moves[:1].commercial_partner_id.id)
        if values.get("partner_id"):
            partner = self.env["res.partner"].browse(values["partner_id"])
            values["partner_id"] = partner.commercial_partner_id.id
        return values

    @api.depends("partner_id", "company_id")
    def _compute_move_ids(self):
        today = fields.Date.context_today(self)
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
                    ("dunning_due_date", "<", today),
                ],
                order="dunning_due_date, id",
            )
            currency = wizard.company_id.currency_id
            wizard.move_ids = moves.filtered(
                lambda m, c=currency: m.currency_id == c
            ) or moves.filtered(lambda m, c=moves[:1].currency_id: m.currency_id == c)

    @api.depends("move_ids")
    def _compute_amount_total(self):
        for wizard in self:
            wizard.currency_id = (
                wizard.move_ids[:1].currency_id or wizard.company_id.currency_id
            )
            wizard.amount_total = sum(wizard.move_ids.mapped("amount_residual"))

    @api.depends("amount_total", "instalment_count", "date_first", "interval_days")
    def _compute_line_ids(self):
        for wizard in self:
            count = max(wizard.instalment_count, 0)
            if not count or not wizard.date_first:
                wizard.line_ids = [fields.Command.clear()]
                continue
            currency = wizard.currency_id
            share = currency.round(wizard.amount_total / count)
            amounts = [share] * (count - 1)
            # The rounding difference goes to the last instalment.
            amounts.append(currency.round(wizard.amount_total - sum(amounts)))
            wizard.line_ids = [fields.Command.clear()] + [
                fields.Command.create(
                    {
                        "sequence": index,
                        "date": wizard.date_first
                        + timedelta(days=index * (wizard.interval_days or 0)),
                        "amount": amount,
                    }
                )
                for index, amount in enumerate(amounts)
            ]

    @api.depends("line_ids.amount")
    def _compute_amount_scheduled(self):
        for wizard in self:
            wizard.amount_scheduled = sum(wizard.line_ids.mapped("amount"))

    def action_create(self):
        self.ensure_one()
        if not self.partner_id:
            raise UserError(_("Choose the customer the plan is agreed with."))
        if self.interaction_id:
            # Refused before anything is sent if the call is someone else's.
            self.interaction_id.check_access("write")
        plan = self.env["dunning.payment.plan"]._dunning_create(
            self.partner_id,
            self.move_ids,
            [(line.date, line.amount) for line in self.line_ids],
            note=self.note,
            confirm=self.confirm,
        )
        if self.interaction_id:
            collector = self.interaction_id.user_id
            if plan.user_id != collector:
                # A manager completing a collector's call: the follow-up of the
                # plan stays with who made the call.
                plan.user_id = collector
                plan.promise_ids.user_id = collector
            self.interaction_id._link_promise(
                plan.promise_ids.sorted("date_promised")[:1]
            )
        return {
            "type": "ir.actions.act_window",
            "res_model": "dunning.payment.plan",
            "res_id": plan.id,
            "view_mode": "form",
            "target": "current",
        }


class DunningPaymentPlanCreateLine(models.TransientModel):
    _name = "dunning.payment.plan.create.line"
    _description = "Payment Plan Instalment (draft)"
    _order = "sequence, date, id"

    wizard_id = fields.Many2one(
        "dunning.payment.plan.create", required=True, ondelete="cascade"
    )
    sequence = fields.Integer()
    currency_id = fields.Many2one(related="wizard_id.currency_id")
    date = fields.Date(required=True)
    amount = fields.Monetary(required=True, currency_field="currency_id")
