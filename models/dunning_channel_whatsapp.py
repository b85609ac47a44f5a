"""WhatsApp: an approved template through Meta's Cloud API.

The send is a provider call that cannot be rolled back, so this channel keeps
an outbox record of its own (``dunning.whatsapp.message``) committed before the
call, marks it attempted just before the call, and records the outcome in a
short transaction of its own: whatever happens, a message is never sent twice,
and only the messages whose call may have happened are uncertain after a crash.
The calls of a batch overlap their network latency: they go in chunks, each
chunk marked and committed before its calls are made side by side
(``DunningReminder._deliver_prepared``).
"""

import logging
import random
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..services.whatsapp import errors as wa
from ..services.whatsapp.events import should_apply_status
from .dunning_channel import (
    FAILED,
    RETRY,
    SENT,
    UNCERTAIN,
    UNREACHABLE,
    WAIT,
    Outcome,
    RecipientUnreachableError,
)
from .dunning_whatsapp_account import pace
from .dunning_whatsapp_message import DEFER_CHATTER, UNCERTAIN_GRACE

_logger = logging.getLogger(__name__)

# A message prepared by ``_prepare_whatsapp``: its outbox record exists (not
# committed), the call is still to be made.
PreparedWhatsApp = namedtuple(
    "PreparedWhatsApp", "account message template params url_suffix body"
)
# What a call needs, read before it in the main thread: the call runs in a
# thread without a cursor (``clients``: the account's pool of API clients,
# ``bucket``: its token bucket).
WhatsAppCall = namedtuple(
    "WhatsAppCall",
    "clients bucket to template language params url_suffix body callback_data",
)
# Calls of a batch made at the same time (each waits about a round trip for
# its answer). After a crash, at most twice as many messages are uncertain:
# a chunk being called, the one whose outcomes were being recorded.
WHATSAPP_CALLS_AT_ONCE = 16


class WhatsAppUnreachableError(RecipientUnreachableError):
    """The customer cannot be reached by WhatsApp at all (consent, opt-out,
    number)."""


class DunningChannelWhatsapp(models.AbstractModel):
    _name = "dunning.channel.whatsapp"
    _inherit = "dunning.channel"
    _description = "Collection Channel: WhatsApp"

    _channel_code = "whatsapp"
    _channel_sequence = 20
    _channel_carries_notices = True
    _channel_level_fields = ("channel_whatsapp", "whatsapp_template_id")

    @api.model
    def _channel_label(self):
        return _("WhatsApp")

    @api.model
    def _level_problem(self, level):
        if not level.whatsapp_template_id:
            return _(
                "Level %(level)s sends WhatsApp messages: choose its WhatsApp "
                "template.",
                level=level.display_name,
            )
        return None

    @api.model
    def _preview(self, reminder):
        """The template's text as the customer will read it, and the number."""
        problem = self._level_problem(reminder.level_id)
        if problem:
            raise UserError(problem)
        partner = reminder.partner_id
        template = reminder._whatsapp_template()
        params = template._render_params(reminder)
        body = template._validate_message(params, template._render_url_suffix(reminder))
        unreachable = self._unreachable_reason(reminder)
        return {
            "recipient": unreachable or partner.whatsapp_number or partner.mobile,
            "subject": template.display_name,
            "body": body,
        }

    @api.model
    def _unreachable_partners(self, partners, policy):
        # One read of the batch's customers, through the prefetch.
        partners.fetch(
            [
                "whatsapp_opt_out",
                "whatsapp_opt_in",
                "whatsapp_number",
                "whatsapp_number_invalid",
            ]
        )
        return {
            partner.id
            for partner in partners
            if partner._whatsapp_unreachable_reason(policy)
        }

    @api.model
    def _unreachable_reason(self, reminder):
        partner = reminder.partner_id
        if not reminder._is_notice():
            return partner._whatsapp_unreachable_reason(reminder.policy_id)
        # A notice may answer a customer who wrote in the last 24 hours, and
        # goes by the policy's next channel when WhatsApp cannot carry it.
        written = self.env["dunning.whatsapp.compose"]._window_open_at(
            partner, fields.Datetime.now()
        )
        reason = partner._whatsapp_unreachable_reason(
            reminder.policy_id, written=written
        )
        if reason:
            return reason
        if reminder.kind == "chat":
            if reminder.chat_body and not written:
                return _(
                    "%(partner)s has not written in the last 24 hours: outside "
                    "that window WhatsApp only delivers approved templates.",
                    partner=partner.display_name,
                )
            return None
        template = reminder._notice_whatsapp_template().sudo()
        if not template:
            return _("The policy has no WhatsApp template for this message.")
        account = template.account_id
        if not account.active or account.company_id != reminder.company_id:
            return _(
                "No WhatsApp account of %(company)s sends template %(template)s.",
                company=reminder.company_id.name,
                template=template.name,
            )
        if template.status != "approved" or template.needs_review:
            return _(
                "WhatsApp template %(template)s is not approved.",
                template=template.name,
            )
        return None

    @api.model
    def _before_send(self, reminders):
        # The statement link of the templates with a URL button.
        reminders.filtered(
            lambda r: (
                not r._is_notice()
                and (
                    r.whatsapp_template_id or r.level_id.whatsapp_template_id
                ).url_button
            )
        )._mint_links()

    @api.model
    def _send(self, reminders, now):
        """Prepare every message of the batch, commit them together (each
        message durable, its reminder ``sending``), then make the calls,
        several at a time (:meth:`DunningReminder._deliver_prepared`); the
        chatter notes go once, after the calls, with the outcome of each."""
        retry_times = set()
        prepared = {}
        for reminder in reminders.with_context(**{DEFER_CHATTER: True}):
            # No savepoint (two queries a message): nothing is written before
            # the message's own creation, the last step.
            try:
                result = reminder._prepare_whatsapp(now)
            except Exception as error:  # noqa: BLE001 -- settled as an outcome
                result = self._error_outcome(reminder, error)
            if isinstance(result, PreparedWhatsApp):
                prepared[reminder] = result
                continue
            when = reminder._settle(result, now)
            if when:
                retry_times.add(when)
        if not prepared:
            return retry_times
        reminders._commit_between_batches()
        retry_times |= reminders._deliver_prepared(prepared, now)
        messages = self.env["dunning.whatsapp.message"].union(
            *(send.message for send in prepared.values())
        )
        reminders._in_own_transaction(lambda: reminders._post_whatsapp_notes(messages))
        return retry_times

    @api.model
    def _recover(self, reminder, now):
        """A message is marked attempted (and committed) just before its call:
        with that mark it may have gone out, and only the provider's status
        webhook settles it; without it, its worker died before the call, and
        it is sent again."""
        if not reminder._has_outbox_record():
            reminder._outbox_messages().unlink()
            return super()._recover(reminder, now)
        # A worker that died during its batch's calls left its messages
        # without their chatter notes (posted after the calls).
        reminder.whatsapp_message_ids.filtered(
            lambda m: not m.chatter_message_ids
        )._chatter_sync()
        if reminder.claimed_at < now - UNCERTAIN_GRACE:
            reminder._escalate_uncertain()
        return None

    @api.model
    def _contacts_elsewhere(self, partner_ids, since):
        """``(customer id, when)`` of the WhatsApp messages sent to these
        customers since ``since`` outside reminders (a collector's chat, a
        confirmation, a thank-you): contacts the caps count."""
        self.env.cr.execute(
            SQL(
                """
                SELECT customer.commercial_partner_id,
                       COALESCE(message.sent_at, message.claimed_at)
                  FROM dunning_whatsapp_message message
                  JOIN res_partner customer ON customer.id = message.partner_id
                 WHERE customer.commercial_partner_id IN %(partners)s
                   AND message.direction = 'out'
                   AND message.reminder_id IS NULL
                   AND message.state IN ('sending', 'sent', 'delivered', 'read')
                   AND COALESCE(message.sent_at, message.claimed_at) > %(since)s
                """,
                partners=tuple(partner_ids),
                since=since,
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _log_contact(self, reminder, body, subject):
        # The WhatsApp message logs itself in the chatter, with its delivery
        # status kept current (dunning.whatsapp.message._chatter_sync).
        return


class DunningLevel(models.Model):
    _inherit = "dunning.level"

    channel_whatsapp = fields.Boolean(string="WhatsApp")
    whatsapp_template_id = fields.Many2one(
        "dunning.whatsapp.template",
        string="WhatsApp Template",
        check_company=True,
        help="An approved utility template; customers who did not agree to "
        "WhatsApp, opted out or have no valid number are not sent it.",
    )


class DunningReminder(models.Model):
    _inherit = "dunning.reminder"

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

    _dunning_engine_fields = frozenset({"whatsapp_message_ids"})

    def _has_outbox_record(self):
        """Whether a send of this reminder may have reached the provider: its
        message's call started (or Meta's id for it is known)."""
        self.ensure_one()
        return bool(
            self._outbox_messages().filtered(lambda m: m.attempted_at or m.wamid)
        )

    def _outbox_messages(self):
        return self.whatsapp_message_ids.filtered(
            lambda m: m.direction == "out" and m.state != "failed"
        )

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
            summary=user._dunning_in_my_lang(self).env._(
                "Check whether the WhatsApp reminder arrived"
            ),
            note=self.error_message,
            user_id=user.id,
        )

    def _whatsapp_template(self):
        """The template of this reminder (the automation rule's, else the
        level's) in the customer's language when it exists in it."""
        self.ensure_one()
        if self.kind == "chat":
            return self.whatsapp_template_id.sudo()
        if self._is_notice():
            template = self._notice_whatsapp_template()
        else:
            template = self.whatsapp_template_id or self.level_id.whatsapp_template_id
        if not template:
            raise UserError(
                _(
                    "%(message)s: no WhatsApp template.",
                    message=self.level_id.name or self._kind_label(),
                )
            )
        return template.sudo()._for_lang(self.partner_id.lang)

    def _whatsapp_account(self):
        """The company's WhatsApp account, for a message without a template."""
        return (
            self.env["dunning.whatsapp.account"]
            .sudo()
            .search([("company_id", "=", self.company_id.id)], limit=1)
        )

    def _prepare_whatsapp(self, now):
        """Render this reminder's message and create its outbox record (not
        committed); return a :class:`PreparedWhatsApp`, or the outcome when the
        account cannot send now."""
        self.ensure_one()
        template = self._whatsapp_template()
        account = template.account_id.sudo() or self._whatsapp_account()
        partner = self.partner_id
        if not account:
            raise UserError(
                _(
                    "No WhatsApp account is configured for %(company)s.",
                    company=self.company_id.name,
                )
            )
        if account.state != "active" or not account.active:
            return Outcome(
                WAIT,
                _("The WhatsApp account %(account)s is paused.", account=account.name),
                now + timedelta(hours=1),
            )
        budget_until = account._budget_full_until(partner, now)
        if budget_until:
            return Outcome(
                WAIT,
                _(
                    "The WhatsApp account %(account)s reached its daily budget of "
                    "%(budget)s customers.",
                    account=account.name,
                    budget=account.daily_recipient_budget,
                ),
                budget_until,
            )
        values = {
            "direction": "out",
            "state": "sending",
            "account_id": account.id,
            "company_id": self.company_id.id,
            "partner_id": partner.id,
            "reminder_id": self.id,
            "template_id": template.id,
        }
        messages = self.env["dunning.whatsapp.message"].sudo()
        if self.kind == "chat":
            values.update(
                user_id=self.author_id.id,
                move_id=self._get_template_invoices()[:1].id,
                template_id=template.id,
            )
        if self.kind == "chat" and not template:
            # Free text: a reply inside the customer's 24-hour window.
            params = url_suffix = None
            body = self.chat_body
        elif self._is_notice() and self.kind != "chat":
            values.update(
                notice_type=self.kind,
                promise_id=self.promise_id.id,
                notice_move_ids=[fields.Command.set(self.move_ids.ids)],
            )
            params = template._render_notice_params(messages.new(values))
            url_suffix = None
            body = template._validate_message(params, url_suffix)
        else:
            params = template._render_params(self)
            url_suffix = template._render_url_suffix(self)
            body = template._validate_message(params, url_suffix)
        self.recipient_id = partner
        # Outbox: once committed, the claim and its message make sure the
        # reminder is never sent again by this channel unless Meta answered that
        # it refused it.
        message = messages.create({**values, "body": body})
        return PreparedWhatsApp(account, message, template, params, url_suffix, body)

    @api.model
    def _deliver_prepared(self, prepared, now):
        """Make the calls of the messages a batch prepared and committed
        (``{reminder: PreparedWhatsApp}``); return when to dispatch again.

        The calls overlap their network latency: chunks of
        ``WHATSAPP_CALLS_AT_ONCE`` messages, each in three steps.

        1. The chunk's messages are marked attempted, and committed together
           just before their calls (an account paused since the batch was
           prepared sends nothing more).
        2. Once the previous chunk's calls are answered, theirs run in
           threads, at the same time, while the main thread records the
           previous chunk's outcomes. A call does no
           database work (a thread has no cursor): it gets plain values
           (:class:`WhatsAppCall`) and returns the answer or the error. The
           account's pacers are shared and thread-safe: the token bucket
           spaces the calls, the arrival limiter never lets Meta receive more
           than ``rate_per_second`` in any second.
        3. Each outcome is recorded in a short transaction of its own
           (:meth:`_record_whatsapp_outcome`), on the main cursor, in order.

        After a crash, at most two chunks (the one whose outcomes were being
        recorded, the one in flight) are uncertain: marked attempted without
        their outcome, never sent again, settled by their status webhooks or
        by a person; every message without the mark is sent again.
        """
        retry_times = set()
        # Each record prefetches alone: a commit empties the ORM cache, and a
        # read would then fetch the field again for every record of the batch
        # (their prefetch set), once per message.
        items = [
            (
                reminder.with_prefetch(reminder._ids),
                send._replace(
                    account=send.account.with_prefetch(send.account._ids),
                    message=send.message.with_prefetch(send.message._ids),
                    template=send.template.with_prefetch(send.template._ids),
                ),
            )
            for reminder, send in prepared.items()
        ]
        size = max(WHATSAPP_CALLS_AT_ONCE, 1)
        clients = {}
        with ThreadPoolExecutor(
            max_workers=size, thread_name_prefix="dunning-whatsapp"
        ) as pool:
            in_flight = []
            for first in range(0, len(items) + size, size):
                calls = []
                for reminder, send in items[first : first + size]:
                    call = reminder._start_whatsapp_attempt(send, now, clients)
                    if isinstance(call, WhatsAppCall):
                        calls.append((reminder, send, call))
                    elif call:
                        retry_times.add(call)
                if calls:
                    self._commit_between_batches()
                # One chunk in flight at a time: at most ``size`` calls.
                wait([future for _reminder, _send, future in in_flight])
                started = [
                    (reminder, send, pool.submit(reminder._call_whatsapp, call))
                    for reminder, send, call in calls
                ]
                for reminder, send, future in in_flight:
                    when = reminder._record_whatsapp_answer(send, now, future.result())
                    if when:
                        retry_times.add(when)
                in_flight = started
        return retry_times

    def _start_whatsapp_attempt(self, send, now, clients):
        """Mark the message attempted and return its :class:`WhatsAppCall`.

        The mark is committed with the chunk, before its calls: after a crash
        a message with the mark counts as possibly sent, one without it as
        never tried. Unless its account was paused since the batch was
        prepared (an earlier call got an authentication error): then it never
        leaves; return the retry time. Never raises.
        """
        self.ensure_one()
        account, message = send.account, send.message
        try:
            if account.state != "active" or not account.active:
                message.unlink()
                retry_at = now + timedelta(hours=1)
                self._requeue(
                    retry_at,
                    _(
                        "The WhatsApp account %(account)s is paused.",
                        account=account.name,
                    ),
                )
                return retry_at
            if account.id not in clients:
                clients[account.id] = account._client_pool(WHATSAPP_CALLS_AT_ONCE)
            call = WhatsAppCall(
                clients=clients[account.id],
                bucket=account._pacers()[0],
                to=self.partner_id.whatsapp_number,
                template=send.template.name if send.template else None,
                language=send.template.language if send.template else None,
                params=send.params,
                url_suffix=send.url_suffix,
                body=send.body,
                callback_data=self.uuid,
            )
            message.attempted_at = fields.Datetime.now()
        except Exception as error:  # noqa: BLE001
            _logger.exception("Reminder %s could not be sent", self.uuid)
            self._set_failed(_("Unexpected error: %(error)s", error=error))
            return None
        return call

    def _call_whatsapp(self, call):
        """Make the Cloud API call of a prepared message (a
        :class:`WhatsAppCall`): its result, or the error it raised.

        Runs in a thread of its own: no database work, no field read (the
        outcome is the main thread's, in its own transaction). A client of
        the account's pool is borrowed for the call: a session is one
        keep-alive connection, never shared by two threads at once.
        """
        client = call.clients.get()
        try:
            pace(call.bucket)
            if not call.template:
                return client.send_text(
                    call.to, call.body, callback_data=call.callback_data
                )
            return client.send_template(
                call.to,
                call.template,
                call.language,
                call.params,
                url_button_suffix=call.url_suffix,
                callback_data=call.callback_data,
            )
        except Exception as error:  # noqa: BLE001 -- recorded as the outcome
            return error
        finally:
            call.clients.put(client)

    def _record_whatsapp_answer(self, send, now, answer):
        """Record a call's answer and settle the reminder, in a short
        transaction of its own, tried again from a fresh snapshot if a status
        webhook about this very message (Meta sends them within a second)
        changed it first. Never raises; returns when to dispatch again."""
        self.ensure_one()
        when = []

        def record():
            outcome = self._record_whatsapp_outcome(send, now, answer)
            when[:] = [self._settle(outcome, now) if outcome else None]

        try:
            self._in_own_transaction(record)
        except Exception as error:  # noqa: BLE001
            _logger.exception("Reminder %s: its outcome was not recorded", self.uuid)
            reason = _("Unexpected error: %(error)s", error=error)
            self._in_own_transaction(lambda: self._set_failed(reason))
            return None
        return when[0] if when else None

    def _record_whatsapp_outcome(self, send, now, answer):
        """Record on the message what Meta answered (a result or an error);
        return the reminder's :data:`Outcome`, or None when the reminder was
        settled already (by a status webhook that came first).

        The dispatcher writes what the call taught (the message's id, its
        send time); a status the webhook applied first is never moved back
        (``_apply_status`` only moves forward).
        """
        self.ensure_one()
        account, message = send.account, send.message
        if isinstance(answer, wa.RecipientRateLimitError):
            # About one message per 6 s per user: only this customer waits.
            message.unlink()  # refused by Meta: it never left
            return Outcome(
                WAIT, str(answer), now + timedelta(seconds=random.uniform(6, 10))
            )
        if isinstance(answer, wa.UncertainError):
            return Outcome(
                UNCERTAIN,
                _(
                    "The request may have reached WhatsApp (%(error)s): not sent "
                    "again, waiting for the status webhook.",
                    error=answer,
                ),
            )
        if isinstance(answer, wa.AccountError):
            message.unlink()
            account._pause(str(answer))
            return Outcome(WAIT, str(answer), now + timedelta(hours=1))
        if isinstance(answer, wa.TerminalError):
            if message.state == "sending":
                message.write(
                    {
                        "state": "failed",
                        "failed_at": now,
                        "error_code": answer.code or 0,
                        "error_title": answer.title,
                    }
                )
            return (
                Outcome(UNREACHABLE, str(answer)) if self.state == "sending" else None
            )
        if isinstance(answer, wa.WhatsAppError):
            # Retryable (throughput, temporary, 5xx) or unclassified.
            message.unlink()
            return Outcome(RETRY, str(answer))
        if isinstance(answer, (UserError, ValidationError, ValueError)):
            message.unlink()
            return Outcome(FAILED, str(answer))
        if isinstance(answer, Exception):
            # Unknown: the request may have left. Keep the message (uncertain).
            _logger.error(
                "Reminder %s: unexpected error during the WhatsApp call: %s",
                self.uuid,
                answer,
            )
            return Outcome(UNCERTAIN, _("Unexpected error: %(error)s", error=answer))
        values = {"wa_id": answer.wa_id, "sent_at": now}
        if not message.wamid:
            # Unless the webhook, which knows the reminder by its callback
            # data, recorded it first.
            values["wamid"] = answer.wamid
        if should_apply_status(message.state, "sent"):
            values["state"] = "sent"
        message.write(values)
        return Outcome(SENT) if self.state == "sending" else None

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
