from datetime import datetime, timedelta
from unittest.mock import patch

import psycopg2.errors
from freezegun import freeze_time

from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..models.dunning_whatsapp_event import MAX_ATTEMPTS, RETRY_BASE
from ..services.whatsapp.webhook import key_hash, parse_webhook
from .test_whatsapp_common import WhatsAppCommon, status_value, webhook_body

NOW = datetime(2026, 11, 24, 18, 0)
EVENT_LOGGER = "odoo.addons.account_dunning.models.dunning_whatsapp_event"


@tagged("post_install", "-at_install")
class TestWhatsAppEventRetry(WhatsAppCommon):
    """The webhook inbox under concurrent deliveries: an event that a
    concurrent transaction made fail is tried again, with backoff, by the
    inbox's cron; only what will not go away ends in error, with its reason."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cron = cls.env.ref("account_dunning.ir_cron_whatsapp_events")
        cls.inbox = cls.env["dunning.whatsapp.event"].sudo()

    def message(self, wamid="wamid.HBgL1"):
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
                }
            )
        )

    def store(self, wamid="wamid.HBgL1", status="delivered", **values):
        events = parse_webhook(webhook_body(status_value(wamid, status, **values)))
        return self.inbox._store_webhook(self.account, events)

    def run_cron(self, at):
        with freeze_time(at):
            self.cron.method_direct_trigger()

    def failing_once(self, error, wamid="wamid.HBgL1"):
        """Patch of ``_apply_status`` raising ``error`` the first time it is
        called for ``wamid``, as a concurrent transaction would make it."""
        real = type(self.env["dunning.whatsapp.message"])._apply_status
        failed = []

        def apply_status(message, *args, **kwargs):
            if message.wamid == wamid and not failed:
                failed.append(message)
                raise error
            return real(message, *args, **kwargs)

        return patch.object(
            type(self.env["dunning.whatsapp.message"]), "_apply_status", apply_status
        )

    def test_serialization_failure_keeps_the_event_pending_then_the_cron_applies_it(
        self,
    ):
        message = self.message()
        event = self.store()
        error = psycopg2.errors.SerializationFailure(
            "could not serialize access due to concurrent update"
        )
        with freeze_time(NOW), self.failing_once(error), mute_logger(EVENT_LOGGER):
            event._process()
        self.assertEqual(event.state, "pending")
        self.assertEqual(event.retry_count, 1)
        self.assertIn("SerializationFailure", event.error)
        self.assertEqual(message.state, "sent")
        # Full jitter: somewhere in the first backoff interval.
        self.assertGreaterEqual(event.next_attempt_at, NOW)
        self.assertLessEqual(event.next_attempt_at, NOW + timedelta(seconds=RETRY_BASE))
        trigger = self.env["ir.cron.trigger"].search(
            [("cron_id", "=", self.cron.id), ("call_at", "=", event.next_attempt_at)]
        )
        self.assertTrue(trigger, "the inbox's cron runs at the next attempt")
        # Not before its time...
        self.run_cron(event.next_attempt_at - timedelta(seconds=1))
        self.assertEqual(event.state, "pending")
        # ...then applied.
        self.run_cron(event.next_attempt_at)
        self.assertEqual(event.state, "done")
        self.assertFalse(event.error)
        self.assertFalse(event.next_attempt_at)
        self.assertEqual(message.state, "delivered")

    def test_unique_violation_race_is_retried(self):
        """Two deliveries creating the same message at once: the one that lost
        finds the message on its retry."""
        message = self.message()
        event = self.store()
        error = psycopg2.errors.UniqueViolation("duplicate key value")
        with freeze_time(NOW), self.failing_once(error), mute_logger(EVENT_LOGGER):
            event._process()
        self.assertEqual(event.state, "pending")
        self.run_cron(event.next_attempt_at)
        self.assertEqual(event.state, "done")
        self.assertEqual(message.state, "delivered")

    def test_each_event_in_its_own_savepoint(self):
        """An event failing halfway (a real database error after its first
        write) is rolled back alone: the others stay applied."""
        first, second = self.message("wamid.A"), self.message("wamid.B")
        events = self.store("wamid.A") | self.store("wamid.B")
        real = type(self.env["dunning.whatsapp.message"])._apply_status

        def apply_then_fail(message, *args, **kwargs):
            result = real(message, *args, **kwargs)
            if message == first:
                message.env.flush_all()
                message.env.cr.execute("SELECT 1 / 0")
            return result

        with (
            freeze_time(NOW),
            patch.object(type(first), "_apply_status", apply_then_fail),
            mute_logger("odoo.sql_db", EVENT_LOGGER),
        ):
            events._process()
        event_a, event_b = events.sorted("id")
        self.assertEqual(event_a.state, "error")
        self.assertIn("DivisionByZero", event_a.error)
        self.assertEqual(first.state, "sent", "its write was rolled back")
        self.assertEqual(event_b.state, "done")
        self.assertEqual(second.state, "delivered")

    def test_malformed_event_ends_in_error_with_its_reason(self):
        """Content the parser never produces will not apply on any retry."""
        self.message()
        event = self.inbox._store(
            self.account,
            "status",
            "wamid.HBgL1:delivered",
            {"wamid": "wamid.HBgL1", "status": "delivered", "timestamp": "ayer"},
        )
        with freeze_time(NOW), mute_logger(EVENT_LOGGER):
            event._process()
        self.assertEqual(event.state, "error")
        self.assertIn("Malformed event", event.error)
        self.assertEqual(event.retry_count, 0)
        self.assertFalse(event.next_attempt_at)
        self.run_cron(NOW + timedelta(days=1))
        self.assertEqual(event.state, "error")

    def test_status_arriving_before_its_message_is_applied_on_retry(self):
        """A status may come back before the send's transaction has committed
        its message: the event waits and applies once the message is there."""
        event = self.store("wamid.EARLY")
        with freeze_time(NOW), mute_logger(EVENT_LOGGER):
            event._process()
        self.assertEqual(event.state, "pending")
        self.assertTrue(event.error)
        message = self.message("wamid.EARLY")
        self.run_cron(event.next_attempt_at)
        self.assertEqual(event.state, "done")
        self.assertEqual(message.state, "delivered")

    def test_status_of_an_unknown_message_given_up_after_the_last_attempt(self):
        event = self.store("wamid.NOBODY")
        with mute_logger(EVENT_LOGGER):
            with freeze_time(NOW):
                event._process()
            for _attempt in range(MAX_ATTEMPTS - 1):
                self.assertEqual(event.state, "pending")
                self.run_cron(event.next_attempt_at)
        self.assertEqual(event.state, "error")
        self.assertEqual(event.retry_count, MAX_ATTEMPTS - 1)
        self.assertIn(f"after {MAX_ATTEMPTS} attempts", event.error)
        self.assertIn("No WhatsApp message with this ID", event.error)
        self.assertFalse(event.next_attempt_at)

    def test_ids_created_through_the_orm_get_their_hash(self):
        """The hash is computed before the row is inserted (it is NOT NULL on
        events), and follows the id when it is written later."""
        event = self.inbox.create(
            {
                "event_key": "wamid.ORM:sent",
                "account_id": self.account.id,
                "kind": "status",
                "payload": "{}",
            }
        )
        self.assertEqual(event.event_key_hash, key_hash("wamid.ORM:sent"))
        message = self.message(wamid=False)
        self.assertFalse(message.wamid_hash)
        message.wamid = "wamid.LATER"
        self.assertEqual(message.wamid_hash, key_hash("wamid.LATER"))

    def test_error_events_listed_for_collection_managers(self):
        """Managers find the events given up, with their reason, under
        Supervision; collectors do not see the inbox."""
        event = self.inbox._store(self.account, "status", "k", ["not", "an", "object"])
        with mute_logger(EVENT_LOGGER):
            event._process()
        self.assertEqual(event.state, "error")
        manager = new_test_user(
            self.env,
            login="wa_manager",
            groups="account_dunning.group_dunning_manager",
            company_id=self.company.id,
            company_ids=[self.company.id],
        )
        collector = new_test_user(
            self.env,
            login="wa_collector",
            groups="account_dunning.group_dunning_collector",
            company_id=self.company.id,
            company_ids=[self.company.id],
        )
        menu = self.env.ref("account_dunning.dunning_whatsapp_event_menu")
        action = self.env.ref("account_dunning.dunning_whatsapp_event_action")
        self.assertEqual(menu.action, action)
        visible = self.env["ir.ui.menu"].with_user(manager)._visible_menu_ids()
        self.assertIn(menu.id, visible)
        self.assertNotIn(
            menu.id, self.env["ir.ui.menu"].with_user(collector)._visible_menu_ids()
        )
        # The action opens on the Errors filter.
        self.assertIn("search_default_error", action.context)
        errors = (
            self.env["dunning.whatsapp.event"]
            .with_user(manager)
            .search([("state", "=", "error")])
        )
        self.assertIn(event, errors)
        self.assertTrue(errors.filtered(lambda e: e == event).error)
