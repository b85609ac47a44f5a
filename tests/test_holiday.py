from datetime import date
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tools.translate import code_translations

from .common import DunningCommon

REVOLUTION_DAY_2028 = date(2028, 11, 20)


@tagged("post_install", "-at_install")
class TestHoliday(DunningCommon):
    """Statutory days computed for any year, switched off or added by users."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Holiday = cls.env["dunning.holiday"]
        cls.Holiday._generate_statutory(years=[2028])

    def holidays_of(self, policy, around=REVOLUTION_DAY_2028, country=None):
        return policy._get_contact_window(country or self.mexico, around).holidays

    def statutory_row(self, code, day, country=None):
        return self.Holiday.with_context(active_test=False).search(
            [
                ("country_id", "=", (country or self.mexico).id),
                ("rule_code", "=", code),
                ("date", "=", day),
            ]
        )

    def test_statutory_days_are_computed_without_rows(self):
        # 2031 was never listed: the window computes its days all the same.
        self.assertFalse(self.Holiday.search([("date", ">=", date(2031, 1, 1))]))
        self.assertIn(date(2031, 2, 3), self.holidays_of(self.policy, date(2031, 2, 1)))

    def test_other_countries_have_their_days(self):
        colombia = self.env.ref("base.co")
        # Monday 2028-01-10: Epiphany (Thursday 6th) moved by the Ley Emiliani.
        self.assertIn(
            date(2028, 1, 10),
            self.holidays_of(self.policy, date(2028, 1, 5), colombia),
        )

    def test_listed_rows_are_named_and_marked_statutory(self):
        row = self.statutory_row("mx_revolution", REVOLUTION_DAY_2028)
        self.assertEqual(row.name, "Revolution Day")
        self.assertEqual(row.origin, "statutory")

    def test_listed_rows_are_named_in_each_installed_language(self):
        self.env["res.lang"]._activate_lang("es_MX")
        spanish = {"Revolution Day": "Día de la Revolución"}
        with patch.object(
            code_translations, "get_python_translations", return_value=spanish
        ):
            self.Holiday._generate_statutory(years=[2029])
        row = self.statutory_row("mx_revolution", date(2029, 11, 19))
        self.assertEqual(row.with_context(lang="es_MX").name, "Día de la Revolución")
        self.assertEqual(row.with_context(lang="en_US").name, "Revolution Day")

    def test_switched_off_day_allows_contact(self):
        self.statutory_row("mx_revolution", REVOLUTION_DAY_2028).active = False
        self.assertNotIn(REVOLUTION_DAY_2028, self.holidays_of(self.policy))

    def test_generation_keeps_a_switched_off_day_off(self):
        row = self.statutory_row("mx_revolution", REVOLUTION_DAY_2028)
        row.active = False
        self.assertFalse(self.Holiday._generate_statutory(years=[2028]))
        self.assertEqual(self.statutory_row("mx_revolution", REVOLUTION_DAY_2028), row)
        self.assertFalse(row.active)

    def test_generation_takes_over_a_fixed_row(self):
        # The fixed rows shipped before (no rule) become the statutory rows.
        fixed = self.Holiday.create(
            {
                "name": "Día de la Constitución",
                "date": date(2029, 2, 5),
                "country_id": self.mexico.id,
            }
        )
        created = self.Holiday._generate_statutory(years=[2029])
        self.assertEqual(fixed.rule_code, "mx_constitution")
        self.assertEqual(fixed.name, "Día de la Constitución")
        self.assertNotIn(date(2029, 2, 5), created.mapped("date"))

    def test_company_closure_holds_back_only_that_company(self):
        closure = date(2028, 11, 22)
        self.Holiday.create(
            {
                "name": "Inventory",
                "date": closure,
                "country_id": self.mexico.id,
                "company_id": self.company.id,
            }
        )
        other_company = self.setup_other_company(name="Acme Monterrey")["company"]
        other_policy = self._create_policy(other_company)
        self.assertIn(closure, self.holidays_of(self.policy))
        self.assertNotIn(closure, self.holidays_of(other_policy))

    def test_added_day_is_skipped(self):
        local = date(2028, 11, 23)
        self.Holiday.create(
            {"name": "Fiesta local", "date": local, "country_id": self.mexico.id}
        )
        self.assertIn(local, self.holidays_of(self.policy))

    def test_policy_without_holidays_ignores_them(self):
        self.policy.skip_holidays = False
        self.assertFalse(self.holidays_of(self.policy))

    def test_statutory_day_cannot_be_deleted(self):
        with self.assertRaises(UserError):
            self.statutory_row("mx_revolution", REVOLUTION_DAY_2028).unlink()

    def test_company_closure_is_hidden_from_other_companies(self):
        self.Holiday.create(
            {
                "name": "Inventory",
                "date": date(2028, 11, 22),
                "country_id": self.mexico.id,
                "company_id": self.company.id,
            }
        )
        other_company = self.setup_other_company(name="Acme Monterrey")["company"]
        manager = new_test_user(
            self.env,
            login="holiday_manager_other",
            groups="account_dunning.group_dunning_manager",
            company_id=other_company.id,
            company_ids=[Command.set(other_company.ids)],
        )
        visible = self.Holiday.with_user(manager).search(
            [("date", "=", date(2028, 11, 22))]
        )
        self.assertFalse(visible)
