import logging
import threading
import uuid
from datetime import timedelta

import psycopg2.errors

from odoo import _, api, fields, models, modules
from odoo.exceptions import UserError

from .dunning_channel import RecipientUnreachableError, channel_selection

_logger = logging.getLogger(__name__)

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
# What is still to collect: the one definition of an open invoice (or credit
# note, for statements) that every search uses; planning and My Collections
# say the same in SQL (dunning_reminder_plan.py, dunning_worklist.py).
OPEN_INVOICE_DOMAIN = [
    ("state", "=", "posted"),
    ("payment_state", "in", ("not_paid", "partial")),
    ("amount_residual", ">", 0),
]
OPEN_CUSTOMER_INVOICE_DOMAIN = [("move_type", "=", "out_invoice"), *OPEN_INVOICE_DOMAIN]


# Where it is defined since channels are plug-ins; kept importable from here.
__all__ = ["RecipientUnreachableError"]


class DunningReminder(models.Model):
    """A reminder to one customer on one channel: the outbox and the contact history.

    Planning creates reminders in state ``queued``; dispatch sends them when the
    customer's contact window is open, or defers them to the next opening. A
    reminder that reached the customer is never deleted: it is the audit trail.
    """

    _name = "dunning.reminder"
    # A mail thread: a customer's reply to a reminder's email lands on it,
    # and its collector is told (_message_post_after_hook).
    _inherit = [
        "dunning.engine.record",
        "dunning.reader.mixin",
        "mail.thread",
        "mail.activity.mixin",
    ]
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
    policy_id = fields.Many2one(
        "dunning.policy",
        compute="_compute_policy_id",
        store=True,
        index=True,
        precompute=True,
        help="The level's policy; for a notice, the customer's.",
    )
    level_id = fields.Many2one(
        "dunning.level",
        index=True,
        readonly=True,
        ondelete="restrict",
        help="The level that called for this reminder; none for a notice.",
    )
    tone = fields.Selection(related="level_id.tone")
    channel = fields.Selection(
        selection=channel_selection, required=True, readonly=True
    )
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
        help="Fallback: sent instead of a reminder on another channel that could "
        "not reach the customer, as the policy says.",
    )
    fallback_of_id = fields.Many2one(
        "dunning.reminder",
        index=True,
        readonly=True,
        ondelete="restrict",
        help="The reminder that could not reach the customer on its channel and "
        "that this reminder replaces.",
    )
    fallback_ids = fields.One2many(
        "dunning.reminder", "fallback_of_id", string="Replaced By", readonly=True
    )
    channel_reports_delivery = fields.Boolean(compute="_compute_channel_receipts")
    channel_reports_read = fields.Boolean(compute="_compute_channel_receipts")
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
    deferral_count = fields.Integer(readonly=True)
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    # A balance at one moment, not an amount of this reminder: two reminders
    # of one customer (two channels, two levels) would count it twice, so
    # lists and reports never add it up.
    amount_due = fields.Monetary(
        readonly=True,
        aggregator=None,
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
    message_id = fields.Many2one("mail.message", readonly=True)

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
            "message_id",
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

    @api.depends("channel")
    def _compute_channel_receipts(self):
        """Which states past "sent" the reminder's channel can report: an
        e-mail never says it was delivered or read."""
        channels = self.env["dunning.channel"]._dunning_channels()
        for reminder in self:
            plugin = channels.get(reminder.channel)
            receipts = plugin._channel_receipts if plugin is not None else ()
            reminder.channel_reports_delivery = "delivered" in receipts
            reminder.channel_reports_read = "read" in receipts

    @api.depends("level_id", "partner_id", "company_id")
    def _compute_policy_id(self):
        # A notice follows the customer's policy (res.partner._dunning_policies),
        # read once per company.
        notices = self.filtered(lambda r: not r.level_id and r.partner_id)
        chosen = {}
        for company, rows in notices.grouped("company_id").items():
            for partner_id, (policy, _source) in rows.partner_id._dunning_policies(
                company
            ).items():
                chosen[(partner_id, company.id)] = policy
        for reminder in self:
            reminder.policy_id = reminder.level_id.policy_id or chosen.get(
                (reminder.partner_id.commercial_partner_id.id, reminder.company_id.id),
                False,
            )

    @api.depends("level_id", "partner_id", "channel", "kind")
    def _compute_display_name(self):
        channel_labels = dict(self._fields["channel"]._description_selection(self.env))
        for reminder in self:
            reminder.display_name = _(
                "%(level)s to %(partner)s by %(channel)s",
                level=reminder.level_id.name or reminder._kind_label(),
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
    # Replies
    # ------------------------------------------------------------------------------

    def _message_post_after_hook(self, message, msg_values):
        """A customer answered this reminder by email: its collector gets an
        activity to read and answer it, in their own language."""
        result = super()._message_post_after_hook(message, msg_values)
        author = message.author_id
        internal = author.user_ids.filtered(lambda u: not u.share)
        if message.message_type == "email" and not internal:
            for reminder in self:
                user = reminder.user_id or self.env.ref("base.user_root")
                reminder.sudo().activity_schedule(
                    "mail.mail_activity_data_todo",
                    summary=user._dunning_in_my_lang(reminder).env._(
                        "The customer answered the reminder"
                    ),
                    note=message.body,
                    user_id=user.id,
                )
        return result

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
        pending.sudo()._enqueue_now()
        return True

    def _enqueue_now(self):
        """Make these reminders due now and wake the dispatcher: it sends them
        in a moment, through the contact gate, never in the user's request."""
        now = fields.Datetime.now()
        self.write({"scheduled_at": now})
        self.env["dunning.reminder"]._trigger_dispatch(at=now)

    def _dunning_settled(self):
        """Attempted, sent or cancelled: part of the contact history."""
        return self.filtered(lambda r: r.state not in ("queued", "deferred"))

    # ------------------------------------------------------------------------------
    # Helpers used by templates
    # ------------------------------------------------------------------------------

    def _dunning_reader(self):
        self.ensure_one()
        return self.recipient_id or self.partner_id

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
                "sections": self._get_statement_sections(),
                "triggering": self._get_triggering_invoices(),
                "total": sum(invoices.mapped("amount_residual"))
                - sum(credit_notes.mapped("amount_residual")),
                "bank_accounts": self.company_id.partner_id.bank_ids,
            },
        )

    def _get_statement_rows(self):
        """What the message claims, instalment by instalment: ``[{invoice,
        date, amount, number, count, days_late, due}]``, ``due`` when the
        instalment fell due on or before today. Every channel words its
        statement from these rows, so that what it says of an invoice (late,
        or not due yet) is true of it."""
        self.ensure_one()
        today = fields.Date.context_today(self)
        rows = []
        for invoice in self._get_template_invoices():
            for instalment in invoice._dunning_instalments():
                due_on = instalment["date"]
                rows.append(
                    {
                        **instalment,
                        "invoice": invoice,
                        "days_late": max((today - due_on).days, 0) if due_on else 0,
                        "due": bool(due_on) and due_on <= today,
                    }
                )
        return sorted(rows, key=lambda row: (row["date"], row["invoice"].id))

    def _get_statement_sections(self):
        """The statement in two parts, what is due and what is coming due:
        ``[{due, rows, total}]``, empty parts left out."""
        self.ensure_one()
        rows = self._get_statement_rows()
        sections = []
        for due in (True, False):
            part = [row for row in rows if row["due"] is due]
            if part:
                sections.append(
                    {
                        "due": due,
                        "rows": part,
                        "total": sum(row["amount"] for row in part),
                    }
                )
        return sections

    def _get_amount_due_now(self):
        """What fell due on or before today among the invoices listed, net of
        the credit notes listed: the amount a message may call due or late."""
        self.ensure_one()
        due = sum(row["amount"] for row in self._get_statement_rows() if row["due"])
        credits = sum(self._get_template_credit_notes().mapped("amount_residual"))
        return max(due - credits, 0.0)

    def _get_late_invoice_names(self, min_days=1):
        """The invoices listed with an instalment at least ``min_days`` late,
        for a level's firm sentence, which is said of them only."""
        self.ensure_one()
        names = []
        for row in self._get_statement_rows():
            name = row["invoice"].name
            if row["days_late"] >= min_days and name not in names:
                names.append(name)
        return ", ".join(names)

    def _get_due_invoice_names(self):
        """The invoices listed with an instalment due on or before today."""
        self.ensure_one()
        names = []
        for row in self._get_statement_rows():
            if row["due"] and row["invoice"].name not in names:
                names.append(row["invoice"].name)
        return ", ".join(names)

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
        return invoice._dunning_days_late(fields.Date.context_today(self))

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
