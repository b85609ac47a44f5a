"""WhatsApp, the calls: a batch's prepared messages are called side by side,
in chunks, each chunk marked attempted and committed before its calls; each
answer is recorded in a short transaction of its own."""

import logging
import random
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

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
)
from .dunning_whatsapp_account import pace

_logger = logging.getLogger(__name__)

# What a call needs, read before it in the main thread: the call runs in a
# thread without a cursor (``clients``: the account's pool of API clients,
# ``bucket``: its token bucket).
WhatsAppCall = namedtuple(
    "WhatsAppCall",
    "clients bucket to template language params url_suffix body callback_data buttons",
)
# Calls of a batch made at the same time (each waits about a round trip for
# its answer). After a crash, at most twice as many messages are uncertain:
# a chunk being called, the one whose outcomes were being recorded.
WHATSAPP_CALLS_AT_ONCE = 16


class DunningReminderWhatsappCalls(models.Model):
    _inherit = "dunning.reminder"

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
                # Where the template has its buttons (read in this thread).
                buttons=send.template._button_params() if send.template else {},
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
                **call.buttons,
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
