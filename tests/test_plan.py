import logging
from datetime import timedelta

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo.sql_db import db_connect
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from odoo.addons.account_dunning.models.dunning_reminder import PLAN_LOCK_KEY

from .common import TUESDAY, DunningCommon

TUESDAY_NOON = "2026-11-24 12:00:00"

OFFSETS = (-3, 0, 1, 7, 15, 30)


def days(n):
    return timedelta(days=n)


@tagged("post_install", "-at_install")
class TestPlanLevels(DunningCommon):
    """Which level an invoice reaches, and when."""

    def test_no_reminder_four_days_before_due(self):
        invoice = self.create_invoice(due=TUESDAY)
        self.plan_on(TUESDAY - days(4))
        self.assertFalse(self.reminders(self.customer))
        self.assertFalse(invoice.dunning_level_id)

    def test_invoice_reaches_each_level_on_its_offset_day_and_not_before(self):
        # No gap between reminders, so that every level shows on its own day.
        self.policy.min_days_between_reminders = 0
        invoice = self.create_invoice(due=TUESDAY)
        for offset in range(-5, 32):
            self.plan_on(TUESDAY + days(offset))
            reached = max((o for o in OFFSETS if o <= offset), default=None)
            with self.subTest(offset=offset):
                expected = self.levels.get(reached, self.env["dunning.level"])
                self.assertEqual(invoice.dunning_level_id, expected)
        reminders = self.reminders(self.customer)
        self.assertEqual(
            reminders.mapped("plan_date"), [TUESDAY + days(o) for o in OFFSETS]
        )
        self.assertEqual([r.level_id.offset_days for r in reminders], list(OFFSETS))
        self.assertEqual(
            reminders.mapped("channel"),
            ["email", "email", "email", "email", "activity", "email"],
        )

    def test_first_plan_on_each_offset_day_gives_that_level(self):
        for offset in OFFSETS:
            with self.subTest(offset=offset):
                customer = self._create_customer(f"Customer {offset}")
                invoice = self.create_invoice(customer, due=TUESDAY - days(offset))
                self.plan_on(TUESDAY)
                self.assertEqual(invoice.dunning_level_id, self.levels[offset])
                reminder = self.reminders(customer)
                self.assertEqual(len(reminder), 1)
                self.assertEqual(reminder.level_id, self.levels[offset])

    def test_first_plan_ten_days_late_jumps_to_the_seven_day_level(self):
        invoice = self.create_invoice(due=TUESDAY - days(10))
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.level_id, self.levels[7])
        self.assertEqual(reminder.state, "queued")
        # One decision only: nothing for the levels skipped (-3, 0, +1).
        self.assertEqual(reminder.line_ids.level_id, self.levels[7])
        self.assertEqual(reminder.line_ids.move_id, invoice)
        self.assertEqual(invoice.dunning_level_id, self.levels[7])

    def test_invoice_records_its_level_and_reminder_dates(self):
        with freeze_time(TUESDAY - days(5)):
            invoice = self.create_invoice(due=TUESDAY)
            self.assertEqual(invoice.dunning_next_date, TUESDAY - days(3))
        self.plan_on(TUESDAY + days(1))
        self.assertEqual(invoice.dunning_level_id, self.levels[1])
        self.assertEqual(invoice.dunning_next_date, TUESDAY + days(7))
        # Planned is not sent: "Last Reminder" waits for the reminder to leave.
        self.assertFalse(invoice.dunning_last_date)
        # 06:00 in Mexico City: deferred to the opening, still not reminded.
        with freeze_time("2026-11-25 12:00:00"):
            self.dispatch()
        self.assertFalse(invoice.dunning_last_date)
        with freeze_time("2026-11-25 18:00:00"):
            self.dispatch()
        self.assertEqual(invoice.dunning_last_date, TUESDAY + days(1))

    def test_last_level_leaves_no_next_date(self):
        invoice = self.create_invoice(due=TUESDAY - days(40))
        self.plan_on(TUESDAY)
        self.assertEqual(invoice.dunning_level_id, self.levels[30])
        self.assertFalse(invoice.dunning_next_date)

    def test_activity_level_plans_a_collector_activity_and_no_email(self):
        self.create_invoice(due=TUESDAY - days(15))
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.channel, "activity")
        self.assertEqual(reminder.level_id, self.levels[15])

    def test_partner_policy_overrides_the_company_policy(self):
        strict = self._create_policy(
            self.company,
            ladder=((2, "email", "account_dunning.mail_template_dunning_firm"),),
            name="Strict",
        )
        self.customer.with_company(self.company).dunning_policy_id = strict
        invoice = self.create_invoice(due=TUESDAY - days(2))
        other = self.create_invoice(self.customer_cancun, due=TUESDAY - days(2))
        self.plan_on(TUESDAY)
        self.assertEqual(invoice.dunning_level_id, strict.level_ids)
        self.assertEqual(self.reminders(self.customer).level_id, strict.level_ids)
        # The other customers keep the company's policy.
        self.assertEqual(other.dunning_level_id, self.levels[1])

    def test_archived_policy_plans_nothing(self):
        self.create_invoice(due=TUESDAY - days(10))
        self.policy.active = False
        self.plan_on(TUESDAY)
        self.assertFalse(self.reminders(self.customer))


@tagged("post_install", "-at_install")
class TestPlanGrouping(DunningCommon):
    """One message per customer, currency and channel, at the highest level."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Today each invoice newly reaches another level: -3, 0 and +7.
        cls.soon = cls.create_invoice(due=TUESDAY + days(3), amount=100.0)
        cls.today = cls.create_invoice(due=TUESDAY, amount=200.0)
        cls.late = cls.create_invoice(due=TUESDAY - days(7), amount=300.0)
        # Not due for weeks: listed in the message, but the message is not about it.
        cls.later = cls.create_invoice(due=TUESDAY + days(20), amount=400.0)

    def test_three_levels_reached_the_same_day_make_one_reminder(self):
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.channel, "email")
        self.assertEqual(reminder.level_id, self.levels[7])

    def test_grouped_reminder_lists_every_open_invoice(self):
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(
            reminder.move_ids, self.soon | self.today | self.late | self.later
        )
        self.assertAlmostEqual(reminder.amount_due, 1000.0)
        self.assertEqual(reminder.currency_id, self.company.currency_id)

    def test_grouped_reminder_keeps_a_decision_per_triggering_invoice(self):
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(
            {line.move_id: line.level_id for line in reminder.line_ids},
            {
                self.soon: self.levels[-3],
                self.today: self.levels[0],
                self.late: self.levels[7],
            },
        )
        self.assertEqual(self.soon.dunning_level_id, self.levels[-3])
        self.assertEqual(self.today.dunning_level_id, self.levels[0])
        self.assertEqual(self.late.dunning_level_id, self.levels[7])
        self.assertFalse(self.later.dunning_level_id)

    def test_no_new_reminder_within_the_days_between_reminders(self):
        self.plan_on(TUESDAY)
        # Tomorrow the invoice due today reaches +1, but the customer heard from
        # us yesterday: nothing until three days have passed.
        self.plan_on(TUESDAY + days(1))
        self.plan_on(TUESDAY + days(2))
        self.assertEqual(len(self.reminders(self.customer)), 1)
        self.assertEqual(self.today.dunning_level_id, self.levels[0])

    def test_invoices_that_moved_up_meanwhile_share_the_next_reminder(self):
        self.plan_on(TUESDAY)
        self.plan_on(TUESDAY + days(1))
        self.plan_on(TUESDAY + days(2))
        self.plan_on(TUESDAY + days(3))
        reminders = self.reminders(self.customer)
        self.assertEqual(len(reminders), 2)
        second = reminders[-1]
        self.assertEqual(second.plan_date, TUESDAY + days(3))
        # "today" reached +1 on day 1 and "soon" reached 0 on day 3.
        self.assertEqual(second.level_id, self.levels[1])
        self.assertEqual(
            {line.move_id: line.level_id for line in second.line_ids},
            {self.soon: self.levels[0], self.today: self.levels[1]},
        )
        self.assertEqual(self.late.dunning_level_id, self.levels[7])

    def test_invoices_of_a_contact_are_grouped_under_the_company(self):
        contact = self.env["res.partner"].create(
            {
                "name": "Laura Ríos",
                "parent_id": self.customer.id,
                "email": "laura@ferreteria.example.com",
            }
        )
        contact_invoice = self.create_invoice(contact, due=TUESDAY - days(1))
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.partner_id, self.customer)
        self.assertIn(contact_invoice, reminder.line_ids.move_id)

    def test_each_currency_gets_its_own_reminder(self):
        mxn = self.setup_other_currency("MXN")
        in_pesos = self.create_invoice(due=TUESDAY - days(1), currency=mxn)
        self.plan_on(TUESDAY)
        reminders = self.reminders(self.customer)
        self.assertEqual(len(reminders), 2)
        peso_reminder = reminders.filtered(lambda r: r.currency_id == mxn)
        self.assertEqual(peso_reminder.move_ids, in_pesos)
        self.assertEqual(peso_reminder.level_id, self.levels[1])
        self.assertAlmostEqual(peso_reminder.amount_due, 1000.0)

    def test_activity_and_email_levels_reached_together_make_one_of_each(self):
        self.create_invoice(due=TUESDAY - days(15))
        self.plan_on(TUESDAY)
        reminders = self.reminders(self.customer)
        self.assertEqual(
            {r.channel: r.level_id for r in reminders},
            {"email": self.levels[7], "activity": self.levels[15]},
        )


@tagged("post_install", "-at_install")
class TestPlanExclusions(DunningCommon):
    """What planning leaves alone."""

    def assertNotPlanned(self, invoice):
        self.plan_on(TUESDAY)
        self.assertFalse(self.reminders(invoice.partner_id))
        self.assertFalse(invoice.dunning_level_id)

    def test_paid_invoice_is_not_reminded(self):
        invoice = self.create_invoice(due=TUESDAY - days(10))
        self.register_payment(invoice)
        self.assertEqual(invoice.payment_state, "paid")
        self.assertNotPlanned(invoice)

    def test_draft_invoice_is_not_reminded(self):
        self.assertNotPlanned(self.create_invoice(due=TUESDAY - days(10), post=False))

    def test_cancelled_invoice_is_not_reminded(self):
        invoice = self.create_invoice(due=TUESDAY - days(10))
        invoice.button_cancel()
        self.assertEqual(invoice.state, "cancel")
        self.assertNotPlanned(invoice)

    def test_vendor_bill_is_not_reminded(self):
        self.assertNotPlanned(
            self.create_invoice(due=TUESDAY - days(10), move_type="in_invoice")
        )

    def test_credit_note_alone_is_not_reminded(self):
        self.assertNotPlanned(
            self.create_invoice(due=TUESDAY - days(10), move_type="out_refund")
        )

    def test_excluded_invoice_is_not_reminded(self):
        invoice = self.create_invoice(due=TUESDAY - days(10))
        invoice.action_dunning_exclude()
        self.assertNotPlanned(invoice)

    def test_excluded_invoice_is_left_out_of_the_other_invoices_reminder(self):
        excluded = self.create_invoice(due=TUESDAY - days(10))
        excluded.dunning_excluded = True
        included = self.create_invoice(due=TUESDAY - days(1))
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.move_ids, included)
        self.assertEqual(reminder.level_id, self.levels[1])

    def test_excluded_customer_is_not_reminded(self):
        self.customer.dunning_excluded = True
        self.assertNotPlanned(self.create_invoice(due=TUESDAY - days(10)))

    def test_customer_paused_until_today_is_not_reminded(self):
        self.customer.dunning_paused_until = TUESDAY
        self.assertNotPlanned(self.create_invoice(due=TUESDAY - days(10)))

    def test_customer_whose_pause_ended_yesterday_is_reminded(self):
        self.customer.dunning_paused_until = TUESDAY - days(1)
        invoice = self.create_invoice(due=TUESDAY - days(10))
        self.plan_on(TUESDAY)
        self.assertEqual(invoice.dunning_level_id, self.levels[7])
        self.assertEqual(len(self.reminders(self.customer)), 1)

    def test_invoice_under_the_policy_minimum_is_not_reminded(self):
        self.policy.min_amount = 100.0
        self.assertNotPlanned(self.create_invoice(due=TUESDAY - days(10), amount=99.0))

    def test_invoice_at_the_policy_minimum_is_reminded(self):
        self.policy.min_amount = 100.0
        invoice = self.create_invoice(due=TUESDAY - days(10), amount=100.0)
        self.plan_on(TUESDAY)
        self.assertEqual(invoice.dunning_level_id, self.levels[7])

    def test_open_credit_note_is_listed_and_reduces_the_amount_due(self):
        invoice = self.create_invoice(due=TUESDAY - days(1), amount=1000.0)
        refund = self.create_invoice(
            due=TUESDAY - days(5), amount=250.0, move_type="out_refund"
        )
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.move_ids, invoice | refund)
        self.assertEqual(reminder.line_ids.move_id, invoice)
        self.assertAlmostEqual(reminder.amount_due, 750.0)


@tagged("post_install", "-at_install")
class TestPlanIdempotence(DunningCommon):
    """Planning again, in parallel or after a crash, never decides twice."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls.create_invoice(due=TUESDAY - days(1))

    def _plan_company(self):
        with freeze_time(TUESDAY_NOON):
            return (
                self.env["dunning.reminder"].sudo()._plan_company(self.company, TUESDAY)
            )

    def test_second_plan_of_the_day_creates_nothing(self):
        self.assertEqual(len(self._plan_company()), 1)
        self.assertFalse(self._plan_company())
        self.assertEqual(len(self.reminders(self.customer)), 1)

    def test_second_plan_of_the_day_creates_nothing_without_a_gap(self):
        # Without days between reminders only the decisions stop a second pass.
        self.policy.min_days_between_reminders = 0
        self._plan_company()
        self.assertFalse(self._plan_company())
        self.assertEqual(len(self.reminders(self.customer)), 1)

    def test_planning_skips_a_company_another_run_is_planning(self):
        # Another worker (its own connection) is planning this company: it
        # holds the company's planning lock until its transaction ends.
        other = db_connect(self.env.cr.dbname).cursor()
        self.addCleanup(other.close)
        other.execute(
            SQL("SELECT pg_advisory_xact_lock(%s, %s)", PLAN_LOCK_KEY, self.company.id)
        )
        # logging.INFO, not "INFO": Odoo names its level 25 "INFO" too.
        with self.assertLogs(
            "odoo.addons.account_dunning.models.dunning_reminder_plan", logging.INFO
        ) as logs:
            self.assertFalse(self._plan_company())
        self.assertIn("another planning run holds it", logs.output[0])
        self.assertFalse(self.reminders(self.customer))
        self.assertFalse(self.invoice.dunning_level_id)
        # Its transaction over, the lock is free: the next run plans.
        other.rollback()
        self.assertEqual(len(self._plan_company()), 1)

    def test_planning_lock_is_per_company(self):
        other = db_connect(self.env.cr.dbname).cursor()
        self.addCleanup(other.close)
        other.execute(
            SQL(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                PLAN_LOCK_KEY,
                self.company.id + 1000,
            )
        )
        self.assertEqual(len(self._plan_company()), 1)

    def test_worker_planning_from_stale_candidates_creates_nothing(self):
        Reminder = self.env["dunning.reminder"].sudo()
        # A second worker read the candidates before the first one took them.
        rows = Reminder._plan_candidates(self.company, TUESDAY)
        self.assertEqual(len(self._plan_company()), 1)
        with freeze_time(TUESDAY_NOON):
            late = Reminder._plan_batch(self.company, TUESDAY, {self.customer.id: rows})
        self.assertFalse(late)
        self.assertEqual(len(self.reminders(self.customer)), 1)
        self.assertEqual(len(self.reminders(self.customer).line_ids), 1)

    def test_decision_inserted_twice_is_kept_once(self):
        reminder = self._plan_company()
        Reminder = self.env["dunning.reminder"].sudo()
        row = (
            reminder.id,
            self.invoice.id,
            self.levels[1].id,
            "email",
            self.company.id,
            self.invoice.dunning_due_date,
        )
        self.assertFalse(Reminder._insert_decisions([row, row]))
        lines = (
            self.env["dunning.reminder.line"]
            .sudo()
            .search([("move_id", "=", self.invoice.id)])
        )
        self.assertEqual(len(lines), 1)

    def test_database_refuses_a_duplicate_decision(self):
        reminder = self._plan_company()
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self.env["dunning.reminder.line"].sudo().create(
                    {
                        "reminder_id": reminder.id,
                        "move_id": self.invoice.id,
                        "level_id": self.levels[1].id,
                        "channel": "email",
                        "company_id": self.company.id,
                        "due_date": self.invoice.dunning_due_date,
                    }
                )
