from datetime import date, datetime, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .collect_common import CollectCommon
from .common import TUESDAY, TUESDAY_NOON_MX


@tagged("post_install", "-at_install")
class TestSupervision(CollectCommon):
    """A small known dataset: who collected what within 7 days of a contact."""

    def contact(self, user, day, code="refused", partner=None):
        return self.env["dunning.interaction"].create(
            {
                "partner_id": (partner or self.customer).id,
                "user_id": user.id,
                "outcome_id": self.outcomes[code].id,
                "date": datetime.combine(day, datetime.min.time())
                + timedelta(hours=17),
                "identity_confirmed": self.outcomes[code].requires_identity,
            }
        )

    def pay(self, invoice, day, amount):
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"amount": amount, "payment_date": day})._create_payments()

    def results(self):
        self.env.flush_all()
        groups = self.env["dunning.collector.report"]._read_group(
            [("company_id", "=", self.company.id)],
            ["user_id"],
            ["contact_count:sum", "amount_collected:sum"],
        )
        return {user: (count, amount) for user, count, amount in groups}

    def test_amount_collected_within_seven_days_after_a_contact(self):
        day = date(2026, 11, 2)
        invoice = self.create_invoice(due=day - timedelta(days=20), amount=3000)
        self.contact(self.collector, day)
        # Not a contact: an unanswered call credits nothing.
        self.contact(self.collector_2, day, code="no_answer")
        self.pay(invoice, day + timedelta(days=3), 1000)  # Lucía
        self.contact(self.collector_2, day + timedelta(days=5))
        self.pay(invoice, day + timedelta(days=6), 500)  # Pedro, the latest contact
        self.pay(invoice, day + timedelta(days=13), 200)  # 8 days after Pedro's
        self.assertEqual(
            self.results(),
            {self.collector: (1, 1000.0), self.collector_2: (1, 500.0)},
        )

    def test_a_payment_counts_once_for_the_latest_contact(self):
        day = date(2026, 11, 2)
        invoice = self.create_invoice(due=day - timedelta(days=20), amount=3000)
        self.contact(self.collector, day)
        self.contact(self.collector, day + timedelta(days=1))
        self.pay(invoice, day + timedelta(days=2), 700)
        self.assertEqual(self.results(), {self.collector: (2, 700.0)})

    def test_payments_of_another_customer_do_not_count(self):
        day = date(2026, 11, 2)
        other = self.create_invoice(
            partner=self.customer_tijuana, due=day - timedelta(days=20)
        )
        self.contact(self.collector, day)
        self.pay(other, day + timedelta(days=1), 400)
        self.assertEqual(self.results(), {self.collector: (1, 0.0)})

    def test_contacts_per_collector_per_day(self):
        self.contact(self.collector, date(2026, 11, 2), code="no_answer")
        self.contact(self.collector, date(2026, 11, 2), code="refused")
        self.contact(self.collector, date(2026, 11, 3), code="voicemail")
        self.contact(self.collector_2, date(2026, 11, 3), code="no_answer")
        groups = self.env["dunning.interaction"]._read_group(
            [], ["user_id", "date:day"], ["__count"]
        )
        counts = {(user.login, str(day)[:10]): count for user, day, count in groups}
        self.assertEqual(
            counts,
            {
                ("lucia", "2026-11-02"): 2,
                ("lucia", "2026-11-03"): 1,
                ("pedro", "2026-11-03"): 1,
            },
        )

    def test_right_party_contact_rate_and_promises_kept(self):
        day = date(2026, 11, 2)
        self.contact(self.collector, day, code="no_answer")
        self.contact(self.collector, day, code="voicemail")
        self.contact(self.collector, day, code="refused")
        self.contact(self.collector, day + timedelta(days=1), code="refused")
        # Someone else answered: nothing disclosed, not the right party.
        third = self.contact(self.collector_2, day, code="call_back")
        third.sudo().write({"third_party": True})
        self.env.flush_all()
        groups = self.env["dunning.collector.report"]._read_group(
            [("company_id", "=", self.company.id)],
            ["user_id"],
            ["attempt_count:sum", "right_party_count:sum", "right_party_rate:avg"],
        )
        figures = {user: rest for user, *rest in groups}
        self.assertEqual(figures[self.collector], [4, 2, 50.0])
        self.assertEqual(figures[self.collector_2], [1, 0, 0.0])

    def test_kept_rate_counts_only_promises_that_fell_due(self):
        Promise = self.env["dunning.promise"].sudo()
        invoice = self.create_invoice(due=date(2026, 10, 1), amount=1000)
        values = {
            "partner_id": self.customer.id,
            "company_id": self.company.id,
            "user_id": self.collector.id,
            "currency_id": self.company.currency_id.id,
            "move_ids": [Command.set(invoice.ids)],
            "amount": 1000,
            "date_promised": date(2026, 11, 10),
        }
        for state in ("kept", "broken", "partial", "open"):
            promise = Promise.create(values)
            promise.write({"state": state})
        self.env.flush_all()
        [(count, rate)] = self.env["dunning.collector.report"]._read_group(
            [("company_id", "=", self.company.id), ("promise_count", "=", 1)],
            [],
            ["promise_count:sum", "promise_kept_rate:avg"],
        )
        self.assertEqual(count, 4)
        # One kept of the three that fell due; the open one waits.
        self.assertAlmostEqual(rate, 100 / 3)

    def test_only_managers_see_the_results(self):
        self.env["dunning.collector.report"].with_user(self.manager).search([])
        with self.assertRaises(AccessError):
            self.env["dunning.collector.report"].with_user(self.collector).search([])


@tagged("post_install", "-at_install")
class TestTimeline(CollectCommon):
    def test_reminders_contacts_and_payments_newest_first(self):
        invoice = self.create_invoice(due=TUESDAY - timedelta(days=8), amount=900)
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            self.dispatch()
        self.env["dunning.interaction"].create(
            {
                "partner_id": self.customer.id,
                "user_id": self.collector.id,
                "outcome_id": self.outcomes["refused"].id,
                "identity_confirmed": True,
                "date": datetime(2026, 11, 25, 17, 0),
                "note": "Pagará el viernes",
            }
        )
        with freeze_time("2026-11-27 18:00:00"):
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=invoice.ids
            ).create({"payment_date": date(2026, 11, 27)})._create_payments()
        self.env.flush_all()
        self.customer.invalidate_recordset(["dunning_timeline_ids"])
        timeline = self.customer.with_user(self.collector).dunning_timeline_ids
        # The payment queued a thank-you: a message to the customer too.
        self.assertEqual(
            timeline.mapped("kind"), ["reminder", "payment", "contact", "reminder"]
        )
        self.assertIn("Thank-you by Email", timeline[0].description)
        _thanks, payment, contact, reminder = timeline
        self.assertEqual(payment.amount, 900)
        self.assertIn("Pagará el viernes", contact.description)
        self.assertIn("Lucía Cobranza", contact.description)
        self.assertIn(self.levels[7].name, reminder.description)

    def test_another_company_history_stays_out(self):
        company_2 = self.setup_other_company(name="Acme Monterrey")["company"]
        self.env["dunning.interaction"].with_company(company_2).create(
            {
                "company_id": company_2.id,
                "partner_id": self.customer.id,
                "outcome_id": self.outcomes["no_answer"].id,
            }
        )
        self.env.flush_all()
        timeline = self.customer.with_user(self.collector).dunning_timeline_ids
        self.assertFalse(timeline)


@tagged("post_install", "-at_install")
class TestContactLogAccess(CollectCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        values = {
            "partner_id": cls.customer.id,
            "outcome_id": cls.outcomes["no_answer"].id,
        }
        cls.own = cls.env["dunning.interaction"].create(
            dict(values, user_id=cls.collector.id)
        )
        cls.theirs = cls.env["dunning.interaction"].create(
            dict(values, user_id=cls.collector_2.id)
        )

    def test_collector_reads_every_log(self):
        logs = self.env["dunning.interaction"].with_user(self.collector).search([])
        self.assertEqual(logs, self.own | self.theirs)

    def test_collector_edits_only_their_own_log(self):
        self.own.with_user(self.collector).note = "Sin respuesta, buzón lleno"
        with self.assertRaises(AccessError):
            self.theirs.with_user(self.collector).note = "Cambio ajeno"

    def test_collector_cannot_log_in_someone_elses_name(self):
        with self.assertRaises(AccessError):
            self.env["dunning.interaction"].with_user(self.collector).create(
                {
                    "partner_id": self.customer.id,
                    "user_id": self.collector_2.id,
                    "outcome_id": self.outcomes["no_answer"].id,
                }
            )

    def test_collector_cannot_delete_a_log(self):
        with self.assertRaises(AccessError):
            self.own.with_user(self.collector).unlink()

    def test_manager_edits_and_deletes_any_log(self):
        self.theirs.with_user(self.manager).note = "Revisado"
        self.theirs.with_user(self.manager).unlink()
        self.assertFalse(self.theirs.exists())

    def test_other_company_logs_are_invisible(self):
        company_2 = self.setup_other_company(name="Acme Monterrey")["company"]
        log_2 = (
            self.env["dunning.interaction"]
            .with_company(company_2)
            .create(
                {
                    "company_id": company_2.id,
                    "partner_id": self.customer.id,
                    "outcome_id": self.outcomes["no_answer"].id,
                }
            )
        )
        self.env.flush_all()
        logs = self.env["dunning.interaction"].with_user(self.collector).search([])
        self.assertNotIn(log_2, logs)
        with self.assertRaises(AccessError):
            log_2.with_user(self.collector).read(["note"])
        boss = new_test_user(
            self.env,
            login="regional",
            groups="account_dunning.group_dunning_manager",
            company_id=company_2.id,
            company_ids=[Command.set(company_2.ids)],
        )
        self.assertEqual(
            self.env["dunning.interaction"].with_user(boss).search([]), log_2
        )

    def test_account_users_without_the_collector_role_see_no_log(self):
        clerk = new_test_user(
            self.env,
            login="clerk",
            groups="account.group_account_invoice",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        with self.assertRaises(AccessError):
            self.env["dunning.interaction"].with_user(clerk).search([])
