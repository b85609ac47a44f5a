"""Aged receivables as of any day, DSO (countback), best possible DSO and CEI,
checked against a small ledger computed by hand."""

from datetime import date, timedelta

from freezegun import freeze_time

from odoo.tests import Form, tagged

from .common import TUESDAY, DunningCommon

NOV_1 = date(2026, 11, 1)


@tagged("post_install", "-at_install")
class TestAnalysis(DunningCommon):
    """Five invoices of one customer (each dated 30 days before it is due):

    ====  ======  ==========  ==========  =================================
    name  amount  issued      due         paid
    ====  ======  ==========  ==========  =================================
    A     1,000   2026-10-31  2026-11-30
    B     2,000   2026-10-05  2026-11-04
    C     3,000   2026-08-21  2026-09-20  1,000 on 2026-11-20
    D       500   2026-06-01  2026-07-01
    E       400   2026-09-10  2026-10-10  in full on 2026-11-01
    ====  ======  ==========  ==========  =================================
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoices = {
            name: cls.create_invoice(due=due, amount=amount)
            for name, due, amount in (
                ("A", date(2026, 11, 30), 1000.0),
                ("B", date(2026, 11, 4), 2000.0),
                ("C", date(2026, 9, 20), 3000.0),
                ("D", date(2026, 7, 1), 500.0),
                ("E", date(2026, 10, 10), 400.0),
            )
        }
        with freeze_time(NOV_1):
            cls.register_payment(cls.invoices["E"])
        with freeze_time(date(2026, 11, 20)):
            cls.register_payment(cls.invoices["C"], 1000.0)

    def aging(self, day):
        """{bucket: amount} of the company's receivables on ``day``, as the
        report's action opens them (the day chosen in its dialog)."""
        form = Form(self.env["dunning.aging.date"])
        form.aging_date = day
        action = form.save().action_open()
        report = self.env["dunning.aging.report"].with_context(**action["context"])
        groups = report.read_group(
            [("company_id", "=", self.company.id)], ["amount_open:sum"], ["bucket"]
        )
        return {group["bucket"]: group["amount_open"] for group in groups}

    def test_aging_today(self):
        self.assertEqual(
            self.aging(TUESDAY),
            {"0_not_due": 1000.0, "1_30": 2000.0, "3_90": 2000.0, "4_older": 500.0},
        )

    def test_aging_of_a_past_day_reopens_what_was_paid_later(self):
        # The 1,000 paid on C on the 20th was still owed on the 15th; E was
        # paid on the 1st.
        self.assertEqual(
            self.aging(date(2026, 11, 15)),
            {"0_not_due": 1000.0, "1_30": 2000.0, "2_60": 3000.0, "4_older": 500.0},
        )
        # On October 31st E was 21 days late; A was issued that day.
        self.assertEqual(
            self.aging(date(2026, 10, 31)),
            {"0_not_due": 3000.0, "1_30": 400.0, "2_60": 3000.0, "4_older": 500.0},
        )

    def test_aging_row_says_who_and_how_late(self):
        rows = (
            self.env["dunning.aging.report"]
            .with_context(dunning_aging_date="2026-11-24")
            .search([("move_id", "=", self.invoices["C"].id)])
        )
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows.partner_id, self.customer)
        self.assertEqual(rows.days_late, 65)
        self.assertEqual(rows.amount_61_90, 2000.0)
        self.assertEqual(rows.amount_open, 2000.0)
        self.assertEqual(rows.policy_id, self.policy)

    def kpi(self, month):
        with freeze_time(TUESDAY):
            found = self.env["dunning.kpi.report"].search(
                [("company_id", "=", self.company.id), ("month", "=", month)]
            )
            found.fetch(list(found._fields))
            return found

    def test_october(self):
        october = self.kpi(date(2026, 10, 1))
        self.assertEqual(october.sales, 3000.0)
        self.assertEqual(october.receivable_start, 3900.0)
        self.assertEqual(october.receivable_end, 6900.0)
        self.assertEqual(october.receivable_current, 3000.0)
        self.assertEqual(october.receivable_overdue, 3900.0)
        # Nothing collected of the 3,900 that could be: CEI 0.
        self.assertEqual(october.cei, 0.0)
        # 6,900 owed: October's 3,000 (31 days), September's 400 (30), August's
        # 3,000 (31), July's nothing (31), June's 500 (30): 153 days.
        self.assertEqual(october.dso, 153.0)
        # 3,000 not yet due / 3,000 of sales x 31 days.
        self.assertEqual(october.best_dso, 31.0)

    def test_november(self):
        november = self.kpi(NOV_1)
        self.assertEqual(november.sales, 0.0)
        self.assertEqual(november.receivable_start, 6900.0)
        self.assertEqual(november.receivable_end, 5500.0)
        self.assertEqual(november.receivable_current, 0.0)
        # 1,400 collected of 6,900 collectable: 20.3 %.
        self.assertEqual(november.cei, 20.3)
        # 5,500 owed: November (no sales, 30 days), October's 3,000 (31),
        # September's 400 (30), then 2,100 of August's 3,000: 31 x 0.7 = 21.7.
        self.assertEqual(november.dso, 112.7)
        self.assertFalse(november.best_dso, "no sales: no best possible DSO")

    def test_twelve_months_per_company(self):
        with freeze_time(TUESDAY):
            months = self.env["dunning.kpi.report"].search_read(
                [("company_id", "=", self.company.id)], ["month"]
            )
        self.assertEqual(len(months), 12)
        self.assertEqual(min(m["month"] for m in months), date(2025, 12, 1))


@tagged("post_install", "-at_install")
class TestReminderResults(DunningCommon):
    """Four reminders of level +7 sent on November 2nd: by e-mail to customers
    who paid 3 and 20 days later; by WhatsApp, read and answered, to one who
    did not pay; by WhatsApp, only delivered, to one who paid the same day."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.level = cls.levels[7]
        sent_on = date(2026, 11, 2)
        Reminder = cls.env["dunning.reminder"].sudo()
        cls.rows = {}
        for name, channel, state, paid_after in (
            ("fast", "email", "sent", 3),
            ("slow", "email", "sent", 20),
            ("talker", "whatsapp", "read", None),
            ("sameday", "whatsapp", "delivered", 0),
        ):
            customer = cls._create_customer(f"Cliente {name}")
            invoice = cls.create_invoice(customer, due=date(2026, 10, 26))
            cls.rows[name] = Reminder.create(
                {
                    "partner_id": customer.id,
                    "company_id": cls.company.id,
                    "level_id": cls.level.id,
                    "channel": channel,
                    "state": state,
                    "sent_at": "2026-11-02 16:00:00",
                    "currency_id": cls.company.currency_id.id,
                    "move_ids": [(6, 0, invoice.ids)],
                }
            )
            if paid_after is not None:
                with freeze_time(sent_on + timedelta(days=paid_after)):
                    cls.register_payment(invoice)
        talker = cls.rows["talker"].partner_id
        cls.env["dunning.whatsapp.message"].sudo().create(
            {
                "partner_id": talker.id,
                "direction": "in",
                "state": "received",
                "body": "Pago el viernes",
                "received_at": "2026-11-03 15:00:00",
            }
        )

    def results(self, groupby):
        return {
            group[groupby]: group
            for group in self.env["dunning.contact.report"].read_group(
                [("reminder_id", "in", [r.id for r in self.rows.values()])],
                [
                    "reminder_count:sum",
                    "delivered_rate:avg",
                    "read_rate:avg",
                    "replied_rate:avg",
                    "paid_7_rate:avg",
                    "paid_30_rate:avg",
                ],
                [groupby],
            )
        }

    def test_rates_per_channel(self):
        by_channel = self.results("channel")
        email, whatsapp = by_channel["email"], by_channel["whatsapp"]
        self.assertEqual(email["reminder_count"], 2)
        self.assertEqual(email["paid_7_rate"], 50.0)
        self.assertEqual(email["paid_30_rate"], 100.0)
        self.assertEqual(email["replied_rate"], 0.0)
        self.assertEqual(whatsapp["delivered_rate"], 100.0)
        self.assertEqual(whatsapp["read_rate"], 50.0)
        self.assertEqual(whatsapp["replied_rate"], 50.0)
        self.assertEqual(whatsapp["paid_7_rate"], 50.0)

    def test_rates_per_level(self):
        level = self.results("level_id")[(self.level.id, self.level.display_name)]
        self.assertEqual(level["reminder_count"], 4)
        self.assertEqual(level["paid_30_rate"], 75.0)
