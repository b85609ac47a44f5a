"""No message goes twice, whatever the number of dispatchers: due rows of
every kind of message, claimed and dispatched by two real transactions.

Not in a test transaction: each dispatcher needs its own snapshot and its own
row locks, as two cron workers have. What the tests create is committed, and
deleted at the end.
"""

from datetime import datetime, timedelta
from unittest.mock import patch
from urllib.parse import urlsplit

import psycopg2.errors
from freezegun import freeze_time

from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import _super_send, get_db_name
from odoo.tools import SQL, mute_logger

from ..models import dunning_whatsapp_account as whatsapp_account
from .test_whatsapp_common import FakeClock, FakeGraphAPI

# Tuesday 2026-11-24, noon in Mexico City: inside every customer's window.
NOW = datetime(2026, 11, 24, 18, 0)
DUE = datetime(2026, 11, 14).date()
PHONE_NUMBER_ID = "400000000000004"
# Every kind of message, on every channel that carries it to the debtor.
CELLS = (
    ("reminder", "email"),
    ("reminder", "whatsapp"),
    ("reminder", "sms"),
    ("reminder", "letter"),
    ("reminder", "activity"),
    ("promise_confirmation", "email"),
    ("promise_confirmation", "whatsapp"),
    ("instalment_reminder", "email"),
    ("instalment_reminder", "whatsapp"),
    ("plan_agreement", "email"),
    ("thank_you", "email"),
    ("thank_you", "whatsapp"),
    ("chat", "whatsapp"),
)


@tagged("post_install", "-at_install")
class TestDispatchExactlyOnce(BaseCase):
    """Two dispatchers, two real transactions, the same due rows of every
    kind: their claims never overlap, and each row reaches its channel once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.graph = FakeGraphAPI().start()
        cls.addClassCleanup(cls.graph.stop)

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # The WhatsApp client's (connect, read) timeout, kept (see WhatsAppCommon).
        if urlsplit(r.url).netloc == urlsplit(cls.graph.url).netloc:
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        self.assertIsNone(self.registry.test_cr, "needs real cursors")
        self.graph.requests.clear()
        clock = FakeClock()
        self.startPatcher(patch.object(whatsapp_account, "PACING_CLOCK", clock))
        self.startPatcher(patch.object(whatsapp_account, "PACING_SLEEP", clock.sleep))
        self.startPatcher(patch.dict(whatsapp_account._PACERS, clear=True))
        frozen = freeze_time(NOW)
        frozen.start()
        self.addCleanup(frozen.stop)
        self.partner_ids, self.row_ids, self.kinds = [], [], {}
        self.addCleanup(self.delete_records)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM ir_cron_trigger")
            self.last_trigger_id = cr.fetchone()[0]
            self.create_rows(env)

    # ------------------------------------------------------------------------------
    # Committed fixtures
    # ------------------------------------------------------------------------------

    def create_rows(self, env):
        """A customer per cell, each with one due row of the cell's kind on
        its channel, queued as its flow queues it; committed by the caller."""
        company = env.ref("base.main_company")
        self.company_id = company.id
        self.account = env["dunning.whatsapp.account"].create(
            {
                "name": "Exactly once",
                "company_id": company.id,
                "phone_number_id": PHONE_NUMBER_ID,
                "access_token": "EAAG-exactly-once",
                "app_secret": "exactly-once-secret",
                "api_base_url": self.graph.url,
            }
        )
        reminder_template = env["dunning.whatsapp.template"].create(
            {
                "name": "recordatorio_exactly_once",
                "language": "es_MX",
                "account_id": self.account.id,
                "body_text": "Hola {{1}}, su saldo es de {{2}}.",
                "param_ids": [
                    Command.create({"sequence": 1, "source": "partner_name"}),
                    Command.create({"sequence": 2, "source": "amount_due"}),
                ],
            }
        )
        notices = env["dunning.whatsapp.template"]._create_shipped_notice_templates(
            self.account
        )
        (notices | reminder_template).status = "approved"
        weekdays = env["dunning.weekday"].search([("code", "<=", 4)])
        self.policy = env["dunning.policy"].create(
            {
                "name": "Exactly once",
                "company_id": company.id,
                "contact_hour_from": 8.0,
                "contact_hour_to": 20.0,
                "contact_weekdays": [Command.set(weekdays.ids)],
                "promise_whatsapp_template_id": notices[0].id,
                "thank_you_whatsapp_template_id": notices[2].id,
                "promise_confirm_email": False,
                "thank_you_email": False,
                "level_ids": [
                    Command.create(
                        {
                            "name": "Every channel",
                            "offset_days": 0,
                            "mail_template_id": env.ref(
                                "account_dunning.mail_template_dunning_due"
                            ).id,
                            "whatsapp_template_id": reminder_template.id,
                            "sms_template_id": env.ref(
                                "account_dunning.sms_template_dunning_friendly"
                            ).id,
                        }
                    )
                ],
            }
        )
        for number, (kind, channel) in enumerate(CELLS):
            partner = env["res.partner"].create(
                {
                    "name": f"Exactly once {kind} {channel}",
                    "is_company": True,
                    "email": f"pagos{number}@exactly-once.example.com",
                    "mobile": f"+52 55 4321 {5600 + number}",
                    "whatsapp_opt_in": True,
                    "whatsapp_opt_in_source": "contract",
                    "tz": "America/Mexico_City",
                    "country_id": env.ref("base.mx").id,
                    "street": "Av. Juárez 100",
                    "city": "Ciudad de México",
                    "zip": "06000",
                }
            )
            partner.with_company(company).dunning_policy_id = self.policy
            self.partner_ids.append(partner.id)
            row = self.queue(env, kind, channel, partner, reminder_template)
            self.row_ids.append(row.id)
            self.kinds[row.id] = (kind, channel, partner.id)

    def queue(self, env, kind, channel, partner, template):
        company = env["res.company"].browse(self.company_id)
        invoice = env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "company_id": company.id,
                "invoice_date": DUE - timedelta(days=30),
                "invoice_date_due": DUE,
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Consulting", "price_unit": 1000.0, "tax_ids": []}
                    )
                ],
            }
        )
        invoice.action_post()
        reminders = env["dunning.reminder"]
        if kind == "reminder":
            row = reminders.create(
                {
                    "origin": "manual",
                    "company_id": company.id,
                    "partner_id": partner.id,
                    "level_id": self.policy.level_ids.id,
                    "channel": channel,
                    "currency_id": invoice.currency_id.id,
                    "move_ids": [Command.set(invoice.ids)],
                    "amount_due": 1000.0,
                }
            )
            row._enqueue_now()
            return row
        if kind == "chat":
            return reminders._enqueue_chat(partner, company, invoice, template=template)
        promise = plan = None
        if kind in ("instalment_reminder", "plan_agreement"):
            plan = env["dunning.payment.plan"]._dunning_create(
                partner,
                invoice,
                [(DUE + timedelta(days=20), 500.0), (DUE + timedelta(days=50), 500.0)],
                confirm=False,
            )
            if kind == "instalment_reminder":
                promise, plan = plan._get_instalments()[0], None
        elif kind == "promise_confirmation":
            promise = env["dunning.promise"]._dunning_register(
                partner,
                invoice,
                1000.0,
                DUE + timedelta(days=20),
                "call",
                confirm=False,
            )
        return reminders._enqueue_notice(
            kind,
            partner,
            company,
            [channel],
            promise=promise,
            plan=plan,
            moves=invoice if kind in ("thank_you", "plan_agreement") else None,
        )

    def delete_records(self):
        """Delete what the test committed, and what dispatching it made. Raw
        SQL: sent reminders and posted invoices are kept by the ORM, rightly."""
        if not self.partner_ids:
            return
        with self.registry.cursor() as cr:
            partners = tuple(self.partner_ids)
            # What the chatter, the activities and the attachments keep of the
            # records of these customers (no foreign key to cascade from).
            for model, table in (
                ("res.partner", "res_partner"),
                ("account.move", "account_move"),
                ("dunning.reminder", "dunning_reminder"),
                ("dunning.promise", "dunning_promise"),
                ("dunning.payment.plan", "dunning_payment_plan"),
            ):
                ids = SQL(
                    "SELECT id FROM %s WHERE %s IN %s",
                    SQL.identifier(table),
                    SQL.identifier("id" if table == "res_partner" else "partner_id"),
                    partners,
                )
                for attached in ("mail_message", "mail_activity", "ir_attachment"):
                    cr.execute(
                        SQL(
                            "DELETE FROM %s WHERE %s = %s AND res_id IN (%s)",
                            SQL.identifier(attached),
                            SQL.identifier(
                                "model" if attached == "mail_message" else "res_model"
                            ),
                            model,
                            ids,
                        )
                    )
            for query in (
                "DELETE FROM mail_mail WHERE id IN (SELECT mail_id FROM "
                "dunning_reminder WHERE partner_id IN %(partners)s)",
                "DELETE FROM dunning_whatsapp_message WHERE partner_id IN %(partners)s",
                "DELETE FROM sms_sms WHERE partner_id IN %(partners)s",
                "DELETE FROM snailmail_letter WHERE partner_id IN %(partners)s",
                "DELETE FROM dunning_reminder WHERE partner_id IN %(partners)s",
                "DELETE FROM dunning_promise WHERE partner_id IN %(partners)s",
                "DELETE FROM dunning_payment_plan WHERE partner_id IN %(partners)s",
                "DELETE FROM account_move WHERE partner_id IN %(partners)s",
                "DELETE FROM mail_followers WHERE partner_id IN %(partners)s",
                "DELETE FROM res_partner WHERE id IN %(partners)s",
            ):
                cr.execute(SQL(query, partners=partners))
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["dunning.policy"].search([("name", "=", "Exactly once")]).unlink()
            env["dunning.whatsapp.account"].search(
                [("phone_number_id", "=", PHONE_NUMBER_ID)]
            ).with_context(active_test=False).unlink()
            cr.execute(
                "DELETE FROM ir_cron_trigger WHERE id > %s", [self.last_trigger_id]
            )

    # ------------------------------------------------------------------------------
    # Two workers
    # ------------------------------------------------------------------------------

    def worker(self):
        """A cursor of its own, as a cron worker has; a lock it cannot take
        fails at once instead of waiting for the other worker of this thread."""
        cr = self.registry.cursor()
        self.addCleanup(cr.close)
        cr.execute("SET lock_timeout = '2s'")
        return cr, api.Environment(cr, SUPERUSER_ID, {})["dunning.reminder"]

    def test_claims_of_the_same_due_rows_are_disjoint_for_every_kind(self):
        cr_a, worker_a = self.worker()
        cr_b, worker_b = self.worker()
        mine = set(self.row_ids)
        # A claims half of the due rows and holds them; B, at the same time,
        # asks for all of them.
        claimed = {
            "a": set(worker_a._claim_due(NOW, len(mine) // 2).ids) & mine,
            "b": set(worker_b._claim_due(NOW, 100).ids) & mine,
        }
        self.assertFalse(claimed["a"] & claimed["b"])
        self.assertEqual(claimed["a"] | claimed["b"], mine)
        self.assertTrue(claimed["a"] and claimed["b"], "both workers claimed")
        for row_id in self.row_ids:
            kind, channel, _partner = self.kinds[row_id]
            with self.subTest(kind=kind, channel=channel):
                owners = [who for who, ids in claimed.items() if row_id in ids]
                self.assertEqual(len(owners), 1)
        cr_a.rollback()
        cr_b.rollback()

    def test_two_dispatchers_send_each_row_exactly_once(self):
        cr_a, worker_a = self.worker()
        cr_b, worker_b = self.worker()
        # Two cron workers taking turns, a batch of two rows each time; each
        # keeps its claims locked until its transaction ends.
        for _turn in range(len(self.row_ids)):
            for worker in (worker_a, worker_b):
                worker._cron_dispatch(batch_size=2, time_budget=0)
        # Each sees only what it handled itself: both did a share, together
        # all of it.
        handled = [
            worker.search_count(
                [
                    ("id", "in", self.row_ids),
                    ("state", "not in", ("queued", "deferred")),
                ]
            )
            for worker in (worker_a, worker_b)
        ]
        self.assertTrue(all(handled), handled)
        self.assertEqual(sum(handled), len(self.row_ids))
        cr_a.commit()
        cr_b.commit()
        # Each may run again, afterwards: nothing is left for either.
        for worker in (worker_a, worker_b):
            worker._cron_dispatch(batch_size=2, time_budget=0)
            worker.env.cr.commit()
        self.assertSentOnce()

    def test_a_dispatcher_after_the_others_commit_sends_nothing_again(self):
        cr_a, worker_a = self.worker()
        cr_b, worker_b = self.worker()
        worker_a._cron_dispatch(batch_size=len(self.row_ids), time_budget=0)
        # B's snapshot is taken before A commits: the rows are still queued
        # for it, but locked by A.
        worker_b.search_count([("id", "in", self.row_ids)])
        cr_a.commit()
        # A committed them as being sent: B's snapshot still says queued,
        # and PostgreSQL refuses B the lock rather than hand them out again.
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.errors.SerializationFailure),
        ):
            worker_b._claim_due(NOW, 100)
        cr_b.rollback()
        worker_b._cron_dispatch(batch_size=len(self.row_ids), time_budget=0)
        cr_b.commit()
        self.assertSentOnce()

    def assertSentOnce(self):
        """Each row left once: one mail, one WhatsApp request, one SMS, one
        letter or one activity for its customer, and its state says so."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            for row in env["dunning.reminder"].browse(self.row_ids):
                kind, channel, partner_id = self.kinds[row.id]
                with self.subTest(kind=kind, channel=channel):
                    self.assertIn(row.state, ("sending", "sent"), row.error_message)
                    self.assertEqual(row.attempt_count, 1)
                    self.assertEqual(self.handed(env, channel, partner_id), 1)

    def handed(self, env, channel, partner_id):
        """How many messages reached ``channel`` for the customer."""
        partner = env["res.partner"].browse(partner_id)
        if channel == "whatsapp":
            number = partner.whatsapp_number.lstrip("+")
            return len([r for r in self.graph.sends if r["json"]["to"] == number])
        if channel == "email":
            return env["mail.mail"].search_count([("recipient_ids", "in", partner_id)])
        model, field = {
            "sms": ("sms.sms", "partner_id"),
            "letter": ("snailmail.letter", "partner_id"),
            "activity": ("mail.activity", "res_id"),
        }[channel]
        domain = [(field, "=", partner_id)]
        if channel == "activity":
            domain.append(("res_model", "=", "res.partner"))
        return env[model].search_count(domain)
