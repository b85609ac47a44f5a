"""The policy's caps on contacts per customer: every channel, every collector."""

from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .collect_common import CollectCommon
from .common import TUESDAY, TUESDAY_NOON_MX

# Tuesday 2026-11-24 18:00 UTC: 12:00 in Mexico City (UTC-6).
NOW = datetime(2026, 11, 24, 18, 0)
# Wednesday 08:00 in Mexico City: the next opening after the day's cap.
WEDNESDAY_OPENING = datetime(2026, 11, 25, 14, 0)


@tagged("post_install", "-at_install")
class TestContactCaps(CollectCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls.create_invoice(due=TUESDAY - timedelta(days=1))
        # The caps alone decide here, not the days between two reminders of
        # the planner.
        cls.policy.min_days_between_reminders = 0

    def past_contact(self, when, channel="email", partner=None):
        """A reminder that reached ``partner`` at ``when``."""
        return (
            self.env["dunning.reminder"]
            .sudo()
            .create(
                {
                    "partner_id": (partner or self.customer).id,
                    "level_id": self.levels[0].id,
                    "channel": channel,
                    "currency_id": self.company.currency_id.id,
                    "state": "sent",
                    "scheduled_at": when,
                    "claimed_at": when,
                    "sent_at": when,
                    "origin": "manual",
                }
            )
        )

    def planned_reminder(self):
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            self._as_cron()._cron_dispatch()
        return self.reminders(self.customer, origin="plan")

    def test_second_contact_of_the_day_waits_for_tomorrows_window(self):
        self.policy.max_contacts_per_day = 1
        self.past_contact(NOW - timedelta(hours=2))
        reminder = self.planned_reminder()
        self.assertEqual(reminder.state, "deferred")
        self.assertEqual(reminder.scheduled_at, WEDNESDAY_OPENING)
        self.assertIn("cap per day", reminder.error_message)
        self.assertFalse(self.mails(self.customer))
        # Tomorrow it goes.
        with freeze_time(WEDNESDAY_OPENING):
            self.dispatch()
        self.assertEqual(reminder.state, "sent")

    def test_yesterdays_contact_does_not_count_for_today(self):
        self.policy.max_contacts_per_day = 1
        # Monday 19:00 in Mexico City: another day there, though the same UTC
        # day would say otherwise at 01:00 UTC.
        self.past_contact(datetime(2026, 11, 24, 1, 0))
        reminder = self.planned_reminder()
        self.assertEqual(reminder.state, "sending", reminder.error_message)

    def test_a_logged_call_counts_as_a_contact(self):
        self.policy.max_contacts_per_day = 1
        self.env["dunning.interaction"].sudo().create(
            {
                "partner_id": self.customer.id,
                "user_id": self.collector.id,
                "date": NOW - timedelta(hours=1),
                "channel": "call",
                "outcome_id": self.outcomes["no_answer"].id,
            }
        )
        reminder = self.planned_reminder()
        self.assertEqual(reminder.state, "deferred")
        self.assertEqual(reminder.scheduled_at, WEDNESDAY_OPENING)

    def test_a_collectors_whatsapp_chat_counts_as_a_contact(self):
        self.policy.max_contacts_per_day = 1
        account = (
            self.env["dunning.whatsapp.account"]
            .sudo()
            .create(
                {
                    "name": "Cobranza",
                    "company_id": self.company.id,
                    "phone_number_id": "106540352242922",
                    "api_base_url": "https://graph.facebook.com",
                }
            )
        )
        self.env["dunning.whatsapp.message"].sudo().create(
            {
                "direction": "out",
                "state": "delivered",
                "account_id": account.id,
                "partner_id": self.customer.id,
                "user_id": self.collector.id,
                "body": "Buenos días, ¿pudo revisar la factura?",
                "sent_at": NOW - timedelta(minutes=30),
            }
        )
        self.assertEqual(self.planned_reminder().state, "deferred")

    def test_week_cap_waits_until_the_oldest_contact_is_seven_days_old(self):
        self.policy.max_contacts_per_week = 2
        oldest = datetime(2026, 11, 19, 16, 0)  # last Thursday, 10:00 local
        self.past_contact(oldest)
        self.past_contact(datetime(2026, 11, 23, 16, 0))
        reminder = self.planned_reminder()
        self.assertEqual(reminder.state, "deferred")
        # Thursday 10:00 local: inside the window, exactly 7 days later.
        self.assertEqual(reminder.scheduled_at, oldest + timedelta(days=7))
        self.assertIn("last 7 days", reminder.error_message)

    def test_contacts_older_than_a_week_do_not_count(self):
        self.policy.max_contacts_per_week = 1
        self.past_contact(NOW - timedelta(days=8))
        reminder = self.planned_reminder()
        self.assertEqual(reminder.state, "sending", reminder.error_message)

    def test_caps_are_per_customer(self):
        self.policy.max_contacts_per_day = 1
        self.past_contact(NOW - timedelta(hours=2), partner=self.customer_tijuana)
        reminder = self.planned_reminder()
        self.assertEqual(reminder.state, "sending", reminder.error_message)

    def test_a_second_message_of_the_same_batch_is_held_by_the_cap(self):
        # One reminder per currency: two emails to the same customer in one
        # dispatch batch, of which only the first goes today.
        self.policy.max_contacts_per_day = 1
        mxn = self.setup_other_currency("MXN")
        self.create_invoice(due=TUESDAY - timedelta(days=1), currency=mxn)
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            self._as_cron()._cron_dispatch()
        reminders = self.reminders(self.customer, origin="plan")
        self.assertEqual(len(reminders), 2)
        self.assertEqual(sorted(reminders.mapped("state")), ["deferred", "sending"])

    def test_manual_send_obeys_the_caps_too(self):
        self.policy.max_contacts_per_day = 1
        self.past_contact(NOW - timedelta(hours=2))
        with freeze_time(TUESDAY_NOON_MX):
            form = Form(
                self.env["dunning.reminder.send"]
                .with_user(self.collector)
                .with_context(active_model="account.move", active_ids=self.invoice.ids)
            )
            form.save().action_send()
            self.dispatch()
        reminder = self.reminders(self.customer, origin="manual")[-1]
        self.assertEqual(reminder.state, "deferred")
        self.assertIn("cap per day", reminder.error_message)

    def test_no_cap_by_default_in_a_custom_policy(self):
        self.past_contact(NOW - timedelta(hours=2))
        self.past_contact(NOW - timedelta(hours=1))
        reminder = self.planned_reminder()
        self.assertEqual(reminder.state, "sending", reminder.error_message)

    def test_compliance_profiles_preset_the_caps(self):
        form = Form(self.policy)
        form.compliance_profile = "us_reg_f"
        self.assertEqual(form.max_contacts_per_week, 7)
        self.assertEqual(form.max_contacts_per_day, 0)
        form.compliance_profile = "co_ley_2300"
        self.assertEqual(form.max_contacts_per_day, 1)
        form.compliance_profile = "cl_ley_21320"
        self.assertEqual(form.max_contacts_per_week, 2)

    def test_the_shipped_policy_allows_one_contact_a_day(self):
        default = self.env.ref("account_dunning.dunning_policy_default").sudo()
        self.assertEqual(default.max_contacts_per_day, 1)

    def test_a_cap_cannot_be_negative(self):
        with self.assertRaises(ValidationError):
            self.policy.max_contacts_per_day = -1
            self.policy.flush_recordset()

    def test_deferral_is_visible_with_its_reason_and_time(self):
        self.policy.max_contacts_per_day = 1
        self.past_contact(NOW - timedelta(hours=2))
        reminder = self.planned_reminder()
        self.assertEqual(reminder.deferral_count, 1)
        self.assertGreater(reminder.scheduled_at, fields.Datetime.to_datetime(NOW))
