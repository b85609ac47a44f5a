from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

# How long a collector usually needs to see a transfer in the bank statement.
VERIFY_WORKING_DAYS = 3


class DunningPaymentVerify(models.TransientModel):
    """Mark invoices "payment to verify": the customer says they are paid (a
    receipt sent by WhatsApp, say), and no reminder goes about them while a
    collector checks, until the day chosen.

    Opened from the invoices (list or form: the selected ones) or from a
    customer (its open invoices); ``account.move._dunning_verify`` holds them
    and writes the chatter notes.
    """

    _name = "dunning.payment.verify"
    _description = "Mark Payment to Verify"

    move_ids = fields.Many2many(
        "account.move",
        string="Invoices",
        domain="[('move_type', '=', 'out_invoice'), ('state', '=', 'posted'), "
        "('payment_state', 'in', ('not_paid', 'partial'))]",
    )
    date_until = fields.Date(
        string="Hold Reminders Until",
        required=True,
        default=lambda self: self._default_date_until(),
        help="No reminder about these invoices until this day included; they "
        "come back into collection afterwards if still unpaid.",
    )
    note = fields.Char(help="e.g. Transfer receipt of 12/03, reference 4711")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        model = self.env.context.get("active_model")
        active_ids = self.env.context.get("active_ids") or []
        moves = self.env["account.move"]
        if model == "account.move" and active_ids:
            moves = moves.browse(active_ids)
        elif model == "res.partner" and active_ids:
            partner = self.env["res.partner"].browse(active_ids[:1])
            moves = moves.search(
                [
                    ("commercial_partner_id", "=", partner.commercial_partner_id.id),
                    ("company_id", "in", self.env.companies.ids),
                ]
            )
        if moves and "move_ids" in fields_list and not values.get("move_ids"):
            values["move_ids"] = [fields.Command.set(moves._dunning_open().ids)]
        return values

    @api.model
    def _default_date_until(self):
        """A few working days ahead (weekends and the company's holidays
        skipped): the time for a transfer to show in the bank."""
        day = fields.Date.context_today(self)
        company = self.env.company
        holidays = self.env["dunning.holiday"]._get_dates(
            company.country_id, day, day + timedelta(days=30), company=company
        )
        remaining = VERIFY_WORKING_DAYS
        while remaining:
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in holidays:
                remaining -= 1
        return day

    def action_confirm(self):
        self.ensure_one()
        moves = self.move_ids._dunning_open()
        if not moves:
            raise UserError(_("Select at least one open customer invoice."))
        if self.date_until < fields.Date.context_today(self):
            raise UserError(_("The day to hold the reminders until is past."))
        moves._dunning_verify(self.date_until, self.note)
        return {"type": "ir.actions.act_window_close"}
