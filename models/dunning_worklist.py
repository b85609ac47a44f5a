from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError
from odoo.tools import SQL

NEXT_STEPS = [
    ("broken_promise", "Broken promise: agree a new date"),
    ("callback", "Call back as agreed"),
    ("first_call", "First call"),
    ("retry", "Unanswered: try again or write"),
    ("follow_up", "Follow up the overdue invoices"),
]


class DunningWorklist(models.Model):
    """My collections: the customers a collector should contact today.

    A read-only SQL view, computed when read, one row per customer and company:
    customers with overdue open invoices (not excluded, not paused, not only
    under dispute) that nobody contacted today, customers whose agreed call-back
    is due, and customers who broke a promise. Broken promises come first, then
    the overdue amount times the days late.

    "Today" is the database's UTC date: a view cannot take parameters, and the
    ORM alternative (stored fields on res.partner) would have to be recomputed
    for every customer every night.
    """

    _name = "dunning.worklist"
    _description = "Collections Worklist"
    _auto = False
    _order = "broken_promise desc, priority desc, partner_id"
    _rec_name = "partner_id"

    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    collector_id = fields.Many2one("res.users", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    amount_overdue = fields.Monetary(string="Overdue", readonly=True)
    invoice_count = fields.Integer(string="Overdue Invoices", readonly=True)
    max_days_late = fields.Integer(string="Days Late", readonly=True)
    priority = fields.Float(readonly=True, help="Overdue amount × days late.")
    broken_promise = fields.Boolean(readonly=True)
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
                and not partner.whatsapp_opt_out
                else False
            )
            row.whatsapp_url = number and f"https://wa.me/{number.lstrip('+')}"

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                "CREATE OR REPLACE VIEW %s AS (%s)",
                SQL.identifier(self._table),
                self._query(),
            )
        )

    def _broken_promise_query(self):
        """Customers with a promise broken since their last contact."""
        return SQL(
            "SELECT NULL::int AS partner_id, NULL::int AS company_id WHERE FALSE"
        )

    def _query(self):
        return SQL(
            """
            WITH params AS (
                SELECT (now() AT TIME ZONE 'UTC')::date AS today
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
            broken AS (%(broken)s),
            candidate AS (
                SELECT partner_id, company_id FROM overdue
                 UNION
                SELECT partner_id, company_id FROM broken
                 UNION
                SELECT last_log.partner_id, last_log.company_id
                  FROM last_log CROSS JOIN params
                 WHERE last_log.callback_at::date <= params.today
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
                   CASE WHEN last_log.callback_at::date <= params.today
                        THEN last_log.callback_at END AS callback_at,
                   last_contact.date AS last_contact_date,
                   last_log.outcome_id AS last_outcome_id,
                   COALESCE(attempts.attempt_count, 0) AS attempt_count,
                   CASE WHEN broken.partner_id IS NOT NULL THEN 'broken_promise'
                        WHEN last_log.callback_at::date <= params.today
                        THEN 'callback'
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
                    broken.partner_id IS NOT NULL
                    OR last_log.callback_at::date <= params.today
                    -- Overdue, and nobody already handled it today or agreed
                    -- to call back on a later day.
                    OR (overdue.partner_id IS NOT NULL
                        AND (last_log.date IS NULL
                             OR last_log.date::date < params.today)
                        AND (last_log.callback_at IS NULL
                             OR last_log.callback_at < last_log.date))
               )
            """,
            broken=self._broken_promise_query(),
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
