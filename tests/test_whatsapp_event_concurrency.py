from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from ..services.whatsapp.webhook import parse_webhook
from .test_whatsapp_common import status_value, webhook_body

NOW = datetime(2026, 11, 24, 18, 0)
PHONE_NUMBER_ID = "300000000000003"
WAMID = "wamid.CONCURRENT1"


@tagged("post_install", "-at_install")
class TestWhatsAppEventConcurrency(BaseCase):
    """Two webhook requests, two real transactions, statuses of one message.

    Not in a test transaction: each side needs its own committed snapshot, as
    two requests of Odoo's HTTP workers have. What it creates is committed,
    and deleted at the end.
    """

    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        self.assertIsNone(self.registry.test_cr, "needs real cursors")
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM ir_cron_trigger")
            self.last_trigger_id = cr.fetchone()[0]
            account = env["dunning.whatsapp.account"].create(
                {
                    "name": "Concurrency test",
                    "company_id": env.ref("base.main_company").id,
                    "phone_number_id": PHONE_NUMBER_ID,
                    "access_token": "EAAG-concurrency",
                    "app_secret": "concurrency-secret",
                    "api_base_url": "http://127.0.0.1:9",
                }
            )
            message = env["dunning.whatsapp.message"].create(
                {
                    "wamid": WAMID,
                    "direction": "out",
                    "state": "sent",
                    "account_id": account.id,
                    "company_id": account.company_id.id,
                }
            )
            self.account_id, self.message_id = account.id, message.id
        self.addCleanup(self.delete_records)

    def delete_records(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["dunning.whatsapp.event"].search(
                [("account_id", "=", self.account_id)]
            ).unlink()
            env["dunning.whatsapp.message"].browse(self.message_id).unlink()
            env["dunning.whatsapp.account"].browse(self.account_id).unlink()
            cron = env.ref("account_dunning.ir_cron_whatsapp_events")
            env["ir.cron.trigger"].search(
                [("id", ">", self.last_trigger_id), ("cron_id", "=", cron.id)]
            ).unlink()

    def cursor(self):
        cr = self.registry.cursor()
        self.addCleanup(cr.close)
        return cr, api.Environment(cr, SUPERUSER_ID, {})

    def store(self, env, status, timestamp):
        body = webhook_body(
            status_value(WAMID, status, timestamp=timestamp),
            phone_number_id=PHONE_NUMBER_ID,
        )
        account = env["dunning.whatsapp.account"].browse(self.account_id)
        inbox = env["dunning.whatsapp.event"]
        return inbox._store_webhook(account, parse_webhook(body))

    def test_serialization_failure_between_two_requests_retried_until_applied(self):
        with freeze_time(NOW):
            cr_a, env_a = self.cursor()
            cr_b, env_b = self.cursor()
            # B stores its event first: its snapshot predates A's commit.
            read = self.store(env_b, "read", 1795543300)
            delivered = self.store(env_a, "delivered", 1795543200)
            delivered._process()
            self.assertEqual(delivered.state, "done")
            cr_a.commit()
            # B updates the message A changed after B's snapshot: PostgreSQL
            # refuses (could not serialize access due to concurrent update).
            with mute_logger(
                "odoo.sql_db",
                "odoo.addons.account_dunning.models.dunning_whatsapp_event",
            ):
                read._process()
            self.assertEqual(read.state, "pending")
            self.assertEqual(read.retry_count, 1)
            self.assertIn("SerializationFailure", read.error)
            next_attempt = read.next_attempt_at
            cr_b.commit()

        # The inbox's cron, at the next attempt, in a transaction of its own.
        with freeze_time(next_attempt + timedelta(seconds=1)):
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                cron = env.ref("account_dunning.ir_cron_whatsapp_events")
                triggers = env["ir.cron.trigger"].search(
                    [("id", ">", self.last_trigger_id), ("cron_id", "=", cron.id)]
                )
                self.assertIn(next_attempt, triggers.mapped("call_at"))
                env["dunning.whatsapp.event"]._cron_process()

        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            events = env["dunning.whatsapp.event"].search(
                [("account_id", "=", self.account_id)]
            )
            self.assertEqual(events.mapped("state"), ["done", "done"])
            message = env["dunning.whatsapp.message"].browse(self.message_id)
            self.assertEqual(message.state, "read")
            read_at = datetime.fromtimestamp(1795543300, UTC).replace(tzinfo=None)
            self.assertEqual(message.read_at, read_at)
            self.assertTrue(message.delivered_at)
