"""Settling payment promises: kept, partly kept or broken, and what follows
each outcome."""

from collections import defaultdict

from odoo import _, fields, models


class DunningPromiseSettle(models.Model):
    _inherit = "dunning.promise"

    # ------------------------------------------------------------------------------
    # Evaluation
    # ------------------------------------------------------------------------------

    def _dunning_evaluate(self, today=None):
        """Update what was paid and settle the open promises that are due.

        Kept as soon as the promised amount is paid (or the invoices are); after
        the grace date, partial when something was paid, else broken. Promises
        whose invoices were all cancelled or reset to draft are cancelled.
        Idempotent: settled promises are left alone.
        """
        today = today or fields.Date.context_today(self)
        promises = self.filtered(lambda p: p.state == "open")
        if not promises:
            return
        paid = promises._paid_amounts()
        outcomes = defaultdict(lambda: self.browse())
        for promise in promises:
            currency = promise.currency_id
            amount_paid = min(
                paid.get(promise.id, 0.0) - promise._earlier_instalments_amount(),
                promise.amount,
            )
            amount_paid = max(amount_paid, 0.0)
            if currency.compare_amounts(amount_paid, promise.amount_paid):
                promise.amount_paid = amount_paid
            posted = promise.move_ids.filtered(lambda m: m.state == "posted")
            if not posted:
                outcomes["cancelled"] |= promise
            elif currency.compare_amounts(amount_paid, promise.amount) >= 0 or all(
                m.payment_state in ("paid", "in_payment", "reversed") for m in posted
            ):
                outcomes["kept"] |= promise
            elif promise.date_grace < today:
                if currency.compare_amounts(amount_paid, 0.0) > 0:
                    outcomes["partial"] |= promise
                else:
                    outcomes["broken"] |= promise
        for state, settled in outcomes.items():
            settled.write({"state": state, "date_settled": today})
        # A broken instalment cancels the rest of its plan first, so that the
        # escalation is not held back by the plan's later instalments.
        outcomes["broken"].plan_id._on_instalment_broken()
        promises.plan_id._update_state()
        outcomes["partial"]._on_partial()
        outcomes["broken"]._on_broken()

    def _earlier_instalments_amount(self):
        """What the earlier instalments of this one's plan take of the payments:
        a plan's payments go to its instalments in date order."""
        self.ensure_one()
        if not self.plan_id:
            return 0.0
        key = (self.date_promised, self.id)
        return sum(
            p.amount
            for p in self.plan_id.promise_ids
            if (p.date_promised, p.id) < key and p.state != "cancelled"
        )

    def _paid_amounts(self):
        """Payments reconciled with each promise's invoices after it was made.

        :return: {promise id: amount in the promise's currency}
        """
        if not self:
            return {}
        partials = (
            self.env["account.partial.reconcile"]
            .sudo()
            .search(
                [
                    ("debit_move_id.move_id", "in", self.move_ids.ids),
                    ("id", ">", min(self.mapped("reconcile_watermark"))),
                ]
            )
        )
        by_move = defaultdict(list)
        for partial in partials:
            by_move[partial.debit_move_id.move_id.id].append(
                (partial.id, partial.debit_amount_currency)
            )
        paid = {}
        for promise in self:
            paid[promise.id] = sum(
                amount
                for move in promise.move_ids
                for partial_id, amount in by_move.get(move.id, [])
                if partial_id > promise.reconcile_watermark
            )
        return paid

    # ------------------------------------------------------------------------------
    # Consequences
    # ------------------------------------------------------------------------------

    def _on_registered(self):
        """Hold the invoices' pending reminders and note the promise on them."""
        for promise in self:
            # For the collectors who read the invoices' chatter.
            collector = promise._collector()
            reader = collector.partner_id
            promise = collector._dunning_in_my_lang(promise)
            note = promise.env._(
                "Payment promise: %(amount)s by %(date)s (reminders paused until "
                "%(grace)s).",
                amount=reader._dunning_format_amount(
                    promise.amount, promise.currency_id, promise.company_id
                ),
                date=reader._dunning_format_date(promise.date_promised),
                grace=reader._dunning_format_date(promise.date_grace),
            )
            promise.move_ids._message_log_batch(
                bodies=dict.fromkeys(promise.move_ids.ids, note)
            )
        self.env["account.move"]._dunning_cancel_pending(
            self.move_ids, _("The customer promised to pay these invoices.")
        )

    def _on_partial(self):
        for promise in self:
            collector = promise._collector()
            reader = collector.partner_id
            promise = collector._dunning_in_my_lang(promise)
            _ = promise.env._
            currency, company = promise.currency_id, promise.company_id
            promise._schedule_follow_up(
                _("Promise partially kept"),
                _(
                    "%(partner)s paid %(paid)s of the %(amount)s promised for "
                    "%(date)s.",
                    partner=promise.partner_id.display_name,
                    paid=reader._dunning_format_amount(
                        promise.amount_paid, currency, company
                    ),
                    amount=reader._dunning_format_amount(
                        promise.amount, currency, company
                    ),
                    date=reader._dunning_format_date(promise.date_promised),
                ),
            )

    def _on_broken(self):
        """Escalate the invoices of broken promises and tell the collector.

        The invoices are flagged so that the next planning run moves them to
        their next level at once, without waiting for the days between
        reminders; that run is triggered now.
        """
        if not self:
            return
        for promise in self:
            collector = promise._collector()
            reader = collector.partner_id
            promise = collector._dunning_in_my_lang(promise)
            _ = promise.env._
            promise._schedule_follow_up(
                _("Promise broken"),
                _(
                    "%(partner)s did not pay the %(amount)s promised for %(date)s.",
                    partner=promise.partner_id.display_name,
                    amount=reader._dunning_format_amount(
                        promise.amount, promise.currency_id, promise.company_id
                    ),
                    date=reader._dunning_format_date(promise.date_promised),
                ),
            )
        to_escalate = self.move_ids.filtered(
            lambda m: (
                m._is_dunning_open() and not m.dunning_excluded and m.dunning_next_date
            )
        )
        if to_escalate:
            to_escalate.sudo().write({"dunning_escalate": True})
            self.env.ref("account_dunning.ir_cron_dunning_plan").sudo()._trigger()

    def _collector(self):
        """Who follows this promise up: the customer's collector, else the
        promise's, else the salesperson, else the system."""
        self.ensure_one()
        partner = self.partner_id.with_company(self.company_id)
        user = partner.dunning_collector_id or self.user_id or partner.user_id
        return user or self.env.ref("base.user_root")

    def _schedule_follow_up(self, summary, note):
        self.ensure_one()
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=summary,
            note=note,
            user_id=self._collector().id,
        )
