import logging
import random
import threading
import uuid
from collections import defaultdict, namedtuple
from contextlib import nullcontext
from datetime import UTC, datetime, time, timedelta

import psycopg2.errors
from markupsafe import Markup

from odoo import _, api, fields, models, modules
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, email_normalize, split_every

from ..services import smtp_failure
from ..services.backoff import can_retry, next_retry_at
from ..services.contact_window import (
    describe,
    is_open,
    next_opening,
    resolve_zone,
)
from ..services.timezones import partner_timezones
from ..services.whatsapp import errors as wa
from ..services.whatsapp.events import should_apply_status
from .dunning_level import CHANNELS
from .dunning_whatsapp_message import DEFER_CHATTER

_logger = logging.getLogger(__name__)

# Channels that reach the debtor and so must respect the contact window; a
# collector activity is internal and can be created at any hour.
DEBTOR_CHANNELS = {"email", "whatsapp"}
# Channels whose send is a call to a provider that cannot be rolled back: the
# claim is committed before the call (outbox) and ``_send_<channel>(now)`` records
# every outcome itself, returning when to dispatch again, if ever.
OUTBOX_CHANNELS = {"whatsapp"}
# First key of the advisory lock that serialises planning per company
# (the second key is the company's id): any constant of our own, here the
# digits of "dunning" on a phone keypad.
PLAN_LOCK_KEY = 3866464
# What a status webhook updating the same message makes a dispatcher's write
# fail with, under PostgreSQL's repeatable read: worth one more try from a
# fresh snapshot, a few times.
CONCURRENT_UPDATE_ERRORS = (
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.DeadlockDetected,
    psycopg2.errors.LockNotAvailable,
)
OWN_TRANSACTION_TRIES = 5
# A claim older than this is considered abandoned by a crashed worker.
STALE_CLAIM = timedelta(minutes=30)
# How long a send whose outcome is uncertain waits for the provider's status
# webhook (Meta retries its webhooks for up to 7 days, but a day without any news
# means the message most likely never left) before a person decides.
UNCERTAIN_GRACE = timedelta(hours=24)
OPEN_INVOICE_DOMAIN = [
    ("state", "=", "posted"),
    ("payment_state", "in", ("not_paid", "partial")),
    ("amount_residual", ">", 0),
]


# A WhatsApp message prepared by ``_prepare_whatsapp``: its outbox record exists,
# the call is still to be made (``_deliver_whatsapp``).
PreparedWhatsApp = namedtuple(
    "PreparedWhatsApp", "account message template params url_suffix body"
)


class RecipientUnreachableError(UserError):
    """The customer cannot be reached on this channel at all (no valid address,
    no consent, opt-out): the reminder fails and its fallback takes over."""


class WhatsAppUnreachableError(RecipientUnreachableError):
    """The customer cannot be reached by WhatsApp at all (consent, opt-out,
    number): the reminder fails and the policy's fallback channel takes over."""


class DunningReminder(models.Model):
    """A reminder to one customer on one channel: the outbox and the contact history.

    Planning creates reminders in state ``queued``; dispatch sends them when the
    customer's contact window is open, or defers them to the next opening. A
    reminder that reached the customer is never deleted: it is the audit trail.
    """

    _name = "dunning.reminder"
    _inherit = ["dunning.engine.record"]
    _description = "Collection Reminder"
    _order = "scheduled_at desc, id desc"
    _check_company_auto = True

    uuid = fields.Char(
        string="Reference",
        default=lambda self: str(uuid.uuid4()),
        required=True,
        readonly=True,
        copy=False,
        index=True,
    )
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
    recipient_id = fields.Many2one(
        "res.partner",
        readonly=True,
        help="The contact the message went to: the customer's invoicing address.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Collector",
        index=True,
        readonly=True,
        compute="_compute_user_id",
        store=True,
    )
    policy_id = fields.Many2one(related="level_id.policy_id", store=True, index=True)
    level_id = fields.Many2one(
        "dunning.level", required=True, index=True, readonly=True, ondelete="restrict"
    )
    tone = fields.Selection(related="level_id.tone")
    channel = fields.Selection(selection=CHANNELS, required=True, readonly=True)
    origin = fields.Selection(
        [
            ("plan", "Scheduled"),
            ("manual", "Sent by hand"),
            ("fallback", "Fallback"),
            ("automation", "Automation rule"),
        ],
        default="plan",
        required=True,
        readonly=True,
        help="Fallback: sent instead of a WhatsApp reminder that could not reach "
        "the customer, as the policy says.",
    )
    fallback_of_id = fields.Many2one(
        "dunning.reminder",
        index=True,
        readonly=True,
        ondelete="restrict",
        help="The WhatsApp reminder that could not reach the customer and that "
        "this reminder replaces.",
    )
    fallback_ids = fields.One2many(
        "dunning.reminder", "fallback_of_id", string="Replaced By", readonly=True
    )
    mail_template_id = fields.Many2one(
        "mail.template",
        string="Email Template",
        readonly=True,
        help="The template of this email when it is not the level's own: a "
        "fallback email of a WhatsApp level.",
    )
    state = fields.Selection(
        [
            ("queued", "Queued"),
            ("deferred", "Deferred"),
            ("sending", "Sending"),
            ("sent", "Sent"),
            ("delivered", "Delivered"),
            ("read", "Read"),
            ("failed", "Failed"),
            ("cancelled", "Cancelled"),
        ],
        default="queued",
        required=True,
        index=True,
        readonly=True,
    )
    plan_date = fields.Date(
        default=fields.Date.context_today, required=True, readonly=True, index=True
    )
    scheduled_at = fields.Datetime(
        string="Scheduled",
        default=fields.Datetime.now,
        required=True,
        readonly=True,
        index=True,
        help="Not sent before this moment: the next opening of the customer's "
        "contact window when the reminder was deferred.",
    )
    claimed_at = fields.Datetime(readonly=True)
    sent_at = fields.Datetime(string="Sent", readonly=True)
    error_message = fields.Text(readonly=True)
    attempt_count = fields.Integer(readonly=True)
    retry_count = fields.Integer(
        readonly=True,
        help="Sends that failed with a temporary error and were tried again.",
    )
    whatsapp_template_id = fields.Many2one(
        "dunning.whatsapp.template",
        string="WhatsApp Template",
        readonly=True,
        help="The template of this WhatsApp reminder when it is not the level's: "
        "one chosen by an automation rule's Send WhatsApp action.",
    )
    whatsapp_message_ids = fields.One2many(
        "dunning.whatsapp.message", "reminder_id", string="WhatsApp Messages"
    )
    deferral_count = fields.Integer(readonly=True)
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    amount_due = fields.Monetary(
        readonly=True,
        help="What the customer owed in this currency when the reminder was "
        "planned or sent: open invoices minus open credit notes.",
    )
    move_ids = fields.Many2many(
        "account.move",
        "dunning_reminder_account_move_rel",
        "reminder_id",
        "move_id",
        string="Invoices",
        readonly=True,
        help="The open invoices and credit notes the message listed.",
    )
    line_ids = fields.One2many(
        "dunning.reminder.line", "reminder_id", string="Decisions", readonly=True
    )
    mail_id = fields.Many2one("mail.mail", string="Email", readonly=True)
    message_id = fields.Many2one("mail.message", readonly=True)
    activity_id = fields.Many2one("mail.activity", readonly=True, ondelete="set null")

    # What happened to the message: the dispatcher's to write, never a user's
    # (a collector setting a sent reminder back to queued would have it sent
    # again, and the audit trail would lie).
    _dunning_engine_fields = frozenset(
        {
            "state",
            "plan_date",
            "scheduled_at",
            "claimed_at",
            "sent_at",
            "error_message",
            "attempt_count",
            "retry_count",
            "deferral_count",
            "recipient_id",
            "fallback_of_id",
            "line_ids",
            "whatsapp_message_ids",
            "mail_id",
            "message_id",
            "activity_id",
            "uuid",
        }
    )

    _sql_constraints = [
        (
            "fallback_of_unique",
            "UNIQUE(fallback_of_id)",
            "A reminder is replaced by one fallback reminder at most.",
        ),
    ]

    @api.depends("partner_id", "company_id")
    def _compute_user_id(self):
        for reminder in self:
            partner = reminder.partner_id.with_company(reminder.company_id)
            reminder.user_id = partner.dunning_collector_id or partner.user_id

    @api.depends("level_id", "partner_id", "channel")
    def _compute_display_name(self):
        channel_labels = dict(self._fields["channel"]._description_selection(self.env))
        for reminder in self:
            reminder.display_name = _(
                "%(level)s to %(partner)s by %(channel)s",
                level=reminder.level_id.name or "",
                partner=reminder.partner_id.display_name or "",
                channel=channel_labels.get(reminder.channel, ""),
            )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_contacted(self):
        if any(r.state not in ("queued", "deferred", "cancelled") for r in self):
            raise UserError(
                _(
                    "A reminder that was sent or attempted is part of the contact "
                    "history and cannot be deleted."
                )
            )

    # ------------------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------------------

    # The buttons act through the engine (superuser mode, see
    # dunning.engine.record) once the user's own right to change these
    # reminders is checked; the user stays the author of what they cause.

    def action_cancel(self):
        self.check_access("write")
        pending = self.filtered(lambda r: r.state in ("queued", "deferred"))
        pending.sudo().write(
            {"state": "cancelled", "error_message": _("Cancelled by hand.")}
        )
        return True

    def action_retry(self):
        """Queue failed reminders again; the error they had stays in the
        customer's chatter (the audit trail keeps every attempt)."""
        self.check_access("write")
        failed = self.filtered(lambda r: r.state == "failed")
        for reminder in failed:
            reminder.partner_id.sudo()._message_log(
                body=_(
                    "%(reminder)s queued again by %(user)s after it failed: %(error)s",
                    reminder=reminder.display_name,
                    user=self.env.user.name,
                    error=reminder.error_message or "",
                )
            )
        failed.sudo().write(
            {
                "state": "queued",
                "scheduled_at": fields.Datetime.now(),
                "error_message": False,
            }
        )
        return True

    def action_send_now(self):
        """Dispatch these reminders now (still inside the contact window only)."""
        self.check_access("write")
        pending = self.filtered(lambda r: r.state in ("queued", "deferred"))
        pending.sudo()._dispatch(fields.Datetime.now())
        return True

    def _dunning_settled(self):
        """Attempted, sent or cancelled: part of the contact history."""
        return self.filtered(lambda r: r.state not in ("queued", "deferred"))

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
            self.env["ir.cron"]._notify_progress(
                done=done, remaining=len(companies) - done
            )

    @api.model
    def _cron_dispatch(self, batch_size=200):
        """Send every due reminder whose customer may be contacted now."""
        now = fields.Datetime.now()
        self._recover_stale_claims(now)
        done = 0
        while True:
            reminders = self._claim_due(now, batch_size)
            if not reminders:
                break
            reminders._dispatch(now)
            done += len(reminders)
            remaining = self.search_count(
                [("state", "in", ("queued", "deferred")), ("scheduled_at", "<=", now)]
            )
            self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
            self._commit_between_batches()

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
        statements = self._statement_moves(company, list(by_partner))
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
        policy's levels, and the partner's policy is company-dependent (jsonb):
        the ORM would need one query per invoice.
        """
        self.env.flush_all()
        default_policy = company.dunning_policy_id
        query = SQL(
            """
            WITH invoice AS (
                SELECT move.id,
                       move.commercial_partner_id AS partner_id,
                       move.currency_id,
                       -- A resent invoice restarts its ladder (see
                       -- account.move.dunning_restart_date); GREATEST skips NULL.
                       GREATEST(move.invoice_date_due, move.dunning_restart_date)
                           AS invoice_date_due,
                       move.amount_residual_signed,
                       move.dunning_level_id,
                       move.dunning_escalate IS TRUE AS escalate,
                       COALESCE(
                           (partner.dunning_policy_id ->> %(company_key)s)::int,
                           %(default_policy)s
                       ) AS policy_id
                  FROM account_move move
                  JOIN res_partner partner ON partner.id = move.commercial_partner_id
                 WHERE move.company_id = %(company_id)s
                   AND move.move_type = 'out_invoice'
                   AND move.state = 'posted'
                   AND move.payment_state IN ('not_paid', 'partial')
                   AND move.amount_residual > 0
                   AND move.invoice_date_due IS NOT NULL
                   AND move.dunning_excluded IS NOT TRUE
                   AND partner.dunning_excluded IS NOT TRUE
                   AND (partner.dunning_paused_until IS NULL
                        OR partner.dunning_paused_until < %(today)s)
                   AND move.dunning_dispute_id IS NULL
                   -- An open payment promise holds its invoices until its
                   -- grace date.
                   AND NOT EXISTS (
                        SELECT 1
                          FROM dunning_promise_account_move_rel promised
                          JOIN dunning_promise promise
                            ON promise.id = promised.promise_id
                         WHERE promised.move_id = move.id
                           AND promise.state = 'open'
                           AND promise.date_grace >= %(today)s
                   )
            )
            SELECT invoice.id AS move_id,
                   invoice.partner_id,
                   invoice.currency_id,
                   invoice.policy_id,
                   reached.id AS level_id,
                   reached.offset_days
              FROM invoice
              JOIN dunning_policy policy
                ON policy.id = invoice.policy_id AND policy.active
              JOIN LATERAL (
                    SELECT level.id, level.offset_days
                      FROM dunning_level level
                     WHERE level.policy_id = invoice.policy_id
                       AND (invoice.invoice_date_due + level.offset_days
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
                       AND recent.state != 'cancelled'
                       -- A reminder counts from the day it reaches the customer:
                       -- its sending day, or for one still waiting (deferred to
                       -- Monday, say) the day it is due to go out.
                       AND CASE
                           WHEN recent.state IN ('queued', 'deferred', 'sending')
                           THEN GREATEST(recent.scheduled_at::date, recent.plan_date)
                           ELSE COALESCE(recent.sent_at::date, recent.plan_date)
                           END > %(today)s - policy.min_days_between_reminders
                   ))
             ORDER BY invoice.partner_id, invoice.id
            """,
            company_key=str(company.id),
            default_policy=default_policy.id or None,
            company_id=company.id,
            today=today,
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
            statements = self._statement_moves(company, list(rows_by_partner))

        unreachable = self._whatsapp_unreachable(rows_by_partner, channels_by_level)

        reminder_rows = []  # (partner_id, level_id, channel, currency_id, amount)
        listed = []  # (index in reminder_rows, move_id)
        decisions = []  # (index in reminder_rows, move_id, level_id, channel)
        for partner_id, rows in rows_by_partner.items():
            groups = defaultdict(list)
            for row in rows:
                channels = channels_by_level[row["level_id"]]
                if (partner_id, row["policy_id"]) in unreachable:
                    channels = [c for c in channels if c != "whatsapp"]
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
                    (index, row["move_id"], row["level_id"], channel)
                    for row in group_rows
                )
        reminder_ids = self._insert_reminders(company, today, reminder_rows)
        self._insert_listed_moves(
            [(reminder_ids[index], move_id) for index, move_id in listed]
        )
        taken = self._insert_decisions(
            [
                (reminder_ids[index], move_id, level_id, channel, company.id)
                for index, move_id, level_id, channel in decisions
            ]
        )
        # Another worker took these decisions first: its reminders stand, ours go.
        duplicates = self.browse(set(reminder_ids) - taken)
        if duplicates:
            duplicates.unlink()
        self._update_invoice_levels(
            [
                (move_id, level_id)
                for index, move_id, level_id, _channel in decisions
                if reminder_ids[index] in taken
            ]
        )
        return self.browse([rid for rid in reminder_ids if rid in taken])

    def _whatsapp_unreachable(self, rows_by_partner, channels_by_level):
        """(customer, policy) pairs whose WhatsApp reminder is not planned.

        A customer who opted out, gave no consent where the policy asks for it,
        or has no valid mobile number cannot get WhatsApp. When the same level
        also emails the customer, planning the WhatsApp reminder would only
        queue a failure (and no fallback, the email being there): the email is
        the reminder. A WhatsApp-only level still plans it, so that sending
        fails visibly and queues the policy's fallback. Consent given or
        withdrawn after planning is checked again when sending.
        """
        pairs = {
            (partner_id, row["policy_id"])
            for partner_id, rows in rows_by_partner.items()
            for row in rows
            if {"whatsapp", "email"} <= set(channels_by_level[row["level_id"]])
        }
        if not pairs:
            return set()
        # One read of the batch's customers and policies, through the prefetch.
        partners = self.env["res.partner"].browse({pid for pid, _policy in pairs})
        partners.fetch(
            [
                "whatsapp_opt_out",
                "whatsapp_opt_in",
                "whatsapp_number",
                "whatsapp_number_invalid",
            ]
        )
        policies = self.env["dunning.policy"].browse({pol for _pid, pol in pairs})
        return {
            (pid, policy_id)
            for pid, policy_id in pairs
            if partners.browse(pid)._whatsapp_unreachable_reason(
                policies.browse(policy_id)
            )
        }

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
                        channel, origin, state, plan_date, scheduled_at,
                        currency_id, amount_due, attempt_count, deferral_count,
                        create_uid, create_date, write_uid, write_date)
                SELECT gen_random_uuid()::varchar, %(company_id)s, new.partner_id,
                       COALESCE(
                           (partner.dunning_collector_id ->> %(company_key)s)::int,
                           partner.user_id
                       ),
                       level.policy_id, new.level_id, new.channel, 'plan', 'queued',
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

    def _statement_moves(self, company, partner_ids):
        """Open invoices and credit notes per (customer, currency), in one query.

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
              ORDER BY invoice_date_due, id
                """,
                company_id=company.id,
                partner_ids=partner_ids,
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
        reminder_ids, move_ids, level_ids, channels, company_ids = zip(
            *rows, strict=True
        )
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO dunning_reminder_line
                       (reminder_id, move_id, level_id, channel, company_id)
                SELECT reminder_id, move_id, level_id, channel, company_id
                  FROM UNNEST(%(reminder_ids)s::int[], %(move_ids)s::int[],
                              %(level_ids)s::int[], %(channels)s::varchar[],
                              %(company_ids)s::int[])
                       AS decision(reminder_id, move_id, level_id, channel,
                                   company_id)
                    ON CONFLICT (move_id, level_id, channel) DO NOTHING
             RETURNING reminder_id
                """,
                reminder_ids=list(reminder_ids),
                move_ids=list(move_ids),
                level_ids=list(level_ids),
                channels=list(channels),
                company_ids=list(company_ids),
            )
        )
        taken = {row[0] for row in self.env.cr.fetchall()}
        self.env["dunning.reminder.line"].invalidate_model()
        self.invalidate_model(["line_ids"])
        return taken

    def _update_invoice_levels(self, move_levels):
        """Move invoices to their new level in one statement.

        Raw SQL so that a batch of thousands of invoices costs one query; the next
        reminder date is derived the same way as ``_compute_dunning_next_date``.
        """
        if not move_levels:
            return
        move_ids, level_ids = zip(*dict(move_levels).items(), strict=True)
        self.env.cr.execute(
            SQL(
                """
                UPDATE account_move move
                   SET dunning_level_id = decision.level_id,
                       dunning_escalate = FALSE,
                       dunning_last_date = %(today)s,
                       dunning_next_date = GREATEST(
                           move.invoice_date_due, move.dunning_restart_date
                       ) + (
                           SELECT MIN(next_level.offset_days)
                             FROM dunning_level next_level
                             JOIN dunning_level level
                               ON level.id = decision.level_id
                            WHERE next_level.policy_id = level.policy_id
                              AND next_level.offset_days > level.offset_days
                       )
                  FROM UNNEST(%(move_ids)s::int[], %(level_ids)s::int[])
                       AS decision(move_id, level_id)
                 WHERE move.id = decision.move_id
                """,
                today=fields.Date.context_today(self),
                move_ids=list(move_ids),
                level_ids=list(level_ids),
            )
        )
        self.env["account.move"].invalidate_model(
            [
                "dunning_level_id",
                "dunning_escalate",
                "dunning_last_date",
                "dunning_next_date",
            ]
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
        """Settle reminders left in ``sending`` by a worker that died.

        Activity reminders are created in the same transaction that marks them
        sent, and an email reminder's mail in the one that leaves it
        ``sending``: a claim without its mail or activity was never sent and
        can safely go back to the queue. An email reminder with its mail waits
        for Odoo's mail queue, which reports the mail server's answer
        (_dunning_mail_outcome); one whose mail failed without that answer
        reaching it is settled from the mail's state.
        """
        stale = self.search(
            [("state", "=", "sending"), ("claimed_at", "<", now - STALE_CLAIM)]
        )
        for reminder in stale:
            if reminder.channel in OUTBOX_CHANNELS:
                # A message is marked attempted (and committed) just before its
                # call: with that mark it may have gone out, and only the
                # provider's status webhook settles it; without it, its worker
                # died before the call, and it is sent again.
                if not reminder._has_outbox_record():
                    reminder._outbox_messages().unlink()
                    reminder.write({"state": "queued", "claimed_at": False})
                    continue
                # A worker that died during its batch's calls left its
                # messages without their chatter notes (posted after the calls).
                reminder.whatsapp_message_ids.filtered(
                    lambda m: not m.chatter_message_ids
                )._chatter_sync()
                if reminder.claimed_at < now - UNCERTAIN_GRACE:
                    reminder._escalate_uncertain()
            elif reminder.mail_id:
                mail = reminder.mail_id
                if mail.state in ("sent", "exception", "cancel"):
                    reminder._dunning_mail_outcome(
                        mail, mail.failure_type, mail.failure_reason
                    )
            elif reminder.message_id or reminder.activity_id:
                reminder.write({"state": "sent", "sent_at": reminder.claimed_at})
            else:
                reminder.write({"state": "queued", "claimed_at": False})

    def _escalate_uncertain(self):
        """No news from the provider after the grace period: a person decides.

        Failed rather than requeued: resending blindly could reach the customer
        twice; the collector checks and retries by hand if needed.
        """
        self.ensure_one()
        self._set_failed(
            _(
                "WhatsApp never confirmed this message; it may or may not have "
                "reached the customer. Check with them before sending it again."
            )
        )
        user = self.user_id or self.env.ref("base.user_root")
        self.partner_id.sudo().activity_schedule(
            "mail.mail_activity_data_todo",
            summary=_("Check whether the WhatsApp reminder arrived"),
            note=self.error_message,
            user_id=user.id,
        )

    def _has_outbox_record(self):
        """Whether a send of this reminder may have reached the provider: its
        message's call started (or Meta's id for it is known)."""
        self.ensure_one()
        if self.channel == "whatsapp":
            return bool(
                self._outbox_messages().filtered(lambda m: m.attempted_at or m.wamid)
            )
        return False

    def _outbox_messages(self):
        return self.whatsapp_message_ids.filtered(
            lambda m: m.direction == "out" and m.state != "failed"
        )

    def _dispatch(self, now):
        """Send, defer or cancel each reminder of ``self``; never raises."""
        trigger_times = set()
        pending = self.filtered(lambda r: r.state in ("queued", "deferred"))
        # The whole batch is marked before any reminder is sent: an outbox channel
        # commits before its provider's call, which releases the batch's row
        # locks, and a concurrent worker must then not find the rest queued.
        for reminder in pending:
            reminder.write(
                {
                    "state": "sending",
                    "claimed_at": now,
                    "attempt_count": reminder.attempt_count + 1,
                }
            )
        # Outbox messages are prepared for the whole batch first, committed
        # together (each message durable, its reminder ``sending``), then sent:
        # one commit per batch instead of one per message. Their chatter notes
        # are posted once, after the calls, with the outcome of each.
        prepared = {}
        batch = pending.with_context(**{DEFER_CHATTER: True})
        statements = batch._statement_moves_by_reminder()
        active = batch.line_ids.move_id._dunning_active()
        contacts = batch._contacts_by_partner(now)
        for reminder in batch:
            when = reminder._dispatch_one(
                now, prepared, statements=statements, active=active, contacts=contacts
            )
            if when:
                trigger_times.add(when)
        if prepared:
            self._commit_between_batches()
            clients = {}
            for reminder, send in prepared.items():
                when = reminder._deliver_prepared(send, now, clients)
                if when:
                    trigger_times.add(when)
            messages = self.env["dunning.whatsapp.message"].union(
                *(send.message for send in prepared.values())
            )
            self._in_own_transaction(lambda: self._post_whatsapp_notes(messages))
        if trigger_times:
            self.env.ref("account_dunning.ir_cron_dunning_dispatch")._trigger(
                at=sorted(trigger_times)
            )
        if self.filtered(lambda r: r.state == "sending" and r.mail_id):
            # Emails wait in Odoo's mail queue: wake its cron instead of waiting
            # for its next run.
            mail_cron = self.env.ref(
                "mail.ir_cron_mail_scheduler_action", raise_if_not_found=False
            )
            if mail_cron:
                mail_cron._trigger()

    def _dispatch_one(
        self, now, prepared=None, statements=None, active=None, contacts=None
    ):
        """Send this reminder if allowed now; return the deferral time, if any.

        With a ``prepared`` dict, an outbox message is only prepared (its record
        created, not committed, not sent) and stored under the reminder: the
        caller commits the batch and then calls :meth:`_deliver_prepared`.
        ``statements`` (:meth:`_statement_moves_by_reminder`) and ``active``
        (``_dunning_active()`` of the batch's invoices) are read once for a
        batch, and so are the customers' recent ``contacts``
        (:meth:`_contacts_by_partner`), to which this reminder adds itself when
        it goes.
        """
        self.ensure_one()
        partner = self.partner_id
        if partner.dunning_excluded:
            self._set_cancelled(_("The customer is excluded from collections."))
            return None
        window, zones = self._contact_window()
        paused_until = partner.dunning_paused_until
        if paused_until and paused_until >= local_date(now, zones):
            # The pause covers its last day in the customer's own calendar: resume
            # at the first opening after local midnight in every zone.
            resume = max(local_midnight_utc(paused_until + timedelta(days=1), zones))
            if self.channel in DEBTOR_CHANNELS:
                resume = next_opening(window, resume, zones) or resume
            self._set_deferred(
                resume,
                _(
                    "Collections are paused for this customer until %(date)s.",
                    date=paused_until,
                ),
            )
            return resume
        moves = (statements or {}).get(self.id) or self._get_statement_moves()
        reason = self._cancel_reason(moves, active)
        if reason:
            self._set_cancelled(reason)
            return None
        if self.channel in DEBTOR_CHANNELS:
            held, when = self._contact_gate(now, window, zones, contacts)
            if held:
                return when
        if self.channel in OUTBOX_CHANNELS:
            try:
                self._set_statement(moves)
                return self._send_outbox(now, prepared)
            except WhatsAppUnreachableError as error:
                self._fail_with_fallback(str(error), now)
            except (UserError, ValidationError, ValueError) as error:
                self._set_failed(str(error))
            except Exception as error:  # noqa: BLE001
                _logger.exception("Reminder %s could not be sent", self.uuid)
                self._set_failed(_("Unexpected error: %(error)s", error=error))
            return None
        try:
            with self.env.cr.savepoint():
                self.move_ids = moves
                self.amount_due = sum(
                    -m.amount_residual
                    if m.move_type == "out_refund"
                    else m.amount_residual
                    for m in moves
                )
                # A channel that hands the message to a queue of its own (the
                # mail queue) stays ``sending`` until that queue reports back.
                state = getattr(self, f"_send_{self.channel}")() or "sent"
                if state == "sent":
                    self.write({"state": "sent", "sent_at": now})
        except RecipientUnreachableError as error:
            self._fail_with_fallback(str(error), now)
        except (UserError, ValidationError, ValueError) as error:
            self._set_failed(str(error))
        except Exception as error:  # noqa: BLE001
            # One broken reminder must not block the queue behind it: record the
            # failure on the reminder and keep the trace for the administrator.
            _logger.exception("Reminder %s could not be sent", self.uuid)
            self._set_failed(_("Unexpected error: %(error)s", error=error))
        return None

    def _cancel_reason(self, moves, active=None):
        """Why this reminder is not needed any more, if so: nothing left in
        its statement ``moves``, or none of the invoices that called for it
        still ``active`` (``_dunning_active()``, read now when not given)."""
        if not moves.filtered(lambda m: m.move_type == "out_invoice"):
            return _("Nothing is left to collect.")
        if active is None:
            active = self.line_ids.move_id._dunning_active()
        if self.line_ids and not self.line_ids.move_id & active:
            return self._inactive_reason()
        return None

    def _inactive_reason(self):
        """Why none of the invoices that called for this reminder needs it now."""
        moves = self.line_ids.move_id
        if moves.filtered("dunning_dispute_id"):
            return _("The customer disputes the invoices this reminder was about.")
        if moves._dunning_held():
            return _(
                "The invoices this reminder was about are covered by a payment promise."
            )
        return _("The invoices this reminder was about are settled or excluded.")

    def _send_outbox(self, now, prepared):
        """Send now, or only prepare the message into ``prepared`` (a dict)."""
        if prepared is None:
            return getattr(self, f"_send_{self.channel}")(now)
        send = getattr(self, f"_prepare_{self.channel}")(now)
        if not isinstance(send, PreparedWhatsApp):
            return send  # requeued: when to dispatch again
        prepared[self] = send
        return None

    def _deliver_prepared(self, send, now, clients):
        """:meth:`_deliver_one` on records that prefetch alone.

        Each message commits twice (below): a commit empties the ORM cache, and
        a read would then fetch the field again for every record of the batch
        (their prefetch set), once per message.
        """
        self.ensure_one()
        alone = send._replace(
            account=send.account.with_prefetch(send.account._ids),
            message=send.message.with_prefetch(send.message._ids),
            template=send.template.with_prefetch(send.template._ids),
        )
        return self.with_prefetch(self._ids)._deliver_one(alone, now, clients)

    def _deliver_one(self, send, now, clients):
        """Make the call of a message prepared and committed by the batch.

        Three steps, each committed on its own: the message is marked
        attempted just before its call (after a crash, only the messages whose
        call may have happened are uncertain; the others are sent again); the
        call (no database work); its outcome, in a short transaction of its
        own, tried again from a fresh snapshot if a status webhook about this
        very message (Meta sends them within a second) changed it first.

        Like the send itself in :meth:`_dispatch_one`: never raises, records
        the outcome on the reminder, returns when to dispatch again, if ever.
        """
        self.ensure_one()
        retry_at = None
        try:
            retry_at = self._start_whatsapp_attempt(send, now)
        except Exception as error:  # noqa: BLE001
            _logger.exception("Reminder %s could not be sent", self.uuid)
            self._set_failed(_("Unexpected error: %(error)s", error=error))
            return None
        if retry_at:
            return retry_at
        outcome = self._call_whatsapp(send, clients)
        when = []

        def record():
            when[:] = [self._record_whatsapp_outcome(send, now, outcome)]

        try:
            self._in_own_transaction(record)
        except Exception as error:  # noqa: BLE001
            _logger.exception("Reminder %s: its outcome was not recorded", self.uuid)
            reason = _("Unexpected error: %(error)s", error=error)
            self._in_own_transaction(lambda: self._set_failed(reason))
            return None
        return when[0] if when else None

    def _start_whatsapp_attempt(self, send, now):
        """Mark the message attempted and commit, unless its account was
        paused since the batch was prepared (an earlier call of the batch got
        an authentication error): then it never leaves; return the retry time.
        """
        account, message = send.account, send.message
        if account.state != "active" or not account.active:
            message.unlink()
            retry_at = now + timedelta(hours=1)
            self._requeue(
                retry_at,
                _("The WhatsApp account %(account)s is paused.", account=account.name),
            )
            self._commit_between_batches()
            return retry_at
        message._mark_attempted(fields.Datetime.now())
        return None

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

    def _fail_with_fallback(self, reason, now=None):
        """This reminder cannot reach the customer: fail it and queue its
        fallback reminder, and say so in the customer's chatter."""
        self.ensure_one()
        self._set_failed(reason)
        fallback, note = self._create_fallback(now or fields.Datetime.now())
        self.error_message = f"{reason}\n{note}"
        labels = dict(self._fields["channel"]._description_selection(self.env))
        body = _(
            "The %(channel)s reminder %(level)s could not reach the customer: "
            "%(reason)s %(note)s",
            channel=labels.get(self.channel, self.channel),
            level=self.level_id.name,
            reason=reason,
            note=note,
        )
        self.partner_id.sudo()._message_log(body=body)
        invoices = self.move_ids.filtered(lambda m: m.move_type == "out_invoice")
        if invoices:
            invoices.sudo()._message_log_batch(bodies=dict.fromkeys(invoices.ids, body))
        return fallback

    def _create_fallback(self, now):
        """Queue the reminder that replaces this one on the policy's fallback
        channel; return it (or none) and a sentence saying what was done.

        Its decisions go through the same unique (invoice, level, channel) key
        as planning: a level that already reaches these invoices on that channel
        sends no second message, and a second failure of this reminder (a retry,
        a late webhook) finds its fallback already there.
        """
        self.ensure_one()
        reminders = self.sudo()  # queueing a reminder is the engine's job
        mode = self._fallback_channel()
        if mode == "none":
            return reminders.browse(), _("The policy has no fallback channel.")
        if self.fallback_ids:
            return self.fallback_ids, _(
                "Its fallback reminder was already queued: %(fallback)s.",
                fallback=self.fallback_ids.display_name,
            )
        channel = mode
        template = self.env["mail.template"]
        downgrade = None
        if channel == "email":
            template = self._get_fallback_mail_template()
            if not template:
                downgrade = _("The policy has no email template")
            elif not self._get_email_recipient().email:
                downgrade = _("The customer has no email address")
            if downgrade:
                channel = "activity"
        fallback = reminders.create(
            {
                "origin": "fallback",
                "fallback_of_id": self.id,
                "company_id": self.company_id.id,
                "partner_id": self.partner_id.id,
                "level_id": self.level_id.id,
                "channel": channel,
                "mail_template_id": template.id if channel == "email" else False,
                "currency_id": self.currency_id.id,
                "amount_due": self.amount_due,
                "move_ids": [fields.Command.set(self.move_ids.ids)],
                "plan_date": fields.Date.context_today(self),
                "scheduled_at": now,
            }
        )
        labels = dict(self._fields["channel"]._description_selection(self.env))
        if self.line_ids:
            taken = self._insert_decisions(
                [
                    (
                        fallback.id,
                        line.move_id.id,
                        line.level_id.id,
                        channel,
                        line.company_id.id,
                    )
                    for line in self.line_ids
                ]
            )
            if not taken:
                fallback.unlink()
                return reminders.browse(), _(
                    "No fallback: this level already reminds these invoices by "
                    "%(channel)s.",
                    channel=labels[channel],
                )
        self.env.ref("account_dunning.ir_cron_dunning_dispatch")._trigger(at=now)
        note = _(
            "A reminder by %(channel)s was queued instead.", channel=labels[channel]
        )
        if downgrade:
            note = _("%(reason)s: %(note)s", reason=downgrade, note=note)
        return fallback, note

    def _fallback_channel(self):
        """The channel that replaces this reminder's when it cannot reach the
        customer: the policy's choice after WhatsApp; after an email, always
        the collector (an activity: fix the address, call the customer), who
        must know the customer did not get it."""
        if self.channel == "whatsapp":
            return self.policy_id.whatsapp_fallback or "none"
        if self.channel == "email":
            return "activity"
        return "none"

    def _get_fallback_mail_template(self):
        """The email template of a fallback: the level's own, else that of the
        closest earlier email level of the policy (same stage, same tone), else
        that of its first email level."""
        self.ensure_one()
        level = self.level_id
        if level.mail_template_id:
            return level.mail_template_id
        email_levels = self.policy_id._get_levels_by_rank().filtered("mail_template_id")
        earlier = email_levels.filtered(lambda lv: lv.offset_days <= level.offset_days)
        return (earlier[-1:] or email_levels[:1]).mail_template_id

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

    def _contact_gate(self, now, window, zones, contacts):
        """Whether this reminder to the debtor must wait (or cannot go), and
        until when: the contact window in the debtor's zones, then the
        policy's caps on contacts. Records the deferral or the failure.
        """
        if not is_open(window, now, zones):
            opening = next_opening(window, now, zones)
            if not opening:
                self._set_failed(
                    _(
                        "The contact window %(window)s never opens in the "
                        "customer's time zones (%(zones)s) within a month.",
                        window=describe(window),
                        zones=", ".join(zones),
                    )
                )
                return True, None
            self._set_deferred(
                opening,
                _(
                    "Outside the contact window %(window)s in %(zones)s.",
                    window=describe(window),
                    zones=", ".join(zones),
                ),
            )
            return True, opening
        if contacts is None:
            contacts = self._contacts_by_partner(now)
        capped = self._contact_cap(now, window, zones, contacts)
        if capped:
            self._set_deferred(*capped)
            return True, capped[0]
        # Counted at once: the next reminder of the batch for this customer
        # sees it, whatever this one's outcome.
        contacts[self.partner_id.id].append(now)
        return False, None

    def _contacts_by_partner(self, now):
        """When each customer of these reminders was contacted in the 7 days up
        to ``now``, on any channel, by anyone: the reminders that left (or are
        leaving) by a channel that reaches the debtor, the other WhatsApp
        messages sent to them (a collector's chat, a confirmation, a
        thank-you), and the calls and visits collectors logged.

        Raw SQL: one union over three tables for the whole batch.
        """
        result = defaultdict(list)
        partners = self.partner_id.commercial_partner_id
        if not partners:
            return result
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT partner_id, COALESCE(sent_at, claimed_at) AS at
                  FROM dunning_reminder
                 WHERE partner_id IN %(partners)s
                   AND id NOT IN %(batch)s
                   AND channel IN %(channels)s
                   AND state IN ('sending', 'sent', 'delivered', 'read')
                   AND COALESCE(sent_at, claimed_at) > %(since)s
                 UNION ALL
                SELECT customer.commercial_partner_id,
                       COALESCE(message.sent_at, message.claimed_at)
                  FROM dunning_whatsapp_message message
                  JOIN res_partner customer ON customer.id = message.partner_id
                 WHERE customer.commercial_partner_id IN %(partners)s
                   AND message.direction = 'out'
                   AND message.reminder_id IS NULL
                   AND message.state IN ('sending', 'sent', 'delivered', 'read')
                   AND COALESCE(message.sent_at, message.claimed_at) > %(since)s
                 UNION ALL
                SELECT customer.commercial_partner_id, interaction.date
                  FROM dunning_interaction interaction
                  JOIN res_partner customer ON customer.id = interaction.partner_id
                 WHERE customer.commercial_partner_id IN %(partners)s
                   AND interaction.channel IN ('call', 'visit')
                   AND interaction.date > %(since)s
                   AND interaction.date <= %(now)s
                """,
                partners=tuple(partners.ids),
                # The batch's own reminders, claimed (``sending``) already,
                # count as each of them goes (see _contact_gate).
                batch=tuple(self.ids) or (0,),
                channels=tuple(DEBTOR_CHANNELS),
                since=now - timedelta(days=7),
                now=now,
            )
        )
        for partner_id, at in self.env.cr.fetchall():
            if at is not None:
                result[partner_id].append(at)
        return result

    def _contact_cap(self, now, window, zones, contacts):
        """When this customer may be contacted again under the policy's caps,
        and why, if a cap is reached now; None otherwise.

        The day is the customer's (its first time zone); the 7 days roll. A
        deferral lands on the next opening of the contact window after the
        cap frees.
        """
        policy = self.policy_id
        per_day, per_week = policy.max_contacts_per_day, policy.max_contacts_per_week
        times = sorted(contacts.get(self.partner_id.id) or ())
        free_at, reasons = None, []
        if per_day:
            zone = resolve_zone(zones[0])
            today = now.replace(tzinfo=UTC).astimezone(zone).date()
            same_day = [
                t
                for t in times
                if t.replace(tzinfo=UTC).astimezone(zone).date() == today
            ]
            if len(same_day) >= per_day:
                free_at = max(local_midnight_utc(today + timedelta(days=1), zones[:1]))
                reasons.append(
                    _(
                        "%(count)s contact(s) with this customer today, the "
                        "policy's cap per day.",
                        count=len(same_day),
                    )
                )
        if per_week:
            recent = [t for t in times if t > now - timedelta(days=7)]
            if len(recent) >= per_week:
                week_free = recent[-per_week] + timedelta(days=7)
                free_at = max(free_at, week_free) if free_at else week_free
                reasons.append(
                    _(
                        "%(count)s contacts with this customer in the last 7 days, "
                        "the policy's cap.",
                        count=len(recent),
                    )
                )
        if not free_at:
            return None
        when = next_opening(window, free_at, zones) or free_at
        return when, _(
            "Deferred by the contact caps: %(reasons)s",
            reasons=" ".join(reasons),
        )

    def _contact_window(self):
        """The policy's window for this customer, and the zones it must fit."""
        partner = self.partner_id
        # The person who reads the message decides the hour: the invoicing contact
        # may sit in another zone than the head office.
        recipient = self.recipient_id or self._get_email_recipient()
        zones = partner_timezones(
            recipient.tz or partner.tz,
            (recipient.country_id or partner.country_id).code,
            (recipient.state_id or partner.state_id).code,
        )
        if not zones:
            # No zone can be derived from the customer: the company's zone is an
            # explicit, logged fallback, never a silent one.
            company_partner = self.company_id.partner_id
            zones = partner_timezones(
                company_partner.tz,
                company_partner.country_id.code,
                company_partner.state_id.code,
            ) or ("UTC",)
            _logger.info(
                "Customer %s has no time zone; using %s", partner.id, ", ".join(zones)
            )
        country = recipient.country_id or partner.country_id
        return self.policy_id._get_contact_window(country), zones

    def _statement_moves_by_reminder(self):
        """:meth:`_get_statement_moves` of each reminder of ``self`` (by id), read
        in one search."""
        if not self:
            return {}
        moves = self.env["account.move"].search(
            [
                *OPEN_INVOICE_DOMAIN,
                ("company_id", "in", self.company_id.ids),
                ("commercial_partner_id", "in", self.partner_id.ids),
                ("currency_id", "in", self.currency_id.ids),
                ("move_type", "in", ("out_invoice", "out_refund")),
                ("dunning_excluded", "=", False),
                ("dunning_dispute_id", "=", False),
            ],
            order="invoice_date_due, id",
        )
        grouped = defaultdict(list)
        for move in moves:
            key = (
                move.company_id.id,
                move.commercial_partner_id.id,
                move.currency_id.id,
            )
            grouped[key].append(move.id)
        return {
            reminder.id: moves.browse(
                grouped[
                    (
                        reminder.company_id.id,
                        reminder.partner_id.id,
                        reminder.currency_id.id,
                    )
                ]
            )
            for reminder in self
        }

    @api.model
    def _post_whatsapp_notes(self, messages):
        """The chatter notes of a batch's WhatsApp messages, with their outcome.

        Never raises: the messages left already. A note that cannot be posted
        is logged for the administrator and posted at the next status change.
        """
        messages = messages.exists()
        try:
            with self.env.cr.savepoint():
                messages._chatter_sync()
            return
        except Exception:  # noqa: BLE001
            _logger.exception("The chatter notes of a WhatsApp batch failed")
        for message in messages:
            try:
                with self.env.cr.savepoint():
                    message._chatter_sync()
            except Exception:  # noqa: BLE001
                _logger.exception(
                    "The chatter notes of WhatsApp message %s failed", message.id
                )

    def _get_statement_moves(self):
        """Open invoices and credit notes of the customer in this currency, now."""
        self.ensure_one()
        return self._statement_moves_by_reminder()[self.id]

    # ------------------------------------------------------------------------------
    # Channels: one ``_send_<channel>`` method each
    # ------------------------------------------------------------------------------

    def _send_email(self):
        self.ensure_one()
        template = self.mail_template_id or self.level_id.mail_template_id
        if not template:
            raise UserError(
                _("Level %(level)s has no email template.", level=self.level_id.name)
            )
        recipient = self._get_email_recipient()
        if not recipient.email:
            raise RecipientUnreachableError(
                _(
                    "%(partner)s has no email address.",
                    partner=recipient.display_name,
                )
            )
        if not email_normalize(recipient.email):
            raise RecipientUnreachableError(
                _(
                    "The email address of %(partner)s is not valid: %(email)s.",
                    partner=recipient.display_name,
                    email=recipient.email,
                )
            )
        self.recipient_id = recipient
        email_values = {"recipient_ids": [fields.Command.set(recipient.ids)]}
        notes = []
        if self.level_id.attach_invoice_pdf:
            attachments, notes = self._get_invoice_pdfs()
            email_values["attachment_ids"] = [fields.Command.set(attachments.ids)]
        mail = (
            self.env["mail.mail"]
            .sudo()
            .browse(
                # No notification layout: the template is the whole letter, and a
                # layout would title it with the reminder's technical name.
                template.sudo().send_mail(self.id, email_values=email_values)
            )
        )
        self.write(
            {
                "mail_id": mail.id,
                "message_id": mail.mail_message_id.id,
                "error_message": "\n".join(notes) or False,
            }
        )
        # Sent (and logged in the chatter) when the mail server accepts it:
        # see _dunning_mail_outcome.
        return "sending"

    def _send_activity(self):
        self.ensure_one()
        level = self.level_id
        invoices = self.move_ids.filtered(lambda m: m.move_type == "out_invoice")
        user = self.user_id or invoices[:1].invoice_user_id or self.env.user
        # The collector may not be allowed to edit contacts; scheduling the
        # activity is the engine's job, not a contact edit.
        summary = level.activity_summary or level.name
        note = self._activity_note(invoices)
        activity_type = level.activity_type_id
        if self.origin == "fallback":
            # The level's activity settings are meant for its own activities,
            # if any: the collector must know why they are asked to call.
            summary = _("Call the customer: WhatsApp could not reach them")
            # The note is HTML built by _activity_note; the field sanitizes it.
            note = Markup("<p>%s</p>%s") % (
                self.fallback_of_id.error_message,
                Markup(note),  # noqa: S704
            )
            activity_type = activity_type or self.env.ref(
                "mail.mail_activity_data_call"
            )
        activity = self.partner_id.sudo().activity_schedule(
            activity_type_id=activity_type.id,
            summary=summary,
            note=note,
            user_id=user.id,
        )
        self.activity_id = activity
        self._log_contact(
            _(
                "Collection activity %(summary)s scheduled for %(user)s.",
                summary=activity.summary,
                user=user.name,
            ),
            None,
        )

    def _prepare_whatsapp(self, now):
        """Check and render this reminder's message and create its outbox record
        (not committed); return a :class:`PreparedWhatsApp`, or when to dispatch
        again if the account cannot send now (the reminder is requeued).
        """
        self.ensure_one()
        template = self.whatsapp_template_id or self.level_id.whatsapp_template_id
        if not template:
            raise UserError(
                _("Level %(level)s has no WhatsApp template.", level=self.level_id.name)
            )
        account = template.account_id.sudo()
        partner = self.partner_id
        reason = partner._whatsapp_unreachable_reason(self.policy_id)
        if reason:
            raise WhatsAppUnreachableError(reason)
        if account.state != "active" or not account.active:
            retry_at = now + timedelta(hours=1)
            self._requeue(
                retry_at,
                _("The WhatsApp account %(account)s is paused.", account=account.name),
            )
            return retry_at
        budget_until = account._budget_full_until(partner, now)
        if budget_until:
            self._requeue(
                budget_until,
                _(
                    "The WhatsApp account %(account)s reached its daily budget of "
                    "%(budget)s customers.",
                    account=account.name,
                    budget=account.daily_recipient_budget,
                ),
            )
            return budget_until
        params = template._render_params(self)
        url_suffix = template._render_url_suffix(self)
        body = template._validate_message(params, url_suffix)
        self.recipient_id = partner
        # Outbox: once committed, the claim and its message make sure the
        # reminder is never sent again by this channel unless Meta answered that
        # it refused it.
        message = (
            self.env["dunning.whatsapp.message"]
            .sudo()
            .create(
                {
                    "direction": "out",
                    "state": "sending",
                    "account_id": account.id,
                    "company_id": self.company_id.id,
                    "partner_id": partner.id,
                    "reminder_id": self.id,
                    "template_id": template.id,
                    "body": body,
                }
            )
        )
        return PreparedWhatsApp(account, message, template, params, url_suffix, body)

    def _call_whatsapp(self, send, clients):
        """Make the Cloud API call of a prepared message: its result, or the
        error it raised. No database work: that is the outcome's, in its own
        transaction (:meth:`_record_whatsapp_outcome`).

        ``clients`` caches one client per account, so that the calls of a batch
        reuse one HTTP connection (keep-alive).
        """
        account = send.account
        try:
            if account.id not in clients:
                clients[account.id] = account._get_client()
            account._pace()
            return clients[account.id].send_template(
                self.partner_id.whatsapp_number,
                send.template.name,
                send.template.language,
                send.params,
                url_button_suffix=send.url_suffix,
                callback_data=self.uuid,
            )
        except Exception as error:  # noqa: BLE001 -- recorded as the outcome
            return error

    def _record_whatsapp_outcome(self, send, now, outcome):
        """Record what Meta answered (a result or an error); return when to
        dispatch again, if ever.

        The dispatcher writes what the call taught (the message's id, its
        send time); a status the webhook applied first is never moved back
        (``_apply_status`` only moves forward).
        """
        self.ensure_one()
        account, message = send.account, send.message
        if isinstance(outcome, wa.RecipientRateLimitError):
            # About one message per 6 s per user: only this customer waits.
            message.unlink()  # refused by Meta: it never left
            retry_at = now + timedelta(seconds=random.uniform(6, 10))
            self._requeue(retry_at, str(outcome))
            return retry_at
        if isinstance(outcome, wa.UncertainError):
            self.error_message = _(
                "The request may have reached WhatsApp (%(error)s): not sent again, "
                "waiting for the status webhook.",
                error=outcome,
            )
            return None
        if isinstance(outcome, wa.AccountError):
            message.unlink()
            account._pause(str(outcome))
            retry_at = now + timedelta(hours=1)
            self._requeue(retry_at, str(outcome))
            return retry_at
        if isinstance(outcome, wa.TerminalError):
            if message.state == "sending":
                message.write(
                    {
                        "state": "failed",
                        "failed_at": now,
                        "error_code": outcome.code or 0,
                        "error_title": outcome.title,
                    }
                )
            if self.state == "sending":
                self._fail_with_fallback(str(outcome), now)
            return None
        if isinstance(outcome, wa.WhatsAppError):
            # Retryable (throughput, temporary, 5xx) or unclassified.
            message.unlink()
            if not can_retry(self.retry_count + 1):
                self._set_failed(
                    _(
                        "WhatsApp kept failing after %(count)s attempts: %(error)s",
                        count=self.retry_count + 1,
                        error=outcome,
                    )
                )
                return None
            retry_at = next_retry_at(now, self.retry_count)
            self._requeue(retry_at, str(outcome), retry=True)
            return retry_at
        if isinstance(outcome, (UserError, ValidationError, ValueError)):
            message.unlink()
            self._set_failed(str(outcome))
            return None
        if isinstance(outcome, Exception):
            # Unknown: the request may have left. Keep the message (uncertain).
            _logger.error(
                "Reminder %s: unexpected error during the WhatsApp call: %s",
                self.uuid,
                outcome,
            )
            self.error_message = _("Unexpected error: %(error)s", error=outcome)
            return None
        values = {"wa_id": outcome.wa_id, "sent_at": now}
        if not message.wamid:
            # Unless the webhook, which knows the reminder by its callback
            # data, recorded it first.
            values["wamid"] = outcome.wamid
        if should_apply_status(message.state, "sent"):
            values["state"] = "sent"
        message.write(values)
        if self.state == "sending":
            self.write({"state": "sent", "sent_at": now, "error_message": False})
        self._log_contact(send.body, None)
        return None

    @api.model
    def _dunning_mail_outcome(self, mails, failure_type=None, failure_reason=None):
        """What the mail server answered for ``mails``: settle their reminders.

        Called by the mail queue for each mail it tried (mail.mail
        ``_postprocess_sent_message``). Accepted: the reminder is sent and
        logged in the chatter. A temporary failure (server unreachable, 4xx):
        the mail goes back to the queue at a backoff time, a bounded number of
        times. A permanent one (no valid address, 5xx): the reminder fails
        with the server's reason and its fallback takes over.
        """
        reminders = self.search(
            [("mail_id", "in", mails.ids), ("state", "=", "sending")]
        )
        now = fields.Datetime.now()
        for reminder in reminders:
            mail = reminder.mail_id
            if not failure_type and mail.state == "sent":
                reminder.write({"state": "sent", "sent_at": now})
                reminder._log_contact(mail.body_html, mail.subject)
                continue
            reason = (
                mail.failure_reason
                or failure_reason
                or dict(
                    mail._fields["failure_type"]._description_selection(self.env)
                ).get(failure_type)
                or _("The mail server did not accept the email.")
            )
            kind = smtp_failure.classify(failure_type, reason)
            attempts = reminder.retry_count + 1
            if kind == smtp_failure.TEMPORARY and can_retry(
                attempts, smtp_failure.EMAIL_MAX_ATTEMPTS
            ):
                retry_at = next_retry_at(
                    now,
                    reminder.retry_count,
                    base=smtp_failure.EMAIL_BACKOFF_BASE,
                    cap=smtp_failure.EMAIL_BACKOFF_CAP,
                )
                mail.write({"state": "outgoing", "scheduled_date": retry_at})
                reminder.write(
                    {
                        "retry_count": attempts,
                        "error_message": _(
                            "The mail server did not take the email (%(reason)s): "
                            "trying again at %(when)s UTC.",
                            reason=reason,
                            when=retry_at.replace(microsecond=0),
                        ),
                    }
                )
                mail_cron = self.env.ref(
                    "mail.ir_cron_mail_scheduler_action", raise_if_not_found=False
                )
                if mail_cron:
                    mail_cron._trigger(at=retry_at)
                continue
            if kind == smtp_failure.TEMPORARY:
                reason = _(
                    "The mail server kept refusing the email after %(count)s "
                    "attempts: %(reason)s",
                    count=attempts,
                    reason=reason,
                )
            reminder._fail_with_fallback(reason, now)

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

    def _activity_note(self, invoices):
        lines = "".join(
            f"<li>{invoice.name}: {invoice.currency_id.format(invoice.amount_residual)}"
            f" ({invoice.invoice_date_due})</li>"
            for invoice in invoices
        )
        return _(
            "Call the customer about %(total)s due.<ul>%(lines)s</ul>",
            total=self.currency_id.format(self.amount_due),
            lines=lines,
        )

    def _get_email_recipient(self):
        """The customer's invoicing contact, else the customer itself."""
        address_id = self.partner_id.address_get(["invoice"])["invoice"]
        recipient = self.env["res.partner"].browse(address_id)
        return recipient if recipient.email else self.partner_id

    def _get_invoice_pdfs(self):
        """The PDF of every listed invoice: the one already sent, or a new one.

        A PDF that cannot be rendered does not hold the reminder back: the email
        links every invoice anyway. Returns the attachments and what was missed.
        """
        invoices = self.move_ids.filtered(lambda m: m.move_type == "out_invoice")
        attachments = invoices.invoice_pdf_report_id
        missing = invoices.filtered(lambda m: not m.invoice_pdf_report_id)
        notes = []
        for invoice in missing:
            try:
                content, _report_type = (
                    self.env["ir.actions.report"]
                    .sudo()
                    ._render_qweb_pdf("account.account_invoices", invoice.ids)
                )
            except UserError as error:
                notes.append(
                    _(
                        "The PDF of %(invoice)s could not be attached: %(error)s",
                        invoice=invoice.name,
                        error=error,
                    )
                )
                continue
            attachments |= self.env["ir.attachment"].create(
                {
                    "name": invoice._get_invoice_report_filename(),
                    "raw": content,
                    "mimetype": "application/pdf",
                    "res_model": "dunning.reminder",
                    "res_id": self.id,
                }
            )
        return attachments, notes

    def _log_contact(self, body, subject):
        """Leave the contact in the customer's and the invoices' chatter."""
        if self.channel == "whatsapp":
            # The WhatsApp message logs itself there, with its delivery status
            # kept current (dunning.whatsapp.message._chatter_sync).
            return
        channel = dict(self._fields["channel"]._description_selection(self.env))[
            self.channel
        ]
        note = _(
            "Collection reminder %(level)s sent by %(channel)s.",
            level=self.level_id.name,
            channel=channel,
        )
        self.partner_id._message_log_batch(
            bodies={self.partner_id.id: body or note},
            subject=subject or note,
        )
        invoices = self.move_ids.filtered(lambda m: m.move_type == "out_invoice")
        if invoices:
            invoices._message_log_batch(bodies=dict.fromkeys(invoices.ids, note))

    # ------------------------------------------------------------------------------
    # Helpers used by templates
    # ------------------------------------------------------------------------------

    def _get_template_invoices(self):
        """Invoices listed in the message, oldest due first."""
        self.ensure_one()
        return self.move_ids.filtered(lambda m: m.move_type == "out_invoice")

    def _get_template_credit_notes(self):
        self.ensure_one()
        return self.move_ids.filtered(lambda m: m.move_type == "out_refund")

    def _get_triggering_invoices(self):
        """Invoices whose reaching a level caused this reminder (all of them for a
        reminder sent by hand)."""
        self.ensure_one()
        return self.line_ids.move_id or self._get_template_invoices()

    def _get_statement_html(self):
        """The statement table of the message, rendered in the current language."""
        self.ensure_one()
        invoices = self._get_template_invoices()
        credit_notes = self._get_template_credit_notes()
        return self.env["ir.qweb"]._render(
            "account_dunning.dunning_reminder_statement",
            {
                "reminder": self,
                "invoices": invoices,
                "credit_notes": credit_notes,
                "triggering": self._get_triggering_invoices(),
                "total": sum(invoices.mapped("amount_residual"))
                - sum(credit_notes.mapped("amount_residual")),
                "bank_accounts": self.company_id.partner_id.bank_ids,
            },
        )

    def _get_portal_url(self):
        """Absolute link to the customer's statement page, new for this reminder.

        One link per reminder (rotation); minted once per transaction even when
        the message is rendered several times (subject, body, chatter copy). An
        unsaved reminder (a message composed by hand, a preview) gets a link of
        its own too: only its hash is stored, and an unused one simply expires.
        """
        self.ensure_one()
        reminder = self._origin or self
        cache = self.env.cr.cache.setdefault("dunning_portal_urls", {})
        if reminder.id not in cache:
            cache[reminder.id] = self.env["dunning.portal.token"]._url(
                reminder.partner_id,
                reminder.company_id,
                reminder=self._origin,
            )
        return cache[reminder.id]

    def _get_invoice_link(self, invoice):
        """Absolute link to the invoice's customer page, with its access token.

        Always the saved invoice: a preview renders unsaved copies, whose token
        would never be stored.
        """
        invoice = invoice._origin
        return invoice.get_base_url() + invoice._get_share_url(redirect=True)

    def _days_late(self, invoice):
        today = fields.Date.context_today(self)
        return (
            (today - invoice.invoice_date_due).days if invoice.invoice_date_due else 0
        )

    # ------------------------------------------------------------------------------
    # Transactions
    # ------------------------------------------------------------------------------

    def _commit_between_batches(self):
        # Crons commit each batch so that a crash or a time-out keeps the work done
        # so far; tests run in a single transaction that must not be committed.
        if not self._testing():
            self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _testing(self):
        return bool(
            modules.module.current_test
            or getattr(threading.current_thread(), "testing", False)
        )


def local_date(now_utc, zones):
    """The earliest calendar date among ``zones`` at the naive UTC ``now_utc``."""
    aware = now_utc.replace(tzinfo=UTC)
    return min(aware.astimezone(resolve_zone(zone)).date() for zone in zones)


def local_midnight_utc(day, zones):
    """Midnight starting ``day`` in each of ``zones``, as naive UTC datetimes."""
    return [
        datetime.combine(day, time.min, tzinfo=resolve_zone(zone))
        .astimezone(UTC)
        .replace(tzinfo=None)
        for zone in zones
    ]
