"""Aged receivables as of any date: what each customer owed on that day, and
how late it was.

One row per receivable journal item still open on the day, with the amount
open then in the company's currency. The amount open on a past day is the
item's balance less what was reconciled with it by then: a reconciliation
counts from its ``max_date`` (the later of the two items it matches), so a
payment received after the day leaves the invoice open on it. The day comes
from the context key ``dunning_aging_date`` (today by default): the report's
action asks for it (wizards/dunning_aging_date.py).
"""

from odoo import api, fields, models
from odoo.tools import SQL

from .res_partner_policy import customer_policy_sql

BUCKETS = [
    ("0_not_due", "Not Due"),
    ("1_30", "1-30 Days"),
    ("2_60", "31-60 Days"),
    ("3_90", "61-90 Days"),
    ("4_older", "Over 90 Days"),
]


class DunningAgingReport(models.Model):
    _name = "dunning.aging.report"
    _description = "Aged Receivables"
    _auto = False
    _order = "days_late desc, id"
    _rec_name = "move_id"

    aging_date = fields.Date(string="As of", readonly=True)
    move_id = fields.Many2one("account.move", string="Entry", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    user_id = fields.Many2one("res.users", string="Collector", readonly=True)
    policy_id = fields.Many2one(
        "dunning.policy",
        readonly=True,
        help="The policy the customer follows: its own, else its segment's, else "
        "the company's default.",
    )
    segment_id = fields.Many2one(
        "dunning.segment",
        readonly=True,
        help="The customer's segment (from its risk score, assigned every night).",
    )
    level_id = fields.Many2one("dunning.level", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    date_maturity = fields.Date(string="Due Date", readonly=True)
    days_late = fields.Integer(
        readonly=True,
        aggregator="max",
        help="Days between the due date and the report's date; 0 or less: not due.",
    )
    bucket = fields.Selection(BUCKETS, string="Age", readonly=True)
    amount_open = fields.Monetary(
        string="Open",
        readonly=True,
        help="Open on the report's date, in the company's currency: the item's "
        "balance less what was reconciled with it by then. Unapplied payments "
        "and credit notes are negative.",
    )
    amount_not_due = fields.Monetary(string="Not Due", readonly=True)
    amount_1_30 = fields.Monetary(string="1-30", readonly=True)
    amount_31_60 = fields.Monetary(string="31-60", readonly=True)
    amount_61_90 = fields.Monetary(string="61-90", readonly=True)
    amount_older = fields.Monetary(string="Over 90", readonly=True)

    @api.model
    def _aging_date(self):
        value = self.env.context.get("dunning_aging_date")
        return fields.Date.to_date(value) if value else fields.Date.context_today(self)

    @property
    def _table_query(self):
        return self._aging_query(self._aging_date())

    @api.model
    def _aging_query(self, day):
        """The open receivable items of ``day`` with their age: set-based, one
        statement whatever the number of invoices."""
        policy = customer_policy_sql(
            SQL.identifier("partner"), SQL.identifier("aged", "company_id")
        )
        return SQL(
            """
            -- What was reconciled with each item by the day: matched in one
            -- pass over the reconciliations, not once per item.
            WITH paid_debit AS (
                SELECT part.debit_move_id AS line_id, SUM(part.amount) AS amount
                  FROM account_partial_reconcile part
                 WHERE part.max_date <= %(day)s
                 GROUP BY 1
            ),
            paid_credit AS (
                SELECT part.credit_move_id AS line_id, SUM(part.amount) AS amount
                  FROM account_partial_reconcile part
                 WHERE part.max_date <= %(day)s
                 GROUP BY 1
            ),
            item AS (
                SELECT line.id,
                       line.move_id,
                       line.company_id,
                       line.company_currency_id AS currency_id,
                       move.commercial_partner_id AS partner_id,
                       move.dunning_level_id AS level_id,
                       COALESCE(line.date_maturity, line.date) AS date_maturity,
                       line.balance
                           - COALESCE(paid_debit.amount, 0)
                           + COALESCE(paid_credit.amount, 0) AS amount_open
                  FROM account_move_line line
                  JOIN account_account account
                    ON account.id = line.account_id
                   AND account.account_type = 'asset_receivable'
                  JOIN account_move move ON move.id = line.move_id
                  LEFT JOIN paid_debit ON paid_debit.line_id = line.id
                  LEFT JOIN paid_credit ON paid_credit.line_id = line.id
                 WHERE line.parent_state = 'posted'
                   AND line.date <= %(day)s
                   AND move.commercial_partner_id IS NOT NULL
            ),
            aged AS (
                SELECT item.*,
                       %(day)s::date - item.date_maturity AS days_late
                  FROM item
                 WHERE item.amount_open != 0
            )
            SELECT aged.id,
                   %(day)s::date AS aging_date,
                   aged.move_id,
                   aged.partner_id,
                   COALESCE(
                       (partner.dunning_collector_id ->> aged.company_id::text)::int,
                       partner.user_id
                   ) AS user_id,
                   %(policy)s AS policy_id,
                   %(segment)s AS segment_id,
                   aged.level_id,
                   aged.company_id,
                   aged.currency_id,
                   aged.date_maturity,
                   aged.days_late,
                   CASE WHEN aged.days_late <= 0 THEN '0_not_due'
                        WHEN aged.days_late <= 30 THEN '1_30'
                        WHEN aged.days_late <= 60 THEN '2_60'
                        WHEN aged.days_late <= 90 THEN '3_90'
                        ELSE '4_older' END AS bucket,
                   aged.amount_open,
                   CASE WHEN aged.days_late <= 0 THEN aged.amount_open ELSE 0 END
                       AS amount_not_due,
                   CASE WHEN aged.days_late BETWEEN 1 AND 30 THEN aged.amount_open
                        ELSE 0 END AS amount_1_30,
                   CASE WHEN aged.days_late BETWEEN 31 AND 60 THEN aged.amount_open
                        ELSE 0 END AS amount_31_60,
                   CASE WHEN aged.days_late BETWEEN 61 AND 90 THEN aged.amount_open
                        ELSE 0 END AS amount_61_90,
                   CASE WHEN aged.days_late > 90 THEN aged.amount_open ELSE 0 END
                       AS amount_older
              FROM aged
              JOIN res_partner partner ON partner.id = aged.partner_id
              %(policy_joins)s
            """,
            day=day,
            policy=policy.policy_id,
            segment=policy.segment_id,
            policy_joins=policy.joins,
        )
