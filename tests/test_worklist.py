from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from odoo import Command, fields
from odoo.tests import new_test_user, tagged

from .collect_common import CollectCommon


@tagged("post_install", "-at_install")
class TestWorklist(CollectCommon):
    """My collections, on the real current date (the frozen-date cases, with
    promises and time zones, are in test_collect_promise)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The collector's own date (Mexico City): from midnight UTC to 06:00 UTC
        # it is still yesterday there, and the list counts days in their zone.
        cls.today = datetime.now(ZoneInfo(cls.collector.tz)).date()
        cls.big = cls._create_customer("Abarrotes Grandes")  # 5,000 x 5 days
        cls.old = cls._create_customer("Papelería Antigua")  # 1,000 x 10 days
        cls.small = cls._create_customer("Tienda Pequeña")  # 100 x 2 days
        cls.excluded = cls._create_customer("Excluido SA", dunning_excluded=True)
        cls.paused = cls._create_customer(
            "Pausado SA", dunning_paused_until=cls.today + timedelta(days=3)
        )
        cls.disputed = cls._create_customer("Disputa SA")
        cls.not_due = cls._create_customer("Al Corriente SA")
        cls.other = cls._create_customer("De Pedro SA")
        for partner in cls.big | cls.old | cls.small | cls.excluded | cls.paused:
            partner.with_company(cls.company).dunning_collector_id = cls.collector
        cls.other.with_company(cls.company).dunning_collector_id = cls.collector_2
        cls.create_invoice(cls.big, due=cls.today - timedelta(days=5), amount=5000)
        cls.create_invoice(cls.old, due=cls.today - timedelta(days=10), amount=600)
        cls.create_invoice(cls.old, due=cls.today - timedelta(days=3), amount=400)
        cls.create_invoice(cls.small, due=cls.today - timedelta(days=2), amount=100)
        cls.create_invoice(cls.excluded, due=cls.today - timedelta(days=20))
        cls.create_invoice(cls.paused, due=cls.today - timedelta(days=20))
        cls.create_invoice(
            cls.disputed, due=cls.today - timedelta(days=20)
        ).action_dunning_exclude()
        cls.create_invoice(cls.not_due, due=cls.today + timedelta(days=5))
        cls.create_invoice(cls.other, due=cls.today - timedelta(days=1))

    def rows(self, user=None, domain=None):
        self.env.flush_all()
        return (
            self.env["dunning.worklist"]
            .with_user(user or self.collector)
            .search(domain or [])
        )

    def mine(self):
        return self.rows(domain=[("collector_id", "=", self.collector.id)])

    def contact(self, partner, code, when=None, callback_at=None, user=None):
        return self.env["dunning.interaction"].create(
            {
                "partner_id": partner.id,
                "user_id": (user or self.collector).id,
                "outcome_id": self.outcomes[code].id,
                "date": when or fields.Datetime.now(),
                "callback_at": callback_at,
                "identity_confirmed": self.outcomes[code].requires_identity,
            }
        )

    def test_ordered_by_overdue_amount_times_days_late(self):
        rows = self.mine()
        self.assertEqual(rows.partner_id, self.big | self.old | self.small)
        self.assertEqual([r.partner_id for r in rows], [self.big, self.old, self.small])
        big = rows.filtered(lambda r: r.partner_id == self.big)
        self.assertEqual(big.amount_overdue, 5000)
        self.assertEqual(big.max_days_late, 5)
        self.assertEqual(big.priority, 25000)
        old = rows.filtered(lambda r: r.partner_id == self.old)
        self.assertEqual((old.amount_overdue, old.max_days_late), (1000, 10))
        self.assertEqual(old.invoice_count, 2)
        self.assertEqual(big.next_step, "first_call")

    def test_leaves_out_excluded_paused_disputed_and_not_yet_due(self):
        partners = self.rows().partner_id
        for partner in (self.excluded, self.paused, self.disputed, self.not_due):
            with self.subTest(partner=partner.name):
                self.assertNotIn(partner, partners)

    def test_each_collector_sees_their_customers_by_default(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_worklist_action"
        )
        self.assertIn("search_default_mine", action["context"])
        theirs = self.rows(
            user=self.collector_2, domain=[("collector_id", "=", self.collector_2.id)]
        )
        self.assertEqual(theirs.partner_id, self.other)

    def test_a_customer_contacted_today_leaves_the_list(self):
        self.contact(self.big, "refused")
        self.assertNotIn(self.big, self.mine().partner_id)

    def test_unanswered_yesterday_comes_back_today_to_retry(self):
        yesterday = fields.Datetime.now() - timedelta(days=1)
        self.contact(self.big, "no_answer", when=yesterday)
        self.contact(self.big, "voicemail", when=yesterday + timedelta(minutes=5))
        row = self.mine().filtered(lambda r: r.partner_id == self.big)
        self.assertEqual(row.next_step, "retry")
        self.assertEqual(row.attempt_count, 2)
        self.assertEqual(row.last_outcome_id, self.outcomes["voicemail"])
        self.assertFalse(row.last_contact_date)

    def test_a_due_call_back_shows_even_after_a_call_today(self):
        now = fields.Datetime.now()
        self.contact(self.small, "call_back", when=now, callback_at=now)
        row = self.mine().filtered(lambda r: r.partner_id == self.small)
        self.assertEqual(row.next_step, "callback")
        self.assertEqual(row.callback_at, now)

    def test_a_call_back_agreed_for_later_hides_the_customer_until_then(self):
        yesterday = fields.Datetime.now() - timedelta(days=1)
        self.contact(
            self.big,
            "waiting_approval",
            when=yesterday,
            callback_at=yesterday + timedelta(days=3),
        )
        self.assertNotIn(self.big, self.mine().partner_id)

    def test_last_contact_is_the_last_time_the_debtor_was_reached(self):
        reached = datetime.combine(self.today - timedelta(days=4), datetime.min.time())
        self.contact(self.old, "refused", when=reached)
        self.contact(self.old, "no_answer", when=reached + timedelta(days=2))
        row = self.mine().filtered(lambda r: r.partner_id == self.old)
        self.assertEqual(row.last_contact_date, reached)
        self.assertEqual(row.attempt_count, 1)
        self.assertEqual(row.next_step, "retry")

    def test_row_buttons(self):
        self.big.mobile = "+52 81 1111 2222"
        row = self.mine().filtered(lambda r: r.partner_id == self.big)
        self.assertEqual(row.call_number, "+52 81 1111 2222")
        self.assertEqual(row.whatsapp_url, "https://wa.me/528111112222")
        action = row.action_log_interaction()
        self.assertEqual(action["res_model"], "dunning.interaction.log")
        self.assertEqual(action["context"]["default_partner_id"], self.big.id)
        chat = row.action_whatsapp()
        self.assertEqual(chat["res_model"], "dunning.whatsapp.compose")
        defaults = (
            self.env["dunning.whatsapp.compose"]
            .with_user(self.collector)
            .with_context(**chat["context"])
            .default_get(["partner_id"])
        )
        self.assertEqual(defaults["partner_id"], self.big.id)
        self.big.whatsapp_opt_out = True
        row.invalidate_recordset(["whatsapp_url"])
        self.assertFalse(row.whatsapp_url)

    def test_other_company_rows_are_not_shown(self):
        company_2 = self.setup_other_company(name="Acme Monterrey")["company"]
        self.create_invoice(
            self.big, due=self.today - timedelta(days=30), company=company_2
        )
        self.assertEqual(
            self.rows(domain=[("partner_id", "=", self.big.id)]).company_id,
            self.company,
        )
        boss = new_test_user(
            self.env,
            login="both",
            groups="account_dunning.group_dunning_manager",
            company_id=self.company.id,
            company_ids=[Command.set((self.company | company_2).ids)],
        )
        both = (
            self.env["dunning.worklist"]
            .with_user(boss)
            .with_context(allowed_company_ids=(self.company | company_2).ids)
            .search([("partner_id", "=", self.big.id)])
        )
        self.assertEqual(both.company_id, self.company | company_2)

    def test_a_filter_on_the_collector_gives_the_rows_of_the_whole_list(self):
        # A domain that requires collectors narrows the query itself (see
        # DunningWorklist._search): the rows and their figures must be those of
        # the whole list, whatever the domain's shape.
        self.contact(
            self.old, "no_answer", when=fields.Datetime.now() - timedelta(days=1)
        )
        names = [
            "partner_id",
            "collector_id",
            "amount_overdue",
            "invoice_count",
            "max_days_late",
            "priority",
            "reason",
            "next_step",
            "last_contact_date",
            "attempt_count",
        ]
        worklist = self.env["dunning.worklist"].with_user(self.manager)
        self.env.flush_all()
        everything = worklist.search_read([], names)
        for collector in (self.collector, self.collector_2):
            expected = [
                row for row in everything if row["collector_id"][0] == collector.id
            ]
            self.assertTrue(expected)
            for domain in (
                [("collector_id", "=", collector.id)],
                [("collector_id", "in", [collector.id]), ("partner_id", "!=", False)],
                ["|", ("collector_id", "=", collector.id), ("collector_id", "=", -1)],
            ):
                with self.subTest(domain=domain):
                    self.assertEqual(worklist.search_read(domain, names), expected)
        mine = worklist.search([("collector_id", "=", self.collector.id)])
        self.assertEqual(len(mine.search([])), len(everything))
