from odoo import api, fields, models


class ResPartner(models.Model):
    """Customers with invoices whose payment a collector is verifying."""

    _inherit = "res.partner"

    dunning_verify_count = fields.Integer(
        string="Payments to Verify",
        compute="_compute_dunning_verify_count",
        search="_search_dunning_verify_count",
        help="Open invoices of this customer held from reminders while a "
        "collector verifies a payment the customer reported.",
    )

    def _compute_dunning_verify_count(self):
        counts = dict(
            self.env["account.move"]._read_group(
                self._dunning_verify_domain(
                    [("commercial_partner_id", "in", self.commercial_partner_id.ids)]
                ),
                ["commercial_partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.dunning_verify_count = counts.get(partner.commercial_partner_id, 0)

    @api.model
    def _search_dunning_verify_count(self, operator, value):
        moves = self.env["account.move"].search(self._dunning_verify_domain([]))
        holding = [("commercial_partner_id", "in", moves.commercial_partner_id.ids)]
        if (operator, value) in ((">", 0), ("!=", 0), (">=", 1)):
            return holding
        if (operator, value) in (("=", 0), ("<", 1), ("<=", 0)):
            return ["!", *holding]
        raise ValueError(f"unsupported search: {operator} {value!r}")

    @api.model
    def _dunning_verify_domain(self, domain):
        return [
            *domain,
            ("move_type", "=", "out_invoice"),
            ("dunning_verify_until", ">=", fields.Date.context_today(self)),
        ]

    def action_dunning_view_verify(self):
        """The customer's invoices whose payment is being verified."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.account_move_action_dunning"
        )
        action["domain"] = [
            ("commercial_partner_id", "=", self.commercial_partner_id.id),
            ("move_type", "=", "out_invoice"),
        ]
        action["context"] = {"search_default_payment_to_verify": 1}
        return action
