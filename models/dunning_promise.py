from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_date, split_every

# When a customer has no collection policy at all, promises still follow sensible
# limits: the policy's own defaults.
DEFAULT_MAX_DAYS = 30
DEFAULT_GRACE_DAYS = 2

PROMISE_SOURCES = [
    ("manual", "Registered by hand"),
    ("call", "Phone call"),
    ("portal", "Customer page"),
    ("whatsapp", "WhatsApp"),
    ("plan", "Payment plan"),
]
PROMISE_CHANNELS = [
    ("phone", "Phone"),
    ("email", "Email"),
    ("whatsapp", "WhatsApp"),
    ("portal", "Customer page"),
    ("in_person", "In person"),
    ("other", "Other"),
]


class DunningPromise(models.Model):
    """A customer's promise to pay some invoices by a date.

    While a promise is open its invoices get no reminders until ``date_grace``
    (the promised date plus the policy's grace days). Payments reconciled with the
    invoices after the promise was made count towards it; after the grace date
    the promise check settles it as kept, partial or broken, and a broken promise
    escalates its invoices to their next level at once.
    """

    _name = "dunning.promise"
    _description = "Payment Promise"
    _inherit = ["dunning.reader.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "date_promised desc, id desc"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        readonly=True,
        default=lambda self: self.env.company,
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="restrict",
        tracking=True,
        help="The commercial entity that promised to pay.",
    )
    move_ids = fields.Many2many(
        "account.move",
        "dunning_promise_account_move_rel",
        "promise_id",
        "move_id",
        string="Invoices",
        required=True,
        check_company=True,
        domain="[('commercial_partner_id', '=', partner_id), "
        "('move_type', '=', 'out_invoice'), ('state', '=', 'posted')]",
    )
    currency_id = fields.Many2one("res.currency", required=True)
    amount = fields.Monetary(
        string="Promised Amount",
        required=True,
        tracking=True,
        currency_field="currency_id",
    )
    amount_paid = fields.Monetary(
        readonly=True,
        copy=False,
        currency_field="currency_id",
        help="Payments reconciled with the invoices after the promise was made, "
        "up to the promised amount. Updated by the promise check and on payment.",
    )
    amount_due = fields.Monetary(
        string="Still Due",
        compute="_compute_amount_due",
        currency_field="currency_id",
        help="What the customer still owes on the promise's invoices.",
    )
    date_promised = fields.Date(
        string="Promised Date", required=True, index=True, tracking=True
    )
    date_grace = fields.Date(
        string="Grace Until",
        compute="_compute_date_grace",
        store=True,
        index=True,
        help="No reminder about the invoices until this day included: the "
        "promised date plus the policy's grace days.",
    )
    state = fields.Selection(
        [
            ("open", "Open"),
            ("kept", "Kept"),
            ("partial", "Partially kept"),
            ("broken", "Broken"),
            ("cancelled", "Cancelled"),
        ],
        default="open",
        required=True,
        readonly=True,
        index=True,
        tracking=True,
        copy=False,
    )
    user_id = fields.Many2one(
        "res.users",
        string="Collector",
        default=lambda self: self.env.user,
        index=True,
        tracking=True,
        domain="[('share', '=', False)]",
        help="Who obtained the promise: its follow-up is assigned to them.",
    )
    policy_id = fields.Many2one(
        "dunning.policy",
        readonly=True,
        help="The collection policy of the invoices when the promise was made.",
    )
    source = fields.Selection(
        PROMISE_SOURCES, default="manual", required=True, readonly=True
    )
    channel = fields.Selection(
        PROMISE_CHANNELS,
        default="phone",
        help="How the customer made the promise.",
    )
    note = fields.Text()
    date_settled = fields.Date(
        string="Settled On",
        readonly=True,
        copy=False,
        help="The day the promise was found kept, partial or broken.",
    )
    confirmation_sent_at = fields.Datetime(
        readonly=True,
        copy=False,
        help="When the written confirmation of the agreement left.",
    )
    plan_id = fields.Many2one(
        "dunning.payment.plan",
        string="Payment Plan",
        readonly=True,
        index="btree_not_null",
        ondelete="cascade",
    )
    reminder_sent_at = fields.Datetime(
        string="Reminder Sent",
        readonly=True,
        copy=False,
        help="When the reminder of this instalment, a few days before its date, left.",
    )
    interaction_ids = fields.One2many(
        "dunning.interaction", "promise_id", string="Contacts", readonly=True
    )
    # Partial reconciliations are numbered in order of creation: those above this
    # mark were made after the promise, whatever the dates of their lines.
    reconcile_watermark = fields.Integer(readonly=True, copy=False)

    _sql_constraints = [
        (
            "amount_positive",
            "CHECK(amount > 0)",
            "The promised amount must be positive.",
        ),
    ]

    @api.depends("partner_id", "amount", "currency_id", "date_promised")
    def _compute_display_name(self):
        for promise in self:
            promise.display_name = _(
                "%(partner)s: %(amount)s by %(date)s",
                partner=promise.partner_id.display_name or "",
                amount=promise.currency_id.format(promise.amount or 0.0)
                if promise.currency_id
                else "",
                date=format_date(promise.env, promise.date_promised)
                if promise.date_promised
                else "",
            )

    @api.depends("move_ids.amount_residual")
    def _compute_amount_due(self):
        for promise in self:
            promise.amount_due = sum(
                promise.move_ids.filtered(lambda m: m.state == "posted").mapped(
                    "amount_residual"
                )
            )

    @api.depends("date_promised", "policy_id.promise_grace_days")
    def _compute_date_grace(self):
        for promise in self:
            if not promise.date_promised:
                promise.date_grace = False
                continue
            grace = (
                promise.policy_id.promise_grace_days
                if promise.policy_id
                else DEFAULT_GRACE_DAYS
            )
            promise.date_grace = promise.date_promised + timedelta(days=grace)

    @api.constrains("move_ids", "partner_id", "currency_id")
    def _check_moves(self):
        for promise in self:
            moves = promise.move_ids
            if moves.filtered(lambda m: m.move_type != "out_invoice"):
                raise ValidationError(
                    _("A payment promise covers customer invoices only.")
                )
            if moves.commercial_partner_id != promise.partner_id:
                raise ValidationError(
                    _(
                        "The invoices of a payment promise must all belong to "
                        "%(partner)s.",
                        partner=promise.partner_id.display_name,
                    )
                )
            if moves.currency_id != promise.currency_id:
                raise ValidationError(
                    _(
                        "The invoices of a payment promise must all be in "
                        "%(currency)s.",
                        currency=promise.currency_id.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        watermark = self._reconcile_watermark()
        for vals in vals_list:
            vals.setdefault("reconcile_watermark", watermark)
            if vals.get("partner_id"):
                partner = self.env["res.partner"].browse(vals["partner_id"])
                vals["partner_id"] = partner.commercial_partner_id.id
        promises = super().create(vals_list)
        for promise in promises.filtered(lambda p: not p.policy_id):
            promise.policy_id = promise.move_ids[:1]._get_dunning_policy()
        return promises

    # ------------------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------------------

    def action_cancel(self):
        """Withdraw open promises: their invoices go back to the reminder flow."""
        open_promises = self.filtered(lambda p: p.state == "open")
        open_promises.write({"state": "cancelled", "date_settled": fields.Date.today()})
        return True

    def action_send_confirmation(self):
        self.ensure_one()
        if self.state != "open":
            raise UserError(_("Only an open promise can be confirmed to the customer."))
        self._send_confirmation()
        return True

    def action_check(self):
        """Evaluate the promise now, as the scheduled check would."""
        # The evaluation writes the paid amount and the state, which the collector
        # may not edit by hand; it is the system's job, whoever asks for it.
        self.sudo()._dunning_evaluate()
        return True

    def action_view_invoices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action["domain"] = [("id", "in", self.move_ids.ids)]
        action["context"] = {"create": False}
        return action

    # ------------------------------------------------------------------------------
    # Crons
    # ------------------------------------------------------------------------------

    @api.model
    def _cron_check(self, batch_size=500):
        """Evaluate the open promises of every company: paid ones are kept at once,
        the others are settled after their grace date. Idempotent: a promise that
        left ``open`` is never evaluated again."""
        promises = self.search([("state", "=", "open")], order="id")
        done = 0
        for ids in split_every(batch_size, promises.ids):
            batch = self.browse(ids)
            for company, company_promises in batch.grouped("company_id").items():
                company_promises.with_company(company)._dunning_evaluate()
            done += len(ids)
            self.env["ir.cron"]._notify_progress(
                done=done, remaining=len(promises) - done
            )
            self.env["dunning.reminder"]._commit_between_batches()
        self._send_instalment_reminders(fields.Datetime.now())

    @api.model
    def _send_instalment_reminders(self, now):
        """Remind the customer of each plan instalment a few days before its
        date, by email and, when the policy confirms promises by WhatsApp, by
        WhatsApp: queued in the outbox, which sends them inside the contact
        hours. ``reminder_sent_at`` makes it once per instalment."""
        today = fields.Date.context_today(self)
        instalments = self.search(
            [
                ("state", "=", "open"),
                ("plan_id", "!=", False),
                ("reminder_sent_at", "=", False),
                ("date_promised", ">=", today),
            ]
        )
        for instalment in instalments:
            policy = instalment.policy_id
            lead = policy.plan_reminder_days if policy else 3
            if not lead or instalment.date_promised - timedelta(days=lead) > today:
                continue
            # Not on the day the plan was agreed: the agreement just told them.
            if instalment.plan_id.date_agreed >= today:
                continue
            channels = ["email"]
            if policy and policy.promise_confirm_whatsapp:
                channels.append("whatsapp")
            self.env["dunning.reminder"]._enqueue_notice(
                "instalment_reminder",
                instalment.partner_id,
                instalment.company_id,
                channels,
                promise=instalment,
            )
            instalment.reminder_sent_at = now

    # ------------------------------------------------------------------------------
    # API for the other flows (call log, customer page, payment plans)
    # ------------------------------------------------------------------------------

    @api.model
    def _dunning_register(
        self,
        partner,
        moves,
        amount,
        date_promised,
        source,
        channel=None,
        note=None,
        confirm=True,
        **values,
    ):
        """Validate and record a promise, then confirm it to the customer.

        :param partner: the customer (its commercial entity is used)
        :param moves: the open invoices the promise covers
        :param amount: the promised amount, in the invoices' currency
        :param date_promised: a date (or ISO string) after today, within the
            policy's maximum
        :param source: one of ``PROMISE_SOURCES``
        :param confirm: send the written confirmation (email, and WhatsApp when
            allowed)
        :raise ValidationError: on any invalid input; nothing is recorded
        :return: the new ``dunning.promise``
        """
        partner = partner.commercial_partner_id
        date_promised = fields.Date.to_date(date_promised)
        self._check_promise_values(partner, moves, amount, date_promised, source)
        promise = self.create(
            {
                "partner_id": partner.id,
                "company_id": moves.company_id.id,
                "move_ids": [fields.Command.set(moves.ids)],
                "currency_id": moves.currency_id.id,
                "amount": amount,
                "date_promised": date_promised,
                "source": source,
                "channel": channel or self._default_channel(source),
                "note": note or False,
                "user_id": self._default_collector(partner, moves.company_id).id,
                **values,
            }
        )
        promise._on_registered()
        if confirm:
            promise._send_confirmation()
        return promise

    @api.model
    def _check_promise_values(self, partner, moves, amount, date_promised, source):
        """Raise a ValidationError saying what is wrong with a new promise."""
        if source not in dict(PROMISE_SOURCES):
            raise ValidationError(_("Unknown promise source: %(value)s", value=source))
        if not moves:
            raise ValidationError(_("Select at least one invoice to promise."))
        not_open = moves.filtered(lambda m: not m._is_dunning_open())
        if not_open:
            raise ValidationError(
                _(
                    "Only open customer invoices can be promised; not %(invoices)s.",
                    invoices=", ".join(not_open.mapped("display_name")),
                )
            )
        if moves.commercial_partner_id != partner:
            raise ValidationError(
                _(
                    "The invoices must all belong to %(partner)s.",
                    partner=partner.display_name,
                )
            )
        if len(moves.company_id) > 1:
            raise ValidationError(
                _("The invoices of one promise must belong to one company.")
            )
        if len(moves.currency_id) > 1:
            raise ValidationError(
                _(
                    "The invoices of one promise must share one currency; promise "
                    "each currency separately."
                )
            )
        if not date_promised:
            raise ValidationError(_("Enter the date the customer promised to pay."))
        today = fields.Date.context_today(self)
        if date_promised <= today:
            raise ValidationError(_("The promised date must be after today."))
        policy = moves[:1]._get_dunning_policy()
        max_days = policy.promise_max_days if policy else DEFAULT_MAX_DAYS
        # A payment plan is precisely a longer arrangement than a promise.
        if source != "plan" and date_promised > today + timedelta(days=max_days):
            raise ValidationError(
                _(
                    "The promised date cannot be more than %(days)s days away "
                    "(%(date)s at the latest).",
                    days=max_days,
                    date=format_date(self.env, today + timedelta(days=max_days)),
                )
            )
        currency = moves.currency_id
        if currency.compare_amounts(amount or 0.0, 0.0) <= 0:
            raise ValidationError(_("The promised amount must be positive."))
        due = sum(moves.mapped("amount_residual"))
        if currency.compare_amounts(amount, due) > 0:
            raise ValidationError(
                _(
                    "The promised amount %(amount)s is more than what is due on "
                    "these invoices (%(due)s).",
                    amount=currency.format(amount),
                    due=currency.format(due),
                )
            )
        if source == "portal" and policy and policy.promise_min_amount:
            company = moves.company_id
            minimum = company.currency_id._convert(
                policy.promise_min_amount, currency, company, today
            )
            if currency.compare_amounts(amount, minimum) < 0:
                raise ValidationError(
                    _(
                        "The promised amount must be at least %(minimum)s.",
                        minimum=currency.format(minimum),
                    )
                )
        if source != "plan":
            covered = (
                self.sudo()
                .search(
                    [
                        ("move_ids", "in", moves.ids),
                        ("state", "=", "open"),
                    ]
                )
                .move_ids
                & moves
            )
            if covered:
                raise ValidationError(
                    _(
                        "%(invoices)s already have an open payment promise: cancel "
                        "it first or wait until it is settled.",
                        invoices=", ".join(covered.mapped("display_name")),
                    )
                )

    # ------------------------------------------------------------------------------
    # Confirmation
    # ------------------------------------------------------------------------------

    def _send_confirmation(self):
        """Confirm the agreed terms to the customer in writing, by email,
        WhatsApp or both as the policy says (email without a policy), through
        the outbox: inside the customer's contact hours, except a promise the
        customer just entered on the customer page, confirmed at once. A
        channel that cannot reach them hands over to the policy's next one."""
        for promise in self:
            policy = promise.policy_id
            channels = []
            if not policy or policy.promise_confirm_email:
                channels.append("email")
            if policy and policy.promise_confirm_whatsapp:
                channels.append("whatsapp")
            self.env["dunning.reminder"]._enqueue_notice(
                "promise_confirmation",
                promise.partner_id,
                promise.company_id,
                channels,
                promise=promise,
                asked_by_debtor=promise.source == "portal",
            )

    def _dunning_reader(self):
        return self._get_confirmation_recipient()

    def _get_confirmation_recipient(self):
        self.ensure_one()
        address_id = self.partner_id.address_get(["invoice"])["invoice"]
        recipient = self.env["res.partner"].browse(address_id)
        return recipient if recipient.email else self.partner_id

    # ------------------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------------------

    @api.model
    def _reconcile_watermark(self):
        # The highest partial reconciliation now: the ORM has no MAX(id) read.
        self.env["account.partial.reconcile"].flush_model()
        self.env.cr.execute(
            SQL("SELECT COALESCE(MAX(id), 0) FROM account_partial_reconcile")
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _default_channel(self, source):
        return {
            "call": "phone",
            "portal": "portal",
            "whatsapp": "whatsapp",
            "plan": "other",
        }.get(source, "phone")

    @api.model
    def _default_collector(self, partner, company):
        if not self.env.user.share:
            return self.env.user
        partner = partner.with_company(company)
        return partner.dunning_collector_id or partner.user_id

    def _get_template_lines(self):
        """The invoices in the confirmation: number, due date, amount due."""
        self.ensure_one()
        return self.move_ids.sorted(lambda m: (m.dunning_due_date, m.id))
