"""The risk score: its facts and points on a small known history, its reasons,
and that what should worry a collector never lowers it."""

from datetime import date

from freezegun import freeze_time

from odoo import Command
from odoo.tests import tagged

from .common import TUESDAY, DunningCommon


@tagged("post_install", "-at_install")
class TestRiskScore(DunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Late: 1,000 due September 1st, paid October 1st (30 days late);
        # 1,000 due November 30th, open. First invoiced August 2nd.
        cls.late = cls._create_customer("Pagos Tardíos")
        paid_late = cls.create_invoice(cls.late, due=date(2026, 9, 1))
        cls.create_invoice(cls.late, due=date(2026, 11, 30))
        with freeze_time(date(2026, 10, 1)):
            cls.register_payment(paid_late)
        # On time: paid before the due date, a customer since May 2025.
        cls.punctual = cls._create_customer("Siempre Puntual")
        old = cls.create_invoice(cls.punctual, due=date(2025, 6, 1))
        recent = cls.create_invoice(cls.punctual, due=date(2026, 10, 1))
        with freeze_time(date(2025, 5, 30)):
            cls.register_payment(old)
        with freeze_time(date(2026, 9, 25)):
            cls.register_payment(recent)

    def score(self):
        self.env["dunning.risk"]._cron_compute(today=TUESDAY)
        return {
            risk.partner_id: risk
            for risk in self.env["dunning.risk"].search(
                [("company_id", "=", self.company.id)]
            )
        }

    def test_facts_and_points_of_a_late_payer(self):
        risk = self.score()[self.late]
        self.assertEqual(risk.days_beyond_terms, 30.0)
        self.assertEqual(risk.late_share, 100.0)
        self.assertEqual(risk.invoice_count, 1, "the open invoice is not due yet")
        self.assertEqual(risk.relationship_days, 114)
        self.assertEqual(risk.points_delay, 12.5)  # 25 x 30 / 60
        self.assertEqual(risk.points_late, 20.0)
        self.assertEqual(risk.points_trend, 0.0, "no history before 90 days")
        self.assertAlmostEqual(risk.points_new, 5 * (1 - 114 / 730), places=1)
        # 12.5 + 20 + 4.2
        self.assertEqual(risk.score, 37)
        self.assertEqual(risk.band, "medium")
        self.assertIn("30.0 days after the due date", risk.reasons)
        self.assertIn("100 % of 1 invoices paid late", risk.reasons)
        self.assertEqual(self.late.with_company(self.company).dunning_risk_score, 37)

    def test_a_punctual_customer_is_low(self):
        risk = self.score()[self.punctual]
        self.assertEqual(risk.days_beyond_terms, 0.0)
        self.assertEqual(risk.late_share, 0.0)
        self.assertEqual(risk.score, 1)
        self.assertEqual(risk.band, "low")
        self.assertNotIn("paid late", risk.reasons)

    def test_worries_never_lower_the_score(self):
        before = self.score()[self.late].score
        invoice = self.create_invoice(self.late, due=date(2026, 11, 1))
        self.env["dunning.promise"].sudo().create(
            {
                "partner_id": self.late.id,
                "company_id": self.company.id,
                "currency_id": self.company.currency_id.id,
                "move_ids": [Command.set(invoice.ids)],
                "amount": 1000,
                "date_promised": date(2026, 11, 10),
                "state": "broken",
                "date_settled": date(2026, 11, 13),
            }
        )
        after_promise = self.score()[self.late]
        self.assertEqual(after_promise.broken_count, 1)
        self.assertGreater(after_promise.score, before)
        # The same invoice now 23 days late and open: later on average, never
        # lower.
        self.assertGreaterEqual(after_promise.days_beyond_terms, 23)
        score_after_promise = after_promise.score
        self.late.with_company(self.company).credit_limit = 2000
        exposed = self.score()[self.late]
        self.assertEqual(exposed.exposure, 2000.0)
        self.assertEqual(exposed.points_exposure, 10.0, "owes its whole limit")
        self.assertGreater(exposed.score, score_after_promise)

    def test_weights_are_the_companys(self):
        self.company.dunning_risk_weight_late = 0
        risk = self.score()[self.late]
        self.assertEqual(risk.points_late, 0.0)
        self.assertEqual(risk.score, 17)
