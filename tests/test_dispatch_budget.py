"""The dispatch cron works in small batches for a bounded time: the rest of
the queue goes to the next run, and concurrent workers claim disjoint rows."""

from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import SUPERUSER_ID, api, fields
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name

from ..models.dunning_reminder_dispatch import DunningReminderDispatch
from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon


class FakeClock:
    """Seconds that pass only when the test says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@tagged("post_install", "-at_install")
class TestDispatchBudget(DunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.env["res.partner"].union(
            *(cls._create_customer(f"Cliente {number}") for number in range(5))
        )
        for customer in cls.customers:
            cls.create_invoice(customer, due=TUESDAY - timedelta(days=1))

    def setUp(self):
        super().setUp()
        self.clock = FakeClock()
        real_dispatch = DunningReminderDispatch._dispatch
        clock = self.clock

        def dispatch(reminders, now):
            # Each batch takes ten seconds.
            real_dispatch(reminders, now)
            clock.now += 10

        self.startPatcher(patch.object(DunningReminderDispatch, "_dispatch", dispatch))
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
        self.queued = self.reminders().filtered(
            lambda r: r.partner_id in self.customers
        )
        self.assertEqual(len(self.queued), 5)
        self.cron = self.env.ref("account_dunning.ir_cron_dunning_dispatch")

    def left(self):
        return self.queued.filtered(lambda r: r.state == "queued")

    def triggers(self):
        return self.env["ir.cron.trigger"].search([("cron_id", "=", self.cron.id)])

    def run_dispatch(self, model=None, budget=25):
        if model is None:
            model = self._as_cron()
        with freeze_time(TUESDAY_NOON_MX):
            return model._cron_dispatch(
                batch_size=2, time_budget=budget, clock=self.clock
            )

    def test_run_stops_after_its_budget_the_rest_queued_and_triggered(self):
        before = self.triggers()
        # Two batches of ten seconds fit in 25 s; a third would not.
        remaining = self.run_dispatch()
        self.assertEqual(remaining, 1)
        self.assertEqual(self.clock.now, 20)
        self.assertEqual(len(self.left()), 1)
        self.assertTrue(self.triggers() - before, "the rest runs next")
        # The next run sends the rest.
        self.assertEqual(self.run_dispatch(), 0)
        self.assertFalse(self.left())

    def test_first_batch_always_goes(self):
        # A budget shorter than one batch still moves the queue.
        self.assertEqual(self.run_dispatch(budget=0), 3)
        self.assertEqual(len(self.left()), 3)

    def test_calls_of_one_cron_run_share_its_deadline(self):
        """Odoo's runner calls again at once while work remains (same cursor,
        same limits): those calls return without sending and keep reporting
        the run's progress, so that the runner keeps the job ready."""
        cron, progress = self.cron._add_progress()
        self.addCleanup(
            self.env.cr.cache.pop, ("account_dunning.dispatch", self.cron.id), None
        )
        model = self._as_cron().with_context(
            cron_id=self.cron.id, ir_cron_progress_id=progress.id
        )
        self.assertEqual(self.run_dispatch(model), 1)
        self.assertEqual((progress.done, progress.remaining), (4, 1))
        _cron, again = cron._add_progress()
        model = model.with_context(ir_cron_progress_id=again.id)
        self.assertEqual(self.run_dispatch(model), 1)
        self.assertEqual(self.clock.now, 20, "no batch sent")
        self.assertEqual((again.done, again.remaining), (4, 1))
        # The next run of the job (another cursor) starts a budget of its own.
        self.env.cr.cache.pop(("account_dunning.dispatch", self.cron.id))
        self.assertEqual(self.run_dispatch(model), 0)


@tagged("post_install", "-at_install")
class TestDispatchClaims(BaseCase):
    """Two workers, two real transactions: their claims never overlap.

    Not in a test transaction: each worker needs its own snapshot. What it
    creates is committed, and deleted at the end.
    """

    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        self.assertIsNone(self.registry.test_cr, "needs real cursors")
        self.now = fields.Datetime.now()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            partner = env["res.partner"].create({"name": "Claims test"})
            reminders = env["dunning.reminder"].create(
                [
                    {
                        "company_id": company.id,
                        "partner_id": partner.id,
                        "channel": "activity",
                        "currency_id": company.currency_id.id,
                        "state": "queued",
                        "scheduled_at": self.now - timedelta(minutes=1),
                    }
                    for _number in range(5)
                ]
            )
            self.partner_id, self.reminder_ids = partner.id, reminders.ids
        self.addCleanup(self.delete_records)

    def delete_records(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["dunning.reminder"].browse(self.reminder_ids).unlink()
            env["res.partner"].browse(self.partner_id).unlink()

    def test_two_workers_claim_disjoint_rows(self):
        with self.registry.cursor() as cr1, self.registry.cursor() as cr2:
            first = api.Environment(cr1, SUPERUSER_ID, {})["dunning.reminder"]
            second = api.Environment(cr2, SUPERUSER_ID, {})["dunning.reminder"]
            claimed_first = first._claim_due(self.now, 3)
            claimed_second = second._claim_due(self.now, 3)
            mine = set(self.reminder_ids)
            ids_first = set(claimed_first.ids) & mine
            ids_second = set(claimed_second.ids) & mine
            self.assertEqual(len(ids_first), 3)
            self.assertEqual(ids_second, mine - ids_first)
            cr1.rollback()
            cr2.rollback()
