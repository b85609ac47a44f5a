import dataclasses
import json
import logging
from datetime import UTC, datetime

import psycopg2.errors

from odoo import _, api, fields, models
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL

from ..services.backoff import can_retry, next_retry_at
from ..services.whatsapp.events import (
    MessageEvent,
    StatusEvent,
    UnreadableEvent,
    is_opt_out,
)
from ..services.whatsapp.webhook import key_hash
from .dunning_whatsapp_media import MediaNotReady

_logger = logging.getLogger(__name__)

# Errors of a transaction that lost a race with a concurrent one: a webhook of
# the same message applied meanwhile (a serialization failure under Odoo's
# REPEATABLE READ, a lock, a deadlock), or two events creating the same message
# at once (a unique violation). The event applies once the other transaction
# has committed, so it is tried again later; never in this transaction, whose
# snapshot would run into the same conflict again.
TRANSIENT_ERRORS = (
    *PG_CONCURRENCY_EXCEPTIONS_TO_RETRY,
    psycopg2.errors.UniqueViolation,
)
# Retries of an event: full-jitter backoff from 30 s, capped at 1 hour; the
# 8 attempts span about an hour. More than for a send: a retry here costs
# nothing outside, and an event given up is a status lost.
RETRY_BASE = 30.0
RETRY_CAP = 3600.0
MAX_ATTEMPTS = 8


class EventNotReady(Exception):
    """The event cannot be applied yet, but may later (see ``_process``)."""


class DunningWhatsappEvent(models.Model):
    """The webhook inbox: every event Meta sent, stored once under its key.

    Meta delivers at least once, retried for days and out of order: the unique
    key makes a duplicate a no-op. The webhook only stores the events and
    triggers the inbox's cron, which processes them in the order they came (a
    status never moves a message backwards), each once; the events a concurrent
    transaction made fail for now are tried again with backoff. A part of a
    delivery that could not be read is stored too, in error with the reason.
    """

    _name = "dunning.whatsapp.event"
    _inherit = ["dunning.engine.record"]
    _description = "WhatsApp Webhook Event"
    _order = "id"
    _rec_name = "event_key"

    # Meta's ids have no documented bound: the key is stored whole but indexed
    # (and kept unique) through its fixed-size hash; look it up by the hash.
    event_key = fields.Char(required=True, readonly=True)
    event_key_hash = fields.Char(
        compute="_compute_event_key_hash",
        store=True,
        precompute=True,
        required=True,
        readonly=True,
        help="SHA-256 of the event key: its index.",
    )
    account_id = fields.Many2one(
        "dunning.whatsapp.account",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="account_id.company_id", store=True, index=True
    )
    kind = fields.Selection(
        [
            ("status", "Status"),
            ("message", "Inbound Message"),
            ("unreadable", "Unreadable"),
        ],
        readonly=True,
        help="Unreadable: a part of a signed delivery that could not be read (the "
        "reason is in Error); the rest of the delivery was processed.",
    )
    payload = fields.Text(readonly=True, help="The event as Meta sent it (JSON).")
    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("done", "Done"),
            ("ignored", "Ignored"),
            ("error", "Error"),
        ],
        default="pending",
        required=True,
        index=True,
        readonly=True,
    )
    error = fields.Text(
        readonly=True,
        help="Why the event could not be applied: for a pending event, the "
        "temporary error of its last attempt; for an event in error, the reason "
        "it was given up.",
    )
    retry_count = fields.Integer(
        readonly=True,
        help="Attempts that failed with a temporary error (a concurrent update "
        "of the same message, a message not recorded yet) and were tried again.",
    )
    next_attempt_at = fields.Datetime(
        string="Next Attempt",
        readonly=True,
        help="A pending event is not tried again before this moment.",
    )

    # The inbox holds what Meta sent: the engine's only.
    _dunning_engine_fields = None

    _sql_constraints = [
        # Per number: one company's Meta app cannot pre-empt another's events.
        # On the hash: a btree entry of the key itself could be too long (the
        # constraint keeps its name, so that an update replaces the old one).
        (
            "event_key_unique",
            "UNIQUE(account_id, event_key_hash)",
            "A webhook event is stored once per WhatsApp number.",
        ),
    ]

    @api.depends("event_key")
    def _compute_event_key_hash(self):
        for event in self:
            event.event_key_hash = key_hash(event.event_key or "")

    def init(self):
        # Before the hash, ``event_key`` had a btree index, which refuses keys
        # over about 2.7 KB; Odoo keeps an index a field no longer declares.
        self.env.cr.execute(
            SQL(
                "DROP INDEX IF EXISTS %s",
                SQL.identifier(f"{self._table}__event_key_index"),
            )
        )

    @api.model
    def _store(self, account, kind, event_key, data, error=None):
        """Insert the event unless its key is known; return the new record or none.

        With ``error``, the event is stored in error with that reason, never to
        be processed. ``ON CONFLICT DO NOTHING`` so that a duplicate delivered
        concurrently by Meta never raises nor aborts the request's transaction.
        """
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO dunning_whatsapp_event
                       (event_key, event_key_hash, account_id, company_id, kind,
                        payload, state, error, retry_count,
                        create_uid, create_date, write_uid, write_date)
                VALUES (%(key)s, %(hash)s, %(account)s, %(company)s, %(kind)s,
                        %(payload)s, %(state)s, %(error)s, 0,
                        %(uid)s, NOW() AT TIME ZONE 'UTC',
                        %(uid)s, NOW() AT TIME ZONE 'UTC')
                ON CONFLICT (account_id, event_key_hash) DO NOTHING
                RETURNING id
                """,
                key=event_key,
                hash=key_hash(event_key),
                account=account.id,
                company=account.company_id.id,
                kind=kind,
                payload=json.dumps(data, ensure_ascii=False, default=str),
                state="error" if error else "pending",
                error=error,
                uid=self.env.uid,
            )
        )
        row = self.env.cr.fetchone()
        return self.browse(row[0]) if row else self.browse()

    @api.model
    def _store_webhook(self, account, events):
        """Store the parsed webhook ``events`` of ``account``; return the new ones.

        A duplicate (same key) is acknowledged and not stored again. An
        unreadable part is stored in error, with the reason, for the managers.
        """
        stored = self.browse()
        for event in events:
            data = dataclasses.asdict(event)
            if isinstance(event, UnreadableEvent):
                _logger.info(
                    "WhatsApp webhook: a part of a delivery to %s could not be "
                    "read: %s",
                    account.phone_number_id,
                    event.reason,
                )
                stored |= self._store(
                    account,
                    "unreadable",
                    event.event_key,
                    data,
                    error=_("Could not be read: %(reason)s", reason=event.reason),
                )
                continue
            kind = "status" if isinstance(event, StatusEvent) else "message"
            stored |= self._store(account, kind, event.event_key, data)
        return stored

    def _trigger_processing(self):
        """Have the inbox's cron process these new events, in the background:
        the webhook answers as soon as they are stored."""
        if self.filtered(lambda event: event.state == "pending"):
            self.env.ref("account_dunning.ir_cron_whatsapp_events").sudo()._trigger()

    @api.model
    def _cron_process(self, limit=500):
        """Process the events a request stored but could not process, and the
        retries that are due."""
        events = self.search(self._domain_due(), limit=limit)
        events._process()
        self.env["ir.cron"]._notify_progress(
            done=len(events), remaining=self.search_count(self._domain_due())
        )

    @api.model
    def _domain_due(self):
        """Pending events whose (next) attempt is due."""
        return [
            ("state", "=", "pending"),
            "|",
            ("next_attempt_at", "=", False),
            ("next_attempt_at", "<=", fields.Datetime.now()),
        ]

    def _process(self):
        """Apply each pending event once, in the order Meta sent them.

        Each event in its own savepoint: one that fails never undoes the others.
        A failure that may go away (a concurrent transaction changed the same
        message, the message is not recorded yet) keeps the event pending for
        another attempt, with backoff, and triggers the cron then; only what
        will not go away (malformed content, a failure that outlasted every
        retry) ends in ``error``, with its reason.
        """
        retry_at = set()
        for event in self.sorted("id"):
            if event.state != "pending":
                continue
            # What the previous events wrote is flushed here, out of the next
            # event's savepoint: its failure is its own.
            self.env.cr.flush()
            try:
                with self.env.cr.savepoint():
                    done = event._apply()
                    event.write(
                        {
                            "state": "done" if done else "ignored",
                            "error": False,
                            "next_attempt_at": False,
                        }
                    )
            except TRANSIENT_ERRORS as error:
                reason = _(
                    "A concurrent transaction changed the same records (%(error)s).",
                    error=type(error).__name__,
                )
                retry_at.add(event._retry_later(reason))
            except (EventNotReady, MediaNotReady) as error:
                retry_at.add(event._retry_later(str(error)))
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                # The stored content is not what the parser produces.
                event._set_error(_("Malformed event: %(error)s", error=repr(error)))
            except Exception as error:  # noqa: BLE001
                # One bad event must not block the inbox behind it.
                reason = f"{type(error).__name__}: {error}"
                event._set_error(reason, exc_info=True)
        retry_at.discard(None)
        if retry_at:
            self.env.ref("account_dunning.ir_cron_whatsapp_events").sudo()._trigger(
                at=sorted(retry_at)
            )
        return True

    def _apply(self):
        """Apply this event: True when it changed something, False otherwise.

        Raises EventNotReady when it may apply later, anything else when it
        never will.
        """
        self.ensure_one()
        data = json.loads(self.payload or "{}")
        if not isinstance(data, dict):
            raise TypeError(f"payload is {type(data).__name__}, not an object")
        if self.kind == "status":
            return self._process_status(data)
        return self._process_message(data)

    def _retry_later(self, reason):
        """Keep this event pending for another attempt; return its time.

        After the last attempt the event is given up: ``error`` with the
        reason, and None is returned.
        """
        self.ensure_one()
        attempts = self.retry_count + 1
        if not can_retry(attempts, MAX_ATTEMPTS):
            self._set_error(
                _(
                    "Given up after %(attempts)s attempts: %(reason)s",
                    attempts=attempts,
                    reason=reason,
                )
            )
            return None
        when = next_retry_at(
            fields.Datetime.now(), self.retry_count, base=RETRY_BASE, cap=RETRY_CAP
        ).replace(microsecond=0)
        _logger.info(
            "WhatsApp event %s not applied yet (%s): attempt %s at %s",
            self.id,
            reason,
            attempts + 1,
            when,
        )
        self.write({"retry_count": attempts, "next_attempt_at": when, "error": reason})
        return when

    def _set_error(self, reason, exc_info=False):
        """Give this event up: ``error``, with the reason, for the managers."""
        self.ensure_one()
        _logger.warning(
            "WhatsApp event %s given up: %s", self.id, reason, exc_info=exc_info
        )
        self.write({"state": "error", "error": reason, "next_attempt_at": False})

    def _process_status(self, data):
        """Move the message and its reminder forward (True).

        Raises EventNotReady while no message of this number has the id.
        """
        # Only this number's messages: what one company's Meta app reports never
        # moves another company's messages, whatever ids it carries.
        account = self.account_id
        messages = self.env["dunning.whatsapp.message"].sudo()
        message = messages.search(
            [
                ("account_id", "=", account.id),
                *messages._domain_wamid(data.get("wamid")),
            ],
            limit=1,
        )
        if not message and data.get("callback_data"):
            # An uncertain send of a message written by a collector: its own
            # reference travelled as callback data.
            message = messages.search(
                [
                    ("account_id", "=", account.id),
                    ("uuid", "=", data["callback_data"]),
                    ("wamid_hash", "=", False),
                ],
                limit=1,
            )
            if message:
                message.write(
                    {"wamid": data.get("wamid"), "wa_id": data.get("recipient_id")}
                )
        if not message and data.get("callback_data"):
            # An uncertain send: the request may have reached Meta without our
            # knowing its wamid; the reminder's UUID travelled as callback data.
            reminder = (
                self.env["dunning.reminder"]
                .sudo()
                .search(
                    [
                        ("company_id", "=", account.company_id.id),
                        ("uuid", "=", data["callback_data"]),
                    ],
                    limit=1,
                )
            )
            if reminder:
                message = messages.search(
                    [
                        ("reminder_id", "=", reminder.id),
                        ("direction", "=", "out"),
                        ("wamid_hash", "=", False),
                    ],
                    limit=1,
                )
                if not message:
                    message = messages.create(
                        {
                            "direction": "out",
                            "state": "sending",
                            "account_id": self.account_id.id,
                            "company_id": reminder.company_id.id,
                            "partner_id": reminder.partner_id.id,
                            "reminder_id": reminder.id,
                        }
                    )
                if not message.wamid:
                    message.write(
                        {"wamid": data.get("wamid"), "wa_id": data.get("recipient_id")}
                    )
        if not message:
            # Perhaps ours, in a transaction not committed yet (a send whose
            # status came back before the batch ended): try again later, and
            # give up only after the last attempt.
            raise EventNotReady(_("No WhatsApp message with this ID on this number."))
        errors = data.get("errors") or [{}]
        when = (
            datetime.fromtimestamp(data["timestamp"], UTC).replace(tzinfo=None)
            if data.get("timestamp") is not None
            else fields.Datetime.now()
        )
        message._apply_status(
            data.get("status"),
            when,
            error_code=errors[0].get("code"),
            error_title=errors[0].get("title"),
        )
        return True

    def _process_message(self, data):
        """An inbound message: opt-out keyword, or a note for the collector.

        What is not the customer writing to us (a reaction, an edit or a
        deletion, a notice from WhatsApp, an unsupported type) is recorded
        without opening the 24-hour window nor asking the collector to answer;
        a notice that the customer changed number updates the number.
        """
        event = MessageEvent.from_dict(data)
        messages = self.env["dunning.whatsapp.message"].sudo()
        # The file first, before anything is written: a download that fails
        # for now (MediaNotReady) leaves nothing behind; the event is retried.
        media = messages._media_download(
            self.account_id,
            event,
            last_attempt=not can_retry(self.retry_count + 1, MAX_ATTEMPTS),
        )
        partner = self.env["res.partner"]._whatsapp_find_by_wa_id(
            event.from_wa_id, self.account_id.company_id
        )
        when = event.timestamp_utc or fields.Datetime.now()
        text = event.text or event.button_text or ""
        reply_to = messages.browse()
        if event.context_wamid:
            reply_to = messages.search(
                [
                    ("account_id", "=", self.account_id.id),
                    *messages._domain_wamid(event.context_wamid),
                ],
                limit=1,
            )
        message = messages.create(
            {
                "wamid": event.wamid,
                "direction": "in",
                "state": "received",
                "account_id": self.account_id.id,
                "company_id": self.account_id.company_id.id,
                "partner_id": partner.id,
                "wa_id": event.from_wa_id,
                "body": text or event.type,
                "received_at": when,
                "reply_to_id": reply_to.id,
                "quick_reply_payload": event.button_payload,
                **messages._media_values(media, event),
            }
        )
        attachments = message._media_store(media) if media else None
        if not partner:
            return False
        # The collector is per company: read it in the account's company, not
        # in the public user's.
        partner = partner.with_company(self.account_id.company_id)
        if event.changed_number_to:
            partner._whatsapp_change_number(
                event.from_wa_id, event.changed_number_to, self.account_id.company_id
            )
            return True
        if not event.is_conversation:
            # In the chatter already (the message above); nothing to answer.
            return True
        # An opt-out wins over everything, even typed as a quick reply's text.
        if is_opt_out(text):
            partner._whatsapp_set_opt_out(text, when)
        elif event.button_payload:
            partner._dunning_whatsapp_quick_reply(event.button_payload, message)
        elif media:
            message._media_notify(partner, attachments, when)
        else:
            partner._whatsapp_on_inbound(text or event.type or "", when)
        return True
