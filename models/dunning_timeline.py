from odoo import _, api, fields, models, tools
from odoo.tools import SQL

TIMELINE_KINDS = [
    ("reminder", "Reminder"),
    ("contact", "Contact"),
    ("promise", "Promise"),
    ("payment", "Payment"),
]


class DunningTimeline(models.Model):
    """A customer's collection history in one list: reminders, contacts, promises
    and payments, newest first.

    A SQL view (a UNION over the four sources) rather than an HTML field: it can
    be filtered, grouped and tested like any model, and the partner form shows
    it as a one2many. Rows point back to their source (``res_model``,
    ``res_id``); the description is built in Python, in the reader's language.
    """

    _name = "dunning.timeline"
    _description = "Collection Timeline"
    _auto = False
    _order = "date desc, id desc"

    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    date = fields.Datetime(readonly=True)
    kind = fields.Selection(TIMELINE_KINDS, readonly=True)
    res_model = fields.Char(string="Source Model", readonly=True)
    res_id = fields.Integer(string="Source Record", readonly=True)
    user_id = fields.Many2one("res.users", string="By", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    amount = fields.Monetary(readonly=True)
    description = fields.Char(compute="_compute_description")

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
        """The customer's promises; empty until payment promises exist."""
        return SQL(
            """SELECT NULL::bigint AS id, NULL::int AS partner_id,
                      NULL::int AS company_id, NULL::timestamp AS date,
                      NULL::varchar AS kind, NULL::varchar AS res_model,
                      NULL::int AS res_id, NULL::int AS user_id,
                      NULL::int AS currency_id, NULL::numeric AS amount
                WHERE FALSE"""
        )

    def _query(self):
        # Ids: the source id times 4 plus the kind's rank keeps them unique.
        return SQL(
            """
            SELECT reminder.id::bigint * 4 AS id,
                   reminder.partner_id, reminder.company_id,
                   COALESCE(reminder.sent_at, reminder.scheduled_at) AS date,
                   'reminder'::varchar AS kind,
                   'dunning.reminder'::varchar AS res_model,
                   reminder.id AS res_id,
                   reminder.user_id,
                   reminder.currency_id,
                   reminder.amount_due AS amount
              FROM dunning_reminder reminder
             WHERE reminder.state NOT IN ('cancelled')
             UNION ALL
            SELECT log.id::bigint * 4 + 1, log.partner_id, log.company_id, log.date,
                   'contact', 'dunning.interaction', log.id, log.user_id,
                   NULL, NULL
              FROM dunning_interaction log
             UNION ALL
            (%(promises)s)
             UNION ALL
            SELECT payment_move.id::bigint * 4 + 3,
                   invoice.commercial_partner_id, invoice.company_id,
                   MAX(payment_move.date)::timestamp + interval '12 hours',
                   'payment', 'account.move', payment_move.id,
                   NULL,
                   MAX(company.currency_id),
                   SUM(partial.amount)
              FROM account_partial_reconcile partial
              JOIN account_move_line invoice_line
                ON invoice_line.id = partial.debit_move_id
              JOIN account_move invoice ON invoice.id = invoice_line.move_id
              JOIN account_move_line payment_line
                ON payment_line.id = partial.credit_move_id
              JOIN account_move payment_move ON payment_move.id = payment_line.move_id
              JOIN res_company company ON company.id = invoice.company_id
             WHERE invoice.move_type = 'out_invoice'
               AND payment_move.move_type = 'entry'
          GROUP BY payment_move.id, invoice.commercial_partner_id, invoice.company_id
            """,
            promises=self._promise_query(),
        )

    @api.depends("res_model", "res_id", "kind", "amount")
    def _compute_description(self):
        by_model = {}
        for row in self:
            by_model.setdefault(row.res_model, set()).add(row.res_id)
        records = {
            model: self.env[model].browse(ids).exists()
            for model, ids in by_model.items()
            if model in self.env
        }
        for row in self:
            source = records.get(row.res_model, self.env["res.partner"]).filtered(
                lambda r, row=row: r.id == row.res_id
            )
            row.description = source and row._describe(source) or False

    def _describe(self, source):
        self.ensure_one()
        if self.kind == "reminder":
            state = dict(source._fields["state"]._description_selection(self.env))
            channel = dict(source._fields["channel"]._description_selection(self.env))
            return _(
                "%(level)s by %(channel)s (%(state)s)",
                level=source.level_id.name,
                channel=channel.get(source.channel),
                state=state.get(source.state),
            )
        if self.kind == "contact":
            return source._chatter_summary()
        if self.kind == "payment":
            return _("Payment %(reference)s", reference=source.name)
        return source.display_name
