from datetime import datetime

from lxml import etree

from odoo.tests import tagged

from ..services.whatsapp.webhook import parse_webhook
from .test_whatsapp_common import WhatsAppCommon, inbound_value, webhook_body

# Tuesday noon in Mexico City: inside every Mexican customer's contact window.
NOW = datetime(2026, 11, 24, 18, 0)


@tagged("post_install", "-at_install")
class TestWhatsAppChatter(WhatsAppCommon):
    def send(self, reminders):
        reminders.with_user(self.env.ref("base.user_root"))._dispatch(NOW)

    def notes(self, record, text="WhatsApp message"):
        return record.message_ids.filtered(lambda m: text in (m.body or ""))

    def receive(self, value):
        inbox = self.env["dunning.whatsapp.event"].sudo()
        inbox._store_webhook(
            self.account, parse_webhook(webhook_body(value))
        )._process()

    def test_sent_reminder_shows_in_both_chatters_with_its_status(self):
        reminder = self.queued_whatsapp()
        invoice = reminder.move_ids
        self.send(reminder)
        message = reminder.whatsapp_message_ids
        for record in (self.wa_customer, invoice):
            note = self.notes(record)
            self.assertEqual(len(note), 1, record)
            self.assertIn("recordatorio_pago_v1", note.body)
            self.assertIn("Status: Sent", note.body)
            self.assertIn("María Peña", note.body)
        self.assertEqual(
            message.chatter_message_ids,
            self.notes(self.wa_customer) | self.notes(invoice),
        )
        message._apply_status("delivered", NOW)
        self.assertIn("Status: Delivered", self.notes(self.wa_customer).body)
        message._apply_status("read", NOW)
        for record in (self.wa_customer, invoice):
            note = self.notes(record)
            self.assertEqual(len(note), 1, "the note is updated, not repeated")
            self.assertIn("Status: Read", note.body)

    def test_failed_message_shows_the_error(self):
        self.graph.respond = lambda request: self.graph.error(
            131026, 400, "Undeliverable"
        )
        reminder = self.queued_whatsapp()
        self.send(reminder)
        note = self.notes(reminder.move_ids)
        self.assertIn("Status: Failed", note.body)
        self.assertIn("Error 131026: Undeliverable", note.body)

    def test_message_refused_before_leaving_leaves_no_note(self):
        self.graph.respond = lambda request: self.graph.error(131056, 400, "Pair rate")
        reminder = self.queued_whatsapp()
        self.send(reminder)
        self.assertEqual(reminder.state, "queued")
        self.assertFalse(reminder.whatsapp_message_ids)
        self.assertFalse(self.notes(self.wa_customer))
        self.assertFalse(self.notes(reminder.move_ids))

    def test_customer_answer_shows_on_the_invoices_it_answers(self):
        reminder = self.queued_whatsapp()
        self.send(reminder)
        sent = reminder.whatsapp_message_ids
        value = inbound_value("¿Puedo pagar el viernes?")
        value["messages"][0]["context"] = {"id": sent.wamid}
        self.receive(value)
        answer = self.env["dunning.whatsapp.message"].search([("direction", "=", "in")])
        self.assertEqual(answer.reply_to_id, sent)
        for record in (self.wa_customer, reminder.move_ids):
            note = self.notes(record, "from the customer")
            self.assertEqual(len(note), 1, record)
            self.assertIn("¿Puedo pagar el viernes?", note.body)
            self.assertIn("Status: Received", note.body)

    def test_inbound_message_logged_once_on_the_customer(self):
        self.receive(inbound_value("Hola"))
        self.assertEqual(len(self.notes(self.wa_customer, "Hola")), 1)

    def test_messages_list_filters_by_state_and_error_code(self):
        arch = self.env["dunning.whatsapp.message"].get_views([(False, "search")])[
            "views"
        ]["search"]["arch"]
        filters = {f.get("name") for f in etree.fromstring(arch).iter("filter")}
        self.assertLessEqual(
            {"sending", "sent", "delivered", "read", "received", "failed"}, filters
        )
        self.assertLessEqual(
            {"with_error", "error_window", "error_undeliverable", "error_template"},
            filters,
        )
        failed = (
            self.env["dunning.whatsapp.message"]
            .sudo()
            .create(
                {
                    "direction": "out",
                    "state": "failed",
                    "error_code": 132001,
                    "partner_id": self.wa_customer.id,
                    "company_id": self.company.id,
                }
            )
        )
        found = self.env["dunning.whatsapp.message"].search(
            [("error_code", ">=", 132000), ("error_code", "<", 133000)]
        )
        self.assertEqual(found, failed)

    def test_audit_trail_status_change_gets_a_note_of_its_own(self):
        # The company's Audit Trail forbids editing the log of its posted
        # invoices and their customers: a status change is a new note there.
        self.company.check_account_audit_trail = True
        reminder = self.queued_whatsapp()
        invoice = reminder.move_ids
        self.send(reminder)
        message = reminder.whatsapp_message_ids
        message._apply_status("delivered", NOW)
        self.assertEqual(message.state, "delivered")
        self.assertEqual(reminder.state, "delivered")
        for record in (self.wa_customer, invoice):
            notes = self.notes(record)
            self.assertEqual(len(notes), 2, record)
            self.assertEqual(
                sorted("Status: Delivered" in note.body for note in notes),
                [False, True],
            )
        self.assertEqual(len(message.chatter_message_ids), 2)
        self.assertTrue(
            all("Status: Delivered" in n.body for n in message.chatter_message_ids)
        )
