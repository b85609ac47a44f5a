from datetime import date, datetime, timedelta

from freezegun import freeze_time

from odoo.tests import tagged

from .common import TUESDAY, DunningCommon

# Tuesday 2026-11-24, 13:30 UTC: 08:30 in Cancún (UTC-5, open), 07:30 in Mexico
# City (UTC-6) and 05:30 in Tijuana (UTC-8 in November), both closed; 14:30 in
# Madrid, where the company is and where the window is open.
MORNING = datetime(2026, 11, 24, 13, 30)
# The next 08:00 of each zone, in UTC.
OPENING_MEXICO_CITY = datetime(2026, 11, 24, 14, 0)
OPENING_TIJUANA = datetime(2026, 11, 24, 16, 0)


@tagged("post_install", "-at_install")
class TestContactWindow(DunningCommon):
    """Emails reach debtors only inside the window, in the debtor's own time."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for customer in cls.customer | cls.customer_tijuana | cls.customer_cancun:
            cls.create_invoice(customer, due=TUESDAY - timedelta(days=1))

    def plan_and_dispatch_at(self, when, day=TUESDAY):
        self.plan_on(day)
        with freeze_time(when):
            self.dispatch()

    def dispatch_at(self, when):
        with freeze_time(when):
            self.dispatch()

    def test_only_customers_inside_their_window_are_sent(self):
        self.plan_and_dispatch_at(MORNING)
        self.assertEqual(self.reminders(self.customer_cancun).state, "sent")
        self.assertEqual(len(self.mails(self.customer_cancun)), 1)
        self.assertEqual(self.reminders(self.customer).state, "deferred")
        self.assertEqual(self.reminders(self.customer_tijuana).state, "deferred")
        self.assertFalse(self.mails(self.customer) | self.mails(self.customer_tijuana))

    def test_closed_customers_are_deferred_to_their_next_local_opening(self):
        self.plan_and_dispatch_at(MORNING)
        self.assertEqual(
            self.reminders(self.customer).scheduled_at, OPENING_MEXICO_CITY
        )
        self.assertEqual(
            self.reminders(self.customer_tijuana).scheduled_at, OPENING_TIJUANA
        )

    def test_deferral_records_the_window_and_zone(self):
        self.plan_and_dispatch_at(MORNING)
        reminder = self.reminders(self.customer_tijuana)
        self.assertEqual(reminder.deferral_count, 1)
        self.assertIn("America/Tijuana", reminder.error_message)
        self.assertIn("08:00", reminder.error_message)

    def test_dispatch_is_triggered_at_each_opening(self):
        self.plan_and_dispatch_at(MORNING)
        self.assertTrue(self.dispatch_trigger_at(OPENING_MEXICO_CITY))
        self.assertTrue(self.dispatch_trigger_at(OPENING_TIJUANA))

    def test_deferred_reminder_waits_for_its_opening(self):
        self.plan_and_dispatch_at(MORNING)
        self.dispatch_at(OPENING_MEXICO_CITY - timedelta(minutes=1))
        self.assertEqual(self.reminders(self.customer).state, "deferred")
        self.assertFalse(self.mails(self.customer))

    def test_deferred_reminder_is_sent_at_its_opening(self):
        self.plan_and_dispatch_at(MORNING)
        self.dispatch_at(OPENING_MEXICO_CITY)
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.sent_at, OPENING_MEXICO_CITY)
        self.assertEqual(len(self.mails(self.customer)), 1)
        # Tijuana opens two hours later.
        self.assertEqual(self.reminders(self.customer_tijuana).state, "deferred")

    def test_every_deferred_customer_is_sent_once_at_the_last_opening(self):
        self.plan_and_dispatch_at(MORNING)
        self.dispatch_at(OPENING_MEXICO_CITY)
        self.dispatch_at(OPENING_TIJUANA)
        for customer in self.customer | self.customer_tijuana | self.customer_cancun:
            with self.subTest(customer=customer.name):
                self.assertEqual(self.reminders(customer).state, "sent")
                self.assertEqual(len(self.mails(customer)), 1)

    def test_customer_whose_evening_has_ended_is_deferred_to_the_morning(self):
        # Wednesday 01:30 UTC: Tuesday 20:30 in Cancún (closed), 19:30 in Mexico
        # City and 17:30 in Tijuana (open).
        self.plan_and_dispatch_at(datetime(2026, 11, 25, 1, 30))
        self.assertEqual(self.reminders(self.customer).state, "sent")
        self.assertEqual(self.reminders(self.customer_tijuana).state, "sent")
        cancun = self.reminders(self.customer_cancun)
        self.assertEqual(cancun.state, "deferred")
        self.assertEqual(cancun.scheduled_at, datetime(2026, 11, 25, 13, 0))

    def test_invoicing_contact_is_contacted_inside_its_own_window(self):
        # The customer's head office is in Mexico City, its accounts payable in
        # Tijuana: the email reaches Tijuana, so Tijuana's hours apply.
        self.env["res.partner"].create(
            {
                "name": "Cuentas por pagar Tijuana",
                "type": "invoice",
                "parent_id": self.customer.id,
                "email": "cxp.tijuana@ferreteria.example.com",
                "tz": "America/Tijuana",
            }
        )
        # 14:30 UTC: 08:30 in Mexico City, 06:30 in Tijuana.
        self.plan_and_dispatch_at(datetime(2026, 11, 24, 14, 30))
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.state, "deferred")
        self.assertEqual(reminder.scheduled_at, OPENING_TIJUANA)

    def test_deferred_reminder_still_counts_against_the_next_one(self):
        # Friday evening in Mexico City: the reminder waits for Monday morning.
        # On Monday another invoice reaches a level, three days after the first
        # reminder was planned; the customer must still not get two emails at
        # Monday's opening.
        friday, monday = date(2026, 11, 27), date(2026, 11, 30)
        self.create_invoice(due=monday + timedelta(days=3))
        self.plan_on(friday)
        self.dispatch_at(datetime(2026, 11, 28, 3, 0))  # Friday 21:00 local
        self.assertEqual(self.reminders(self.customer).state, "deferred")
        self.plan_on(monday)
        self.dispatch_at(datetime(2026, 11, 30, 14, 0))
        self.assertEqual(len(self.mails(self.customer)), 1)

    def test_state_without_time_zone_gives_the_zone_quintana_roo(self):
        customer = self._create_customer(
            "Tours Tulum", tz=False, state=self.env.ref("base.state_mx_q_roo")
        )
        self.create_invoice(customer, due=TUESDAY - timedelta(days=1))
        # 12:30 UTC: 07:30 in Cancún. Mexico City's time would say 14:00 UTC,
        # the company's (Madrid, 13:30) would send at once.
        self.plan_and_dispatch_at(datetime(2026, 11, 24, 12, 30))
        reminder = self.reminders(customer)
        self.assertEqual(reminder.state, "deferred")
        self.assertEqual(reminder.scheduled_at, datetime(2026, 11, 24, 13, 0))
        self.assertTrue(self.dispatch_trigger_at(datetime(2026, 11, 24, 13, 0)))

    def test_state_without_time_zone_is_sent_when_open_there(self):
        customer = self._create_customer(
            "Tours Tulum", tz=False, state=self.env.ref("base.state_mx_q_roo")
        )
        self.create_invoice(customer, due=TUESDAY - timedelta(days=1))
        self.plan_and_dispatch_at(MORNING)
        self.assertEqual(self.reminders(customer).state, "sent")

    def test_customer_known_only_by_country_must_be_open_in_all_its_zones(self):
        customer = self._create_customer("Abarrotes Nacionales", tz=False)
        self.create_invoice(customer, due=TUESDAY - timedelta(days=1))
        # 14:30 UTC: open in Mexico City (08:30) but not yet in Tijuana (06:30),
        # which opens last among Mexico's zones in November.
        self.plan_and_dispatch_at(datetime(2026, 11, 24, 14, 30))
        reminder = self.reminders(customer)
        self.assertEqual(reminder.state, "deferred")
        self.assertEqual(reminder.scheduled_at, OPENING_TIJUANA)

    def test_customer_without_any_zone_follows_the_company_zone(self):
        customer = self._create_customer("Sin Datos", tz=False, country_id=False)
        self.create_invoice(customer, due=TUESDAY - timedelta(days=1))
        # Wednesday 06:30 UTC is 07:30 in Madrid: the window opens at 07:00 UTC.
        self.plan_and_dispatch_at(datetime(2026, 11, 25, 6, 30))
        reminder = self.reminders(customer)
        self.assertEqual(reminder.state, "deferred")
        self.assertEqual(reminder.scheduled_at, datetime(2026, 11, 25, 7, 0))

    def test_gate_and_the_collectors_wizards_read_one_window(self):
        """The call log and the WhatsApp composer warn from the zones the gate
        defers by: the company's for a customer without any zone (they used
        to say nothing, or count in UTC)."""
        customer = self._create_customer("Sin Datos", tz=False, country_id=False)
        invoice = self.create_invoice(customer, due=TUESDAY - timedelta(days=1))
        window, zones = customer._dunning_contact_window(
            self.policy, company=self.company
        )
        self.assertEqual(zones, ("Europe/Madrid",))
        self.plan_on(TUESDAY)
        # 06:30 UTC: 07:30 in Madrid, closed; 00:30 in Mexico City.
        with freeze_time(datetime(2026, 11, 25, 6, 30)):
            self.dispatch()
            self.assertEqual(self.reminders(customer).state, "deferred")
            log = (
                self.env["dunning.interaction.log"]
                .with_context(default_partner_id=customer.id)
                .new({"partner_id": customer.id})
            )
            self.assertIn("Europe/Madrid", log.window_warning)
            compose = self.env["dunning.whatsapp.compose"].new({"move_id": invoice.id})
            self.assertFalse(compose._in_contact_hours(customer, datetime.now()))
        # 09:00 UTC: 10:00 in Madrid, open for all three.
        with freeze_time(datetime(2026, 11, 25, 9, 0)):
            log = self.env["dunning.interaction.log"].new({"partner_id": customer.id})
            self.assertFalse(log.window_warning)
            compose = self.env["dunning.whatsapp.compose"].new({"move_id": invoice.id})
            self.assertTrue(compose._in_contact_hours(customer, datetime.now()))

    def test_saturday_is_deferred_to_monday_morning(self):
        saturday = date(2026, 11, 28)
        # Saturday noon in Mexico City.
        self.plan_and_dispatch_at(datetime(2026, 11, 28, 18, 0), day=saturday)
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.state, "deferred")
        self.assertEqual(reminder.scheduled_at, datetime(2026, 11, 30, 14, 0))
        self.assertTrue(self.dispatch_trigger_at(datetime(2026, 11, 30, 14, 0)))

    def test_mexican_holiday_is_deferred_to_the_next_working_day(self):
        # Monday 2026-11-16 is Revolution Day in Mexico.
        revolution_day = date(2026, 11, 16)
        self.create_invoice(due=revolution_day - timedelta(days=1))
        self.plan_and_dispatch_at(datetime(2026, 11, 16, 18, 0), day=revolution_day)
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.state, "deferred")
        # Tuesday 17th, 08:00 in Mexico City.
        self.assertEqual(reminder.scheduled_at, datetime(2026, 11, 17, 14, 0))

    def test_mexican_holiday_of_2028_is_deferred(self):
        # Monday 2028-11-20 is Revolution Day (third Monday of November): computed,
        # not listed in any shipped data.
        revolution_day = date(2028, 11, 20)
        customer = self._create_customer("Abarrotes La Esperanza")
        self.create_invoice(customer, due=revolution_day - timedelta(days=1))
        self.plan_and_dispatch_at(datetime(2028, 11, 20, 18, 0), day=revolution_day)
        reminder = self.reminders(customer)
        self.assertEqual(reminder.state, "deferred")
        self.assertFalse(self.mails(customer))
        # Tuesday 21st, 08:00 in Mexico City.
        self.assertEqual(reminder.scheduled_at, datetime(2028, 11, 21, 14, 0))

    def test_transmission_of_power_2030_is_deferred(self):
        # Tuesday 2030-10-01: the federal executive is handed over (every six
        # years since 2024).
        inauguration = date(2030, 10, 1)
        customer = self._create_customer("Abarrotes La Esperanza")
        self.create_invoice(customer, due=inauguration - timedelta(days=1))
        self.plan_and_dispatch_at(datetime(2030, 10, 1, 18, 0), day=inauguration)
        reminder = self.reminders(customer)
        self.assertEqual(reminder.state, "deferred")
        self.assertEqual(reminder.scheduled_at, datetime(2030, 10, 2, 14, 0))

    def test_opening_after_a_dst_change_uses_the_new_offset(self):
        # Tijuana moves to summer time (UTC-7) on Sunday 2027-03-14, and Monday
        # 2027-03-15 is a Mexican holiday: Saturday's reminder waits for Tuesday
        # 08:00 PDT, 15:00 UTC (16:00 UTC with the winter offset).
        saturday = date(2027, 3, 13)
        self.create_invoice(self.customer_tijuana, due=saturday - timedelta(days=1))
        self.plan_and_dispatch_at(datetime(2027, 3, 13, 18, 0), day=saturday)
        reminder = self.reminders(self.customer_tijuana)
        self.assertEqual(reminder.state, "deferred")
        self.assertEqual(reminder.scheduled_at, datetime(2027, 3, 16, 15, 0))

    def test_mexican_holiday_does_not_hold_back_a_customer_in_spain(self):
        revolution_day = date(2026, 11, 16)
        spanish = self._create_customer(
            "Distribuciones Iberia", tz="Europe/Madrid", country=self.spain
        )
        self.create_invoice(spanish, due=revolution_day - timedelta(days=1))
        # 18:00 UTC is 19:00 in Madrid.
        self.plan_and_dispatch_at(datetime(2026, 11, 16, 18, 0), day=revolution_day)
        self.assertEqual(self.reminders(spanish).state, "sent")
