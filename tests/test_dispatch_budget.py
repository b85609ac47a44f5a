"""The dispatch cron works in small batches for a bounded time: the rest of
the queue goes to the next run, and concurrent workers claim disjoint rows."""

from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import SUPERUSER_ID, api, fields
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name

from ..models.dunning_channel_email import DunningReminder as DunningReminderEmail
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
class TestDispatchPdfBudget(DunningCommon):
    """A batch's missing invoice PDFs are rendered before it is claimed, each
    in a transaction of its own, within the run's budget: a cron worker
    stopped by its time limit while rendering leaves the batch queued, never
    claimed (``sending``) until the stale-claim recovery half an hour later."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.env["res.partner"].union(
            *(cls._create_customer(f"Cliente PDF {number}") for number in range(5))
        )
        for customer in cls.customers:
            cls.create_invoice(customer, due=TUESDAY - timedelta(days=1))
        cls.levels[1].attach_invoice_pdf = True

    def setUp(self):
        super().setUp()
        self.clock = FakeClock()
        self.rendered, self.states_while_rendering = [], []
        real_render = DunningReminderEmail._render_invoice_pdfs
        test = self

        def render(model, invoices, commit=False):
            # Each PDF takes ten seconds.
            missing = invoices.filtered(lambda m: not m.invoice_pdf_report_id)
            if missing:
                test.rendered += missing.ids
                waiting = test.queued.filtered(lambda r: r.move_ids & missing)
                test.states_while_rendering.append(set(waiting.mapped("state")))
                test.clock.now += 10 * len(missing)
            return real_render(model, invoices, commit=commit)

        self.startPatcher(
            patch.object(DunningReminderEmail, "_render_invoice_pdfs", render)
        )
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
        self.queued = self.reminders().filtered(
            lambda r: r.partner_id in self.customers
        )
        self.assertEqual(len(self.queued), 5)
        self.invoices = self.queued.move_ids
        self.assertFalse(self.invoices.invoice_pdf_report_id)

    def run_dispatch(self, budget, model=None):
        if model is None:  # an empty recordset is falsy
            model = self._as_cron()
        with freeze_time(TUESDAY_NOON_MX):
            return model._cron_dispatch(
                batch_size=2, time_budget=budget, clock=self.clock
            )

    def states(self):
        return sorted(self.queued.mapped("state"))

    def test_pdfs_rendered_while_their_batch_stays_queued(self):
        self.assertEqual(self.run_dispatch(budget=1000), 0)
        self.assertEqual(self.states(), ["sending"] * 5, "handed to the mail queue")
        self.assertEqual(sorted(self.rendered), sorted(self.invoices.ids), "once each")
        self.assertEqual(self.states_while_rendering, [{"queued"}] * 5)
        for reminder in self.queued:
            self.assertEqual(
                reminder.mail_id.attachment_ids.mapped("name"),
                [reminder.move_ids._get_invoice_report_filename()],
            )

    def test_rendering_stops_at_the_budget_the_batch_left_queued(self):
        # 25 s: the first batch's two PDFs (20 s), its sending, then the next
        # batch's first PDF; the second batch is not claimed without its PDFs.
        self.assertEqual(self.run_dispatch(budget=25), 3)
        self.assertEqual(self.states(), ["queued"] * 3 + ["sending"] * 2)
        self.assertEqual(len(self.rendered), 3)
        self.assertEqual(len(self.invoices.invoice_pdf_report_id), 3)
        # The next run renders and sends the rest.
        self.assertEqual(self.run_dispatch(budget=1000), 0)
        self.assertEqual(self.states(), ["sending"] * 5)
        self.assertEqual(sorted(self.rendered), sorted(self.invoices.ids))

    def test_run_that_only_rendered_reports_work_done(self):
        """A run past its budget after one PDF still reports progress, so that
        Odoo's runner keeps the job ready instead of dropping its trigger."""
        cron = self.env.ref("account_dunning.ir_cron_dunning_dispatch")
        cron, progress = cron._add_progress()
        self.addCleanup(
            self.env.cr.cache.pop, ("account_dunning.dispatch", cron.id), None
        )
        model = self._as_cron().with_context(
            cron_id=cron.id, ir_cron_progress_id=progress.id
        )
        self.assertEqual(self.run_dispatch(budget=5, model=model), 5)
        self.assertEqual(self.states(), ["queued"] * 5)
        self.assertEqual(len(self.rendered), 1, "one PDF, then out of time")
        self.assertEqual((progress.done, progress.remaining), (1, 5))


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
