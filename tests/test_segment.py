"""Segments: the risk score picks the collection policy, and one definition
of the customer's policy (own > segment > company default) in Python and SQL."""

from datetime import date, timedelta

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.account_dunning.models.res_partner_policy import (
    customer_policy_sql,
)

from .common import TUESDAY, DunningCommon


def days(n):
    return timedelta(days=n)


@tagged("post_install", "-at_install")
class TestSegment(DunningCommon):
    """The test company got the three shipped segments when it was created;
    "Normal" followed it to the test policy when that became its default."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.segments = cls.env["dunning.segment"].search(
            [("company_id", "=", cls.company.id)]
        )
        cls.reliable, cls.normal, cls.at_risk = cls.segments
        cls.gentle_policy = cls.reliable.policy_id
        cls.at_risk_policy = cls.at_risk.policy_id

    def set_risk(self, partner, score, exposure=0.0, company=None):
        """A risk row as the nightly scoring would leave it, then the
        assignment the scoring runs right after."""
        company = company or self.company
        self.env["dunning.risk"].sudo().create(
            {
                "partner_id": partner.id,
                "company_id": company.id,
                "score": score,
                "exposure": exposure,
            }
        )
        self.env["dunning.segment"]._assign(company)

    def policy_of(self, partner, company=None):
        return partner._dunning_policy(company or self.company)

    def sql_policies(self, partners, company):
        self.env.flush_all()
        policy = customer_policy_sql(SQL.identifier("partner"), company.id)
        self.env.cr.execute(
            SQL(
                "SELECT partner.id, %s FROM res_partner partner %s "
                "WHERE partner.id IN %s",
                policy.policy_id,
                policy.joins,
                tuple(partners.ids),
            )
        )
        return dict(self.env.cr.fetchall())

    # ------------------------------------------------------------------------------
    # Shipped
    # ------------------------------------------------------------------------------

    def test_a_new_company_gets_three_segments_on_its_own_policies(self):
        self.assertEqual(
            self.segments.mapped("name"), ["Reliable", "Normal", "At risk"]
        )
        self.assertEqual(
            [(s.score_min, s.score_max) for s in self.segments],
            [(0, 29), (30, 59), (60, 100)],
        )
        self.assertEqual(self.normal.policy_id, self.policy, "the company's default")
        self.assertEqual(self.gentle_policy.company_id, self.company)
        self.assertEqual(self.at_risk_policy.company_id, self.company)
        # Gentle: nothing before the due date, a first reminder 5 days after;
        # at risk: 5 days before, a call on day 4, two days apart.
        self.assertEqual(
            self.gentle_policy.level_ids.mapped("offset_days"), [5, 15, 25, 45]
        )
        self.assertEqual(self.gentle_policy.min_days_between_reminders, 7)
        self.assertEqual(
            self.at_risk_policy.level_ids.mapped("offset_days"), [-5, 0, 1, 4, 7, 20]
        )
        call = self.at_risk_policy.level_ids.filtered("channel_activity")
        self.assertEqual(call.offset_days, 4)
        self.assertEqual(self.at_risk_policy.min_days_between_reminders, 2)

    def test_changing_the_default_policy_moves_the_normal_segment(self):
        other = self._create_policy(self.company, name="Other standard")
        self.company.dunning_policy_id = other
        self.assertEqual(self.normal.policy_id, other)
        self.assertEqual(self.reliable.policy_id, self.gentle_policy)

    def test_companies_without_segments_get_them_on_update_others_are_left(self):
        self.segments.unlink()
        other = self.setup_other_company(name="Sucursal Norte")["company"]
        archived = self.env["dunning.segment"].search([("company_id", "=", other.id)])
        archived.action_archive()
        self.env["res.company"]._dunning_create_missing_segments()
        mine = self.env["dunning.segment"].search(
            [("company_id", "=", self.company.id)]
        )
        self.assertEqual(mine.mapped("name"), ["Reliable", "Normal", "At risk"])
        self.assertEqual(mine[1].policy_id, self.policy)
        self.assertFalse(
            self.env["dunning.segment"].search([("company_id", "=", other.id)]),
            "a company that archived its segments gets no new ones",
        )

    # ------------------------------------------------------------------------------
    # The planner follows the segment
    # ------------------------------------------------------------------------------

    def test_a_customer_scored_high_is_planned_on_the_at_risk_ladder(self):
        # Paid 90 days late (due July 1st, paid September 29th): with the days
        # beyond terms weighing 60, 60 + 20 (all paid late) + 3.8 (a customer
        # since June 1st, 171 days) = 84, at risk.
        self.company.dunning_risk_weight_delay = 60
        late_payer = self._create_customer("Pagos Muy Tardíos")
        old = self.create_invoice(late_payer, due=date(2026, 7, 1))
        with freeze_time(date(2026, 9, 29)):
            self.register_payment(old)
        invoice = self.create_invoice(late_payer, due=TUESDAY)
        self.env["dunning.risk"]._cron_compute(today=TUESDAY - days(5))
        risk = self.env["dunning.risk"].search([("partner_id", "=", late_payer.id)])
        self.assertEqual(risk.score, 84)
        self.assertEqual(risk.segment_id, self.at_risk)
        self.assertEqual(self.policy_of(late_payer), self.at_risk_policy)
        # Invoiced after the scoring: no risk row, the company's default.
        unscored = self._create_customer("Sin Historial")
        other_invoice = self.create_invoice(unscored, due=TUESDAY)

        self.plan_on(TUESDAY - days(5))

        first = self.at_risk_policy.level_ids.filtered(lambda lv: lv.offset_days == -5)
        self.assertEqual(self.reminders(late_payer).level_id, first)
        self.assertEqual(invoice.dunning_level_id, first)
        self.assertEqual(self.reminders(late_payer).policy_id, self.at_risk_policy)
        self.assertFalse(self.reminders(unscored), "the standard ladder starts at -3")
        self.assertFalse(other_invoice.dunning_level_id)

    def test_a_reliable_customer_is_not_contacted_on_the_preventive_day(self):
        reliable = self._create_customer("Siempre Puntual")
        invoice = self.create_invoice(reliable, due=TUESDAY)
        standard = self._create_customer("Cliente Estándar")
        self.create_invoice(standard, due=TUESDAY)
        self.set_risk(reliable, 12)
        self.set_risk(standard, 45)
        self.assertEqual(self.policy_of(reliable), self.gentle_policy)
        self.assertEqual(self.policy_of(standard), self.policy)

        self.plan_on(TUESDAY - days(3))
        self.assertFalse(self.reminders(reliable))
        self.assertEqual(self.reminders(standard).level_id, self.levels[-3])

        self.plan_on(TUESDAY + days(4))
        self.assertFalse(self.reminders(reliable), "its first reminder is on day 5")
        self.plan_on(TUESDAY + days(5))
        friendly = self.gentle_policy.level_ids.filtered(lambda lv: lv.offset_days == 5)
        self.assertEqual(self.reminders(reliable).level_id, friendly)
        self.assertEqual(invoice.dunning_level_id, friendly)

    def test_the_customers_own_policy_wins_over_its_segment(self):
        customer = self._create_customer("Con Política Propia")
        self.create_invoice(customer, due=TUESDAY)
        self.set_risk(customer, 90)
        customer.with_company(self.company).dunning_policy_id = self.policy
        self.assertEqual(self.policy_of(customer), self.policy)
        partner = customer.with_company(self.company)
        self.assertEqual(partner.dunning_segment_id, self.at_risk)
        self.assertEqual(partner.dunning_policy_in_use_id, self.policy)
        self.assertEqual(partner.dunning_policy_source, "own")
        self.plan_on(TUESDAY - days(5))
        self.assertFalse(self.reminders(customer), "not on the at-risk ladder's -5")
        self.plan_on(TUESDAY - days(3))
        self.assertEqual(self.reminders(customer).level_id, self.levels[-3])

    def test_a_customer_without_risk_row_follows_the_company_default(self):
        customer = self._create_customer("Nuevo")
        partner = customer.with_company(self.company)
        self.assertEqual(self.policy_of(customer), self.policy)
        self.assertFalse(partner.dunning_segment_id)
        self.assertEqual(partner.dunning_policy_in_use_id, self.policy)
        self.assertEqual(partner.dunning_policy_source, "company")

    def test_a_notice_follows_the_customers_segment(self):
        customer = self._create_customer("Aviso")
        self.set_risk(customer, 75)
        notice = self.env["dunning.reminder"]._enqueue_notice(
            "thank_you", customer, self.company, ["email"]
        )
        self.assertEqual(notice.policy_id, self.at_risk_policy)

    # ------------------------------------------------------------------------------
    # Filters and order
    # ------------------------------------------------------------------------------

    def test_country_filter(self):
        spanish = self._create_customer("Distribuidora Ibérica", country=self.spain)
        mexican = self._create_customer("Distribuidora Azteca")
        self.set_risk(spanish, 70)
        self.set_risk(mexican, 70)
        export = self.env["dunning.segment"].create(
            {
                "name": "Export",
                "sequence": 5,
                "company_id": self.company.id,
                "policy_id": self.policy.id,
                "country_ids": [(6, 0, self.spain.ids)],
            }
        )
        risks = self.env["dunning.risk"].search([("company_id", "=", self.company.id)])
        by_partner = {risk.partner_id: risk.segment_id for risk in risks}
        self.assertEqual(by_partner[spanish], export, "assigned when created")
        self.assertEqual(by_partner[mexican], self.at_risk)

    def test_amount_filters(self):
        big = self._create_customer("Debe Mucho")
        small = self._create_customer("Debe Poco")
        middle = self._create_customer("Debe Algo")
        self.set_risk(big, 10, exposure=6000.0)
        self.set_risk(small, 10, exposure=1000.0)
        self.set_risk(middle, 10, exposure=3000.0)
        values = {"company_id": self.company.id, "policy_id": self.policy.id}
        large = self.env["dunning.segment"].create(
            {**values, "name": "Large", "sequence": 1, "min_amount_owed": 5000.0}
        )
        tiny = self.env["dunning.segment"].create(
            {**values, "name": "Tiny", "sequence": 2, "max_amount_owed": 1000.0}
        )
        segment = {
            risk.partner_id: risk.segment_id
            for risk in self.env["dunning.risk"].search([])
        }
        self.assertEqual(segment[big], large)
        self.assertEqual(segment[small], tiny, "the maximum is included")
        self.assertEqual(segment[middle], self.reliable)

    def test_the_first_segment_by_sequence_wins_and_editing_reassigns(self):
        customer = self._create_customer("Dos Segmentos")
        self.set_risk(customer, 65)
        watch = self.env["dunning.segment"].create(
            {
                "name": "Watch",
                "sequence": 40,
                "company_id": self.company.id,
                "policy_id": self.policy.id,
                "score_min": 50,
                "score_max": 100,
            }
        )
        risk = self.env["dunning.risk"].search([("partner_id", "=", customer.id)])
        self.assertEqual(risk.segment_id, self.at_risk, "30 comes before 40")
        watch.sequence = 25
        self.assertEqual(risk.segment_id, watch)
        self.assertEqual(self.policy_of(customer), self.policy)
        watch.action_archive()
        self.assertEqual(risk.segment_id, self.at_risk)
        self.at_risk.unlink()
        self.assertFalse(risk.segment_id, "no segment matches 65 any more")
        self.assertEqual(self.policy_of(customer), self.policy, "the default")

    def test_scores_out_of_range_are_refused(self):
        with self.assertRaises(ValidationError):
            self.reliable.score_max = 101
        with self.assertRaises(ValidationError):
            self.reliable.write({"score_min": 40, "score_max": 20})

    # ------------------------------------------------------------------------------
    # One definition
    # ------------------------------------------------------------------------------

    def test_python_and_sql_agree_on_every_case(self):
        own = self._create_customer("Propia")
        own.with_company(self.company).dunning_policy_id = self.at_risk_policy
        own_scored = self._create_customer("Propia y Puntuada")
        own_scored.with_company(self.company).dunning_policy_id = self.policy
        high = self._create_customer("Alto")
        low = self._create_customer("Bajo")
        medium = self._create_customer("Medio")
        unscored = self._create_customer("Sin Puntuar")
        unmatched = self._create_customer("Sin Segmento", country=self.spain)
        for partner, score in ((own_scored, 80), (high, 80), (low, 5), (medium, 40)):
            self.set_risk(partner, score)
        self.set_risk(unmatched, 50)
        self.normal.country_ids = self.mexico
        partners = own | own_scored | high | low | medium | unscored | unmatched
        for partner in partners:
            self.create_invoice(partner, due=TUESDAY - days(40))
        expected = {
            own: (self.at_risk_policy, "own"),
            own_scored: (self.policy, "own"),
            high: (self.at_risk_policy, "segment"),
            low: (self.gentle_policy, "segment"),
            medium: (self.policy, "segment"),
            unscored: (self.policy, "company"),
            unmatched: (self.policy, "company"),
        }
        chosen = partners._dunning_policies(self.company)
        in_sql = self.sql_policies(partners, self.company)
        aging = (
            self.env["dunning.aging.report"]
            .with_context(dunning_aging_date=TUESDAY)
            .search(
                [
                    ("partner_id", "in", partners.ids),
                    ("company_id", "=", self.company.id),
                ]
            )
        )
        aging_policy = {row.partner_id: row.policy_id for row in aging}
        for partner, (policy, source) in expected.items():
            with self.subTest(partner=partner.name):
                self.assertEqual(chosen[partner.id], (policy, source))
                self.assertEqual(in_sql[partner.id], policy.id)
                self.assertEqual(aging_policy[partner], policy)
        self.assertEqual(
            {row.partner_id: row.segment_id for row in aging}[high], self.at_risk
        )
        # The planner: each invoice on the first level of its policy's ladder
        # reached 40 days late (the highest level up to +40).
        self.plan_on(TUESDAY)
        for partner, (policy, _source) in expected.items():
            with self.subTest(planned=partner.name):
                reached = policy.level_ids.filtered(lambda lv: lv.offset_days <= 40)
                self.assertEqual(
                    self.reminders(partner).level_id,
                    reached.sorted("offset_days")[-1],
                )

    def test_a_segment_in_one_company_does_not_leak_to_another(self):
        company_b = self.setup_other_company(name="Filial Sur")["company"]
        segments_b = self.env["dunning.segment"].search(
            [("company_id", "=", company_b.id)]
        )
        self.assertEqual(len(segments_b), 3)
        self.assertEqual(segments_b[1].policy_id, company_b.dunning_policy_id)
        customer = self._create_customer("Dos Empresas")
        self.set_risk(customer, 90)
        self.assertEqual(self.policy_of(customer), self.at_risk_policy)
        self.assertEqual(
            self.policy_of(customer, company_b), company_b.dunning_policy_id
        )
        self.assertEqual(
            self.sql_policies(customer, company_b)[customer.id],
            company_b.dunning_policy_id.id,
        )
        self.assertFalse(customer.with_company(company_b).dunning_segment_id)
        # Scored low in B: B's reliable segment, A's unchanged.
        self.set_risk(customer, 10, company=company_b)
        self.assertEqual(self.policy_of(customer, company_b), segments_b[0].policy_id)
        self.assertEqual(segments_b[0].policy_id.company_id, company_b)
        self.assertEqual(self.policy_of(customer), self.at_risk_policy)
