from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_date


class DunningPaymentPlan(models.Model):
    """A customer's overdue debt split into dated instalments.

    Each instalment is a ``dunning.promise`` (source ``plan``) over all the plan's
    invoices, so the invoices get no reminders until the last instalment's grace
    date. Payments are allocated to the instalments in date order. The plan is
    broken as soon as one instalment is: its later instalments are cancelled and
    the invoices escalate like any broken promise. The customer receives the
    agreement as a PDF.
    """

    _name = "dunning.payment.plan"
    _description = "Payment Plan"
    _inherit = ["dunning.reader.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "date_agreed desc, id desc"
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
        readonly=True,
        ondelete="restrict",
    )
    move_ids = fields.Many2many(
        "account.move",
        "dunning_payment_plan_account_move_rel",
        "plan_id",
        "move_id",
        string="Invoices",
        readonly=True,
        check_company=True,
    )
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    amount_total = fields.Monetary(
        string="Debt",
        readonly=True,
        currency_field="currency_id",
        help="What the customer owed on the invoices when the plan was agreed.",
    )
    amount_paid = fields.Monetary(
        compute="_compute_amount_paid", currency_field="currency_id"
    )
    promise_ids = fields.One2many(
        "dunning.promise", "plan_id", string="Instalments", readonly=True
    )
    instalment_count = fields.Integer(compute="_compute_instalment_count")
    date_agreed = fields.Date(
        required=True, readonly=True, default=fields.Date.context_today
    )
    date_end = fields.Date(
        string="Last Instalment", compute="_compute_date_end", store=True
    )
    state = fields.Selection(
        [
            ("open", "Running"),
            ("done", "Completed"),
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
        domain="[('share', '=', False)]",
    )
    note = fields.Text(string="Terms", help="Conditions agreed with the customer.")
    agreement_sent_at = fields.Datetime(readonly=True, copy=False)

    @api.depends("partner_id", "date_agreed")
    def _compute_display_name(self):
        for plan in self:
            plan.display_name = _(
                "Payment plan of %(partner)s (%(date)s)",
                partner=plan.partner_id.display_name or "",
                date=format_date(plan.env, plan.date_agreed)
                if plan.date_agreed
                else "",
            )

    @api.depends("promise_ids")
    def _compute_instalment_count(self):
        for plan in self:
            plan.instalment_count = len(plan.promise_ids)

    @api.depends("promise_ids.date_promised")
    def _compute_date_end(self):
        for plan in self:
            plan.date_end = max(plan.promise_ids.mapped("date_promised"), default=False)

    @api.depends("promise_ids.amount_paid")
    def _compute_amount_paid(self):
        for plan in self:
            plan.amount_paid = sum(plan.promise_ids.mapped("amount_paid"))

    # ------------------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------------------

    def action_cancel(self):
        """Withdraw the plan: its pending instalments are cancelled and the
        invoices go back to the reminder flow."""
        plans = self.filtered(lambda p: p.state == "open")
        plans.promise_ids.action_cancel()
        plans.write({"state": "cancelled"})
        return True

    def action_send_agreement(self):
        self.ensure_one()
        if self.state != "open":
            raise UserError(_("Only a running plan can be sent to the customer."))
        self._send_agreement()
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
    # API
    # ------------------------------------------------------------------------------

    @api.model
    def _dunning_create(self, partner, moves, instalments, note=None, confirm=True):
        """Agree a plan over ``moves``: one promise per instalment.

        :param instalments: ``[(date, amount), ...]``; the amounts must add up to
            what is due on ``moves``, the dates must be after today and distinct
        :param confirm: email the agreement (PDF) to the customer
        :raise ValidationError: on invalid input; nothing is recorded
        :return: the new ``dunning.payment.plan``
        """
        partner = partner.commercial_partner_id
        instalments = sorted(
            (fields.Date.to_date(date), amount) for date, amount in instalments
        )
        self._check_instalments(partner, moves, instalments)
        plan = self.create(
            {
                "partner_id": partner.id,
                "company_id": moves.company_id.id,
                "move_ids": [fields.Command.set(moves.ids)],
                "currency_id": moves.currency_id.id,
                "amount_total": sum(moves.mapped("amount_residual")),
                "note": note or False,
                "user_id": self.env["dunning.promise"]
                ._default_collector(partner, moves.company_id)
                .id,
            }
        )
        for date, amount in instalments:
            self.env["dunning.promise"]._dunning_register(
                partner,
                moves,
                amount,
                date,
                "plan",
                channel="other",
                confirm=False,
                plan_id=plan.id,
            )
        if confirm:
            plan._send_agreement()
        return plan

    @api.model
    def _check_instalments(self, partner, moves, instalments):
        if not moves:
            raise ValidationError(_("Select the invoices the plan covers."))
        if len(instalments) < 2:
            raise ValidationError(_("A payment plan needs at least two instalments."))
        dates = [date for date, _amount in instalments]
        if not all(dates) or len(set(dates)) != len(dates):
            raise ValidationError(
                _("Each instalment needs its own date; two fall on the same day.")
            )
        currency = moves.currency_id[:1]
        if any(
            currency.compare_amounts(amount, 0.0) <= 0 for _d, amount in instalments
        ):
            raise ValidationError(_("Every instalment must be a positive amount."))
        due = sum(moves.mapped("amount_residual"))
        total = sum(amount for _d, amount in instalments)
        if len(moves.currency_id) == 1 and currency.compare_amounts(total, due):
            raise ValidationError(
                _(
                    "The instalments add up to %(total)s but %(due)s is due: they "
                    "must add up to the debt.",
                    total=currency.format(total),
                    due=currency.format(due),
                )
            )
        covered = (
            self.env["dunning.promise"]
            .sudo()
            .search([("move_ids", "in", moves.ids), ("state", "=", "open")])
            .move_ids
            & moves
        )
        if covered:
            raise ValidationError(
                _(
                    "%(invoices)s already have an open payment promise or plan: "
                    "cancel it first.",
                    invoices=", ".join(covered.mapped("display_name")),
                )
            )
        # Each instalment is validated as a promise before anything is recorded
        # (open invoices of the customer, one currency, a date after today),
        # except the longest-promise limit: a plan is a longer arrangement.
        for date, amount in instalments:
            self.env["dunning.promise"]._check_promise_values(
                partner, moves, amount, date, "plan"
            )

    # ------------------------------------------------------------------------------
    # Evaluation (called by the promise check)
    # ------------------------------------------------------------------------------

    def _on_instalment_broken(self):
        """A broken instalment breaks its plan: the later ones are cancelled."""
        for plan in self.filtered(lambda p: p.state == "open"):
            pending = plan.promise_ids.filtered(lambda p: p.state == "open")
            pending.write(
                {"state": "cancelled", "date_settled": fields.Date.context_today(self)}
            )
            plan.state = "broken"
            plan._message_log(
                body=_(
                    "An instalment was not paid: the plan is broken and its "
                    "%(count)s remaining instalment(s) are cancelled.",
                    count=len(pending),
                )
            )

    def _update_state(self):
        for plan in self.filtered(lambda p: p.state == "open"):
            if plan.promise_ids and all(
                p.state in ("kept", "partial") for p in plan.promise_ids
            ):
                fully = all(p.state == "kept" for p in plan.promise_ids)
                plan.state = "done" if fully else "broken"

    # ------------------------------------------------------------------------------
    # Agreement
    # ------------------------------------------------------------------------------

    def _send_agreement(self):
        """Email the signed-off terms with the agreement PDF attached, through
        the outbox (inside the customer's contact hours)."""
        for plan in self:
            self.env["dunning.reminder"]._enqueue_notice(
                "plan_agreement",
                plan.partner_id,
                plan.company_id,
                ["email"],
                plan=plan,
                moves=plan.move_ids,
            )

    def _dunning_reader(self):
        return self._get_confirmation_recipient()

    def _get_confirmation_recipient(self):
        self.ensure_one()
        address_id = self.partner_id.address_get(["invoice"])["invoice"]
        recipient = self.env["res.partner"].browse(address_id)
        return recipient if recipient.email else self.partner_id

    def _get_instalments(self):
        """The instalments in date order, for the agreement and the templates."""
        self.ensure_one()
        return self.promise_ids.sorted(lambda p: (p.date_promised, p.id))
