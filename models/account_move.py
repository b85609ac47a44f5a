from odoo import _, api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column


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
    # Stored (the planner, My Collections and the list filters read it) and
    # refreshed by the daily planning: what it says depends on today.
    dunning_next_date = fields.Date(
        string="Next Reminder",
        compute="_compute_dunning_next_date",
        store=True,
        copy=False,
        help="The day the next reminder about this invoice is due to go, as "
        "planning would decide it: never while a promise, a dispute, an "
        "exclusion or the customer's pause holds it, never sooner than the "
        "policy's days between reminders allow, today when a level is reached "
        "but not planned yet. Empty when no further reminder is due.",
    )
    # The one date collection counts from. Odoo's due date is the last
    # instalment's: an invoice with a 30 % / 70 % payment term would not be
    # reminded when its first instalment is late.
    dunning_due_date = fields.Date(
        string="Collection Due Date",
        compute="_compute_dunning_due_date",
        store=True,
        copy=False,
        help="The due date of the earliest instalment not yet fully paid (the "
        "invoice's due date when it has a single one): the collection levels "
        "count from it, each instalment on its own date.",
    )
    dunning_level_due_date = fields.Date(
        string="Level Reached For",
        readonly=True,
        copy=False,
        help="The collection due date the current level was reached for. Once "
        "that instalment is paid, the next one climbs the levels from its own "
        "due date.",
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

    def _auto_init(self):
        # Filled in one statement, not by computing every journal entry of the
        # database in Python when the add-on is installed or upgraded.
        if not column_exists(self.env.cr, "account_move", "dunning_due_date"):
            create_column(self.env.cr, "account_move", "dunning_due_date", "date")
            self.env.cr.execute(
                """
                UPDATE account_move move
                   SET dunning_due_date = COALESCE(
                       (SELECT MIN(line.date_maturity)
                          FROM account_move_line line
                          JOIN account_account account
                            ON account.id = line.account_id
                         WHERE line.move_id = move.id
                           AND account.account_type = 'asset_receivable'
                           AND line.amount_residual != 0),
                       move.invoice_date_due)
                 WHERE move.invoice_date_due IS NOT NULL
                """
            )
        return super()._auto_init()

    def init(self):
        res = super().init()
        # The open customer invoices by customer, with the columns that My
        # Collections sums (dunning_worklist.py), Invoices to Collect sums per
        # customer (its action's domain is this WHERE) and the customer page
        # reads: all three read it alone (index-only), in customer order. A
        # partial, covering index, which a field's index=True cannot declare.
        # It holds none of the columns the planner updates (level, dates), so
        # those updates stay HOT. Recreated when it predates a column it holds.
        self.env.cr.execute(
            """
            SELECT indexdef FROM pg_indexes
             WHERE indexname = 'account_move_dunning_open_index'
            """
        )
        row = self.env.cr.fetchone()
        if row and "dunning_due_date" not in row[0]:
            self.env.cr.execute("DROP INDEX account_move_dunning_open_index")
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS account_move_dunning_open_index
                ON account_move (commercial_partner_id, company_id)
           INCLUDE (id, invoice_date_due, dunning_due_date,
                    amount_residual, amount_residual_signed,
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
        "invoice_date_due",
        "line_ids.date_maturity",
        "line_ids.amount_residual",
        "line_ids.account_id",
    )
    def _compute_dunning_due_date(self):
        for move in self:
            dates = [
                line.date_maturity
                for line in move._dunning_instalment_lines()
                if line.date_maturity and not line.reconciled
            ]
            move.dunning_due_date = min(dates) if dates else move.invoice_date_due

    @api.depends(
        "move_type",
        "state",
        "payment_state",
        "amount_residual_signed",
        "dunning_due_date",
        "dunning_restart_date",
        "dunning_level_id",
        "dunning_level_due_date",
        "dunning_excluded",
        "dunning_escalate",
        "dunning_dispute_id",
        "dunning_promise_ids.state",
        "dunning_promise_ids.date_grace",
        "commercial_partner_id.dunning_excluded",
        "commercial_partner_id.dunning_paused_until",
    )
    def _compute_dunning_next_date(self):
        today = fields.Date.context_today(self)
        candidates = self.filtered(
            lambda m: m._is_dunning_open() and not m.dunning_excluded
        )
        (self - candidates).dunning_next_date = False
        if not candidates:
            return
        held = candidates.filtered("dunning_dispute_id")
        promised_until = (candidates - held)._dunning_promised_until()
        last_reminder = candidates._dunning_last_reminder_days()
        # Planning refreshes thousands of invoices of a few customers and
        # policies at once: each policy and its ladder is read once.
        policies = (candidates - held)._get_dunning_policies()
        ladders = {}
        for move in candidates - held:
            key = (move.commercial_partner_id.id, move.company_id.id)
            policy = policies[key]
            if policy not in ladders:
                ladders[policy] = policy._get_levels_by_rank() if policy else policy
            move.dunning_next_date = move._dunning_next_reminder_date(
                today,
                promised_until.get(move),
                last_reminder.get(key),
                policy,
                ladders[policy],
            )
        held.dunning_next_date = False

    def _dunning_next_reminder_date(
        self, today, promised_until, last_reminder, policy, ladder
    ):
        """The day planning will next plan a reminder about this invoice, all
        its rules said: the next level's day of ``ladder`` (the levels of its
        ``policy``), held by a promise until its grace date and by the
        customer's pause, paced by the policy's days between reminders from
        the customer's last one, and never before today (a level reached but
        not planned yet is planned at the next run)."""
        self.ensure_one()
        partner = self.commercial_partner_id
        if partner.dunning_excluded or not policy or not policy.active:
            return False
        if self.amount_residual_signed < (policy.min_amount or 0):
            return False
        days = [today]
        if self.dunning_escalate:
            # A broken promise is answered at the next run, whatever the pace.
            last_reminder = None
        else:
            current = self._dunning_current_level(policy)
            following = [
                level
                for level in ladder
                if not current or level.offset_days > current.offset_days
            ]
            if not following:
                return False
            days.append(
                fields.Date.add(
                    self._dunning_ladder_date(), days=following[0].offset_days
                )
            )
        if promised_until:
            days.append(fields.Date.add(promised_until, days=1))
        if partner.dunning_paused_until:
            days.append(fields.Date.add(partner.dunning_paused_until, days=1))
        if last_reminder:
            days.append(
                fields.Date.add(last_reminder, days=policy.min_days_between_reminders)
            )
        return max(days)

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
        """The day the collection levels count from: the collection due date
        (the earliest unpaid instalment's), or the day the collection
        restarted when that is later."""
        self.ensure_one()
        return max(
            d
            for d in (
                self.dunning_due_date or self.invoice_date_due,
                self.dunning_restart_date,
            )
            if d
        )

    def _dunning_current_level(self, policy=None):
        """The level this invoice stands at in its ladder: none when it was
        reached for an instalment since paid (the next instalment climbs the
        levels from its own due date), or under another policy than its own
        (``policy``, read when not given)."""
        self.ensure_one()
        level = self.dunning_level_id
        if not level:
            return level
        if policy is None:
            policy = self._get_dunning_policy()
        if (
            self.dunning_level_due_date
            and self.dunning_level_due_date != self.dunning_due_date
        ) or level.policy_id != policy:
            return self.env["dunning.level"]
        return level

    def _dunning_instalment_lines(self):
        """The receivable lines of this invoice, one per instalment of its
        payment term, in the order they fall due."""
        self.ensure_one()
        return self.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        ).sorted(lambda line: (line.date_maturity or fields.Date.today(), line.id))

    def _dunning_instalments(self):
        """What is left to pay of this invoice, instalment by instalment, in
        its currency: ``[{date, amount, number, count}]`` in the order they fall
        due (``number`` of ``count``; a single row without instalments)."""
        self.ensure_one()
        lines = self._dunning_instalment_lines()
        rows = [
            {
                "date": line.date_maturity or self.invoice_date_due,
                "amount": abs(line.amount_residual_currency),
                "number": number,
                "count": len(lines),
            }
            for number, line in enumerate(lines, start=1)
            if not line.reconciled
            and not self.currency_id.is_zero(line.amount_residual_currency)
        ]
        if not rows and self.amount_residual:
            rows = [
                {
                    "date": self.dunning_due_date or self.invoice_date_due,
                    "amount": self.amount_residual,
                    "number": 1,
                    "count": 1,
                }
            ]
        return rows

    def _dunning_split_due(self, today):
        """``(due, not_due)``: the part of what is left to pay that fell due
        on or before ``today``, and the part that has not, in the invoice's
        currency."""
        self.ensure_one()
        if self.dunning_due_date == self.invoice_date_due:
            # Only the last instalment is left (or there is one): all of it
            # falls due on the same day, no need to read the lines.
            if self.invoice_date_due and self.invoice_date_due <= today:
                return self.amount_residual, 0.0
            return 0.0, self.amount_residual
        due = not_due = 0.0
        for row in self._dunning_instalments():
            if row["date"] and row["date"] <= today:
                due += row["amount"]
            else:
                not_due += row["amount"]
        return due, not_due

    def _dunning_days_late(self, today):
        """Days since the earliest unpaid instalment fell due (0 if not yet)."""
        self.ensure_one()
        due = self.dunning_due_date or self.invoice_date_due
        return max((today - due).days, 0) if due else 0

    def _get_dunning_policy(self):
        """The policy of this invoice: its customer's in its company
        (``res.partner._dunning_policy``)."""
        self.ensure_one()
        return self.commercial_partner_id._dunning_policy(self.company_id)

    def _get_dunning_policies(self):
        """``{(commercial partner id, company id): policy}`` of these invoices,
        in a fixed number of queries per company."""
        result = {}
        for company, moves in self.grouped("company_id").items():
            chosen = moves.commercial_partner_id._dunning_policies(company)
            for partner_id, (policy, _source) in chosen.items():
                result[(partner_id, company.id)] = policy
            # An invoice without a customer yet: the company's default.
            result[(False, company.id)] = self.env["res.partner"]._dunning_policy(
                company
            )
        return result

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
        closed.write(
            {
                "dunning_level_id": False,
                "dunning_level_due_date": False,
                "dunning_escalate": False,
            }
        )
        self._dunning_cancel_pending(closed, reason)
