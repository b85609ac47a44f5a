"""A WhatsApp dispatch batch loses nothing: a worker killed between two calls,
status webhooks racing the batch's own writes."""

from datetime import timedelta
from unittest.mock import patch

import psycopg2.errors

from odoo.tests import tagged

from ..models import dunning_channel_whatsapp_calls as whatsapp_channel
from ..models.dunning_channel_whatsapp_calls import (
    DunningReminderWhatsappCalls as DunningReminder,
)
from ..services.whatsapp.webhook import parse_webhook
from .test_whatsapp_batch import NOW, WhatsAppBatchCommon
from .test_whatsapp_common import status_value, webhook_body


class _Killed(BaseException):
    """Stands for a kill -9: nothing of the worker runs after it."""


@tagged("post_install", "-at_install")
class TestWhatsAppDispatchSafety(WhatsAppBatchCommon):
    def status_event(self, wamid, status, callback_data=None):
        """A signed status as the webhook stores it in the inbox."""
        events = parse_webhook(
            webhook_body(status_value(wamid, status, callback=callback_data))
        )
        return (
            self.env["dunning.whatsapp.event"]
            .sudo()
            ._store_webhook(self.account, events)
        )

    # ------------------------------------------------------------------------------
    # A worker killed in the middle of a batch
    # ------------------------------------------------------------------------------

    def kill_during_call(self, reminders, dying, at_once):
        """Dispatch ``reminders``, ``at_once`` calls at a time, the worker
        dying during the call of reminder ``dying``: its request left, its
        answer never came back. Return the reminders whose call was made."""
        calls = []
        real_call = DunningReminder._call_whatsapp

        def call(reminder, request):
            calls.append(reminder)
            answer = real_call(reminder, request)
            if reminder == dying:
                raise _Killed()
            return answer

        # Not assertRaises: Odoo's rolls back what its block wrote, and what
        # the worker committed before dying is what this test is about.
        killed = False
        with (
            patch.object(DunningReminder, "_call_whatsapp", call),
            patch.object(whatsapp_channel, "WHATSAPP_CALLS_AT_ONCE", at_once),
        ):
            try:
                self.send(reminders)
            except _Killed:
                killed = True
        self.assertTrue(killed)
        return reminders.browse().union(*calls)

    def attempted(self, reminders):
        return reminders.filtered(lambda r: r.whatsapp_message_ids.attempted_at)

    def test_kill_between_calls_resends_only_the_never_attempted(self):
        customers = self.customers(6)
        reminders = self.queue(customers)
        # Two at a time: the first two calls are made together, the next two
        # start while the first two answers are recorded; the worker dies
        # recording the second answer.
        called = self.kill_during_call(reminders, reminders[1], at_once=2)
        answered = reminders[0]
        self.assertEqual(called, reminders[:4])
        self.assertEqual(answered.state, "sent")
        # At most two chunks are uncertain: attempted, their outcome unknown.
        uncertain = reminders[1:4]
        self.assertEqual(self.attempted(reminders), reminders[:4])
        self.assertEqual(set(uncertain.mapped("state")), {"sending"})
        never = reminders - called
        self.assertEqual(len(self.graph.sends), 4)

        # The next dispatch, once the claims are stale: the two never tried are
        # sent, once; the ones in flight are left to their status webhooks.
        later = NOW + timedelta(minutes=45)
        self._as_cron()._recover_stale_claims(later)
        self.assertEqual(set(never.mapped("state")), {"queued"})
        self.assertEqual(set(uncertain.mapped("state")), {"sending"})
        self.send(never)
        self.assertEqual(set(never.mapped("state")), {"sent"})
        self.assertEqual(len(self.graph.sends), 6)
        sent_to = [request["json"]["to"] for request in self.graph.sends]
        self.assertEqual(len(set(sent_to)), 6, "each customer reached once")
        for reminder in never:
            self.assertEqual(len(reminder.whatsapp_message_ids), 1)

        # An uncertain one settles through Meta's status, which names the
        # reminder in its callback data.
        in_flight = reminders[1]
        wamid = "wamid.LATE"
        event = self.status_event(wamid, "delivered", callback_data=in_flight.uuid)
        event._process()
        self.assertEqual(in_flight.state, "delivered")
        self.assertEqual(in_flight.whatsapp_message_ids.wamid, wamid)

    def test_unattempted_claims_are_never_escalated_as_uncertain(self):
        reminders = self.queue(self.customers(3))
        # One at a time: the second call starts while the first answer is
        # recorded, when the worker dies.
        self.kill_during_call(reminders, reminders[0], at_once=1)
        self._as_cron()._recover_stale_claims(NOW + timedelta(days=2))
        attempted, never = reminders[:2], reminders[2]
        self.assertEqual(never.state, "queued")
        self.assertFalse(never.whatsapp_message_ids)
        # Only those whose call had started need a person.
        self.assertEqual(set(attempted.mapped("state")), {"failed"})
        for reminder in attempted:
            self.assertIn("never confirmed", reminder.error_message)

    # ------------------------------------------------------------------------------
    # Status webhooks racing the batch
    # ------------------------------------------------------------------------------

    def test_batch_completes_when_a_status_update_wins_the_race(self):
        """The webhook applied "delivered" to the second message and committed
        before the batch wrote that message's result: PostgreSQL refuses the
        batch's write (serialization failure). The batch writes it again from
        a fresh snapshot and goes on with the rest."""
        reminders = self.queue(self.customers(3))
        raced = []
        real_record = DunningReminder._record_whatsapp_outcome

        def record(reminder, send, now, outcome):
            if len(raced) == 0 and reminder == reminders[1]:
                # Meta's "delivered" arrived while the call was answered.
                raced.append(reminder)
                send.message.write({"wamid": outcome.wamid})
                send.message._apply_status("delivered", now + timedelta(seconds=1))
                raise psycopg2.errors.SerializationFailure(
                    "could not serialize access due to concurrent update"
                )
            return real_record(reminder, send, now, outcome)

        with patch.object(DunningReminder, "_record_whatsapp_outcome", record):
            self.send(reminders)
        self.assertEqual(raced, [reminders[1]])
        self.assertEqual(len(self.graph.sends), 3)
        self.assertEqual(reminders.mapped("state"), ["sent", "sent", "sent"])
        self.assertTrue(all(reminders.whatsapp_message_ids.mapped("wamid")))

    def test_the_batch_never_moves_a_status_back(self):
        """The webhook's "delivered" came first (committed before the batch's
        own write of the result): the message keeps it, and gets its send time
        and Meta's id from the batch."""
        reminders = self.queue(self.customers(2))
        real_record = DunningReminder._record_whatsapp_outcome

        def record(reminder, send, now, outcome):
            if reminder == reminders[0]:
                send.message.write({"wamid": outcome.wamid})
                send.message._apply_status("delivered", now + timedelta(seconds=1))
            return real_record(reminder, send, now, outcome)

        with patch.object(DunningReminder, "_record_whatsapp_outcome", record):
            self.send(reminders)
        first = reminders[0]
        self.assertEqual(first.state, "delivered")
        self.assertEqual(first.whatsapp_message_ids.state, "delivered")
        self.assertEqual(first.whatsapp_message_ids.sent_at, NOW)
        self.assertEqual(reminders[1].state, "sent")

    def test_a_conflict_that_never_clears_fails_that_message_only(self):
        reminders = self.queue(self.customers(3))
        real_record = DunningReminder._record_whatsapp_outcome

        def record(reminder, send, now, outcome):
            if reminder == reminders[0]:
                raise psycopg2.errors.SerializationFailure("again and again")
            return real_record(reminder, send, now, outcome)

        with (
            patch.object(DunningReminder, "_record_whatsapp_outcome", record),
            self.assertLogs("odoo.addons.account_dunning.models"),
        ):
            self.send(reminders)
        self.assertEqual(reminders[0].state, "failed")
        self.assertIn("again and again", reminders[0].error_message)
        self.assertEqual(reminders[1:].mapped("state"), ["sent", "sent"])
