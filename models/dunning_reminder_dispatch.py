import logging
from collections import defaultdict
from contextlib import nullcontext
from time import monotonic

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..services.backoff import can_retry, next_retry_at
from .dunning_channel import (
    HANDED_OVER,
    RETRY,
    SENT,
    UNCERTAIN,
    UNREACHABLE,
    WAIT,
)
from .dunning_reminder import (
    CONCURRENT_UPDATE_ERRORS,
    OWN_TRANSACTION_TRIES,
    STALE_CLAIM,
)

_logger = logging.getLogger(__name__)

# Reminders claimed, sent and committed together; a run's seconds (see
# _cron_dispatch). Overridden by the system parameters
# account_dunning.dispatch_batch_size and account_dunning.dispatch_time_budget.
# A cron worker of odoo-bin --workers is killed 120 s (limit_time_real) after
# it last reported alive, and it reports before sleeping, up to 60 s plus its
# pid modulo 10 when nothing wakes it (a fresh worker after a kill): a job may
# get 51 s. 30 s leaves room for the batch or the PDF that overruns it.
DISPATCH_BATCH_SIZE = 50
DISPATCH_TIME_BUDGET = 30.0


class DunningReminderDispatch(models.Model):
    """Dispatch: the contact gate, the channels' sends, retries and fallback."""

    _inherit = "dunning.reminder"

    @api.model
    def _cron_dispatch(self, batch_size=None, time_budget=None, clock=monotonic):
        """Send the due reminders whose customers may be contacted now, in
        small batches committed one by one, for at most ``time_budget``
        seconds; what is left goes to the next run.

        A batch is claimed with ``FOR UPDATE SKIP LOCKED`` (:meth:`_claim_due`):
        any number of workers, on any number of servers, share the queue.
        The size and the budget default to the system parameters
        ``account_dunning.dispatch_batch_size`` (50) and
        ``account_dunning.dispatch_time_budget`` (30 s); ``clock`` gives the
        seconds the budget is counted in (tests pass a fake one).

        Why a budget: Odoo's cron worker is killed when a run exceeds its
        limits (by default 120 s of real time and 60 s of CPU, for the whole
        run of a job, including the calls the runner repeats while this method
        reports work remaining, and counted from before the worker's sleep,
        see :data:`DISPATCH_TIME_BUDGET`), and a killed run rolls its last
        batch back and starts over next time, for ever. A batch starts only when the
        longest batch of the run so far still fits in the budget. What a
        batch needs and takes long to make (invoice PDFs) is made first,
        before the batch is claimed (:meth:`_prepare_ahead`), within the same
        budget: a run stopped by its limits then loses one piece, never a
        claimed batch.
        """
        if self._dispatch_switched_off():
            return 0
        params = self.env["ir.config_parameter"].sudo()
        if not batch_size:
            batch_size = int(
                params.get_param(
                    "account_dunning.dispatch_batch_size", DISPATCH_BATCH_SIZE
                )
            )
        if time_budget is None:
            time_budget = float(
                params.get_param(
                    "account_dunning.dispatch_time_budget", DISPATCH_TIME_BUDGET
                )
            )
        run = self._dispatch_run(clock, time_budget)
        now = fields.Datetime.now()
        self._recover_stale_claims(now)
        while True:
            started = clock()
            # A run's first batch always goes: every run moves the queue.
            moved = run["done"] or run["prepared"]
            if moved and started + run["longest"] >= run["deadline"]:
                break
            reminders = self._claim_due(now, batch_size)
            if not reminders:
                break
            made, left = reminders._prepare_ahead(run, clock)
            if made or left:
                run["prepared"] += made
                # Made apart while the batch stayed claimed and queued: release
                # it, and claim again in a snapshot that sees what was made.
                self._commit_between_batches()
                if left:
                    break  # out of time: the batch waits for the next run
                continue
            reminders._dispatch(now)
            run["done"] += len(reminders)
            self.env["ir.cron"]._notify_progress(
                done=run["done"], remaining=self._due_count(now)
            )
            self._commit_between_batches()
            run["longest"] = max(run["longest"], clock() - started)
        remaining = self._due_count(now)
        if remaining and not run["triggered"]:
            run["triggered"] = True
            # The rest goes in the next run, by whichever worker is free. The
            # runner calls again at once while work remains (the same run,
            # the same deadline: those calls return at once) and then keeps
            # the job ready; the trigger wakes the workers and covers a run
            # started by hand.
            self.env["dunning.reminder"]._trigger_dispatch()
        # Rendering counts as work done: a run that only rendered must not
        # look finished to the runner, which would drop the trigger.
        self.env["ir.cron"]._notify_progress(
            done=run["done"] + run["prepared"], remaining=remaining
        )
        self._commit_between_batches()
        return remaining

    @api.model
    def _dispatch_run(self, clock, time_budget):
        """The deadline of this dispatch run, its longest batch so far and the
        reminders it handled.

        Odoo's cron runner calls the job's method again, on the same cursor,
        while it reports work remaining (up to ten times), and its time limits
        cover all those calls: under the runner (``cron_id`` in the context)
        the calls share one deadline, kept on the cursor of the run. Called
        any other way, each call is a run of its own.
        """
        fresh = {
            "deadline": clock() + time_budget,
            "longest": 0.0,  # the longest batch so far
            "done": 0,
            "prepared": 0,  # pieces made ahead (_prepare_ahead)
            "tried": set(),  # and their ids
            "triggered": False,
        }
        cron_id = self.env.context.get("cron_id")
        # A cursor's ``cache`` lives as long as the cursor, across commits.
        runs = getattr(self.env.cr, "cache", None)
        if not cron_id or runs is None:
            return fresh
        return runs.setdefault(("account_dunning.dispatch", cron_id), fresh)

    def _prepare_ahead(self, run, clock):
        """Have each channel make what this batch (claimed, not committed)
        needs and takes long to make, apart from the claim; see
        ``dunning.channel._prepare_ahead``. A piece starts while the run has
        time left, and a run that has done nothing yet makes at least one.
        Returns the pieces made and those left."""

        def may_start(made):
            if not (made or run["done"] or run["prepared"]):
                return True
            return clock() < run["deadline"]

        channels = self.env["dunning.channel"]._dunning_channels()
        made = left = 0
        for code in set(self.mapped("channel")):
            reminders = self.filtered(lambda r, code=code: r.channel == code)
            done, todo = channels[code]._prepare_ahead(
                reminders,
                lambda count, before=made: may_start(before + count),
                run["tried"],
            )
            made += done
            left += todo
        return made, left

    @api.model
    def _due_count(self, now):
        """How many reminders are due at ``now`` and not claimed."""
        return self.search_count(
            [("state", "in", ("queued", "deferred")), ("scheduled_at", "<=", now)]
        )

    # ------------------------------------------------------------------------------
    # Dispatch
    # ------------------------------------------------------------------------------

    @api.model
    def _claim_due(self, now, limit):
        """Lock a batch of due reminders; a concurrent worker skips them."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT id
                  FROM dunning_reminder
                 WHERE state IN ('queued', 'deferred')
                   AND scheduled_at <= %(now)s
              ORDER BY scheduled_at, id
                 LIMIT %(limit)s
                   FOR UPDATE SKIP LOCKED
                """,
                now=now,
                limit=limit,
            )
        )
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    @api.model
    def _recover_stale_claims(self, now):
        """Settle reminders left ``sending`` by a worker that died: each
        channel knows what its send left behind (see ``dunning.channel._recover``)."""
        stale = self.search(
            [("state", "=", "sending"), ("claimed_at", "<", now - STALE_CLAIM)]
        )
        channels = self.env["dunning.channel"]._dunning_channels()
        for reminder in stale:
            channels[reminder.channel]._recover(reminder, now)

    def _dispatch(self, now):
        """Send, defer or cancel each reminder of ``self``; never raises.

        The whole batch is claimed first (``sending``): a channel may commit
        before its provider's call, which releases the batch's row locks, and a
        concurrent worker must then not find the rest queued. Each reminder
        then passes the contact gate (:meth:`_gate`), and the channels send
        those that passed, each channel its own batch.
        """
        pending = self.filtered(lambda r: r.state in ("queued", "deferred"))
        for reminder in pending:
            reminder.write(
                {
                    "state": "sending",
                    "claimed_at": now,
                    "attempt_count": reminder.attempt_count + 1,
                }
            )
        channels = self.env["dunning.channel"]._dunning_channels()
        reminders = pending.filtered(lambda r: not r._is_notice())
        statements = reminders._statement_moves_by_reminder()
        active = reminders.line_ids.move_id._dunning_active()
        contacts = pending._contacts_by_partner(now)
        trigger_times = set()
        ready = defaultdict(list)
        for reminder in pending:
            plugin = channels[reminder.channel]
            passed, when = reminder._gate(now, plugin, statements, active, contacts)
            if when:
                trigger_times.add(when)
            if passed:
                ready[reminder.channel].append(reminder.id)
        for code, ids in ready.items():
            reminders = self.browse(ids)
            channels[code]._before_send(reminders)
            trigger_times |= channels[code]._send(reminders, now)
            channels[code]._trigger_queue(reminders)
        if trigger_times:
            self.env["dunning.reminder"]._trigger_dispatch(at=sorted(trigger_times))

    def _settle(self, outcome, now):
        """Apply a channel's :data:`~.dunning_channel.Outcome` to this reminder;
        return when to dispatch it again, if ever. The one place where what a
        provider answered becomes a state, a retry or a fallback."""
        self.ensure_one()
        kind, reason, when = outcome
        if kind == SENT:
            self.write(
                {"state": "sent", "sent_at": now, "error_message": reason or False}
            )
            if self._is_notice():
                self._notice_on_sent(now)
            else:
                self._mark_invoices_reminded(now)
            return None
        if kind == HANDED_OVER:
            self.error_message = reason or False
            return None
        if kind == UNCERTAIN:
            self.error_message = reason
            return None
        if kind == WAIT:
            self._requeue(when, reason)
            return when
        if kind == RETRY:
            if not can_retry(self.retry_count + 1):
                self._set_failed(
                    _(
                        "%(channel)s kept failing after %(count)s attempts: %(error)s",
                        channel=self._channel_plugin()._channel_label(),
                        count=self.retry_count + 1,
                        error=reason,
                    )
                )
                return None
            when = when or next_retry_at(now, self.retry_count)
            self._requeue(when, reason, retry=True)
            return when
        if kind == UNREACHABLE:
            self._fail_with_fallback(reason, now)
            return None
        self._set_failed(reason)
        return None

    def _mark_invoices_reminded(self, now):
        """The invoices this reminder listed were last reminded on ``now``'s
        day. Raw SQL: one statement, and no ORM write on invoices that a
        payment may be changing at the same moment."""
        invoices = self._get_template_invoices()
        if not invoices:
            return
        day = fields.Date.context_today(self, now)
        self.env.cr.execute(
            SQL(
                """
                UPDATE account_move
                   SET dunning_last_date = %(day)s
                 WHERE id IN %(ids)s
                   AND (dunning_last_date IS NULL OR dunning_last_date < %(day)s)
                """,
                day=day,
                ids=tuple(invoices.ids),
            )
        )
        invoices.invalidate_recordset(["dunning_last_date"])

    def _channel_plugin(self):
        """The plug-in of this reminder's channel."""
        self.ensure_one()
        return self.env["dunning.channel"]._dunning_channel(self.channel)

    def _fail_with_fallback(self, reason, now=None):
        """This reminder cannot reach the customer: fail it and queue its
        fallback reminder, and say so in the customer's chatter."""
        self.ensure_one()
        self._set_failed(reason)
        fallback, note = self._create_fallback(now or fields.Datetime.now())
        self.error_message = f"{reason}\n{note}"
        self.partner_id.sudo()._message_log(body=self._failure_note(reason, note))
        if self._is_notice():
            for record in self._notice_log_records():
                record.sudo()._message_log(body=self._failure_note(reason, note))
            return fallback
        body = self._failure_note(reason, note)
        invoices = self._get_template_invoices()
        if invoices:
            invoices.sudo()._message_log_batch(bodies=dict.fromkeys(invoices.ids, body))
        return fallback

    def _failure_note(self, reason, note):
        """What the chatter says of a message that could not reach the customer."""
        if self._is_notice():
            return _(
                "The %(notice)s by %(channel)s could not reach the customer: "
                "%(reason)s %(note)s",
                notice=self._kind_label().lower(),
                channel=self._channel_plugin()._channel_label(),
                reason=reason,
                note=note,
            )
        return _(
            "The %(channel)s reminder %(level)s could not reach the customer: "
            "%(reason)s %(note)s",
            channel=self._channel_plugin()._channel_label(),
            level=self.level_id.name,
            reason=reason,
            note=note,
        )

    def _fallback_target(self):
        """The channel that takes over from this reminder's, following each
        channel's fallback until one can carry it; return its plug-in (or
        None) and why the channels skipped on the way could not."""
        channels = self.env["dunning.channel"]._dunning_channels()
        code = channels[self.channel]._fallback_code(self)
        seen, skipped = {self.channel}, []
        while code in channels and code not in seen:
            plugin = channels[code]
            if self._is_notice() and not plugin._channel_carries_notices:
                problem = _(
                    "%(channel)s does not carry this message",
                    channel=plugin._channel_label(),
                )
            else:
                problem = plugin._fallback_problem(self)
            if not problem:
                return plugin, skipped
            seen.add(code)
            skipped.append(problem)
            code = plugin._fallback_code(self)
        return None, skipped

    def _create_fallback(self, now):
        """Queue the reminder that replaces this one on the policy's next
        channel; return it (or none) and a sentence saying what was done.

        Its decisions go through the same unique (invoice, level, channel) key
        as planning: a level that already reaches these invoices on that channel
        sends no second message, and a second failure of this reminder (a retry,
        a late webhook) finds its fallback already there.
        """
        self.ensure_one()
        reminders = self.sudo()  # queueing a reminder is the engine's job
        if self.fallback_ids:
            return self.fallback_ids, _(
                "Its fallback reminder was already queued: %(fallback)s.",
                fallback=self.fallback_ids.display_name,
            )
        plugin, skipped = self._fallback_target()
        if plugin is None:
            if skipped:
                return reminders.browse(), _(
                    "No fallback: %(reasons)s.", reasons="; ".join(skipped)
                )
            return reminders.browse(), _("The policy has no fallback channel.")
        channel = plugin._channel_code
        if self._is_notice():
            sibling = self._notice_sibling(channel)
            if sibling:
                return reminders.browse(), _(
                    "It goes by %(channel)s already.", channel=plugin._channel_label()
                )
        fallback = reminders.create(
            {
                "origin": "fallback",
                "fallback_of_id": self.id,
                "company_id": self.company_id.id,
                "partner_id": self.partner_id.id,
                "level_id": self.level_id.id,
                "kind": self.kind,
                "promise_id": self.promise_id.id,
                "plan_id": self.plan_id.id,
                "asked_by_debtor": self.asked_by_debtor,
                "channel": channel,
                "currency_id": self.currency_id.id,
                "amount_due": self.amount_due,
                "move_ids": [fields.Command.set(self.move_ids.ids)],
                "plan_date": fields.Date.context_today(self),
                "scheduled_at": now,
                **plugin._fallback_values(self),
            }
        )
        if self.line_ids:
            taken = self._insert_decisions(
                [
                    (
                        fallback.id,
                        line.move_id.id,
                        line.level_id.id,
                        channel,
                        line.company_id.id,
                        line.due_date,
                    )
                    for line in self.line_ids
                ]
            )
            if not taken:
                fallback.unlink()
                return reminders.browse(), _(
                    "No fallback: this level already reminds these invoices by "
                    "%(channel)s.",
                    channel=plugin._channel_label(),
                )
        self.env["dunning.reminder"]._trigger_dispatch(at=now)
        note = _(
            "A reminder by %(channel)s was queued instead.",
            channel=plugin._channel_label(),
        )
        if skipped:
            note = _("%(reason)s: %(note)s", reason="; ".join(skipped), note=note)
        return fallback, note

    def _in_own_transaction(self, write):
        """Run ``write`` and commit it at once; from a fresh snapshot again when
        a concurrent transaction (a status webhook) changed the same rows first.

        Called only when everything before it is committed, so that starting
        over rolls back nothing but ``write`` itself. Under tests, which run in
        one transaction that is never committed, a savepoint stands for it.
        """
        testing = self._testing()
        for attempt in range(1, OWN_TRANSACTION_TRIES + 1):
            try:
                with self.env.cr.savepoint() if testing else nullcontext():
                    write()
                    self.env.flush_all()
            except CONCURRENT_UPDATE_ERRORS as error:
                if attempt == OWN_TRANSACTION_TRIES:
                    raise
                _logger.info(
                    "Dispatch: a concurrent update (%s), attempt %s, trying again",
                    type(error).__name__,
                    attempt,
                )
                if not testing:
                    self.env.cr.rollback()
                continue
            self._commit_between_batches()
            return

    def _mint_links(self):
        """Mint at once the links the messages of these reminders carry:
        each listed invoice's portal access token (one UPDATE, instead of an
        ORM write on each invoice), and each reminder's link to the
        customer's statement page (one INSERT), kept for rendering
        (:meth:`_get_portal_url`)."""
        self.move_ids._dunning_ensure_access_tokens()
        reminders = self.filtered(lambda r: not r._is_notice())
        cache = self.env.cr.cache.setdefault("dunning_portal_urls", {})
        reminders = reminders.filtered(lambda r: r.id not in cache)
        if reminders:
            cache.update(self.env["dunning.portal.token"]._url_many(reminders))

    def _set_statement(self, moves):
        self.move_ids = moves
        self.amount_due = sum(
            -m.amount_residual if m.move_type == "out_refund" else m.amount_residual
            for m in moves
        )

    def _set_cancelled(self, reason):
        self.write({"state": "cancelled", "error_message": reason})

    def _set_failed(self, reason):
        _logger.info("Reminder %s failed: %s", self.uuid, reason)
        self.write({"state": "failed", "error_message": reason})

    def _set_deferred(self, when, reason):
        self.write(
            {
                "state": "deferred",
                "scheduled_at": when,
                "claimed_at": False,
                "deferral_count": self.deferral_count + 1,
                "error_message": reason,
            }
        )

    def _requeue(self, when, reason, retry=False):
        values = {
            "state": "queued",
            "scheduled_at": when,
            "claimed_at": False,
            "error_message": reason,
        }
        if retry:
            values["retry_count"] = self.retry_count + 1
        self.write(values)
