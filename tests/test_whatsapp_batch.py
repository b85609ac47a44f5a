import threading
from datetime import datetime, timedelta

from odoo.tests import tagged

from ..models.dunning_whatsapp_message import DEFER_CHATTER
from .common import TUESDAY
from .test_whatsapp_common import WhatsAppCommon

# Tuesday noon in Mexico City: inside every Mexican customer's contact window.
NOW = datetime(2026, 11, 24, 18, 0)


class WhatsAppBatchCommon(WhatsAppCommon):
    """Customers who agreed to WhatsApp, their reminders queued for a batch."""

    def send(self, reminders):
        reminders.with_user(self.env.ref("base.user_root"))._dispatch(NOW)

    def notes(self, record):
        return record.message_ids.filtered(
            lambda m: "WhatsApp message" in (m.body or "")
        )

    def customers(self, count):
        return self.wa_customer | self.env["res.partner"].union(
            *(
                self._create_customer(
                    f"Cliente {number}",
                    mobile=f"+52 55 1234 {5700 + number}",
                    whatsapp_opt_in=True,
                    whatsapp_opt_in_source="contract",
                )
                for number in range(count - 1)
            )
        )

    def queue(self, customers):
        for customer in customers:
            self.create_invoice(customer)
        self.plan_on(TUESDAY)
        reminders = self.reminders(channel="whatsapp", state="queued").filtered(
            lambda r: r.partner_id in customers
        )
        self.assertEqual(len(reminders), len(customers))
        return reminders


@tagged("post_install", "-at_install")
class TestWhatsAppBatch(WhatsAppBatchCommon):
    """A dispatch batch: its WhatsApp messages prepared and committed together,
    sent, then their chatter notes posted at once with each outcome."""

    def test_batch_notes_carry_each_outcome(self):
        customers = self.customers(3)
        reminders = self.queue(customers)
        refused = customers[1]

        def respond(request):
            if request["json"]["to"].endswith(refused.whatsapp_number[-4:]):
                return self.graph.error(131026, 400, "Undeliverable")
            return self.graph.accept(request)

        self.graph.respond = respond
        self.send(reminders)
        self.assertEqual(len(self.graph.sends), 3)
        for reminder in reminders:
            message = reminder.whatsapp_message_ids
            status = "Failed" if reminder.partner_id == refused else "Sent"
            for record in (reminder.partner_id, reminder.move_ids):
                note = self.notes(record)
                self.assertEqual(len(note), 1, record)
                self.assertIn(f"Status: {status}", note.body)
                self.assertIn(reminder.partner_id.name, note.body)
            self.assertEqual(
                message.chatter_message_ids,
                self.notes(reminder.partner_id) | self.notes(reminder.move_ids),
            )
        self.assertIn("Error 131026", self.notes(refused).body)

    def test_batch_queries_do_not_grow_with_chatter_notes(self):
        """A message costs a few queries: its notes are created with the
        batch's, not one by one, and not rewritten after the call."""
        customers = self.customers(9)
        small, large = self.queue(customers[:3]), self.queue(customers[3:])
        counts = []
        for reminders in (small, large):
            self.env.flush_all()
            before = self.env.cr.sql_log_count
            self.send(reminders)
            self.env.flush_all()
            counts.append(self.env.cr.sql_log_count - before)
            self.assertEqual(set(reminders.mapped("state")), {"sent"})
        per_message = (counts[1] - counts[0]) / (len(large) - len(small))
        # About 7 here: rendering (portal token, holidays, listed invoices),
        # the message and its notes' links, then each message's attempt mark
        # and outcome written on their own (never batched: a crash or a status
        # webhook must find each message as it is), with the savepoint that
        # stands for the outcome's own transaction under tests. A note logged
        # per record and rewritten after the call adds 4 more.
        self.assertLessEqual(per_message, 8, counts)

    def test_calls_of_a_batch_overlap(self):
        """A batch's calls wait for their answers side by side: the fake
        Graph API holds each answer until all four requests are in flight
        (a barrier; its timeout only ends a failing run)."""
        reminders = self.queue(self.customers(4))
        barrier = threading.Barrier(4, timeout=30)

        def respond(request):
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                return self.graph.error(131000, 500, "Calls made one by one")
            return self.graph.accept(request)

        self.graph.respond = respond
        self.send(reminders)
        self.assertFalse(barrier.broken)
        self.assertEqual(set(reminders.mapped("state")), {"sent"})
        self.assertEqual(len(self.graph.sends), 4)

    def test_notes_of_one_customer_messages_kept_apart(self):
        invoice = self.create_invoice(self.wa_customer)
        Message = self.env["dunning.whatsapp.message"].sudo()
        messages = Message.with_context(**{DEFER_CHATTER: True}).create(
            [
                {
                    "direction": "out",
                    "state": "sent",
                    "account_id": self.account.id,
                    "company_id": self.company.id,
                    "partner_id": self.wa_customer.id,
                    "move_id": invoice.id,
                    "body": body,
                }
                for body in ("Primer mensaje", "Segundo mensaje")
            ]
        )
        self.assertFalse(messages.chatter_message_ids)
        messages._chatter_sync()
        self.assertEqual(len(self.notes(self.wa_customer)), 2)
        self.assertEqual(len(self.notes(invoice)), 2)
        for message, body in zip(
            messages, ("Primer mensaje", "Segundo mensaje"), strict=True
        ):
            notes = message.chatter_message_ids
            self.assertEqual(len(notes), 2)
            self.assertEqual(
                set(notes.mapped("res_id")), {self.wa_customer.id, invoice.id}
            )
            for note in notes:
                self.assertIn(body, note.body)

    def test_recovery_posts_notes_a_dead_worker_left_out(self):
        # The worker committed the outbox message of its batch (notes are only
        # posted after the calls), then died during the call.
        reminder = self.queue(self.wa_customer)
        reminder.write({"state": "sending", "claimed_at": NOW - timedelta(hours=2)})
        message = (
            self.env["dunning.whatsapp.message"]
            .sudo()
            .with_context(**{DEFER_CHATTER: True})
            .create(
                {
                    "direction": "out",
                    "state": "sending",
                    "account_id": self.account.id,
                    "company_id": self.company.id,
                    "partner_id": self.wa_customer.id,
                    "reminder_id": reminder.id,
                    # Its call had started when the worker died.
                    "attempted_at": NOW - timedelta(hours=2),
                    "template_id": self.template.id,
                    "body": "Hola María Peña",
                }
            )
        )
        reminder.move_ids = reminder.line_ids.move_id
        self.assertFalse(message.chatter_message_ids)
        Reminder = self.env["dunning.reminder"]
        Reminder._recover_stale_claims(NOW)
        self.assertEqual(reminder.state, "sending")
        for record in (self.wa_customer, reminder.move_ids):
            note = self.notes(record)
            self.assertEqual(len(note), 1, record)
            self.assertIn("Status: Sending", note.body)
        Reminder._recover_stale_claims(NOW + timedelta(minutes=5))
        self.assertEqual(len(self.notes(self.wa_customer)), 1, "posted once")
