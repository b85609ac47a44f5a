from odoo import _, fields, models
from odoo.tools.misc import format_date


class DunningAgingDate(models.TransientModel):
    """Asks for the day of the aged receivables report."""

    _name = "dunning.aging.date"
    _description = "Aged Receivables: as of"

    aging_date = fields.Date(
        string="As of",
        required=True,
        default=fields.Date.context_today,
        help="What customers owed at the end of this day, and how late it was: "
        "payments received later leave their invoices open on it.",
    )

    def action_open(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_aging_report_action"
        )
        action["context"] = {
            "dunning_aging_date": fields.Date.to_string(self.aging_date)
        }
        action["display_name"] = _(
            "Aged Receivables at %(day)s", day=format_date(self.env, self.aging_date)
        )
        return action
