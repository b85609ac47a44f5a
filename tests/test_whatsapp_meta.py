"""WhatsApp as Meta sends it: deliveries that mix what we read and what we do
not, processing after the answer, transient errors, numbers not on WhatsApp,
and messages that are not a customer writing to us."""

import json
from datetime import UTC, datetime

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import Form, HttpCase, new_test_user, tagged

from .test_whatsapp_common import (
    WhatsAppCommon,
    inbound_value,
    sign,
    status_value,
    webhook_body,
)

URL = "/dunning/whatsapp/webhook"
# Tuesday noon in Mexico City: inside every Mexican customer's contact window.
NOW = datetime(2026, 11, 24, 18, 0)
CUSTOMER_WA_ID = "5215512345678"
NEW_WA_ID = "5215587654321"
UNDELIVERABLE = [{"code": 131026, "title": "Message undeliverable"}]


def utc(timestamp):
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


def customer_message(wamid, kind, **content):
    """One ``messages[]`` element from the customer's number."""
    return {
        "from": CUSTOMER_WA_ID,
        "id": wamid,
        "timestamp": "1795543300",
        "type": kind,
        **content,
    }


def messages_value(*messages):
    return {
        "contacts": [{"profile": {"name": "María Peña"}, "wa_id": CUSTOMER_WA_ID}],
        "messages": list(messages),
    }


class WhatsAppMetaCommon(WhatsAppCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.collector = new_test_user(
            cls.env,
            login="wa_meta_collector",
            groups="account_dunning.group_dunning_collector",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.manager = new_test_user(
            cls.env,
            login="wa_meta_manager",
            groups="account_dunning.group_dunning_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.wa_customer.with_company(cls.company).dunning_collector_id = cls.collector

    def sent_message(self, wamid="wamid.HBgL1", **values):
        return (
            self.env["dunning.whatsapp.message"]
            .sudo()
            .create(
                {
                    "wamid": wamid,
                    "direction": "out",
                    "state": "sent",
                    "account_id": self.account.id,
                    "company_id": self.company.id,
                    "partner_id": self.wa_customer.id,
                    **values,
                }
            )
        )

    def events(self):
        return self.env["dunning.whatsapp.event"].sudo().search([])

    def send(self, reminders):
        reminders.with_user(self.env.ref("base.user_root"))._dispatch(NOW)


@tagged("post_install", "-at_install")
class TestWhatsAppMetaWebhook(WhatsAppMetaCommon, HttpCase):
    """Through the real controller, on loopback, signed with the app secret."""

    def post(self, body, process=True):
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)}
        response = self.url_open(URL, data=raw, headers=headers)
        self.assertEqual(response.status_code, 200)
        if process:
            self.process_webhook_events()
        return response

    def triggers(self):
        cron = self.env.ref("account_dunning.ir_cron_whatsapp_events")
        return self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id)])

    # --- a delivery is never refused for its content (item 4) ----------------------

    def test_contact_card_does_not_lose_the_statuses_of_its_delivery(self):
        """A contact card (``contacts`` is a list) next to a status: both are
        stored and processed, nothing is refused."""
        message = self.sent_message()
        card = customer_message(
            "wamid.CARD",
            "contacts",
            contacts=[{"name": {"formatted_name": "Ana"}, "phones": []}],
        )
        body = webhook_body(
            messages_value(card) | status_value("wamid.HBgL1", "read", 1795543300)
        )
        self.post(body)
        self.assertEqual(message.state, "read")
        self.assertEqual(self.events().mapped("state"), ["done", "done"])
        inbound = self.env["dunning.whatsapp.message"].search(
            [("direction", "=", "in")]
        )
        self.assertEqual((inbound.wamid, inbound.body), ("wamid.CARD", "contacts"))

    def test_unreadable_part_kept_in_error_for_the_managers(self):
        """A message without an id cannot be processed: stored in error with
        the reason, in the managers' list; the status next to it applies, and
        Meta's retry of the delivery stores nothing twice."""
        message = self.sent_message()
        broken = {"from": CUSTOMER_WA_ID, "type": "text", "text": {"body": "Hola"}}
        body = webhook_body(
            messages_value(broken) | status_value("wamid.HBgL1", "delivered")
        )
        self.post(body)
        self.post(body)
        self.assertEqual(message.state, "delivered")
        unreadable = (
            self.env["dunning.whatsapp.event"]
            .with_user(self.manager)
            .search([("state", "=", "error")])
        )
        self.assertEqual(len(unreadable), 1)
        self.assertEqual(unreadable.kind, "unreadable")
        self.assertIn("missing 'id'", unreadable.error)
        self.assertEqual(json.loads(unreadable.payload)["raw"], broken)
        self.assertEqual(len(self.events()), 2)

    def test_change_without_its_number_kept_by_the_account_that_signed_it(self):
        body = webhook_body(status_value("wamid.HBgL1", "delivered"))
        del body["entry"][0]["changes"][0]["value"]["metadata"]
        self.post(body)
        event = self.events()
        self.assertEqual(event.account_id, self.account)
        self.assertEqual(event.state, "error")
        self.assertIn("metadata", event.error)

    # --- answered once stored, processed by the cron, in order, once (item 5) ------

    def test_webhook_answers_once_stored_and_the_cron_applies_the_events(self):
        """200 statuses: the request only stores them and triggers the inbox's
        cron; the messages move when the cron runs."""
        messages = self.env["dunning.whatsapp.message"]
        for i in range(100):
            messages |= self.sent_message(f"wamid.BATCH{i}")
        statuses = [
            status_value(m.wamid, status)["statuses"][0]
            for m in messages
            for status in ("delivered", "read")
        ]
        triggers = self.triggers()
        self.post(webhook_body({"statuses": statuses}), process=False)
        events = self.events()
        self.assertEqual(len(events), 200)
        self.assertEqual(set(events.mapped("state")), {"pending"})
        self.assertEqual(set(messages.mapped("state")), {"sent"})
        self.assertEqual(len(self.triggers() - triggers), 1)
        self.process_webhook_events()
        self.assertEqual(set(events.mapped("state")), {"done"})
        self.assertEqual(set(messages.mapped("state")), {"read"})

    def test_read_never_overtaken_by_an_older_delivered(self):
        """The read came first, the older delivered after it: the message stays
        read, and the delivered time is kept."""
        message = self.sent_message()
        self.post(
            webhook_body(status_value("wamid.HBgL1", "read", 1795543300)),
            process=False,
        )
        self.post(
            webhook_body(status_value("wamid.HBgL1", "delivered", 1795543200)),
            process=False,
        )
        self.process_webhook_events()
        self.assertEqual(message.state, "read")
        self.assertEqual(message.read_at, utc(1795543300))
        self.assertEqual(message.delivered_at, utc(1795543200))

    def test_each_event_processed_once(self):
        """Delivered twice, the cron run twice: one message, one activity."""
        body = webhook_body(inbound_value("¿Cuánto debo?"))
        self.post(body, process=False)
        self.post(body, process=False)
        self.process_webhook_events()
        self.process_webhook_events()
        inbound = self.env["dunning.whatsapp.message"].search(
            [("direction", "=", "in")]
        )
        self.assertEqual(len(inbound), 1)
        self.assertEqual(len(self.wa_customer.activity_ids), 1)

    # --- not on WhatsApp (item 7) -----------------------------------------------

    def test_failed_status_131026_marks_the_number_not_on_whatsapp(self):
        self.sent_message()
        errors = UNDELIVERABLE
        self.post(webhook_body(status_value("wamid.HBgL1", "failed", errors=errors)))
        customer = self.wa_customer
        self.assertTrue(customer.whatsapp_undeliverable)
        self.assertEqual(customer.whatsapp_undeliverable_number, "+525512345678")
        self.assertIn(
            "not on WhatsApp", customer._whatsapp_unreachable_reason(self.wa_policy)
        )
        notes = " ".join(customer.message_ids.mapped("body"))
        self.assertIn("is not on WhatsApp", notes)

    def test_late_131026_about_an_earlier_number_leaves_the_new_one_alone(self):
        self.sent_message()
        self.wa_customer.mobile = "+52 55 8765 4321"
        errors = UNDELIVERABLE
        self.post(webhook_body(status_value("wamid.HBgL1", "failed", errors=errors)))
        self.assertFalse(self.wa_customer.whatsapp_undeliverable)
        self.assertIsNone(self.wa_customer._whatsapp_unreachable_reason(self.wa_policy))

    # --- what is not a conversation (item 9) ------------------------------------

    def test_reactions_edits_deletions_and_notices_open_no_window_nor_activity(self):
        kinds = {
            "reaction": customer_message(
                "wamid.R",
                "reaction",
                reaction={"message_id": "wamid.OUT1", "emoji": "👍"},
            ),
            "deletion": customer_message(
                "wamid.D",
                "unsupported",
                errors=[{"code": 131051, "title": "Message type unknown"}],
            ),
            "edit": customer_message(
                "wamid.E",
                "edit",
                edit={
                    "original_message_id": "wamid.IN0",
                    "message": {"type": "text", "text": {"body": "Pago el lunes"}},
                },
            ),
            "system": customer_message(
                "wamid.S",
                "system",
                system={"body": "Identity changed", "type": "user_identity_changed"},
            ),
            "unsupported": customer_message("wamid.U", "unsupported"),
        }
        for kind, message in kinds.items():
            with self.subTest(kind):
                self.post(webhook_body(messages_value(message)))
                event = self.events().filtered(
                    lambda e, m=message: e.event_key == m["id"]
                )
                self.assertEqual(event.state, "done")
                self.assertFalse(self.wa_customer.whatsapp_last_inbound_at)
                self.assertFalse(self.wa_customer.activity_ids)
        # Each is still recorded, in the chatter.
        inbound = self.env["dunning.whatsapp.message"].search(
            [("direction", "=", "in")]
        )
        self.assertEqual(len(inbound), len(kinds))

    def test_user_changed_number_updates_the_number_with_a_note(self):
        notice = customer_message(
            "wamid.SYS",
            "system",
            system={
                "body": f"María changed from {CUSTOMER_WA_ID} to {NEW_WA_ID}",
                "new_wa_id": NEW_WA_ID,
                "type": "user_changed_number",
            },
        )
        self.post(webhook_body(messages_value(notice)))
        customer = self.wa_customer
        self.assertEqual(customer.mobile, "+525587654321")
        self.assertEqual(customer.whatsapp_number, "+525587654321")
        note = customer.message_ids[0].body
        self.assertIn("+52 55 1234 5678", note)
        self.assertIn("+525587654321", note)
        self.assertFalse(customer.whatsapp_last_inbound_at)
        self.assertFalse(customer.activity_ids)
        # The next message from the new number finds the customer.
        self.post(webhook_body(inbound_value("Hola", wa_id=NEW_WA_ID, wamid="wamid.N")))
        self.assertTrue(customer.whatsapp_last_inbound_at)


@tagged("post_install", "-at_install")
class TestWhatsAppMetaSend(WhatsAppMetaCommon):
    """The send paths: transient errors and numbers not on WhatsApp."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Any hour of any day: these tests are not about the contact hours.
        cls.wa_policy.write(
            {
                "contact_hour_from": 0.0,
                "contact_hour_to": 24.0,
                "contact_weekdays": [
                    Command.set(cls.env["dunning.weekday"].search([]).ids)
                ],
                "skip_holidays": False,
            }
        )

    def compose(self):
        return Form(
            self.env["dunning.whatsapp.compose"]
            .with_user(self.collector)
            .with_context(active_model="res.partner", active_id=self.wa_customer.id)
        )

    # --- transient errors are retried (item 6) ----------------------------------

    def test_transient_errors_at_send_retried_without_falling_back(self):
        answers = {
            "131016": self.graph.error(131016, status=503, title="Service unavailable"),
            "133004": self.graph.error(133004, status=500, title="Unavailable"),
            "is_transient": (
                400,
                {"error": {"message": "Try again", "code": 1, "is_transient": True}},
            ),
            "HTTP 5xx": (500, {"error": {"message": "Unknown", "code": 1}}),
        }
        reminder = self.queued_whatsapp()
        for attempt, (name, answer) in enumerate(answers.items(), start=1):
            with self.subTest(name):
                self.graph.respond = lambda request, answer=answer: answer
                reminder.scheduled_at = NOW
                self.send(reminder)
                self.assertEqual(reminder.state, "queued")
                self.assertEqual(reminder.retry_count, attempt)
                self.assertGreater(reminder.scheduled_at, NOW)
                self.assertFalse(reminder.fallback_ids)
                self.assertFalse(reminder.whatsapp_message_ids)

    # --- not on WhatsApp, from the send paths (item 7) --------------------------

    def test_131026_at_send_marks_the_number_and_nothing_more_goes_to_it(self):
        """The reminder's refusal marks the number; a collector's message to
        it is refused with the reason, without calling WhatsApp."""
        self.graph.respond = lambda request: self.graph.error(
            131026, title="Message undeliverable"
        )
        reminder = self.queued_whatsapp()
        self.send(reminder)
        self.assertEqual(reminder.state, "failed")
        self.assertTrue(self.wa_customer.whatsapp_undeliverable)
        self.wa_customer.whatsapp_last_inbound_at = fields.Datetime.now()
        form = self.compose()
        form.body = "Hola"
        with self.assertRaisesRegex(UserError, "not on WhatsApp"):
            form.save().action_send()
        self.assertEqual(len(self.graph.sends), 1)

    def test_131026_of_a_collectors_message_marks_the_number(self):
        self.wa_customer.whatsapp_last_inbound_at = fields.Datetime.now()
        self.graph.respond = lambda request: self.graph.error(131026)
        form = self.compose()
        form.body = "Hola"
        form.save().action_send()
        self.dispatch()
        self.assertTrue(self.wa_customer.whatsapp_undeliverable)

    def test_a_new_number_clears_the_flag_for_good(self):
        customer = self.wa_customer
        self.sent_message()._apply_status("failed", NOW, 131026, "Undeliverable")
        self.assertTrue(customer.whatsapp_undeliverable)
        customer.mobile = "+52 55 8765 4321"
        self.assertFalse(customer.whatsapp_undeliverable)
        self.assertFalse(customer.whatsapp_undeliverable_number)
        self.assertIsNone(customer._whatsapp_unreachable_reason(self.wa_policy))
        customer.mobile = "+52 55 1234 5678"
        self.assertFalse(customer.whatsapp_undeliverable)
