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
            fields.Date.context_today(self), tz if is_valid_timezone(tz) else "UTC"
        )

    def _query(self, today, tz):
        """The list as of ``today`` (a date) in the time zone ``tz``: the
        contact log's timestamps (UTC) are compared in that zone."""

        def local_date(column):
            return SQL(
                "(%s AT TIME ZONE 'UTC' AT TIME ZONE params.tz)::date",
                SQL(column),
            )

        return SQL(
            """
            WITH params AS (
                SELECT %(today)s::date AS today, %(tz)s::varchar AS tz
            ),
            overdue AS (
                SELECT move.commercial_partner_id AS partner_id,
                       move.company_id,
                       SUM(move.amount_residual_signed) AS amount_overdue,
                       COUNT(*) AS invoice_count,
                       MAX(params.today - move.invoice_date_due) AS max_days_late
                  FROM account_move move
                 CROSS JOIN params
                 WHERE move.move_type = 'out_invoice'
                   AND move.state = 'posted'
                   AND move.payment_state IN ('not_paid', 'partial')
                   AND move.amount_residual > 0
                   AND move.invoice_date_due < params.today
                   AND move.dunning_excluded IS NOT TRUE
                   AND move.dunning_dispute_id IS NULL
                   -- On hold: the customer promised to pay it.
                   AND NOT EXISTS (
                        SELECT 1
                          FROM dunning_promise_account_move_rel rel
                          JOIN dunning_promise promise
                            ON promise.id = rel.promise_id
                         WHERE rel.move_id = move.id
                           AND promise.state = 'open'
                           AND promise.date_grace >= params.today
                   )
              GROUP BY move.commercial_partner_id, move.company_id
            ),
            last_log AS (
                SELECT DISTINCT ON (log.partner_id, log.company_id)
                       log.partner_id, log.company_id, log.date, log.outcome_id,
                       log.callback_at
                  FROM dunning_interaction log
              ORDER BY log.partner_id, log.company_id, log.date DESC, log.id DESC
            ),
            last_contact AS (
                SELECT log.partner_id, log.company_id, MAX(log.date) AS date
                  FROM dunning_interaction log
                 WHERE log.counts_as_contact
              GROUP BY log.partner_id, log.company_id
            ),
            attempts AS (
                SELECT log.partner_id, log.company_id, COUNT(*) AS attempt_count
                  FROM dunning_interaction log
                  LEFT JOIN last_contact
                    ON last_contact.partner_id = log.partner_id
                   AND last_contact.company_id = log.company_id
                 WHERE last_contact.date IS NULL OR log.date > last_contact.date
              GROUP BY log.partner_id, log.company_id
            ),
            broken AS (
                -- The latest broken promise with invoices still open, when the
                -- debtor was not reached on or after the day it was found broken.
                SELECT DISTINCT ON (promise.partner_id, promise.company_id)
                       promise.partner_id, promise.company_id,
                       promise.id AS promise_id
                  FROM dunning_promise promise
                  LEFT JOIN last_contact
                    ON last_contact.partner_id = promise.partner_id
                   AND last_contact.company_id = promise.company_id
                 CROSS JOIN params
                 WHERE promise.state = 'broken'
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
            flags AS (
                SELECT last_log.partner_id, last_log.company_id,
                       %(callback_day)s <= params.today AS callback_due,
                       %(log_day)s >= params.today AS handled_today,
                       last_log.callback_at > last_log.date
                           AND %(callback_day)s > params.today AS callback_later
                  FROM last_log CROSS JOIN params
            ),
            candidate AS (
                SELECT partner_id, company_id FROM overdue
                 UNION
                SELECT partner_id, company_id FROM broken
                 UNION
                SELECT partner_id, company_id FROM flags WHERE callback_due
            )
            SELECT candidate.partner_id::bigint * 100000 + candidate.company_id AS id,
                   candidate.partner_id,
                   candidate.company_id,
                   (partner.dunning_collector_id ->> candidate.company_id::text)::int
                       AS collector_id,
                   COALESCE(overdue.amount_overdue, 0) AS amount_overdue,
                   COALESCE(overdue.invoice_count, 0) AS invoice_count,
                   COALESCE(overdue.max_days_late, 0) AS max_days_late,
                   COALESCE(overdue.amount_overdue * overdue.max_days_late, 0)
                       AS priority,
                   broken.partner_id IS NOT NULL AS broken_promise,
                   broken.promise_id,
                   CASE WHEN broken.partner_id IS NOT NULL THEN 'broken_promise'
                        WHEN flags.callback_due THEN 'callback'
                        ELSE 'overdue'
                   END AS reason,
                   CASE WHEN flags.callback_due THEN last_log.callback_at END
                       AS callback_at,
                   last_contact.date AS last_contact_date,
                   last_log.outcome_id AS last_outcome_id,
                   COALESCE(attempts.attempt_count, 0) AS attempt_count,
                   CASE WHEN broken.partner_id IS NOT NULL THEN 'broken_promise'
                        WHEN flags.callback_due THEN 'callback'
                        WHEN last_log.partner_id IS NULL THEN 'first_call'
                        WHEN last_contact.date IS NULL
                          OR last_contact.date < last_log.date THEN 'retry'
                        ELSE 'follow_up'
                   END AS next_step
              FROM candidate
             CROSS JOIN params
              JOIN res_partner partner ON partner.id = candidate.partner_id
              LEFT JOIN overdue
                ON overdue.partner_id = candidate.partner_id
               AND overdue.company_id = candidate.company_id
              LEFT JOIN broken
                ON broken.partner_id = candidate.partner_id
               AND broken.company_id = candidate.company_id
              LEFT JOIN last_log
                ON last_log.partner_id = candidate.partner_id
               AND last_log.company_id = candidate.company_id
              LEFT JOIN flags
                ON flags.partner_id = candidate.partner_id
               AND flags.company_id = candidate.company_id
              LEFT JOIN last_contact
                ON last_contact.partner_id = candidate.partner_id
               AND last_contact.company_id = candidate.company_id
              LEFT JOIN attempts
                ON attempts.partner_id = candidate.partner_id
               AND attempts.company_id = candidate.company_id
             WHERE partner.dunning_excluded IS NOT TRUE
               AND (partner.dunning_paused_until IS NULL
                    OR partner.dunning_paused_until < params.today)
               AND (
                    flags.callback_due IS TRUE
                    -- Overdue or a broken promise, and nobody already handled it
                    -- today or agreed to call back on a later day.
                    OR ((overdue.partner_id IS NOT NULL
                         OR broken.partner_id IS NOT NULL)
                        AND flags.handled_today IS NOT TRUE
                        AND flags.callback_later IS NOT TRUE)
               )
            """,
            today=today,
            tz=tz,
            contact_day=local_date("last_contact.date"),
            callback_day=local_date("last_log.callback_at"),
            log_day=local_date("last_log.date"),
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
