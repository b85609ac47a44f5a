from odoo import fields, models, tools
from odoo.tools import SQL

# A payment counts for a contact when it is dated within this many days after it.
COLLECTION_WINDOW_DAYS = 7


class DunningCollectorReport(models.Model):
    """Collectors' results, for supervision (pivot and graph).

    One row per contact that reached the debtor (``counts_as_contact``) with
    ``amount_collected``: the payments reconciled with the customer's invoices of
    that company and dated from the contact's day to seven days after it. A
    payment that follows several contacts counts once, for the latest contact
    before it, so that the amounts add up per collector. Each promise adds a row
    of its own for the collector who obtained it (made / kept / partial /
    broken), dated when it was made.
    """

    _name = "dunning.collector.report"
    _description = "Collector Results"
    _auto = False
    _order = "date desc"

    date = fields.Datetime(readonly=True)
    user_id = fields.Many2one("res.users", string="Collector", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    outcome_id = fields.Many2one("dunning.outcome", readonly=True)
    contact_count = fields.Integer(string="Contacts", readonly=True)
    amount_collected = fields.Monetary(string="Collected within 7 Days", readonly=True)
    attempt_count = fields.Integer(
        string="Attempts",
        readonly=True,
        help="Everything the collectors logged: calls, visits, messages, "
        "answered or not.",
    )
    right_party_count = fields.Integer(
        string="Right-Party Contacts",
        readonly=True,
        help="Attempts that reached the debtor in person, identity confirmed.",
    )
    right_party_rate = fields.Float(
        string="Right-Party Contact Rate (%)",
        readonly=True,
        aggregator="avg",
        help="Right-party contacts / attempts x 100.",
    )
    promise_count = fields.Integer(string="Promises Made", readonly=True)
    promise_kept_count = fields.Integer(string="Promises Kept", readonly=True)
    promise_partial_count = fields.Integer(
        string="Promises Partially Kept", readonly=True
    )
    promise_broken_count = fields.Integer(string="Promises Broken", readonly=True)
    promise_amount = fields.Monetary(string="Amount Promised", readonly=True)
    promise_kept_rate = fields.Float(
        string="Promises Kept (%)",
        readonly=True,
        aggregator="avg",
        help="Promises kept in full / promises whose date has passed (kept, "
        "partly kept or broken) x 100; open promises do not count yet.",
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                "CREATE OR REPLACE VIEW %s AS (%s)",
                SQL.identifier(self._table),
                self._query(),
            )
        )

    def _promise_query(self):
        """One row per promise, for the collector who obtained it (its
        ``user_id``), dated when it was made. Withdrawn promises (cancelled by
        hand, or with the rest of a broken plan) are left out."""
        return SQL(
            """SELECT promise.id::bigint * 2 + 1 AS id,
                      promise.create_date AS date,
                      promise.user_id, promise.partner_id, promise.company_id,
                      log.outcome_id,
                      0 AS contact_count, 0::numeric AS amount_collected,
                      0 AS attempt_count, 0 AS right_party_count,
                      NULL::float AS right_party_rate,
                      1 AS promise_count,
                      (promise.state = 'kept')::int AS promise_kept_count,
                      (promise.state = 'partial')::int AS promise_partial_count,
                      (promise.state = 'broken')::int AS promise_broken_count,
                      promise.amount AS promise_amount,
                      CASE WHEN promise.state = 'kept' THEN 100.0
                           WHEN promise.state IN ('partial', 'broken') THEN 0.0
                      END AS promise_kept_rate
                 FROM dunning_promise promise
                 LEFT JOIN LATERAL (
                      SELECT interaction.outcome_id
                        FROM dunning_interaction interaction
                       WHERE interaction.promise_id = promise.id
                       LIMIT 1
                 ) log ON TRUE
                WHERE promise.state != 'cancelled'"""
        )

    def _query(self):
        return SQL(
            """
            WITH attempt AS (
                SELECT log.id, log.date, log.user_id, log.partner_id,
                       log.company_id, log.outcome_id, log.counts_as_contact,
                       log.counts_as_contact AND log.identity_confirmed
                           AND NOT COALESCE(log.third_party, FALSE) AS right_party
                  FROM dunning_interaction log
            ),
            contact AS (
                SELECT * FROM attempt WHERE attempt.counts_as_contact
            ),
            payment AS (
                -- Payments (journal entries, not credit notes) reconciled with
                -- the customer's invoices, in company currency.
                SELECT invoice.commercial_partner_id AS partner_id,
                       invoice.company_id,
                       payment_move.id AS move_id,
                       payment_move.date,
                       SUM(partial.amount) AS amount
                  FROM account_partial_reconcile partial
                  JOIN account_move_line invoice_line
                    ON invoice_line.id = partial.debit_move_id
                  JOIN account_move invoice ON invoice.id = invoice_line.move_id
                  JOIN account_move_line payment_line
                    ON payment_line.id = partial.credit_move_id
                  JOIN account_move payment_move
                    ON payment_move.id = payment_line.move_id
                 WHERE invoice.move_type = 'out_invoice'
                   AND payment_move.move_type = 'entry'
              GROUP BY invoice.commercial_partner_id, invoice.company_id,
                       payment_move.id, payment_move.date
            ),
            credited AS (
                -- Each payment goes to the latest contact on or before its day,
                -- if that contact is at most %(days)s days older.
                SELECT DISTINCT ON (payment.move_id, payment.partner_id)
                       contact.id AS contact_id, payment.amount
                  FROM payment
                  JOIN contact
                    ON contact.partner_id = payment.partner_id
                   AND contact.company_id = payment.company_id
                   AND contact.date::date <= payment.date
                   AND payment.date <= contact.date::date + %(days)s
              ORDER BY payment.move_id, payment.partner_id,
                       contact.date DESC, contact.id DESC
            )
            SELECT attempt.id::bigint * 2 AS id,
                   attempt.date, attempt.user_id, attempt.partner_id,
                   attempt.company_id, attempt.outcome_id,
                   attempt.counts_as_contact::int AS contact_count,
                   COALESCE(SUM(credited.amount), 0) AS amount_collected,
                   1 AS attempt_count,
                   attempt.right_party::int AS right_party_count,
                   CASE WHEN attempt.right_party THEN 100.0 ELSE 0.0 END
                       AS right_party_rate,
                   0 AS promise_count, 0 AS promise_kept_count,
                   0 AS promise_partial_count, 0 AS promise_broken_count,
                   0::numeric AS promise_amount,
                   NULL::float AS promise_kept_rate
              FROM attempt
              LEFT JOIN credited ON credited.contact_id = attempt.id
          GROUP BY attempt.id, attempt.date, attempt.user_id, attempt.partner_id,
                   attempt.company_id, attempt.outcome_id,
                   attempt.counts_as_contact, attempt.right_party
             UNION ALL
            (%(promises)s)
            """,
            days=COLLECTION_WINDOW_DAYS,
            promises=self._promise_query(),
        )
