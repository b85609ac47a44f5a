"""Who will not pay: a risk score per customer and company, 0 (safe) to 100,
with the reasons that make it.

Each factor gives points up to its weight (the company's, editable in
Settings), and the score is their sum; every factor only grows with what
should worry a collector, so that a broken promise, a later payment or a new
dispute never lowers the score:

==============  ===========================================================  ===
factor          full points when                                             weight
==============  ===========================================================  ===
delay           the average days beyond terms (12 months) reach 60           25
trend           the last 90 days' average is 30 days worse than before       10
late share      every invoice of the 12 months was paid late (or is)         20
broken          3 promises broken in 12 months                               20
disputes        2 disputes open                                              10
exposure        what is owed reaches the credit limit (from half of it)      10
new customer    the first invoice is today (none after two years)             5
==============  ===========================================================  ===

"Days beyond terms" of an invoice: from its due date to its payment (the last
reconciliation), or to today while it is open and late; averaged weighted by
the invoices' amounts. Computed every night for every customer of every
company in one statement per company, and each customer put in the first
segment it matches (models/dunning_segment.py) in one more.
"""

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.tools import SQL, format_amount

WEIGHTS = {
    "delay": 25,
    "trend": 10,
    "late": 20,
    "broken": 20,
    "dispute": 10,
    "exposure": 10,
    "new": 5,
}


class ResCompany(models.Model):
    _inherit = "res.company"

    dunning_risk_weight_delay = fields.Integer(
        string="Days Beyond Terms", default=WEIGHTS["delay"]
    )
    dunning_risk_weight_trend = fields.Integer(
        string="Worsening Trend", default=WEIGHTS["trend"]
    )
    dunning_risk_weight_late = fields.Integer(
        string="Share Paid Late", default=WEIGHTS["late"]
    )
    dunning_risk_weight_broken = fields.Integer(
        string="Broken Promises", default=WEIGHTS["broken"]
    )
    dunning_risk_weight_dispute = fields.Integer(
        string="Open Disputes", default=WEIGHTS["dispute"]
    )
    dunning_risk_weight_exposure = fields.Integer(
        string="Exposure", default=WEIGHTS["exposure"]
    )
    dunning_risk_weight_new = fields.Integer(
        string="New Customer", default=WEIGHTS["new"]
    )


class DunningRisk(models.Model):
    _name = "dunning.risk"
    _description = "Customer Risk Score"
    _order = "score desc"
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner", required=True, ondelete="cascade", index=True, readonly=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, ondelete="cascade", readonly=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    score = fields.Integer(readonly=True, aggregator="avg")
    band = fields.Selection(
        [("low", "Low"), ("medium", "Medium"), ("high", "High")],
        readonly=True,
        help="Low below 30, high from 60.",
    )
    computed_at = fields.Datetime(readonly=True)
    # The facts, as measured.
    days_beyond_terms = fields.Float(readonly=True, digits=(16, 1))
    days_beyond_terms_recent = fields.Float(
        string="Days Beyond Terms, Last 90 Days", readonly=True, digits=(16, 1)
    )
    days_beyond_terms_before = fields.Float(
        string="Days Beyond Terms, Before", readonly=True, digits=(16, 1)
    )
    late_share = fields.Float(string="Paid Late (%)", readonly=True, digits=(16, 1))
    invoice_count = fields.Integer(string="Invoices Measured", readonly=True)
    broken_count = fields.Integer(string="Broken Promises", readonly=True)
    dispute_count = fields.Integer(string="Open Disputes", readonly=True)
    exposure = fields.Monetary(string="Owed", readonly=True)
    credit_limit = fields.Monetary(readonly=True)
    relationship_days = fields.Integer(string="Customer for (Days)", readonly=True)
    # The points each fact gives.
    points_delay = fields.Float(readonly=True, digits=(16, 1))
    points_trend = fields.Float(readonly=True, digits=(16, 1))
    points_late = fields.Float(readonly=True, digits=(16, 1))
    points_broken = fields.Float(readonly=True, digits=(16, 1))
    points_dispute = fields.Float(readonly=True, digits=(16, 1))
    points_exposure = fields.Float(readonly=True, digits=(16, 1))
    points_new = fields.Float(readonly=True, digits=(16, 1))
    reasons = fields.Html(compute="_compute_reasons", sanitize=False)

    _sql_constraints = [
        (
            "partner_company_unique",
            "UNIQUE(partner_id, company_id)",
            "A customer has one risk score per company.",
        )
    ]

    def _compute_reasons(self):
        for risk in self:
            lines = [
                (
                    risk.points_delay,
                    _(
                        "Pays %(days)s days after the due date on average (12 months).",
                        days=round(risk.days_beyond_terms, 1),
                    ),
                ),
                (
                    risk.points_trend,
                    _(
                        "Getting later: %(recent)s days in the last 90 days against "
                        "%(before)s before.",
                        recent=round(risk.days_beyond_terms_recent, 1),
                        before=round(risk.days_beyond_terms_before, 1),
                    ),
                ),
                (
                    risk.points_late,
                    _(
                        "%(share)s %% of %(count)s invoices paid late or still late.",
                        share=round(risk.late_share),
                        count=risk.invoice_count,
                    ),
                ),
                (
                    risk.points_broken,
                    _(
                        "%(count)s broken promise(s) in 12 months.",
                        count=risk.broken_count,
                    ),
                ),
                (
                    risk.points_dispute,
                    _("%(count)s open dispute(s).", count=risk.dispute_count),
                ),
                (
                    risk.points_exposure,
                    _(
                        "Owes %(owed)s of a %(limit)s credit limit.",
                        owed=format_amount(self.env, risk.exposure, risk.currency_id),
                        limit=format_amount(
                            self.env, risk.credit_limit, risk.currency_id
                        ),
                    ),
                ),
                (
                    risk.points_new,
                    _(
                        "Customer for %(days)s days.",
                        days=risk.relationship_days,
                    ),
                ),
            ]
            items = [
                Markup("<li>%s <b>(+%s)</b></li>") % (text, round(points, 1))
                for points, text in sorted(lines, key=lambda line: -line[0])
                if points > 0
            ]
            risk.reasons = (
                Markup("<ul>%s</ul>") % Markup("").join(items)
                if items
                else Markup("<p>%s</p>") % _("Nothing in the history worries us.")
            )

    @api.model
    def _cron_compute(self, today=None):
        """Score every customer of every company, then put each in its segment."""
        today = today or fields.Date.context_today(self)
        self.env.flush_all()
        for company in self.env["res.company"].sudo().search([]):
            self.env.cr.execute(self._score_query(company, today))
            self.env["dunning.segment"].sudo()._assign(company)
        self.env.invalidate_all()

    @api.model
    def _score_query(self, company, today):
        weight = {key: company[f"dunning_risk_weight_{key}"] for key in WEIGHTS}
        return SQL(
            """
            WITH invoice AS (
                SELECT move.id,
                       move.commercial_partner_id AS partner_id,
                       move.amount_total_signed AS amount,
                       move.invoice_date_due AS due,
                       move.payment_state,
                       (SELECT MAX(part.max_date)
                          FROM account_move_line line
                          JOIN account_partial_reconcile part
                            ON part.debit_move_id = line.id
                         WHERE line.move_id = move.id
                           AND line.display_type = 'payment_term') AS paid_on
                  FROM account_move move
                 WHERE move.company_id = %(company)s
                   AND move.move_type = 'out_invoice'
                   AND move.state = 'posted'
                   AND move.invoice_date_due IS NOT NULL
            ),
            measured AS (
                -- Paid in the last 12 months, or open and late today.
                SELECT invoice.partner_id,
                       invoice.amount,
                       CASE WHEN invoice.payment_state IN ('paid', 'in_payment')
                            THEN invoice.paid_on ELSE %(today)s::date END
                           AS settled_on,
                       GREATEST(
                           CASE WHEN invoice.payment_state IN ('paid', 'in_payment')
                                THEN invoice.paid_on ELSE %(today)s::date END
                           - invoice.due, 0) AS days_late
                  FROM invoice
                 WHERE (invoice.payment_state IN ('paid', 'in_payment')
                        AND invoice.paid_on > %(today)s::date - 365)
                    OR (invoice.payment_state IN ('not_paid', 'partial')
                        AND invoice.due < %(today)s::date)
            ),
            history AS (
                SELECT partner_id,
                       SUM(days_late * amount) / NULLIF(SUM(amount), 0) AS dbt,
                       SUM(days_late * amount)
                           FILTER (WHERE settled_on > %(today)s::date - 90)
                       / NULLIF(SUM(amount)
                           FILTER (WHERE settled_on > %(today)s::date - 90), 0)
                           AS dbt_recent,
                       SUM(days_late * amount)
                           FILTER (WHERE settled_on <= %(today)s::date - 90)
                       / NULLIF(SUM(amount)
                           FILTER (WHERE settled_on <= %(today)s::date - 90), 0)
                           AS dbt_before,
                       100.0 * COUNT(*) FILTER (WHERE days_late > 0) / COUNT(*)
                           AS late_share,
                       COUNT(*) AS invoice_count
                  FROM measured
                 GROUP BY partner_id
            ),
            customer AS (
                SELECT invoice.partner_id,
                       MIN(move.invoice_date) AS first_invoice,
                       SUM(move.amount_residual_signed) FILTER (
                           WHERE invoice.payment_state IN ('not_paid', 'partial')
                       ) AS exposure
                  FROM invoice
                  JOIN account_move move ON move.id = invoice.id
                 GROUP BY invoice.partner_id
            ),
            broken AS (
                SELECT partner_id, COUNT(*) AS broken_count
                  FROM dunning_promise
                 WHERE company_id = %(company)s
                   AND state = 'broken'
                   AND date_settled > %(today)s::date - 365
                 GROUP BY partner_id
            ),
            dispute AS (
                SELECT partner_id, COUNT(*) AS dispute_count
                  FROM dunning_dispute
                 WHERE company_id = %(company)s AND state = 'open'
                 GROUP BY partner_id
            ),
            fact AS (
                SELECT customer.partner_id,
                       COALESCE(history.dbt, 0) AS dbt,
                       COALESCE(history.dbt_recent, 0) AS dbt_recent,
                       COALESCE(history.dbt_before, 0) AS dbt_before,
                       history.dbt_recent IS NOT NULL
                           AND history.dbt_before IS NOT NULL AS has_trend,
                       COALESCE(history.late_share, 0) AS late_share,
                       COALESCE(history.invoice_count, 0) AS invoice_count,
                       COALESCE(broken.broken_count, 0) AS broken_count,
                       COALESCE(dispute.dispute_count, 0) AS dispute_count,
                       COALESCE(customer.exposure, 0) AS exposure,
                       COALESCE((partner.credit_limit ->> %(company_key)s)::numeric, 0)
                           AS credit_limit,
                       GREATEST(%(today)s::date - customer.first_invoice, 0)
                           AS relationship_days
                  FROM customer
                  JOIN res_partner partner ON partner.id = customer.partner_id
                  LEFT JOIN history ON history.partner_id = customer.partner_id
                  LEFT JOIN broken ON broken.partner_id = customer.partner_id
                  LEFT JOIN dispute ON dispute.partner_id = customer.partner_id
            ),
            points AS (
                SELECT fact.*,
                       %(w_delay)s * LEAST(fact.dbt / 60.0, 1) AS p_delay,
                       CASE WHEN fact.has_trend
                            THEN %(w_trend)s * LEAST(GREATEST(
                                (fact.dbt_recent - fact.dbt_before) / 30.0, 0), 1)
                            ELSE 0 END AS p_trend,
                       %(w_late)s * fact.late_share / 100.0 AS p_late,
                       %(w_broken)s * LEAST(fact.broken_count / 3.0, 1) AS p_broken,
                       %(w_dispute)s * LEAST(fact.dispute_count / 2.0, 1) AS p_dispute,
                       CASE WHEN fact.credit_limit > 0
                            THEN %(w_exposure)s * LEAST(GREATEST(
                                fact.exposure / fact.credit_limit - 0.5, 0) / 0.5, 1)
                            ELSE 0 END AS p_exposure,
                       %(w_new)s * (1 - LEAST(fact.relationship_days / 730.0, 1))
                           AS p_new
                  FROM fact
            )
            INSERT INTO dunning_risk (
                partner_id, company_id, score, band, computed_at,
                days_beyond_terms, days_beyond_terms_recent,
                days_beyond_terms_before, late_share, invoice_count,
                broken_count, dispute_count, exposure, credit_limit,
                relationship_days, points_delay, points_trend, points_late,
                points_broken, points_dispute, points_exposure, points_new,
                create_uid, create_date, write_uid, write_date)
            SELECT partner_id, %(company)s, score,
                   CASE WHEN score >= 60 THEN 'high'
                        WHEN score >= 30 THEN 'medium'
                        ELSE 'low' END,
                   NOW() AT TIME ZONE 'UTC',
                   dbt, dbt_recent, dbt_before, late_share, invoice_count,
                   broken_count, dispute_count, exposure, credit_limit,
                   relationship_days, p_delay, p_trend, p_late, p_broken,
                   p_dispute, p_exposure, p_new,
                   %(uid)s, NOW() AT TIME ZONE 'UTC',
                   %(uid)s, NOW() AT TIME ZONE 'UTC'
              FROM (SELECT points.*,
                           LEAST(ROUND(p_delay + p_trend + p_late + p_broken
                                       + p_dispute + p_exposure + p_new), 100)
                               AS score
                      FROM points) points
            ON CONFLICT (partner_id, company_id) DO UPDATE SET
                score = EXCLUDED.score,
                band = EXCLUDED.band,
                computed_at = EXCLUDED.computed_at,
                days_beyond_terms = EXCLUDED.days_beyond_terms,
                days_beyond_terms_recent = EXCLUDED.days_beyond_terms_recent,
                days_beyond_terms_before = EXCLUDED.days_beyond_terms_before,
                late_share = EXCLUDED.late_share,
                invoice_count = EXCLUDED.invoice_count,
                broken_count = EXCLUDED.broken_count,
                dispute_count = EXCLUDED.dispute_count,
                exposure = EXCLUDED.exposure,
                credit_limit = EXCLUDED.credit_limit,
                relationship_days = EXCLUDED.relationship_days,
                points_delay = EXCLUDED.points_delay,
                points_trend = EXCLUDED.points_trend,
                points_late = EXCLUDED.points_late,
                points_broken = EXCLUDED.points_broken,
                points_dispute = EXCLUDED.points_dispute,
                points_exposure = EXCLUDED.points_exposure,
                points_new = EXCLUDED.points_new,
                write_uid = EXCLUDED.write_uid,
                write_date = EXCLUDED.write_date
            """,
            company=company.id,
            company_key=str(company.id),
            today=today,
            uid=self.env.uid,
            **{f"w_{key}": value for key, value in weight.items()},
        )


class ResPartner(models.Model):
    _inherit = "res.partner"

    dunning_risk_id = fields.Many2one(
        "dunning.risk",
        string="Risk Details",
        compute="_compute_dunning_risk",
        groups="account_dunning.group_dunning_collector",
        help="The customer's risk score in the current company, computed every night.",
    )
    dunning_risk_score = fields.Integer(
        string="Risk Score",
        compute="_compute_dunning_risk",
        groups="account_dunning.group_dunning_collector",
    )
    dunning_risk_band = fields.Selection(
        [("low", "Low"), ("medium", "Medium"), ("high", "High")],
        string="Risk",
        compute="_compute_dunning_risk",
        groups="account_dunning.group_dunning_collector",
    )
    dunning_risk_reasons = fields.Html(
        string="Why",
        compute="_compute_dunning_risk",
        sanitize=False,
        groups="account_dunning.group_dunning_collector",
    )

    @api.depends_context("company")
    def _compute_dunning_risk(self):
        partners = self.commercial_partner_id
        risks = self.env["dunning.risk"].search(
            [
                ("partner_id", "in", partners.ids),
                ("company_id", "=", self.env.company.id),
            ]
        )
        by_partner = {risk.partner_id: risk for risk in risks}
        for partner in self:
            risk = by_partner.get(partner.commercial_partner_id, risks.browse())
            partner.dunning_risk_id = risk
            partner.dunning_risk_score = risk.score
            partner.dunning_risk_band = risk.band
            partner.dunning_risk_reasons = risk.reasons
