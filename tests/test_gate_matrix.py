"""The contact gate, for every kind of message on every channel that carries
it: the contact window and the caps (this file); the hold, reachability and
the cells no channel carries (test_gate_matrix_reach.py).

Table-driven: one subTest per kind x channel, each on a customer of its own.
"""

from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.tests import tagged

from .gate_matrix_common import (
    DEBTOR_CELLS,
    EARLY,
    NOON,
    OPENING,
    WEDNESDAY_OPENING,
    GateMatrixCommon,
)


@tagged("post_install", "-at_install")
class TestGateMatrixWindow(GateMatrixCommon):
    """Outside the debtor's contact hours nothing goes: deferred to the exact
    opening in the debtor's zone, with a dispatch trigger at that time."""

    def test_outside_the_window_deferred_to_the_opening(self):
        for kind, channel in DEBTOR_CELLS:
            with self.subTest(kind=kind, channel=channel):
                self.clear_triggers()
                partner = self.debtor(f"window {kind} {channel}")
                with freeze_time(EARLY):
                    row = self.queue(kind, channel, partner)
                    self.dispatch()
                self.assertHeld(row)
                # 08:00 in America/Mexico_City is 14:00 UTC.
                self.assertEqual(row.scheduled_at, OPENING)
                self.assertIn("Outside the contact window", row.error_message)
                self.assertIn("America/Mexico_City", row.error_message)
                self.assertTrue(self.dispatch_trigger_at(OPENING))
                # Still held a minute before the opening; gone at the opening.
                self.dispatch_at(OPENING - timedelta(minutes=1))
                self.assertHeld(row)
                self.dispatch_at(OPENING)
                self.assertGone(row)

    def test_the_opening_is_the_debtors_not_the_companys(self):
        # Tijuana opens at 08:00 local, 16:00 UTC; the company sits in Madrid.
        for kind, channel in DEBTOR_CELLS:
            with self.subTest(kind=kind, channel=channel):
                partner = self.debtor(f"tijuana {kind} {channel}")
                partner.tz = "America/Tijuana"
                with freeze_time(EARLY):
                    row = self.queue(kind, channel, partner)
                    self.dispatch()
                self.assertHeld(row)
                self.assertEqual(row.scheduled_at, datetime(2026, 11, 24, 16, 0))

    def test_a_collector_activity_is_not_held_by_the_debtors_hours(self):
        # Not applicable: the activity reaches the collector, not the debtor.
        partner = self.debtor("window activity")
        with freeze_time(EARLY):
            row = self.queue("reminder", "activity", partner)
            self.dispatch()
        self.assertGone(row)
        self.assertFalse(row.deferral_count)


@tagged("post_install", "-at_install")
class TestGateMatrixAskedByDebtor(GateMatrixCommon):
    """The exception: what the debtor just asked for goes at once, outside the
    contact hours and over the caps; reachability still applies."""

    def test_a_promise_entered_on_the_customer_page_is_confirmed_at_once(self):
        for channel in ("email", "whatsapp"):
            with self.subTest(channel=channel):
                partner = self.debtor(f"asked {channel}")
                with freeze_time(EARLY):
                    row = self.queue(
                        "promise_confirmation", channel, partner, asked=True
                    )
                    self.assertTrue(row.asked_by_debtor)
                    self.dispatch()
                self.assertGone(row)
                self.assertFalse(row.deferral_count)

    def test_a_chat_reply_inside_the_24_hour_window_goes_at_once(self):
        partner = self.debtor("asked chat")
        partner.whatsapp_last_inbound_at = EARLY - timedelta(hours=1)
        with freeze_time(EARLY):
            row = self.queue("chat", "whatsapp", partner, body="Claro, le reenvío.")
            self.assertTrue(row.asked_by_debtor)
            self.dispatch()
        self.assertGone(row)
        [request] = self.handed(row)
        self.assertEqual(request["json"]["text"]["body"], "Claro, le reenvío.")

    def test_what_the_debtor_asked_for_is_not_held_by_the_caps(self):
        self.wa_policy.max_contacts_per_day = 1
        for kind, channel, values in (
            ("promise_confirmation", "email", {"asked": True}),
            ("promise_confirmation", "whatsapp", {"asked": True}),
            ("chat", "whatsapp", {"body": "Con gusto."}),
        ):
            with self.subTest(kind=kind, channel=channel):
                partner = self.debtor(f"asked capped {kind} {channel}")
                partner.whatsapp_last_inbound_at = NOON - timedelta(hours=1)
                self.past_contact(partner, NOON - timedelta(hours=2))
                with freeze_time(NOON):
                    row = self.queue(kind, channel, partner, **values)
                    self.dispatch()
                self.assertGone(row)

    def test_an_opted_out_debtor_who_asked_gets_the_fallback_at_once(self):
        partner = self.debtor("asked opted out")
        partner._whatsapp_set_opt_out("BAJA", EARLY - timedelta(days=1))
        with freeze_time(EARLY):
            row = self.queue("promise_confirmation", "whatsapp", partner, asked=True)
            self.dispatch()
        self.assertEqual(row.state, "failed")
        self.assertIn("opted out", row.error_message)
        fallback = row.fallback_ids
        self.assertEqual(fallback.channel, "email")
        self.assertTrue(fallback.asked_by_debtor)
        self.assertGone(fallback)


@tagged("post_install", "-at_install")
class TestGateMatrixCaps(GateMatrixCommon):
    """A debtor contacted up to the policy's cap is not contacted again before
    the cap allows it: deferred, the reason naming the cap."""

    def test_the_days_cap_defers_to_the_next_days_opening(self):
        self.wa_policy.max_contacts_per_day = 1
        for kind, channel in DEBTOR_CELLS:
            with self.subTest(kind=kind, channel=channel):
                self.clear_triggers()
                partner = self.debtor(f"day cap {kind} {channel}")
                self.past_contact(partner, NOON - timedelta(hours=2))
                with freeze_time(NOON):
                    row = self.queue(kind, channel, partner)
                    self.dispatch()
                self.assertHeld(row)
                self.assertEqual(row.scheduled_at, WEDNESDAY_OPENING)
                self.assertIn("Deferred by the contact caps", row.error_message)
                self.assertIn("cap per day", row.error_message)
                self.assertTrue(self.dispatch_trigger_at(WEDNESDAY_OPENING))
                self.dispatch_at(WEDNESDAY_OPENING)
                self.assertGone(row)

    def test_the_weeks_cap_defers_until_the_oldest_contact_is_a_week_old(self):
        self.wa_policy.max_contacts_per_week = 2
        # Last Thursday 10:00 in Mexico City: Thursday 10:00 next is inside
        # the window, exactly seven days later.
        oldest = datetime(2026, 11, 19, 16, 0)
        for kind, channel in DEBTOR_CELLS:
            with self.subTest(kind=kind, channel=channel):
                partner = self.debtor(f"week cap {kind} {channel}")
                self.past_contact(partner, oldest)
                self.past_contact(partner, datetime(2026, 11, 23, 16, 0))
                with freeze_time(NOON):
                    row = self.queue(kind, channel, partner)
                    self.dispatch()
                self.assertHeld(row)
                self.assertEqual(row.scheduled_at, oldest + timedelta(days=7))
                self.assertIn("last 7 days", row.error_message)

    def test_every_kind_counts_towards_the_cap_of_the_next(self):
        # What the gate let through is a contact: the next message of another
        # kind to the same debtor, the same day, waits for tomorrow.
        self.wa_policy.max_contacts_per_day = 1
        for kind, channel in DEBTOR_CELLS:
            with self.subTest(kind=kind, channel=channel):
                partner = self.debtor(f"counts {kind} {channel}")
                with freeze_time(NOON):
                    first = self.queue(kind, channel, partner)
                    self.dispatch()
                self.assertGone(first)
                with freeze_time(NOON + timedelta(minutes=5)):
                    second = self.queue("reminder", "email", partner)
                    self.dispatch()
                self.assertHeld(second)
                self.assertIn("cap per day", second.error_message)

    def test_a_collector_activity_is_neither_capped_nor_counted(self):
        # Not applicable: the activity reaches the collector, not the debtor.
        self.wa_policy.max_contacts_per_day = 1
        partner = self.debtor("cap activity")
        self.past_contact(partner, NOON - timedelta(hours=2))
        with freeze_time(NOON):
            row = self.queue("reminder", "activity", partner)
            self.dispatch()
        self.assertGone(row)
