"""Are we collecting better? DSO, best possible DSO and CEI per company and
month, for the last twelve months, in the company's currency.

With, for a month: *sales* the receivable amounts of the customer invoices and
credit notes dated in it; *receivables* the balance of the receivable accounts
at its start and at its end; *current* the part of the end balance not yet due
then (items due after the month's end, less what was reconciled with them by
then):

* **DSO, countback**: the receivables at the month's end are matched against the
  sales of that month, then of the month before, and so on: the days of every
  month they cover in full, plus the share of the last one, e.g. 120,000 owed
  after sales of 100,000 in a 30-day month and 40,000 in the 31-day month
  before: 30 + 31 × 20,000 / 40,000 = 45.5 days.
* **Best possible DSO**: current receivables / the month's sales × its days: the
  DSO if every customer paid on time.
* **CEI** (collection effectiveness index): (receivables at the start + sales −
  receivables at the end) / (receivables at the start + sales − current
  receivables at the end) × 100: the share of what could be collected in the
  month that was; 100 is perfect.

One SQL statement; the months before the twelve shown feed the countback.
"""

from odoo import fields, models
from odoo.tools import SQL

MONTHS_SHOWN = 12
# How far back the countback looks for sales to match the receivables with.
MONTHS_OF_SALES = 24


class DunningKpiReport(models.Model):
    _name = "dunning.kpi.report"
    _description = "Collection Performance by Month"
    _auto = False
    _order = "month desc, company_id"
    _rec_name = "month"

    month = fields.Date(readonly=True, help="The month's first day.")
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    sales = fields.Monetary(
        string="Sales on Credit",
        readonly=True,
        help="Receivable amounts of the customer invoices and credit notes dated "
        "in the month.",
    )
    receivable_start = fields.Monetary(string="Receivables at Start", readonly=True)
    receivable_end = fields.Monetary(string="Receivables at End", readonly=True)
    receivable_current = fields.Monetary(
        string="Not Yet Due at End",
        readonly=True,
        help="Part of the receivables at the month's end that was not yet due.",
    )
    receivable_overdue = fields.Monetary(string="Overdue at End", readonly=True)
    dso = fields.Float(
        string="DSO (Days)",
        readonly=True,
        digits=(16, 1),
        aggregator="avg",
        help="Days sales outstanding, countback method: the receivables at the "
        "month's end matched against the sales of that month and of the months "
        "before, latest first; the days of each month covered in full plus the "
        "share of the last one.",
    )
    best_dso = fields.Float(
        string="Best Possible DSO",
        readonly=True,
        digits=(16, 1),
        aggregator="avg",
        help="Not yet due receivables at the month's end / the month's sales x "
        "the month's days: the DSO if every customer paid on time.",
    )
    cei = fields.Float(
        string="CEI (%)",
        readonly=True,
        digits=(16, 1),
        aggregator="avg",
        help="Collection effectiveness index: (receivables at start + sales - "
        "receivables at end) / (receivables at start + sales - not yet due at "
        "end) x 100. 100 means everything that fell due was collected.",
    )

    @property
    def _table_query(self):
        return self._kpi_query(fields.Date.context_today(self))

    def _kpi_query(self, today):
        return SQL(
            """
            WITH receivable AS (
                SELECT line.id,
                       line.company_id,
                       line.date,
                       COALESCE(line.date_maturity, line.date) AS date_maturity,
                       line.balance,
                       move.move_type
                  FROM account_move_line line
                  JOIN account_move move ON move.id = line.move_id
                  JOIN account_account account ON account.id = line.account_id
                 WHERE account.account_type = 'asset_receivable'
                   AND line.parent_state = 'posted'
            ),
            month AS (
                SELECT company.id AS company_id,
                       company.currency_id,
                       start::date AS month_start,
                       (start + INTERVAL '1 month' - INTERVAL '1 day')::date
                           AS month_end
                  FROM res_company company
                 CROSS JOIN generate_series(
                           date_trunc('month', %(today)s::date)
                               - make_interval(months => %(months_of_sales)s - 1),
                           date_trunc('month', %(today)s::date),
                           INTERVAL '1 month') AS start
            ),
            -- Per company and month: the sales, and the change of the balance.
            movement AS (
                SELECT r.company_id,
                       date_trunc('month', r.date)::date AS month_start,
                       SUM(r.balance) FILTER (
                           WHERE r.move_type IN ('out_invoice', 'out_refund')
                       ) AS sales,
                       SUM(r.balance) AS balance
                  FROM receivable r
                 GROUP BY 1, 2
            ),
            -- Items issued by a month's end and due after it, less what was
            -- reconciled with them by then: the month's current receivables.
            -- Aggregated from two joins, never a query per item.
            current_item AS (
                -- The months an item spans the end of: issued by their end,
                -- due after it. A join on the few months of the series (a
                -- set-returning function per item would have the planner
                -- expect a thousand rows each, and compile the query).
                SELECT r.company_id, r.id, r.balance,
                       month.month_start, month.month_end
                  FROM receivable r
                  JOIN month
                    ON month.company_id = r.company_id
                   AND month.month_end >= r.date
                   AND month.month_end < r.date_maturity
                 WHERE r.date_maturity > r.date
            ),
            current_paid AS (
                SELECT item.company_id, item.month_start,
                       SUM(part.amount) AS amount
                  FROM current_item item
                  JOIN account_partial_reconcile part
                    ON part.debit_move_id = item.id
                   AND part.max_date <= item.month_end
                 GROUP BY 1, 2
                 UNION ALL
                SELECT item.company_id, item.month_start, -SUM(part.amount)
                  FROM current_item item
                  JOIN account_partial_reconcile part
                    ON part.credit_move_id = item.id
                   AND part.max_date <= item.month_end
                 GROUP BY 1, 2
            ),
            current AS (
                SELECT company_id, month_start, SUM(amount) AS amount
                  FROM (SELECT company_id, month_start, SUM(balance) AS amount
                          FROM current_item
                         GROUP BY 1, 2
                         UNION ALL
                        SELECT company_id, month_start, -amount
                          FROM current_paid) parts
                 GROUP BY 1, 2
            ),
            -- The balance before the first month of the series.
            opening AS (
                SELECT r.company_id, SUM(r.balance) AS balance
                  FROM receivable r
                 WHERE r.date < date_trunc('month', %(today)s::date)
                           - make_interval(months => %(months_of_sales)s - 1)
                 GROUP BY 1
            ),
            figures AS (
                SELECT month.*,
                       month.month_end - month.month_start + 1 AS days,
                       COALESCE(movement.sales, 0) AS sales,
                       COALESCE(before.balance, 0)
                           + COALESCE(SUM(movement.balance) OVER running, 0)
                           - COALESCE(movement.balance, 0) AS receivable_start,
                       COALESCE(before.balance, 0)
                           + COALESCE(SUM(movement.balance) OVER running, 0)
                           AS receivable_end,
                       COALESCE(current.amount, 0) AS receivable_current
                  FROM month
                  LEFT JOIN movement
                    ON movement.company_id = month.company_id
                   AND movement.month_start = month.month_start
                  LEFT JOIN current
                    ON current.company_id = month.company_id
                   AND current.month_start = month.month_start
                  LEFT JOIN opening before
                    ON before.company_id = month.company_id
                WINDOW running AS (
                    PARTITION BY month.company_id ORDER BY month.month_start
                )
            ),
            countback AS (
                SELECT cur.company_id,
                       cur.month_start,
                       (SELECT COALESCE(SUM(
                                   CASE WHEN prev.covered >= cur.receivable_end
                                        THEN 0
                                        WHEN prev.covered + prev.sales
                                             <= cur.receivable_end
                                        THEN prev.days
                                        ELSE prev.days
                                             * (cur.receivable_end - prev.covered)
                                             / prev.sales
                                   END), 0)
                          FROM (SELECT back.days,
                                       back.sales,
                                       COALESCE(SUM(back.sales) OVER (
                                           ORDER BY back.month_start DESC
                                           ROWS BETWEEN UNBOUNDED PRECEDING
                                                    AND 1 PRECEDING), 0)
                                           AS covered
                                  FROM figures back
                                 WHERE back.company_id = cur.company_id
                                   AND back.month_start <= cur.month_start) prev
                       ) AS dso
                  FROM figures cur
                 WHERE cur.receivable_end > 0
            )
            -- An id that names the company and the month, whatever the day
            -- the report is read on.
            SELECT figures.company_id::bigint * 100000
                       + EXTRACT(YEAR FROM figures.month_start)::int * 12
                       + EXTRACT(MONTH FROM figures.month_start)::int AS id,
                   figures.month_start AS month,
                   figures.company_id,
                   figures.currency_id,
                   figures.sales,
                   figures.receivable_start,
                   figures.receivable_end,
                   figures.receivable_current,
                   figures.receivable_end - figures.receivable_current
                       AS receivable_overdue,
                   ROUND(COALESCE(countback.dso, 0), 1) AS dso,
                   CASE WHEN figures.sales > 0
                        THEN ROUND(figures.receivable_current / figures.sales
                                   * figures.days, 1)
                   END AS best_dso,
                   CASE WHEN figures.receivable_start + figures.sales
                             - figures.receivable_current != 0
                        THEN ROUND(100 * (figures.receivable_start + figures.sales
                                          - figures.receivable_end)
                                   / (figures.receivable_start + figures.sales
                                      - figures.receivable_current), 1)
                   END AS cei
              FROM figures
              LEFT JOIN countback
                ON countback.company_id = figures.company_id
               AND countback.month_start = figures.month_start
             WHERE figures.month_start > date_trunc('month', %(today)s::date)
                       - make_interval(months => %(months_shown)s)
            """,
            today=today,
            months_of_sales=MONTHS_OF_SALES,
            months_shown=MONTHS_SHOWN,
        )
