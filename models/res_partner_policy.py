"""The customer's collection policy, defined once.

In a company, a customer follows:

1. its own policy for that company (``res.partner.dunning_policy_id``);
2. else the policy of its segment, read from its risk row of that company
   (``dunning.risk.segment_id``, set every night and when segments change);
3. else the company's default policy (``res.company.dunning_policy_id``).

Python code asks ``res.partner._dunning_policies`` (a batch) or
``_dunning_policy`` (one customer); SQL queries use
:func:`customer_policy_sql`. tests/test_segment.py checks that both agree.
"""

from typing import NamedTuple

from odoo import api, fields, models
from odoo.tools import SQL

POLICY_SOURCES = [
    ("own", "The customer's own"),
    ("segment", "Its segment's"),
    ("company", "The company's default"),
]


class CustomerPolicySQL(NamedTuple):
    """What a query adds to read the customers' policy (:func:`customer_policy_sql`)."""

    joins: SQL  # to put after the FROM item holding the partner
    policy_id: SQL  # the policy the customer follows
    segment_id: SQL  # its segment, if any


def customer_policy_sql(partner, company, alias="customer_policy"):
    """The joins and expressions giving the policy a customer follows in a
    company, for a query that has the customer's ``res_partner`` row.

    Joins rather than a subquery per row: PostgreSQL hashes the risk rows once
    (a subquery per invoice made planning 100,000 invoices 0.5 s slower).

    :param partner: SQL naming the commercial partner's ``res_partner`` row
        (e.g. ``SQL.identifier("partner")``)
    :param company: SQL (or a value) giving the company id
    :param alias: prefix of the joined tables' aliases
    """
    risk = SQL.identifier(f"{alias}_risk")
    segment = SQL.identifier(f"{alias}_segment")
    default = SQL.identifier(f"{alias}_company")
    joins = SQL(
        """
        LEFT JOIN dunning_risk %(risk)s
               ON %(risk)s.partner_id = %(partner)s.id
              AND %(risk)s.company_id = %(company)s
        LEFT JOIN dunning_segment %(segment)s
               ON %(segment)s.id = %(risk)s.segment_id
        LEFT JOIN res_company %(default)s
               ON %(default)s.id = %(company)s
        """,
        risk=risk,
        segment=segment,
        default=default,
        partner=partner,
        company=company,
    )
    policy_id = SQL(
        """COALESCE(
            (%(partner)s.dunning_policy_id ->> (%(company)s)::text)::int,
            %(segment)s.policy_id,
            %(default)s.dunning_policy_id
        )""",
        partner=partner,
        company=company,
        segment=segment,
        default=default,
    )
    return CustomerPolicySQL(joins, policy_id, SQL("%s.id", segment))


class ResPartner(models.Model):
    _inherit = "res.partner"

    dunning_segment_id = fields.Many2one(
        "dunning.segment",
        string="Segment",
        compute="_compute_dunning_policy_in_use",
        groups="account_dunning.group_dunning_collector",
        help="The segment the customer's risk score put it in, in the current "
        "company (assigned every night).",
    )
    dunning_policy_in_use_id = fields.Many2one(
        "dunning.policy",
        string="Policy in Use",
        compute="_compute_dunning_policy_in_use",
        groups="account_dunning.group_dunning_collector",
        help="The policy the reminders follow: the customer's own, else its "
        "segment's, else the company's default.",
    )
    dunning_policy_source = fields.Selection(
        POLICY_SOURCES,
        string="Chosen From",
        compute="_compute_dunning_policy_in_use",
        groups="account_dunning.group_dunning_collector",
    )

    @api.depends_context("company")
    @api.depends("dunning_policy_id")
    def _compute_dunning_policy_in_use(self):
        company = self.env.company
        chosen = self._dunning_policies(company)
        segments = self._dunning_segments(company)
        for partner in self:
            commercial = partner.commercial_partner_id
            policy, source = chosen.get(commercial.id, (False, False))
            partner.dunning_policy_in_use_id = policy
            partner.dunning_policy_source = source
            partner.dunning_segment_id = segments.get(commercial._origin.id, False)

    def _dunning_segments(self, company):
        """``{commercial partner id: segment}`` in ``company``, of those in one."""
        # sudo: the customer's page and the cron ask too; the segment is no secret.
        risks = (
            self.env["dunning.risk"]
            .sudo()
            .search_fetch(
                [
                    ("partner_id", "in", self.commercial_partner_id._origin.ids),
                    ("company_id", "=", company.id),
                    ("segment_id", "!=", False),
                ],
                ["partner_id", "segment_id"],
            )
        )
        return {
            risk.partner_id.id: risk.segment_id.with_env(self.env) for risk in risks
        }

    def _dunning_policies(self, company):
        """``{commercial partner id: (policy, source)}``: the policy each customer
        follows in ``company`` and where it comes from (see the module's
        docstring), in a fixed number of queries."""
        partners = self.commercial_partner_id
        segments = partners._dunning_segments(company)
        default = company.sudo().dunning_policy_id.with_env(self.env)
        result = {}
        # sudo: the policy applies whoever asks (the customer's page included).
        for partner in partners.sudo().with_company(company):
            own = partner.dunning_policy_id
            segment = segments.get(partner._origin.id)
            if own:
                result[partner.id] = (own.with_env(self.env), "own")
            elif segment:
                result[partner.id] = (
                    segment.sudo().policy_id.with_env(self.env),
                    "segment",
                )
            else:
                result[partner.id] = (default, "company" if default else False)
        return result

    def _dunning_policy(self, company):
        """The policy this customer follows in ``company`` (for no customer,
        the company's default)."""
        if not self:
            return company.sudo().dunning_policy_id.with_env(self.env)
        self.ensure_one()
        return self._dunning_policies(company)[self.commercial_partner_id.id][0]
