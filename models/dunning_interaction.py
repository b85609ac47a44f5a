from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

INTERACTION_CHANNELS = [
    ("call", "Phone call"),
    ("whatsapp", "WhatsApp"),
    ("email", "Email"),
    ("visit", "Visit"),
    ("other", "Other"),
]
# The promise's channel (dunning.promise.channel) for a contact's channel.
PROMISE_CHANNEL_OF = {
    "call": "phone",
    "whatsapp": "whatsapp",
    "email": "email",
    "visit": "in_person",
    "other": "other",
}


class DunningInteraction(models.Model):
    """One contact of a collector with a debtor (a call, a visit...) and its outcome.

    The log is the audit trail the contact rules ask for: who, when, how, what
    was agreed. Collectors read every customer's history but change only their
    own entries (record rules); nobody but a manager deletes one.
    """

    _name = "dunning.interaction"
    _inherit = ["dunning.engine.record"]
    _description = "Collection Contact Log"
    _order = "date desc, id desc"
    _check_company_auto = True
    _rec_name = "partner_id"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="restrict",
        domain="[('parent_id', '=', False)]",
    )
    move_ids = fields.Many2many(
        "account.move",
        "dunning_interaction_account_move_rel",
        "interaction_id",
        "move_id",
        string="Invoices",
        check_company=True,
        domain="[('move_type', '=', 'out_invoice'), "
        "('commercial_partner_id', '=', partner_id)]",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Collector",
        required=True,
        index=True,
        default=lambda self: self.env.user,
    )
    date = fields.Datetime(required=True, index=True, default=fields.Datetime.now)
    channel = fields.Selection(INTERACTION_CHANNELS, required=True, default="call")
    outcome_id = fields.Many2one("dunning.outcome", required=True, ondelete="restrict")
    outcome_action = fields.Selection(related="outcome_id.action")
    counts_as_contact = fields.Boolean(
        string="Reached the Debtor",
        related="outcome_id.counts_as_contact",
        store=True,
    )
    duration = fields.Float(string="Duration (minutes)")
    note = fields.Text()
    identity_confirmed = fields.Boolean(
        readonly=True,
        help="The collector confirmed they spoke with the debtor before any amount "
        "was mentioned.",
    )
    third_party = fields.Boolean(
        string="Someone Else Answered",
        readonly=True,
        help="Another person answered: nothing about the debt was disclosed.",
    )
    callback_at = fields.Datetime(string="Call Back At")
    activity_id = fields.Many2one("mail.activity", readonly=True, copy=False)
    promise_id = fields.Many2one(
        "dunning.promise",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="set null",
        check_company=True,
        help="The payment promise agreed on this contact (the first instalment "
        "of a payment plan).",
    )
    plan_id = fields.Many2one(related="promise_id.plan_id", string="Payment Plan")

    # The collector says once who was reached, when, how and with what outcome;
    # the record of that contact then stays as logged (the caps and the
    # supervision count it): a correction is a new entry. The note stays
    # editable. What follows from the contact is linked by the engine.
    _dunning_frozen_fields = frozenset(
        {
            "company_id",
            "partner_id",
            "move_ids",
            "user_id",
            "date",
            "channel",
            "outcome_id",
            "identity_confirmed",
            "third_party",
        }
    )
    _dunning_engine_fields = frozenset({"activity_id", "promise_id"})

    @api.constrains("outcome_id", "identity_confirmed", "third_party")
    def _check_identity(self):
        for interaction in self:
            if interaction.outcome_id.requires_identity and (
                not interaction.identity_confirmed or interaction.third_party
            ):
                raise ValidationError(
                    _(
                        'The outcome "%(outcome)s" is about the debt: it can only be '
                        "logged after confirming the debtor's identity.",
                        outcome=interaction.outcome_id.name,
                    )
                )

    @api.constrains("duration")
    def _check_duration(self):
        if any(interaction.duration < 0 for interaction in self):
            raise ValidationError(_("The duration of a contact cannot be negative."))

    @api.model_create_multi
    def create(self, vals_list):
        interactions = super().create(vals_list)
        interactions._log_on_partner()
        return interactions

    def _log_on_partner(self):
        """Leave a trace in the customer's chatter (the contact audit trail)."""
        for interaction in self:
            # sudo: a collector may log a call about a customer whose chatter
            # they can read but not write (the partner's access rules).
            interaction.partner_id.sudo()._message_log(
                body=interaction._chatter_summary()
            )

    def _chatter_summary(self):
        self.ensure_one()
        channel = dict(self._fields["channel"]._description_selection(self.env))[
            self.channel
        ]
        if self.note:
            return _(
                "%(channel)s by %(user)s: %(outcome)s. %(note)s",
                channel=channel,
                user=self.user_id.name,
                outcome=self.outcome_id.name,
                note=self.note,
            )
        return _(
            "%(channel)s by %(user)s: %(outcome)s.",
            channel=channel,
            user=self.user_id.name,
            outcome=self.outcome_id.name,
        )

    # ------------------------------------------------------------------------------
    # Next steps (see dunning.outcome.action)
    # ------------------------------------------------------------------------------

    def _run_next_step(self, dispute_reason=None):
        """Take the step the outcome calls for; return a window action to open
        (the promise or plan wizard) or None."""
        self.ensure_one()
        step = getattr(self, f"_step_{self.outcome_id.action}", None)
        return step(dispute_reason=dispute_reason) if step else None

    def _step_none(self, **kwargs):
        return None

    def _step_promise(self, **kwargs):
        return self._open_promise_wizard("dunning.promise.create")

    def _step_plan(self, **kwargs):
        return self._open_promise_wizard("dunning.payment.plan.create")

    def _open_promise_wizard(self, model):
        """The promise (or plan) wizard pre-filled from this contact; the promise
        it registers is linked back here."""
        context = {
            "default_interaction_id": self.id,
            "default_partner_id": self.partner_id.id,
            "default_company_id": self.company_id.id,
        }
        if self.move_ids:
            context["default_move_ids"] = self.move_ids.ids
        if model == "dunning.promise.create":
            context["default_source"] = "call"
            context["default_note"] = self.note or False
            context["default_channel"] = PROMISE_CHANNEL_OF.get(self.channel, "other")
        return {
            "type": "ir.actions.act_window",
            "res_model": model,
            "view_mode": "form",
            "target": "new",
            "context": context,
        }

    def action_register_promise(self):
        """Register the promise (or plan) of a contact whose wizard was closed
        before it was saved."""
        self.ensure_one()
        if self.outcome_action not in ("promise", "plan"):
            raise UserError(
                _(
                    'The outcome "%(outcome)s" is not a payment promise.',
                    outcome=self.outcome_id.name,
                )
            )
        if self.promise_id:
            raise UserError(_("A promise is already linked to this contact."))
        # The promise will be linked here: only who may change this log may do it.
        self.check_access("write")
        return self._run_next_step()

    def _link_promise(self, promise):
        """Link the promise agreed on this contact (called by the wizards)."""
        self.ensure_one()
        self.check_access("write")
        self.sudo().promise_id = promise

    def _step_resend_invoice(self, **kwargs):
        """Email the invoices again and restart their collection ladder.

        The ladder counts again from today as if the invoices fell due today;
        the resent invoice stands for the "due" reminder, so the invoices go back
        to the policy's last level at or before the due date (none if there is
        none) and the next reminder is the first one after the due date.
        """
        moves = self.move_ids.filtered(lambda m: m._is_dunning_open())
        if not moves:
            raise ValidationError(
                _("Select the open invoices the customer did not receive.")
            )
        # sudo: a collector resends an invoice without the right to post or edit
        # invoices; the sending itself is Odoo's standard invoice email.
        self.env["account.move.send"].sudo()._generate_and_send_invoices(
            moves.sudo(), sending_methods={"email"}
        )
        today = fields.Date.context_today(self)
        for move in moves:
            policy = move._get_dunning_policy()
            start = policy.level_ids.filtered(lambda lvl: lvl.offset_days <= 0)
            start = start.sorted("offset_days")[-1:] if start else start
            # sudo: the collection columns are readonly for collectors.
            move.sudo().write(
                {
                    "dunning_level_id": start.id,
                    "dunning_level_due_date": move.dunning_due_date,
                    "dunning_restart_date": today,
                }
            )
            move.sudo()._message_log(
                body=_(
                    "The customer did not receive this invoice: it was sent again "
                    "and its collection restarts today."
                )
            )
        return None

    def _step_dispute(self, dispute_reason=None, **kwargs):
        moves = self.move_ids.filtered(lambda m: m.move_type == "out_invoice")
        if not moves:
            raise ValidationError(_("Select the invoices the customer disputes."))
        reason_note = self.note or _("Disputed by the customer on a call.")
        if "dunning.dispute" in self.env:
            self.env["dunning.dispute"]._dunning_open(
                moves, dispute_reason or "other", comment=self.note, source="call"
            )
        else:
            # sudo: excluding is a write on invoices a collector cannot edit.
            moves.sudo().write(
                {"dunning_excluded": True, "dunning_exclusion_reason": reason_note}
            )
        manager = self._responsible("account_dunning.group_dunning_manager")
        self._schedule(
            "mail.mail_activity_data_todo",
            manager,
            _("Dispute on %(invoices)s", invoices=", ".join(moves.mapped("name"))),
            reason_note,
        )
        return None

    def _step_wrong_number(self, **kwargs):
        self.partner_id._dunning_mark_phone_invalid(self.user_id)
        return None

    def _step_already_paid(self, **kwargs):
        accountant = self._responsible("account.group_account_manager")
        invoices = ", ".join(self.move_ids.mapped("name")) or _("their open invoices")
        self._schedule(
            "mail.mail_activity_data_todo",
            accountant,
            _("Find and reconcile the payment of %(invoices)s", invoices=invoices),
            _(
                "%(customer)s says they already paid %(invoices)s. %(note)s",
                customer=self.partner_id.name,
                invoices=invoices,
                note=self.note or "",
            ),
        )
        return None

    def _step_callback(self, **kwargs):
        if not self.callback_at:
            raise ValidationError(_("Choose when to call the customer back."))
        user_tz = self.user_id.tz or "UTC"
        local = fields.Datetime.context_timestamp(
            self.with_context(tz=user_tz), self.callback_at
        )
        self._schedule(
            "mail.mail_activity_data_call",
            self.user_id,
            _("Call back at %(time)s", time=local.strftime("%H:%M")),
            self.note,
            date_deadline=local.date(),
        )
        return None

    def _schedule(self, activity_xmlid, user, summary, note, date_deadline=None):
        """An activity on the customer for ``user``, linked to this log."""
        # sudo: the collector schedules for someone else (manager, accountant) on a
        # customer they may not be allowed to write.
        activity = self.partner_id.sudo().activity_schedule(
            activity_xmlid,
            date_deadline=date_deadline or fields.Date.context_today(self),
            summary=summary,
            note=note or "",
            user_id=user.id,
        )
        self.sudo().activity_id = activity
        return activity

    def _responsible(self, group_xmlid):
        """Who handles what a collector cannot: the first internal user of the
        group working in this company, else the collector themself."""
        users = (
            self.env.ref(group_xmlid)
            .sudo()
            .users.filtered(
                lambda u: (
                    not u.share
                    and u.active
                    and self.company_id in u.company_ids
                    and u.id != self.env.ref("base.user_root").id
                )
            )
            .sorted("id")
        )
        return users[:1] or self.user_id
