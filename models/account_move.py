from odoo import _, api, fields, models
from odoo.tools import SQL, format_date


class AccountMove(models.Model):
    _inherit = "account.move"

    # Every collection screen looks invoices up by customer (the customer form's
    # level and Odoo's own days-sales-outstanding, the customer page), and
    # account does not index the column: each look-up read the whole table.
    commercial_partner_id = fields.Many2one(index=True)
    # Not indexed, like the other dunning columns: planning updates them on every
    # invoice that moves up, and an update touching no indexed column can stay on
    # its page (HOT) instead of rewriting every index of account_move.
    dunning_level_id = fields.Many2one(
        "dunning.level",
        string="Collection Level",
        readonly=True,
        copy=False,
        tracking=True,
        help="The highest collection level this invoice has reached.",
    )
    dunning_last_date = fields.Date(
        string="Last Reminder",
        readonly=True,
        copy=False,
        help="The day a reminder listing this invoice last reached the customer "
        "(left, not only planned or deferred).",
    )
    dunning_next_date = fields.Date(
        string="Next Reminder",
        compute="_compute_dunning_next_date",
        store=True,
        copy=False,
        help="The day the invoice reaches its next collection level.",
    )
    dunning_restart_date = fields.Date(
        string="Collection Restarted On",
        readonly=True,
        copy=False,
        help="The invoice was sent again (the customer had not received it): the "
        "collection levels count from this day instead of the due date.",
    )
    dunning_excluded = fields.Boolean(
        string="Excluded from Collections",
        copy=False,
        tracking=True,
        help="No reminder is sent about this invoice.",
    )
    dunning_exclusion_reason = fields.Char(string="Exclusion Reason", copy=False)
    dunning_reminder_ids = fields.Many2many(
        "dunning.reminder",
        "dunning_reminder_account_move_rel",
        "move_id",
        "reminder_id",
        string="Reminders",
        readonly=True,
        copy=False,
    )
    dunning_reminder_count = fields.Integer(compute="_compute_dunning_reminder_count")
    dunning_promise_ids = fields.Many2many(
        "dunning.promise",
        "dunning_promise_account_move_rel",
        "move_id",
        "promise_id",
        string="Payment Promises",
        readonly=True,
        copy=False,
    )
    dunning_promise_count = fields.Integer(compute="_compute_dunning_promise_count")
    # Indexed over the few disputed invoices only: the planner never changes it,
    # so its updates of the level columns stay HOT.
    dunning_dispute_id = fields.Many2one(
        "dunning.dispute",
        string="Open Dispute",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="set null",
        help="The customer disputes this invoice: no reminder until the dispute "
        "is settled.",
    )
    dunning_verify_until = fields.Date(
        string="Payment to Verify Until",
        readonly=True,
        copy=False,
        help="The customer says this invoice is paid (a transfer receipt sent by "
        "WhatsApp, say) and a collector is checking it: no reminder about it "
        "until this day included. Cleared when the invoice is paid, or when the "
        "collector finds the payment was not received.",
    )
    dunning_escalate = fields.Boolean(
        string="Escalate Now",
        readonly=True,
        copy=False,
        help="A payment promise on this invoice was broken: the next planning run "
        "moves it to its next level at once, without waiting for the days "
        "between reminders.",
    )

    def init(self):
        res = super().init()
        # The open customer invoices by customer, with the columns that My
        # Collections sums (dunning_worklist.py), Invoices to Collect sums per
        # customer (its action's domain is this WHERE) and the customer page
        # reads: all three read it alone (index-only), in customer order. A
        # partial, covering index, which a field's index=True cannot declare.
        # It holds none of the columns the planner updates (level, dates), so
        # those updates stay HOT.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS account_move_dunning_open_index
                ON account_move (commercial_partner_id, company_id)
           INCLUDE (id, invoice_date_due, amount_residual, amount_residual_signed,
                    dunning_excluded, dunning_dispute_id,
                    amount_untaxed_in_currency_signed, amount_tax_signed,
                    amount_total_in_currency_signed)
             WHERE move_type = 'out_invoice'
               AND state = 'posted'
               AND payment_state IN ('not_paid', 'partial')
            """
        )
        return res

    @api.depends(
        "move_type",
        "state",
        "payment_state",
        "invoice_date_due",
        "dunning_restart_date",
        "dunning_level_id",
        "dunning_excluded",
        "commercial_partner_id",
    )
    def _compute_dunning_next_date(self):
        for move in self:
            move.dunning_next_date = False
            if not move._is_dunning_open() or move.dunning_excluded:
                continue
            policy = move._get_dunning_policy()
            current = move.dunning_level_id
            for level in policy._get_levels_by_rank() if policy else []:
                if not current or level.offset_days > current.offset_days:
                    move.dunning_next_date = fields.Date.add(
                        move._dunning_ladder_date(), days=level.offset_days
                    )
                    break

    def _compute_dunning_reminder_count(self):
        counts = dict(
            self.env["dunning.reminder"]._read_group(
                [("move_ids", "in", self.ids)], ["move_ids"], ["__count"]
            )
        )
        for move in self:
            move.dunning_reminder_count = counts.get(move, 0)

    def _compute_dunning_promise_count(self):
        counts = dict(
            self.env["dunning.promise"]._read_group(
                [("move_ids", "in", self.ids)], ["move_ids"], ["__count"]
            )
        )
        for move in self:
            move.dunning_promise_count = counts.get(move, 0)

    def _invoice_paid_hook(self):
        res = super()._invoice_paid_hook()
        # Only invoices still in collection: the hook runs again when an invoice
        # "in payment" becomes "paid", and the customer is thanked once.
        in_collection = self.filtered(
            lambda m: m.move_type == "out_invoice" and m.dunning_level_id
        )
        self._dunning_stop(_("The invoice was paid."))
        self.filtered("dunning_verify_until")._dunning_verify_clear(
            _("The invoice was paid: the payment to verify is settled.")
        )
        in_collection.filtered(lambda m: not m._is_dunning_open())._dunning_thank()
        # Whoever records the payment, settling the promises it keeps is the
        # system's job: the accountant may not edit the collectors' promises.
        promises = (
            self.env["dunning.promise"]
            .sudo()
            .search([("move_ids", "in", self.ids), ("state", "=", "open")])
        )
        promises._dunning_evaluate()
        return res

    def button_draft(self):
        res = super().button_draft()
        self._dunning_stop(_("The invoice was reset to draft."))
        return res

    def button_cancel(self):
        res = super().button_cancel()
        self._dunning_stop(_("The invoice was cancelled."))
        return res

    def action_dunning_view_reminders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_reminder_action"
        )
        action["domain"] = [("move_ids", "in", self.ids)]
        action["context"] = {"search_default_group_by_state": 0}
        return action

    def write(self, vals):
        res = super().write(vals)
        if vals.get("dunning_excluded"):
            self._dunning_cancel_pending(
                self, _("The invoice was excluded from collections.")
            )
        return res

    def action_dunning_view_promises(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_promise_action"
        )
        action["domain"] = [("move_ids", "in", self.ids)]
        action["context"] = {
            "default_partner_id": self.commercial_partner_id.id,
            "default_move_ids": self.ids,
        }
        return action

    def action_dunning_dispute(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_dispute_action_new"
        )
        action["context"] = {
            "default_partner_id": self.commercial_partner_id.id,
            "default_move_ids": self.ids,
            "default_company_id": self.company_id.id,
        }
        return action

    def action_dunning_payment_not_received(self):
        """The collector checked: the payment the customer spoke of did not
        arrive. Reminders about these invoices resume."""
        self.filtered("dunning_verify_until")._dunning_verify_clear(
            _(
                "%(user)s found that the payment was not received: reminders resume.",
                user=self.env.user.name,
            )
        )
        return True

    def action_dunning_exclude(self):
        self.write({"dunning_excluded": True})
        return True

    def action_dunning_include(self):
        self.write({"dunning_excluded": False, "dunning_exclusion_reason": False})
        return True

    def _dunning_ensure_access_tokens(self):
        """Give these invoices their portal access token, as the portal would.

        ``_portal_ensure_token`` writes it through the ORM, and a write on an
        invoice re-synchronises its dynamic lines (taxes, payment terms): about
        a tenth of a second per invoice for a column nothing depends on, paid for
        every WhatsApp payment link. One UPDATE does the same (a random UUID, as
        ``uuid.uuid4()``), only where no token exists yet.
        """
        missing = self.filtered(lambda move: not move.access_token)
        if not missing:
            return
        self.env.cr.execute(
            SQL(
                """
                UPDATE account_move
                   SET access_token = gen_random_uuid()::varchar
                 WHERE id = ANY(%s) AND access_token IS NULL
                """,
                missing.ids,
            )
        )
        missing.invalidate_recordset(["access_token"])

    def _is_dunning_open(self):
        self.ensure_one()
        return (
            self.move_type == "out_invoice"
            and self.state == "posted"
            and self.payment_state in ("not_paid", "partial")
            and bool(self.invoice_date_due)
        )

    def _dunning_ladder_date(self):
        """The day the collection levels count from: the due date, or the day
        the collection restarted when that is later."""
        self.ensure_one()
        return max(d for d in (self.invoice_date_due, self.dunning_restart_date) if d)

    def _get_dunning_policy(self):
        """The policy of this invoice: the customer's, else the company's."""
        self.ensure_one()
        partner = self.commercial_partner_id.with_company(self.company_id)
        return partner.dunning_policy_id or self.company_id.dunning_policy_id

    def _dunning_stop(self, reason):
        """Reset the level of invoices that left collection and cancel their reminders.

        A queued reminder is cancelled once none of the invoices that called for it
        is still open; it still goes out for the others, without the paid ones.
        """
        closed = self.filtered(
            lambda m: m.move_type == "out_invoice" and not m._is_dunning_open()
        )
        if not closed:
            return
        closed.write({"dunning_level_id": False, "dunning_escalate": False})
        self._dunning_cancel_pending(closed, reason)

    def _dunning_thank(self):
        """Thank each customer (per company) for these paid invoices, by email,
        WhatsApp or both as the policy says: one message naming every invoice
        paid, through the outbox (inside the contact hours)."""
        for (partner, company), moves in self.grouped(
            lambda m: (m.commercial_partner_id, m.company_id)
        ).items():
            policy = moves[0]._get_dunning_policy()
            channels = []
            if policy.thank_you_email and policy.thank_you_mail_template_id:
                channels.append("email")
            if policy.thank_you_whatsapp:
                channels.append("whatsapp")
            self.env["dunning.reminder"]._enqueue_notice(
                "thank_you", partner, company, channels, moves=moves
            )

    def _dunning_held(self):
        """The invoices of ``self`` whose reminders are on hold today: disputed,
        with a payment to verify until a day not past, or covered by an open
        payment promise until its grace date (``promised_sql`` in SQL)."""
        today = fields.Date.context_today(self)
        held = self.filtered(
            lambda m: (
                m.dunning_dispute_id
                or (m.dunning_verify_until and m.dunning_verify_until >= today)
            )
        )
        return held | (self - held)._dunning_promised()

    def _dunning_promised(self):
        """The invoices of ``self`` covered today by an open payment promise."""
        today = fields.Date.context_today(self)
        promises = (
            self.env["dunning.promise"]
            .sudo()
            .search(
                [
                    ("move_ids", "in", self.ids),
                    ("state", "=", "open"),
                    ("date_grace", ">=", today),
                ]
            )
        )
        return self & promises.move_ids

    def _dunning_open(self):
        """The open customer invoices of ``self``."""
        return self.filtered(lambda m: m._is_dunning_open())

    def _dunning_verify(self, until, note=None):
        """Hold these invoices from reminders until ``until`` (included): the
        customer says they are paid and a collector is checking. A note in
        the chatter of each invoice and of its customer says who and until
        when (the collectors may not edit invoices: written as the system)."""
        self.sudo().write({"dunning_verify_until": until})
        # As for a promise: a queued reminder about these invoices only is not
        # needed any more; one listing others still goes, without them.
        self._dunning_cancel_pending(
            self,
            _(
                "A collector is verifying the payment of the invoices this "
                "reminder was about."
            ),
        )
        for partner, moves in self.grouped("commercial_partner_id").items():
            body = _(
                "%(user)s marked %(invoices)s as payment to verify until %(date)s: "
                "no reminder about them until then.",
                user=self.env.user.name,
                invoices=", ".join(moves.mapped("name")),
                date=format_date(self.env, until),
            )
            if note:
                body = _("%(body)s Note: %(note)s", body=body, note=note)
            for record in (partner, *moves):
                record.sudo()._message_log(
                    body=body, author_id=self.env.user.partner_id.id
                )

    def _dunning_verify_clear(self, reason):
        """Lift the payment to verify of these invoices, with ``reason`` in
        the chatter of each."""
        self.sudo().write({"dunning_verify_until": False})
        for move in self:
            move.sudo()._message_log(body=reason)

    def _dunning_active(self):
        """The invoices of ``self`` that still call for reminders: open, included
        and not on hold."""
        candidates = self.filtered(
            lambda m: m._is_dunning_open() and not m.dunning_excluded
        )
        return candidates - candidates._dunning_held()

    @api.model
    def _dunning_cancel_pending(self, moves, reason):
        """Cancel the queued reminders of which none of the invoices that called
        for them is still open, included and not on hold; the others still go
        out, without the closed invoices."""
        pending = (
            self.env["dunning.reminder"]
            .sudo()
            .search(
                [
                    ("line_ids.move_id", "in", moves.ids),
                    ("state", "in", ("queued", "deferred")),
                ]
            )
        )
        active = pending.line_ids.move_id._dunning_active()
        for reminder in pending:
            if not reminder.line_ids.move_id & active:
                reminder._set_cancelled(reason)
