"""What the back-office screens state is true: no balance summed over reminders,
no status a channel cannot report, no accusation before a promise falls due, no
"00:00 to 00:00" window."""

from lxml import etree

from odoo import Command
from odoo.tests import Form, tagged

from .common import TUESDAY, DunningCommon
from .test_promise import PromiseCommon, days


def _arch(env, model, view_type, xmlid=None):
    view_id = env.ref(xmlid).id if xmlid else None
    arch = env[model].get_views([(view_id, view_type)])["views"][view_type]["arch"]
    return etree.fromstring(arch)


@tagged("post_install", "-at_install")
class TestRemindersReport(DunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls.create_invoice(due=TUESDAY - days(10), amount=319840.0)
        cls.level = cls.levels[7]
        Reminder = cls.env["dunning.reminder"].sudo()
        # One customer reminded on two channels about the same balance.
        cls.reminders_of_customer = Reminder.create(
            [
                {
                    "partner_id": cls.customer.id,
                    "company_id": cls.company.id,
                    "level_id": cls.level.id,
                    "channel": channel,
                    "currency_id": cls.company.currency_id.id,
                    "amount_due": 319840.0,
                    "move_ids": [Command.set(cls.invoice.ids)],
                }
                for channel in ("email", "activity")
            ]
        )

    def test_balance_owed_is_never_added_up_over_reminders(self):
        Reminder = self.env["dunning.reminder"]
        self.assertFalse(
            Reminder.fields_get(["amount_due"], ["aggregator"])["amount_due"].get(
                "aggregator"
            ),
            "a balance at one moment cannot be summed over the reminders that "
            "quoted it",
        )
        pivot = _arch(self.env, "dunning.reminder", "pivot")
        measures = [
            f.get("name") for f in pivot.iter("field") if f.get("type") == "measure"
        ]
        self.assertNotIn("amount_due", measures)
        self.assertIn("partner_id", measures)
        listed = _arch(self.env, "dunning.reminder", "list")
        (amount,) = listed.xpath("//field[@name='amount_due']")
        self.assertFalse(amount.get("sum"), "the list must not total balances either")

    def test_pivot_counts_a_customer_reminded_twice_once(self):
        groups = (
            self.env["dunning.reminder"]
            .sudo()
            .read_group(
                [("id", "in", self.reminders_of_customer.ids)],
                ["partner_id:count_distinct"],
                ["level_id"],
            )
        )
        self.assertEqual(groups[0]["level_id_count"], 2)
        self.assertEqual(groups[0]["partner_id"], 1)

    def test_status_bar_offers_only_what_the_channel_reports(self):
        by_channel = {r.channel: r for r in self.reminders_of_customer}
        email = by_channel["email"]
        self.assertFalse(email.channel_reports_delivery)
        self.assertFalse(email.channel_reports_read)
        email.channel = "whatsapp"
        self.assertTrue(email.channel_reports_delivery)
        self.assertTrue(email.channel_reports_read)
        email.channel = "sms"
        self.assertTrue(email.channel_reports_delivery)
        self.assertFalse(email.channel_reports_read)
        form = _arch(self.env, "dunning.reminder", "form")
        bars = {
            bar.get("statusbar_visible"): bar.get("invisible")
            for bar in form.xpath("//header/field[@name='state']")
        }
        self.assertEqual(
            bars,
            {
                "queued,sent": "channel_reports_delivery",
                "queued,sent,delivered": "not channel_reports_delivery "
                "or channel_reports_read",
                "queued,sent,delivered,read": "not channel_reports_read",
            },
        )


@tagged("post_install", "-at_install")
class TestWhatsAppErrorCode(DunningCommon):
    def test_error_code_shown_as_a_code_and_only_when_there_is_one(self):
        for view_type in ("list", "form"):
            arch = _arch(self.env, "dunning.whatsapp.message", view_type)
            for field in arch.xpath("//field[@name='error_code']"):
                self.assertEqual(field.get("invisible"), "not error_code", view_type)
                self.assertIn("'enable_formatting': false", field.get("options"))


@tagged("post_install", "-at_install")
class TestPromiseRate(PromiseCommon):
    def test_only_an_open_promise_is_not_zero_percent_kept(self):
        self.promise()
        customer = self.customer.with_env(self.env)
        self.assertEqual(customer.dunning_promise_count, 1)
        self.assertEqual(customer.dunning_promise_settled_count, 0)
        form = _arch(self.env, "res.partner", "form")
        (rate,) = form.xpath(
            "//button[@name='action_dunning_view_promises']"
            "//field[@name='dunning_promise_kept_rate']/.."
        )
        self.assertEqual(rate.get("invisible"), "not dunning_promise_settled_count")

    def test_rate_once_a_promise_fell_due(self):
        self.promise(date=TUESDAY + days(1))
        self.check_on(TUESDAY + days(10))
        customer = self.customer.with_env(self.env)
        self.assertEqual(customer.dunning_promise_settled_count, 1)
        self.assertEqual(customer.dunning_promise_kept_rate, 0.0)


@tagged("post_install", "-at_install")
class TestSaturdayHours(DunningCommon):
    def test_saturday_hours_are_switched_not_shown_as_midnight(self):
        saturday = self.env.ref("account_dunning.dunning_weekday_sat")
        self.assertFalse(self.policy.contact_on_saturday)
        self.policy.contact_weekdays = [Command.link(saturday.id)]
        self.assertTrue(self.policy.contact_on_saturday)
        self.assertFalse(self.policy.contact_saturday_own_hours)

        with Form(self.policy) as form:
            form.contact_saturday_own_hours = True
            # Switched on: the weekday hours, ready to be shortened.
            self.assertEqual(form.contact_saturday_hour_from, 8.0)
            self.assertEqual(form.contact_saturday_hour_to, 20.0)
            form.contact_saturday_hour_to = 14.0
        self.assertEqual(
            (
                self.policy.contact_saturday_hour_from,
                self.policy.contact_saturday_hour_to,
            ),
            (8.0, 14.0),
        )
        self.assertTrue(self.policy.contact_saturday_own_hours)

        with Form(self.policy) as form:
            form.contact_saturday_own_hours = False
        self.assertEqual(
            (
                self.policy.contact_saturday_hour_from,
                self.policy.contact_saturday_hour_to,
            ),
            (0.0, 0.0),
        )
        self.policy.contact_saturday_own_hours = True
        self.policy.contact_saturday_own_hours = False
        self.assertEqual(self.policy.contact_saturday_hour_to, 0.0)
