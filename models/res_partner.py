from odoo import api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    dunning_policy_id = fields.Many2one(
        "dunning.policy",
        string="Collection Policy",
        company_dependent=True,
        domain="[('company_id', 'in', (False, current_company_id))]",
        help="Leave empty to follow the company's default collection policy.",
    )
    dunning_collector_id = fields.Many2one(
        "res.users",
        string="Collector",
        company_dependent=True,
        help="The person who follows up this customer's payments; collection "
        "activities are assigned to them.",
    )
    dunning_excluded = fields.Boolean(
        string="Excluded from Collections",
        tracking=True,
        help="This customer never receives reminders.",
    )
    dunning_exclusion_reason = fields.Char(string="Exclusion Reason")
    dunning_paused_until = fields.Date(
        string="Reminders Paused Until",
        tracking=True,
        help="No reminder reaches this customer until this day included.",
    )
    dunning_level_id = fields.Many2one(
        "dunning.level",
        string="Collection Level",
        compute="_compute_dunning_level_id",
        help="The highest level reached by the customer's open invoices.",
    )
    dunning_reminder_ids = fields.One2many(
        "dunning.reminder", "partner_id", string="Reminders", readonly=True
    )
    dunning_reminder_count = fields.Integer(compute="_compute_dunning_reminder_count")

    def _compute_dunning_level_id(self):
        moves = self.env["account.move"].search(
            [
                ("commercial_partner_id", "in", self.commercial_partner_id.ids),
                ("company_id", "=", self.env.company.id),
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "in", ("not_paid", "partial")),
                ("dunning_level_id", "!=", False),
            ]
        )
        top = {}
        for move in moves:
            best = top.get(move.commercial_partner_id.id)
            if not best or move.dunning_level_id.offset_days > best.offset_days:
                top[move.commercial_partner_id.id] = move.dunning_level_id
        for partner in self:
            partner.dunning_level_id = top.get(partner.commercial_partner_id.id)

    def _compute_dunning_reminder_count(self):
        counts = dict(
            self.env["dunning.reminder"]._read_group(
                [("partner_id", "in", self.commercial_partner_id.ids)],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.dunning_reminder_count = counts.get(
                partner.commercial_partner_id, 0
            )

    @api.model
    def _commercial_fields(self):
        return super()._commercial_fields() + [
            "dunning_excluded",
            "dunning_exclusion_reason",
            "dunning_paused_until",
        ]

    def action_dunning_view_reminders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_reminder_action"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        return action
