import logging
from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL, split_every

from .dunning_reminder import (
    OPEN_CUSTOMER_INVOICE_DOMAIN,
    PLAN_LOCK_KEY,
)
from .dunning_reminder_hold_sql import promised_sql, reminder_day_sql  # noqa: F401
from .res_partner_policy import customer_policy_sql

_logger = logging.getLogger(__name__)


class DunningReminderPlan(models.Model):
    """Planning: which invoices reached a level, and the reminders they call for."""

    _inherit = "dunning.reminder"

    # ------------------------------------------------------------------------------
    # Crons
    # ------------------------------------------------------------------------------

    @api.model
    def _cron_plan(self, batch_size=1000):
        """Decide, for every company, which invoices reached a level today."""
        today = fields.Date.context_today(self)
        companies = self.env["res.company"].search([])
        for done, company in enumerate(companies, start=1):
            # A fresh transaction, so that the planning lock and the snapshot
            # planning reads are taken together (see _try_lock_planning).
            self._commit_between_batches()
            self.with_company(company)._plan_company(company, today, batch_size)
            self.with_company(company)._refresh_next_dates(company, today)
            self.env["ir.cron"]._notify_progress(
                done=done, remaining=len(companies) - done
            )

    # ------------------------------------------------------------------------------
    # Planning
    # ------------------------------------------------------------------------------

    def _plan_company(self, company, today, batch_size=1000):
        """Plan the reminders of one company; returns the reminders created.

        Set-based: one query finds every invoice that reached a higher level, then
        each batch of customers costs a fixed number of queries, whatever the
        number of invoices.
        """
        if not self._try_lock_planning(company):
            return self.browse()
        candidates = self._plan_candidates(company, today)
        if not candidates:
            return self.browse()
        by_partner = defaultdict(list)
        for row in candidates:
            by_partner[row["partner_id"]].append(row)
        # Statements are read once for all customers: per batch, the scan of the
        # company's open invoices would grow with the square of the invoices.
        statements = self._statement_moves(company, list(by_partner), today)
        created = self.browse()
        for partner_ids in split_every(batch_size, list(by_partner)):
            batch = {pid: by_partner[pid] for pid in partner_ids}
            created |= self._plan_batch(company, today, batch, statements)
            self._commit_between_batches()
            # The commit released the lock: a run that took it meanwhile
            # plans the rest from a fresh snapshot.
            if not self._try_lock_planning(company):
                break
        return created

    def _refresh_next_dates(self, company, today):
        """ "Next Reminder" of the company's open invoices whose day passed
        without a reminder (a hold, a pause, a customer paced out): it says
        what will happen from today, never a day gone by."""
        self.env["account.move"].search(
            [
                ("company_id", "=", company.id),
                *OPEN_CUSTOMER_INVOICE_DOMAIN,
                ("dunning_next_date", "<", today),
            ]
        )._dunning_refresh_next_date()

    def _try_lock_planning(self, company):
        """Take the company's planning lock, unless another run holds it.

        Two runs planning the same invoices would update the same rows, and
        one would die with a serialization failure. The lock lasts until the
        transaction ends, so nothing is left locked by a run that crashed.
        Skip rather than wait: a run that waited would go on from a snapshot
        older than the other run's commits and fail all the same, while the
        other run does the work.
        """
        self.env.cr.execute(
            SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", PLAN_LOCK_KEY, company.id)
        )
        if self.env.cr.fetchone()[0]:
            return True
        _logger.info(
            "Planning of company %s skipped: another planning run holds it.",
            company.id,
        )
        return False

    def _plan_candidates(self, company, today):
        """Open invoices of ``company`` whose highest reached level is above theirs.

        Raw SQL because the reached level is a per-invoice lateral join over the
        policy's levels, and the customer's policy (its own, its segment's or
        the company's: ``customer_policy_sql``) reads a company-dependent jsonb
        and the risk rows: the ORM would need one query per invoice.
        """
        self.env.flush_all()
        policy = customer_policy_sql(SQL.identifier("partner"), company.id)
        query = SQL(
            """
            WITH invoice AS (
                SELECT move.id,
                       move.commercial_partner_id AS partner_id,
                       move.currency_id,
                       -- The ladder counts from the earliest unpaid
                       -- instalment's due date (account.move.dunning_due_date);
                       -- a resent invoice restarts it (dunning_restart_date);
                       -- GREATEST skips NULL.
                       GREATEST(move.dunning_due_date, move.dunning_restart_date)
                           AS ladder_date,
                       move.dunning_due_date,
                       move.amount_residual_signed,
                       -- A level reached for an instalment since paid is
                       -- behind it: the next one climbs from its own date.
                       CASE WHEN move.dunning_level_due_date IS NULL
                              OR move.dunning_level_due_date = move.dunning_due_date
                            THEN move.dunning_level_id
                       END AS dunning_level_id,
                       move.dunning_escalate IS TRUE AS escalate,
                       %(policy)s AS policy_id
                  FROM account_move move
                  JOIN res_partner partner ON partner.id = move.commercial_partner_id
                  %(policy_joins)s
                 WHERE move.company_id = %(company_id)s
                   AND move.move_type = 'out_invoice'
                   AND move.state = 'posted'
                   AND move.payment_state IN ('not_paid', 'partial')
                   AND move.amount_residual > 0
                   AND move.dunning_due_date IS NOT NULL
                   AND move.dunning_excluded IS NOT TRUE
                   AND partner.dunning_excluded IS NOT TRUE
                   AND (partner.dunning_paused_until IS NULL
                        OR partner.dunning_paused_until < %(today)s)
                   AND move.dunning_dispute_id IS NULL
                   -- An open payment promise holds its invoices until its
                   -- grace date.
                   AND NOT %(promised)s
            )
            SELECT invoice.id AS move_id,
                   invoice.partner_id,
                   invoice.currency_id,
                   invoice.policy_id,
                   invoice.dunning_due_date AS due_date,
                   reached.id AS level_id,
                   reached.offset_days
              FROM invoice
              JOIN dunning_policy policy
                ON policy.id = invoice.policy_id AND policy.active
              JOIN LATERAL (
                    SELECT level.id, level.offset_days
                      FROM dunning_level level
                     WHERE level.policy_id = invoice.policy_id
                       AND (invoice.ladder_date + level.offset_days
                                <= %(today)s
                            -- A broken promise: the next level now, or the
                            -- highest reached if that is further.
                            OR (invoice.escalate
                                AND level.offset_days <= (
                                    SELECT MIN(next_level.offset_days)
                                      FROM dunning_level next_level
                                 LEFT JOIN dunning_level current_level
                                        ON current_level.id
                                           = invoice.dunning_level_id
                                     WHERE next_level.policy_id = invoice.policy_id
                                       AND (current_level.id IS NULL
                                            OR current_level.policy_id
                                               != invoice.policy_id
                                            OR next_level.offset_days
                                               > current_level.offset_days)
                                )))
                  ORDER BY level.offset_days DESC
                     LIMIT 1
                   ) reached ON TRUE
              LEFT JOIN dunning_level current_level
                ON current_level.id = invoice.dunning_level_id
             WHERE invoice.amount_residual_signed >= COALESCE(policy.min_amount, 0)
               AND (current_level.id IS NULL
                    OR current_level.policy_id != invoice.policy_id
                    OR current_level.offset_days < reached.offset_days)
               -- A broken promise is answered at once, whatever the days
               -- between reminders.
               AND (invoice.escalate OR NOT EXISTS (
                    SELECT 1
                      FROM dunning_reminder recent
                     WHERE recent.partner_id = invoice.partner_id
                       AND recent.company_id = %(company_id)s
                       -- Notices (a promise's confirmation, a thank-you) are
                       -- paced by the contact caps, not by the ladder.
                       AND recent.kind = 'reminder'
                       AND recent.state != 'cancelled'
                       -- A reminder counts from the day it reaches the customer:
                       -- its sending day, or for one still waiting (deferred to
                       -- Monday, say) the day it is due to go out.
                       AND %(recent_day)s
                           > %(today)s - policy.min_days_between_reminders
                   ))
             ORDER BY invoice.partner_id, invoice.id
            """,
            policy=policy.policy_id,
            policy_joins=policy.joins,
            company_id=company.id,
            today=today,
            promised=promised_sql(SQL.identifier("move", "id"), today),
            recent_day=reminder_day_sql("recent"),
        )
        self.env.cr.execute(query)
        return self.env.cr.dictfetchall()

    def _plan_batch(self, company, today, rows_by_partner, statements=None):
        """Create the reminders of a batch of customers and take their decisions.

        A fixed number of queries whatever the batch size: the statements, one
        insert for the reminders, one for the invoices they list, one for the
        decisions, one update of the invoices' levels.
        """
        levels = self.env["dunning.level"].browse(
            {row["level_id"] for rows in rows_by_partner.values() for row in rows}
        )
        channels_by_level = {level.id: level._get_channels() for level in levels}
        offset_by_level = {level.id: level.offset_days for level in levels}
        if statements is None:
            statements = self._statement_moves(company, list(rows_by_partner), today)

        unreachable = self._unreachable_channels(rows_by_partner, channels_by_level)

        reminder_rows = []  # (partner_id, level_id, channel, currency_id, amount)
        listed = []  # (index in reminder_rows, move_id)
        # (index in reminder_rows, move_id, level_id, channel, due date)
        decisions = []
        for partner_id, rows in rows_by_partner.items():
            groups = defaultdict(list)
            for row in rows:
                channels = channels_by_level[row["level_id"]]
                dropped = unreachable.get((partner_id, row["policy_id"]))
                if dropped:
                    channels = [c for c in channels if c not in dropped]
                for channel in channels:
                    groups[(row["currency_id"], channel)].append(row)
            for (currency_id, channel), group_rows in groups.items():
                top = max(group_rows, key=lambda r: offset_by_level[r["level_id"]])
                moves = statements.get((partner_id, currency_id), [])
                index = len(reminder_rows)
                reminder_rows.append(
                    (
                        partner_id,
                        top["level_id"],
                        channel,
                        currency_id,
                        sum(residual for _move, residual in moves),
                    )
                )
                listed.extend((index, move_id) for move_id, _residual in moves)
                decisions.extend(
                    (index, row["move_id"], row["level_id"], channel, row["due_date"])
                    for row in group_rows
                )
        reminder_ids = self._insert_reminders(company, today, reminder_rows)
        self._insert_listed_moves(
            [(reminder_ids[index], move_id) for index, move_id in listed]
        )
        taken = self._insert_decisions(
            [
                (reminder_ids[index], move_id, level_id, channel, company.id, due)
                for index, move_id, level_id, channel, due in decisions
            ]
        )
        # Another worker took these decisions first: its reminders stand, ours go.
        duplicates = self.browse(set(reminder_ids) - taken)
        if duplicates:
            duplicates.unlink()
        planned = [
            (move_id, level_id)
            for index, move_id, level_id, _channel, _due in decisions
            if reminder_ids[index] in taken
        ]
        self._update_invoice_levels(planned, today)
        # The customers just got a reminder: the days between reminders now
        # count from it for their other invoices too. Only those whose next
        # reminder was due sooner than that change.
        policies = self.env["dunning.policy"].browse(
            {row["policy_id"] for rows in rows_by_partner.values() for row in rows}
        )
        gap = max(policies.mapped("min_days_between_reminders"), default=0)
        self.env["account.move"].search(
            [
                ("commercial_partner_id", "in", list(rows_by_partner)),
                ("company_id", "=", company.id),
                *OPEN_CUSTOMER_INVOICE_DOMAIN,
                ("id", "not in", [move_id for move_id, _level_id in planned]),
                ("dunning_next_date", "<", fields.Date.add(today, days=gap)),
            ]
        )._dunning_refresh_next_date()
        return self.browse([rid for rid in reminder_ids if rid in taken])

    def _unreachable_channels(self, rows_by_partner, channels_by_level):
        """``{(customer, policy): channels}`` left out of the plan.

        A channel that cannot reach the customer (opted out, no consent where
        the policy asks for it, no valid number) would only queue a failure
        when the same level also reaches them on another debtor channel: that
        other channel is the reminder. A level whose only debtor channel it is
        still plans it, so that sending fails visibly and queues the policy's
        fallback. What changes after planning is checked again when sending.
        """
        plugins = self.env["dunning.channel"]._dunning_channels()
        debtor = set(self.env["dunning.channel"]._dunning_debtor_channels())
        asked = defaultdict(set)  # (channel, policy_id) -> partner ids
        for partner_id, rows in rows_by_partner.items():
            for row in rows:
                reaching = debtor.intersection(channels_by_level[row["level_id"]])
                if len(reaching) < 2:
                    continue
                for code in reaching:
                    asked[(code, row["policy_id"])].add(partner_id)
        result = defaultdict(set)
        for (code, policy_id), partner_ids in asked.items():
            unreachable = plugins[code]._unreachable_partners(
                self.env["res.partner"].browse(partner_ids),
                self.env["dunning.policy"].browse(policy_id),
            )
            for partner_id in unreachable:
                result[(partner_id, policy_id)].add(code)
        # Never every channel of a level: one must still go, and fail visibly.
        for partner_id, rows in rows_by_partner.items():
            for row in rows:
                key = (partner_id, row["policy_id"])
                reaching = debtor.intersection(channels_by_level[row["level_id"]])
                if reaching and key in result and reaching <= result[key]:
                    result[key] -= {
                        min(reaching, key=lambda c: plugins[c]._channel_sequence)
                    }
        return result

    def _insert_reminders(self, company, today, rows):
        """Insert queued reminders in one statement; return their ids in order.

        Raw SQL because the ORM creates records one by one in Python (defaults,
        computes, m2m commands) and planning must stay set-based; the values are
        the ones ``create`` would give, the collector included.
        """
        if not rows:
            return []
        partner_ids, level_ids, channels, currency_ids, amounts = zip(
            *rows, strict=True
        )
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO dunning_reminder
                       (uuid, company_id, partner_id, user_id, policy_id, level_id,
                        channel, kind, origin, state, plan_date, scheduled_at,
                        currency_id, amount_due, attempt_count, deferral_count,
                        create_uid, create_date, write_uid, write_date)
                SELECT gen_random_uuid()::varchar, %(company_id)s, new.partner_id,
                       COALESCE(
                           (partner.dunning_collector_id ->> %(company_key)s)::int,
                           partner.user_id
                       ),
                       level.policy_id, new.level_id, new.channel, 'reminder',
                       'plan', 'queued',
                       %(today)s, %(now)s, new.currency_id, new.amount, 0, 0,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM UNNEST(%(partner_ids)s::int[], %(level_ids)s::int[],
                              %(channels)s::varchar[], %(currency_ids)s::int[],
                              %(amounts)s::numeric[])
                       AS new(partner_id, level_id, channel, currency_id, amount)
                  JOIN res_partner partner ON partner.id = new.partner_id
                  JOIN dunning_level level ON level.id = new.level_id
             RETURNING id, partner_id, currency_id, channel
                """,
                company_id=company.id,
                company_key=str(company.id),
                today=today,
                now=fields.Datetime.now(),
                uid=self.env.uid,
                partner_ids=list(partner_ids),
                level_ids=list(level_ids),
                channels=list(channels),
                currency_ids=list(currency_ids),
                amounts=list(amounts),
            )
        )
        # (customer, currency, channel) is unique within a batch: it maps the
        # returned ids back to the rows, whatever order RETURNING uses.
        ids = {tuple(row[1:]): row[0] for row in self.env.cr.fetchall()}
        return [ids[(row[0], row[3], row[2])] for row in rows]

    def _insert_listed_moves(self, pairs):
        """Link reminders to the invoices and credit notes they list, in one query."""
        if not pairs:
            return
        reminder_ids, move_ids = zip(*pairs, strict=True)
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO dunning_reminder_account_move_rel (reminder_id, move_id)
                SELECT * FROM UNNEST(%(reminder_ids)s::int[], %(move_ids)s::int[])
                    ON CONFLICT DO NOTHING
                """,
                reminder_ids=list(reminder_ids),
                move_ids=list(move_ids),
            )
        )
        self.invalidate_model(["move_ids"])
        self.env["account.move"].invalidate_model(["dunning_reminder_ids"])

    def _statement_moves(self, company, partner_ids, today=None):
        """Open invoices and credit notes per (customer, currency), in one
        query: what a reminder lists, without the invoices on hold (disputed,
        or under an open payment promise until its grace date, as
        ``account.move._dunning_held`` says).

        :return: {(partner_id, currency_id): [(move_id, signed residual), ...]}
        """
        self.env.cr.execute(
            SQL(
                """
                SELECT id, commercial_partner_id, currency_id,
                       CASE WHEN move_type = 'out_refund'
                            THEN -amount_residual ELSE amount_residual END
                  FROM account_move
                 WHERE company_id = %(company_id)s
                   AND commercial_partner_id = ANY(%(partner_ids)s)
                   AND move_type IN ('out_invoice', 'out_refund')
                   AND state = 'posted'
                   AND payment_state IN ('not_paid', 'partial')
                   AND amount_residual > 0
                   AND dunning_excluded IS NOT TRUE
                   -- A disputed invoice is not claimed until settled.
                   AND dunning_dispute_id IS NULL
                   -- Nor one the customer promised to pay, until the grace date.
                   AND NOT %(promised)s
              ORDER BY dunning_due_date, id
                """,
                company_id=company.id,
                partner_ids=partner_ids,
                promised=promised_sql(
                    SQL.identifier("account_move", "id"),
                    today or fields.Date.context_today(self),
                ),
            )
        )
        statements = defaultdict(list)
        for move_id, partner_id, currency_id, residual in self.env.cr.fetchall():
            statements[(partner_id, currency_id)].append((move_id, residual))
        return statements

    def _insert_decisions(self, rows):
        """Insert decision rows, skipping those already taken; return reminder ids.

        Raw SQL for ``ON CONFLICT DO NOTHING``: the unique key, not a check in
        Python, is what makes planning idempotent across workers and crashes.
        """
        if not rows:
            return set()
        reminder_ids, move_ids, level_ids, channels, company_ids, due_dates = zip(
            *rows, strict=True
        )
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO dunning_reminder_line
                       (reminder_id, move_id, level_id, channel, company_id,
                        due_date)
                SELECT reminder_id, move_id, level_id, channel, company_id,
                       due_date
                  FROM UNNEST(%(reminder_ids)s::int[], %(move_ids)s::int[],
                              %(level_ids)s::int[], %(channels)s::varchar[],
                              %(company_ids)s::int[], %(due_dates)s::date[])
                       AS decision(reminder_id, move_id, level_id, channel,
                                   company_id, due_date)
                    ON CONFLICT (move_id, level_id, channel, due_date) DO NOTHING
             RETURNING reminder_id
                """,
                reminder_ids=list(reminder_ids),
                move_ids=list(move_ids),
                level_ids=list(level_ids),
                channels=list(channels),
                company_ids=list(company_ids),
                due_dates=list(due_dates),
            )
        )
        taken = {row[0] for row in self.env.cr.fetchall()}
        self.env["dunning.reminder.line"].invalidate_model()
        self.invalidate_model(["line_ids"])
        return taken

    def _update_invoice_levels(self, move_levels, today):
        """Move invoices to their new level in one statement, noting the
        instalment it was reached for, and their next reminder date.

        Raw SQL so that a batch of thousands of invoices costs one query. The
        next reminder date is ``account.move._dunning_next_reminder_date`` for
        an invoice planned today: planning held none of them (no promise,
        dispute, exclusion or pause) and reminded its customer today, so it is
        the next level's day, not before the days between reminders from today.
        """
        if not move_levels:
            return
        move_ids, level_ids = zip(*dict(move_levels).items(), strict=True)
        self.env.cr.execute(
            SQL(
                """
                UPDATE account_move move
                   SET dunning_level_id = decision.level_id,
                       dunning_level_due_date = move.dunning_due_date,
                       dunning_escalate = FALSE,
                       dunning_next_date = CASE
                           WHEN next_level.offset_days IS NOT NULL
                           THEN GREATEST(
                               GREATEST(move.dunning_due_date,
                                        move.dunning_restart_date)
                                   + next_level.offset_days,
                               %(today)s::date + policy.min_days_between_reminders)
                       END
                  FROM UNNEST(%(move_ids)s::int[], %(level_ids)s::int[])
                       AS decision(move_id, level_id)
                  JOIN dunning_level level ON level.id = decision.level_id
                  JOIN dunning_policy policy ON policy.id = level.policy_id
                  LEFT JOIN LATERAL (
                       SELECT MIN(following.offset_days) AS offset_days
                         FROM dunning_level following
                        WHERE following.policy_id = level.policy_id
                          AND following.offset_days > level.offset_days
                  ) next_level ON TRUE
                 WHERE move.id = decision.move_id
                """,
                today=today,
                move_ids=list(move_ids),
                level_ids=list(level_ids),
            )
        )
        self.env["account.move"].invalidate_model(
            [
                "dunning_level_id",
                "dunning_level_due_date",
                "dunning_escalate",
                "dunning_next_date",
            ]
        )
