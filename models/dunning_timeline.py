from odoo import _, api, fields, models, tools
from odoo.tools import SQL, format_date

PROMISE_RESULTS = [
    ("kept", "Kept"),
    ("partial", "Partially kept"),
    ("broken", "Broken"),
    ("cancelled", "Cancelled"),
]

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
    promise_state = fields.Selection(
        PROMISE_RESULTS,
        string="Promise Result",
        readonly=True,
        help="On the row of a settled promise: how it ended.",
    )
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

    def _query(self):
        # Ids: the source id times 8 plus the row's rank keeps them unique.
        # Payments and settlements are known to the day only: they are placed at
        # noon, a settlement a minute after the payments that settled it.
        return SQL(
            """
            SELECT reminder.id::bigint * 8 AS id,
                   reminder.partner_id, reminder.company_id,
                   COALESCE(reminder.sent_at, reminder.scheduled_at) AS date,
                   'reminder'::varchar AS kind,
                   'dunning.reminder'::varchar AS res_model,
                   reminder.id AS res_id,
                   reminder.user_id,
                   reminder.currency_id,
                   reminder.amount_due AS amount,
                   NULL::varchar AS promise_state
              FROM dunning_reminder reminder
             WHERE reminder.state NOT IN ('cancelled')
             UNION ALL
            SELECT log.id::bigint * 8 + 1, log.partner_id, log.company_id, log.date,
                   'contact', 'dunning.interaction', log.id, log.user_id,
                   NULL, NULL, NULL
              FROM dunning_interaction log
             UNION ALL
            SELECT promise.id::bigint * 8 + 2, promise.partner_id,
                   promise.company_id, promise.create_date,
                   'promise', 'dunning.promise', promise.id, promise.user_id,
                   promise.currency_id, promise.amount, NULL
              FROM dunning_promise promise
             UNION ALL
            SELECT promise.id::bigint * 8 + 3, promise.partner_id,
                   promise.company_id,
                   promise.date_settled::timestamp + interval '12 hours 1 minute',
                   'promise', 'dunning.promise', promise.id, promise.user_id,
                   promise.currency_id, promise.amount_paid, promise.state
              FROM dunning_promise promise
             WHERE promise.state != 'open' AND promise.date_settled IS NOT NULL
             UNION ALL
            SELECT payment_move.id::bigint * 8 + 4,
                   invoice.commercial_partner_id, invoice.company_id,
                   MAX(payment_move.date)::timestamp + interval '12 hours',
                   'payment', 'account.move', payment_move.id,
                   NULL,
                   MAX(company.currency_id),
                   SUM(partial.amount),
                   NULL
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
            """
        )

    @api.depends("res_model", "res_id", "kind", "amount", "promise_state")
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
                level=source.level_id.name or source._kind_label(),
                channel=channel.get(source.channel),
                state=state.get(source.state),
            )
        if self.kind == "contact":
            return source._chatter_summary()
        if self.kind == "payment":
            return _("Payment %(reference)s", reference=source.name)
        if self.kind == "promise":
            return self._describe_promise(source)
        return source.display_name

    def _describe_promise(self, promise):
        currency = promise.currency_id
        values = {
            "amount": currency.format(promise.amount),
            "paid": currency.format(promise.amount_paid),
            "date": format_date(self.env, promise.date_promised),
        }
        if not self.promise_state:
            if promise.plan_id:
                return _("Payment plan instalment: %(amount)s by %(date)s", **values)
            return _("Promised to pay %(amount)s by %(date)s", **values)
        if self.promise_state == "kept":
            return _("Promise kept: %(amount)s due by %(date)s", **values)
        if self.promise_state == "partial":
            return _(
                "Promise partially kept: %(paid)s paid of the %(amount)s due by "
                "%(date)s",
                **values,
            )
        if self.promise_state == "broken":
            return _("Promise broken: %(amount)s due by %(date)s not paid", **values)
        return _("Promise cancelled: %(amount)s by %(date)s", **values)
