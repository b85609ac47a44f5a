"""Segments: which collection policy a customer follows, from its risk score.

A segment is a band of risk scores (and optionally countries and amounts owed)
of one company, mapped to a policy. Every night, right after the scores, each
customer's risk row gets the first segment that matches it, by sequence: one
UPDATE per company. Editing, adding, archiving or deleting a segment assigns
them again at once, so that the list of segments is always what decides.

The policy a customer follows is its own if it has one, else its segment's,
else the company's default (``res.partner._dunning_policies``).
"""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from .dunning_reminder import OPEN_CUSTOMER_INVOICE_DOMAIN

# The fields whose change may move customers to another segment.
ASSIGN_FIELDS = {
    "sequence",
    "active",
    "company_id",
    "score_min",
    "score_max",
    "country_ids",
    "min_amount_owed",
    "max_amount_owed",
}


class DunningSegment(models.Model):
    _name = "dunning.segment"
    _description = "Customer Segment"
    _order = "company_id, sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(
        default=10,
        help="Segments are tried in this order: a customer belongs to the first "
        "one it matches.",
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    policy_id = fields.Many2one(
        "dunning.policy",
        string="Collection Policy",
        required=True,
        check_company=True,
        help="The policy of the customers of this segment, unless a customer has "
        "a policy of its own.",
    )
    score_min = fields.Integer(
        string="From Score",
        default=0,
        required=True,
        help="Lowest risk score of the segment (0 to 100), included.",
    )
    score_max = fields.Integer(
        string="To Score",
        default=100,
        required=True,
        help="Highest risk score of the segment (0 to 100), included.",
    )
    country_ids = fields.Many2many(
        "res.country",
        "dunning_segment_country_rel",
        "segment_id",
        "country_id",
        string="Countries",
        help="Only customers of these countries; empty: any country.",
    )
    min_amount_owed = fields.Monetary(
        string="Owing at Least",
        help="Only customers whose open invoices add up to at least this, in the "
        "company's currency, as measured with the risk score; 0: no minimum.",
    )
    max_amount_owed = fields.Monetary(
        string="Owing at Most",
        help="Only customers whose open invoices add up to at most this, in the "
        "company's currency, as measured with the risk score; 0: no maximum.",
    )
    description = fields.Text(
        translate=True, help="Who this segment is for and why it is collected so."
    )
    customer_count = fields.Integer(
        string="Customers",
        compute="_compute_customer_count",
        help="Customers in this segment since the last scoring or change of the "
        "segments.",
    )

    def _compute_customer_count(self):
        counts = dict(
            self.env["dunning.risk"]._read_group(
                [("segment_id", "in", self.ids)], ["segment_id"], ["__count"]
            )
        )
        for segment in self:
            segment.customer_count = counts.get(segment, 0)

    @api.constrains("score_min", "score_max")
    def _check_scores(self):
        for segment in self:
            if not 0 <= segment.score_min <= segment.score_max <= 100:
                raise ValidationError(
                    _(
                        "Segment %(segment)s: the scores go from 0 to 100, the "
                        "first not above the second.",
                        segment=segment.name,
                    )
                )

    @api.constrains("min_amount_owed", "max_amount_owed")
    def _check_amounts(self):
        for segment in self:
            low, high = segment.min_amount_owed, segment.max_amount_owed
            if low < 0 or high < 0 or (high and low > high):
                raise ValidationError(
                    _(
                        "Segment %(segment)s: the amounts owed cannot be negative, "
                        "and the minimum cannot exceed the maximum.",
                        segment=segment.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        segments = super().create(vals_list)
        segments._assign_companies(segments.company_id)
        return segments

    def write(self, vals):
        before = self.company_id
        res = super().write(vals)
        if ASSIGN_FIELDS & set(vals):
            self._assign_companies(before | self.company_id)
        return res

    def unlink(self):
        companies = self.company_id
        res = super().unlink()
        self._assign_companies(companies)
        return res

    def action_view_customers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_risk_action"
        )
        action["domain"] = [("segment_id", "=", self.id)]
        return action

    @api.model
    def _assign_companies(self, companies):
        for company in companies:
            self._assign(company)

    @api.model
    def _assign(self, company):
        """Give every risk row of ``company`` its segment, in one statement.

        Raw SQL so that the assignment is one UPDATE whatever the number of
        customers; the first active segment matching by sequence wins, none
        leaves the row without a segment.
        """
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                UPDATE dunning_risk risk
                   SET segment_id = matched.segment_id
                  FROM (
                    SELECT risk.id,
                           (SELECT segment.id
                              FROM dunning_segment segment
                             WHERE segment.company_id = risk.company_id
                               AND segment.active
                               AND risk.score BETWEEN segment.score_min
                                                  AND segment.score_max
                               AND (NOT EXISTS (
                                        SELECT 1
                                          FROM dunning_segment_country_rel rel
                                         WHERE rel.segment_id = segment.id)
                                    OR partner.country_id IN (
                                        SELECT rel.country_id
                                          FROM dunning_segment_country_rel rel
                                         WHERE rel.segment_id = segment.id))
                               AND (COALESCE(segment.min_amount_owed, 0) = 0
                                    OR COALESCE(risk.exposure, 0)
                                       >= segment.min_amount_owed)
                               AND (COALESCE(segment.max_amount_owed, 0) = 0
                                    OR COALESCE(risk.exposure, 0)
                                       <= segment.max_amount_owed)
                             ORDER BY segment.sequence, segment.id
                             LIMIT 1) AS segment_id
                      FROM dunning_risk risk
                      JOIN res_partner partner ON partner.id = risk.partner_id
                     WHERE risk.company_id = %(company)s
                  ) matched
                 WHERE matched.id = risk.id
                   AND risk.segment_id IS DISTINCT FROM matched.segment_id
             RETURNING risk.partner_id
                """,
                company=company.id,
            )
        )
        moved = [row[0] for row in self.env.cr.fetchall()]
        self.env["dunning.risk"].invalidate_model(["segment_id"])
        self.env["res.partner"].invalidate_model(
            ["dunning_segment_id", "dunning_policy_in_use_id", "dunning_policy_source"]
        )
        if moved:
            # "Next Reminder" of their invoices follows their new policy.
            self.env["account.move"].sudo().search(
                [
                    ("commercial_partner_id", "in", moved),
                    ("company_id", "=", company.id),
                    *OPEN_CUSTOMER_INVOICE_DOMAIN,
                ]
            )._dunning_refresh_next_date()


class DunningRisk(models.Model):
    _inherit = "dunning.risk"

    segment_id = fields.Many2one(
        "dunning.segment",
        readonly=True,
        index=True,
        ondelete="set null",
        help="The first segment whose scores and filters the customer matches; "
        "its policy applies unless the customer has one of its own.",
    )
