from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..services.timezones import is_valid_timezone

NEXT_STEPS = [
    ("broken_promise", "Broken promise: agree a new date"),
    ("callback", "Call back as agreed"),
    ("first_call", "First call"),
    ("retry", "Unanswered: try again or write"),
    ("follow_up", "Follow up the overdue invoices"),
]
# The context key through which _search hands the collectors a domain requires
# to the query (see _search).
COLLECTOR_HINT = "dunning_worklist_collector_ids"
REASONS = [
    ("broken_promise", "Broken promise"),
    ("callback", "Call-back due"),
    ("overdue", "Overdue"),
]


class DunningWorklist(models.Model):
    """My collections: the customers a collector should contact today.

    A read-only model over a query run when read, one row per customer and
    company: customers with overdue open invoices (not excluded, not paused; the
    invoices under an open promise until its grace date or under an open
    dispute do not count), customers whose agreed call-back is due, and
    customers who broke a promise and have not been reached since. Broken
    promises come first, then the overdue amount times the days late.

    "Today" is the reader's date (the context's or the user's time zone): the
    query is built for each read (``_table_query``) rather than stored as a SQL
    view, which could only use the database's UTC clock.
    """

    _name = "dunning.worklist"
    _description = "Collections Worklist"
    _auto = False
    _order = "broken_promise desc, priority desc, partner_id"
    _rec_name = "partner_id"
    _depends = {
        "account.move": [
            "amount_residual",
            "amount_residual_signed",
            "commercial_partner_id",
            "company_id",
            "dunning_dispute_id",
            "dunning_excluded",
            "dunning_due_date",
            "invoice_date_due",
            "move_type",
            "payment_state",
            "state",
        ],
        "dunning.interaction": [
            "callback_at",
            "company_id",
            "counts_as_contact",
            "date",
            "outcome_id",
            "partner_id",
        ],
        "dunning.promise": [
            "company_id",
            "date_grace",
            "date_settled",
            "move_ids",
            "partner_id",
            "state",
        ],
        "res.partner": [
            "dunning_collector_id",
            "dunning_excluded",
            "dunning_paused_until",
        ],
    }

    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    collector_id = fields.Many2one("res.users", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    amount_overdue = fields.Monetary(string="Overdue", readonly=True)
    invoice_count = fields.Integer(string="Overdue Invoices", readonly=True)
    max_days_late = fields.Integer(string="Days Late", readonly=True)
    priority = fields.Float(readonly=True, help="Overdue amount × days late.")
    broken_promise = fields.Boolean(string="Promise Broken", readonly=True)
    promise_id = fields.Many2one(
        "dunning.promise",
        string="Broken Promise",
        readonly=True,
        help="The latest promise the customer broke and nobody discussed with "
        "them since.",
    )
    reason = fields.Selection(
        REASONS,
        string="Why",
        readonly=True,
        help="Why the customer is on the list today.",
    )
    callback_at = fields.Datetime(string="Call Back At", readonly=True)
    last_contact_date = fields.Datetime(
        string="Last Contact",
        readonly=True,
        help="The last time a collector spoke with the debtor.",
    )
    last_outcome_id = fields.Many2one("dunning.outcome", readonly=True)
    attempt_count = fields.Integer(
        string="Unanswered Attempts",
        readonly=True,
        help="Contacts logged since the debtor was last reached.",
    )
    next_step = fields.Selection(NEXT_STEPS, readonly=True)
    call_number = fields.Char(string="Phone", compute="_compute_call_number")
    whatsapp_url = fields.Char(string="WhatsApp", compute="_compute_call_number")

    @api.depends("partner_id")
    def _compute_call_number(self):
        for row in self:
            partner = row.partner_id
            row.call_number = (
                False
                if partner.dunning_phone_invalid
                else partner._dunning_call_number()
            )
            number = (
                partner.whatsapp_number
                if partner.whatsapp_number
                and not partner.whatsapp_number_invalid
                and not partner.whatsapp_undeliverable
                and not partner.whatsapp_opt_out
                else False
            )
            row.whatsapp_url = number and f"https://wa.me/{number.lstrip('+')}"

    def init(self):
        # Until 18.0.1.0.0 the list was a SQL view with the database's date.
        tools.drop_view_if_exists(self.env.cr, self._table)

    @property
    def _table_query(self):
        tz = self.env.context.get("tz") or self.env.user.tz
        return self._query(
            fields.Date.context_today(self),
            tz if is_valid_timezone(tz) else "UTC",
            self.env.context.get(COLLECTOR_HINT),
        )

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        # PostgreSQL applies a filter on the collector (a column of the last
        # join) after the per-customer sums: "Mine", the default filter, summed
        # every customer's invoices to keep a quarter of the rows. A domain
        # that can only match given collectors passes them on to the query,
        # which then sums their customers only; the domain still filters the
        # rows, so the answer is the same. Always set, so that no hint outlives
        # its search in a context.
        collector_ids = self._required_collectors(domain)
        if collector_ids or self.env.context.get(COLLECTOR_HINT):
            self = self.with_context(**{COLLECTOR_HINT: collector_ids})
        return super()._search(domain, offset=offset, limit=limit, order=order)

    @api.model
    def _required_collectors(self, domain):
        """The collector ids a row must have to match ``domain``, or None when
        the domain does not say (only conditions joined by AND are read)."""
        terms = list(domain or [])
        if any(isinstance(term, str) and term in ("|", "!") for term in terms):
            return None
        required = None
        for term in terms:
            if not isinstance(term, (list, tuple)) or len(term) != 3:
                continue
            name, operator, value = term
            if name != "collector_id":
                continue
            if operator == "=":
                values = [value]
            elif operator == "in" and isinstance(value, (list, tuple)):
                values = list(value)
            else:
                continue
            if not values or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in values
            ):
                continue
            required = set(values) if required is None else required & set(values)
        return sorted(required) if required else None

    def _query(self, today, tz, collector_ids=None):
        """The list as of ``today`` (a date) in the time zone ``tz``: the
        contact log's timestamps (UTC) are compared in that zone.

        Each source is read once and summed up per customer and company, then
        the summaries are stacked (UNION ALL) and merged by one GROUP BY: no
        summary is joined to another. Joined, they were each materialised and
        the planner, unable to estimate their sizes, re-scanned them once per
        customer (seconds at 100,000 invoices). ``today`` and ``tz`` are literals
        for the same reason: the planner estimates the overdue invoices from
        the due date's statistics. The overdue invoices are read from the
        covering index ``account_move_dunning_open_index`` (account_move.py).
        """

        def local_date(column):
            return SQL("(%s AT TIME ZONE 'UTC' AT TIME ZONE %s)::date", SQL(column), tz)

        def assigned(partner_column, company_column):
            """Whether the customer is one of ``collector_ids``'s (if given)."""
            if not collector_ids:
                return SQL("TRUE")
            return SQL(
                "(%s, %s) IN (SELECT partner_id, company_id FROM assigned)",
                SQL(partner_column),
                SQL(company_column),
            )

        # The customers of the collectors (the column is company-dependent).
        assigned_cte = (
            SQL(
                """
            assigned AS (
                SELECT partner.id AS partner_id, company.id AS company_id
                  FROM res_partner partner
                 CROSS JOIN res_company company
                 WHERE (partner.dunning_collector_id ->> company.id::text)::int
                       IN %s
            ),""",
                tuple(collector_ids or ()),
            )
            if collector_ids
            else SQL()
        )

        return SQL(
            """
            WITH %(assigned_cte)s
            overdue AS (
                SELECT move.commercial_partner_id AS partner_id,
                       move.company_id,
                       -- Late from the earliest unpaid instalment
                       -- (account.move.dunning_due_date); what is overdue of
                       -- an invoice whose last instalment is not due yet is
                       -- read from its instalments, for those few only.
                       SUM(CASE
                           WHEN move.invoice_date_due < %(today)s::date
                           THEN move.amount_residual_signed
                           ELSE (SELECT COALESCE(SUM(line.amount_residual), 0)
                                   FROM account_move_line line
                                   JOIN account_account account
                                     ON account.id = line.account_id
                                  WHERE line.move_id = move.id
                                    AND account.account_type = 'asset_receivable'
                                    AND line.date_maturity < %(today)s::date)
                           END) AS amount_overdue,
                       COUNT(*) AS invoice_count,
                       MAX(%(today)s::date - move.dunning_due_date) AS max_days_late
                  FROM account_move move
                 WHERE move.move_type = 'out_invoice'
                   AND move.state = 'posted'
                   AND move.payment_state IN ('not_paid', 'partial')
                   AND move.amount_residual > 0
                   AND move.dunning_due_date < %(today)s::date
                   AND move.dunning_excluded IS NOT TRUE
                   AND move.dunning_dispute_id IS NULL
                   AND %(move_assigned)s
                   -- On hold: the customer promised to pay it.
                   AND NOT EXISTS (
                        SELECT 1
                          FROM dunning_promise_account_move_rel rel
                          JOIN dunning_promise promise
                            ON promise.id = rel.promise_id
                         WHERE rel.move_id = move.id
                           AND promise.state = 'open'
                           AND promise.date_grace >= %(today)s::date
                   )
              GROUP BY move.commercial_partner_id, move.company_id
            ),
            contact_log AS (
                -- The last log (its date, outcome and call-back), the last time
                -- the debtor was reached, and the logs since then, in one pass.
                SELECT log.partner_id, log.company_id,
                       MAX(log.date) AS last_log_date,
                       MAX(log.outcome_id) FILTER (WHERE log.rank = 1)
                           AS last_outcome_id,
                       MAX(log.callback_at) FILTER (WHERE log.rank = 1)
                           AS last_callback_at,
                       MAX(log.last_contact) AS last_contact_date,
                       COUNT(*) FILTER (
                           WHERE log.last_contact IS NULL
                              OR log.date > log.last_contact
                       ) AS attempt_count
                  FROM (
                    SELECT log.partner_id, log.company_id, log.date,
                           log.outcome_id, log.callback_at,
                           ROW_NUMBER() OVER (
                               PARTITION BY log.partner_id, log.company_id
                               ORDER BY log.date DESC, log.id DESC
                           ) AS rank,
                           MAX(log.date) FILTER (WHERE log.counts_as_contact) OVER (
                               PARTITION BY log.partner_id, log.company_id
                           ) AS last_contact
                      FROM dunning_interaction log
                     WHERE %(log_assigned)s
                  ) log
              GROUP BY log.partner_id, log.company_id
            ),
            broken AS (
                -- The latest broken promise with invoices still open, when the
                -- debtor was not reached on or after the day it was found broken.
                SELECT DISTINCT ON (promise.partner_id, promise.company_id)
                       promise.partner_id, promise.company_id,
                       promise.id AS promise_id
                  FROM dunning_promise promise
                 CROSS JOIN LATERAL (
                        SELECT MAX(log.date) AS date
                          FROM dunning_interaction log
                         WHERE log.partner_id = promise.partner_id
                           AND log.company_id = promise.company_id
                           AND log.counts_as_contact
                 ) last_contact
                 WHERE promise.state = 'broken'
                   AND %(promise_assigned)s
                   AND (last_contact.date IS NULL
                        OR %(contact_day)s < promise.date_settled)
                   AND EXISTS (
                        SELECT 1
                          FROM dunning_promise_account_move_rel rel
                          JOIN account_move move ON move.id = rel.move_id
                         WHERE rel.promise_id = promise.id
                           AND move.state = 'posted'
                           AND move.payment_state IN ('not_paid', 'partial')
                           AND move.amount_residual > 0
                   )
              ORDER BY promise.partner_id, promise.company_id,
                       promise.date_settled DESC, promise.id DESC
            ),
            summary AS (
                SELECT source.partner_id, source.company_id,
                       BOOL_OR(source.overdue) AS overdue,
                       MAX(source.amount_overdue) AS amount_overdue,
                       MAX(source.invoice_count) AS invoice_count,
                       MAX(source.max_days_late) AS max_days_late,
                       MAX(source.promise_id) AS promise_id,
                       MAX(source.last_log_date) AS last_log_date,
                       MAX(source.last_outcome_id) AS last_outcome_id,
                       MAX(source.last_callback_at) AS last_callback_at,
                       MAX(source.last_contact_date) AS last_contact_date,
                       MAX(source.attempt_count) AS attempt_count
                  FROM (
                    SELECT partner_id, company_id, TRUE AS overdue,
                           amount_overdue, invoice_count, max_days_late,
                           NULL::int AS promise_id,
                           NULL::timestamp AS last_log_date,
                           NULL::int AS last_outcome_id,
                           NULL::timestamp AS last_callback_at,
                           NULL::timestamp AS last_contact_date,
                           NULL::bigint AS attempt_count
                      FROM overdue
                     UNION ALL
                    SELECT partner_id, company_id, FALSE, NULL, NULL, NULL,
                           promise_id, NULL, NULL, NULL, NULL, NULL
                      FROM broken
                     UNION ALL
                    SELECT partner_id, company_id, FALSE, NULL, NULL, NULL, NULL,
                           last_log_date, last_outcome_id, last_callback_at,
                           last_contact_date, attempt_count
                      FROM contact_log
                  ) source
              GROUP BY source.partner_id, source.company_id
            ),
            flags AS (
                SELECT summary.*,
                       %(callback_day)s <= %(today)s::date AS callback_due,
                       %(log_day)s >= %(today)s::date AS handled_today,
                       summary.last_callback_at > summary.last_log_date
                           AND %(callback_day)s > %(today)s::date AS callback_later
                  FROM summary
            )
            SELECT flags.partner_id::bigint * 100000 + flags.company_id AS id,
                   flags.partner_id,
                   flags.company_id,
                   (partner.dunning_collector_id ->> flags.company_id::text)::int
                       AS collector_id,
                   COALESCE(flags.amount_overdue, 0) AS amount_overdue,
                   COALESCE(flags.invoice_count, 0) AS invoice_count,
                   COALESCE(flags.max_days_late, 0) AS max_days_late,
                   COALESCE(flags.amount_overdue * flags.max_days_late, 0)
                       AS priority,
                   flags.promise_id IS NOT NULL AS broken_promise,
                   flags.promise_id,
                   CASE WHEN flags.promise_id IS NOT NULL THEN 'broken_promise'
                        WHEN flags.callback_due THEN 'callback'
                        ELSE 'overdue'
                   END AS reason,
                   CASE WHEN flags.callback_due THEN flags.last_callback_at END
                       AS callback_at,
                   flags.last_contact_date,
                   flags.last_outcome_id,
                   COALESCE(flags.attempt_count, 0) AS attempt_count,
                   CASE WHEN flags.promise_id IS NOT NULL THEN 'broken_promise'
                        WHEN flags.callback_due THEN 'callback'
                        WHEN flags.last_log_date IS NULL THEN 'first_call'
                        WHEN flags.last_contact_date IS NULL
                          OR flags.last_contact_date < flags.last_log_date
                            THEN 'retry'
                        ELSE 'follow_up'
                   END AS next_step
              FROM flags
              JOIN res_partner partner ON partner.id = flags.partner_id
             WHERE partner.dunning_excluded IS NOT TRUE
               AND (partner.dunning_paused_until IS NULL
                    OR partner.dunning_paused_until < %(today)s::date)
               AND (
                    flags.callback_due IS TRUE
                    -- Overdue or a broken promise, and nobody already handled it
                    -- today or agreed to call back on a later day.
                    OR ((flags.overdue OR flags.promise_id IS NOT NULL)
                        AND flags.handled_today IS NOT TRUE
                        AND flags.callback_later IS NOT TRUE)
               )
            """,
            today=today,
            contact_day=local_date("last_contact.date"),
            callback_day=local_date("summary.last_callback_at"),
            log_day=local_date("summary.last_log_date"),
            assigned_cte=assigned_cte,
            move_assigned=assigned("move.commercial_partner_id", "move.company_id"),
            log_assigned=assigned("log.partner_id", "log.company_id"),
            promise_assigned=assigned("promise.partner_id", "promise.company_id"),
        )

    # ------------------------------------------------------------------------------
    # Row buttons
    # ------------------------------------------------------------------------------

    def action_log_interaction(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_interaction_log_action"
        )
        action["context"] = {
            "default_partner_id": self.partner_id.id,
            "default_company_id": self.company_id.id,
        }
        return action

    def action_whatsapp(self):
        """Write to the customer on WhatsApp (templates outside the 24 hours)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_whatsapp_compose_action"
        )
        action["context"] = {
            "active_model": "res.partner",
            "active_id": self.partner_id.id,
            "allowed_company_ids": [self.company_id.id],
        }
        return action

    def action_register_promise(self):
        self.ensure_one()
        if "dunning.promise.create" not in self.env:
            raise UserError(_("Payment promises are not available in this database."))
        return {
            "type": "ir.actions.act_window",
            "res_model": "dunning.promise.create",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_partner_id": self.partner_id.id,
                "default_company_id": self.company_id.id,
            },
        }

    def action_open_partner(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": self.partner_id.id,
            "view_mode": "form",
        }

    def action_open_invoices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.account_move_action_dunning"
        )
        action["domain"] = [
            ("commercial_partner_id", "=", self.partner_id.id),
            ("company_id", "=", self.company_id.id),
        ]
        action["name"] = _("Invoices of %(customer)s", customer=self.partner_id.name)
        return action
