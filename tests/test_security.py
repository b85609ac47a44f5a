from datetime import timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon

OTHER_LADDER = (
    (-10, "email", "account_dunning.mail_template_dunning_preventive"),
    (5, "email", "account_dunning.mail_template_dunning_friendly"),
)


class DunningTwoCompanies(DunningCommon):
    """A second company with a ladder of its own, and one customer of both."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Creating a company reads the shipped default policy as the current user
        # (see test_company_created_by_a_user_outside_the_main_company_...): keep
        # that bug out of every other test of the class.
        cls.env.user.company_ids |= cls.env.ref("base.main_company")
        cls.company_2 = cls.setup_other_company(name="Acme Monterrey")["company"]
        cls.policy_2 = cls._create_policy(cls.company_2, ladder=OTHER_LADDER)
        cls.company_2.dunning_policy_id = cls.policy_2
        # Six days late: +1 in the first company, +5 in the second.
        due = TUESDAY - timedelta(days=6)
        cls.invoice_1 = cls.create_invoice(due=due)
        cls.invoice_2 = cls.create_invoice(due=due, company=cls.company_2)


@tagged("post_install", "-at_install")
class TestMultiCompany(DunningTwoCompanies):
    def test_each_company_plans_with_its_own_policy(self):
        self.plan_on(TUESDAY)
        self.assertEqual(self.invoice_1.dunning_level_id, self.levels[1])
        self.assertEqual(self.invoice_2.dunning_level_id.policy_id, self.policy_2)
        self.assertEqual(self.invoice_2.dunning_level_id.offset_days, 5)

    def test_reminders_carry_the_company_of_their_invoices(self):
        self.plan_on(TUESDAY)
        reminders = self.reminders(self.customer)
        self.assertEqual(len(reminders), 2)
        for reminder in reminders:
            with self.subTest(company=reminder.company_id.name):
                self.assertEqual(reminder.move_ids.company_id, reminder.company_id)
                self.assertEqual(reminder.policy_id.company_id, reminder.company_id)
                self.assertEqual(reminder.line_ids.company_id, reminder.company_id)
        self.assertEqual(reminders.company_id, self.company | self.company_2)

    def test_plan_cron_plans_every_company(self):
        cron = self.env.ref("account_dunning.ir_cron_dunning_plan").sudo()
        with freeze_time(TUESDAY_NOON_MX):
            cron.method_direct_trigger()
        self.assertEqual(self.invoice_1.dunning_level_id, self.levels[1])
        self.assertEqual(self.invoice_2.dunning_level_id.policy_id, self.policy_2)

    def test_dispatch_cron_sends_for_every_company(self):
        cron = self.env.ref("account_dunning.ir_cron_dunning_dispatch").sudo()
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            cron.method_direct_trigger()
            self.run_mail_queue()
        reminders = self.reminders(self.customer)
        self.assertEqual(reminders.company_id, self.company | self.company_2)
        self.assertEqual(set(reminders.mapped("state")), {"sent"})

    def test_partner_policy_applies_in_its_company_only(self):
        special = self._create_policy(
            self.company_2,
            ladder=((3, "email", "account_dunning.mail_template_dunning_firm"),),
            name="Special",
        )
        self.customer.with_company(self.company_2).dunning_policy_id = special
        self.plan_on(TUESDAY)
        self.assertEqual(self.invoice_2.dunning_level_id, special.level_ids)
        self.assertEqual(self.invoice_1.dunning_level_id, self.levels[1])

    def test_new_company_gets_its_own_copy_of_the_default_policy(self):
        company = self.env["res.company"].sudo().create({"name": "Acme Guadalajara"})
        policy = company.dunning_policy_id
        self.assertEqual(policy.company_id, company)
        default = self.env.ref("account_dunning.dunning_policy_default")
        self.assertNotEqual(policy, default)
        self.assertEqual(
            policy.level_ids.mapped("offset_days"),
            default.level_ids.mapped("offset_days"),
        )

    def test_new_company_policy_leaves_out_another_companys_whatsapp(self):
        default = self.env.ref("account_dunning.dunning_policy_default")
        account = self.env["dunning.whatsapp.account"].create(
            {
                "name": "Cobranza",
                "company_id": default.company_id.id,
                "phone_number_id": "106540352242922",
                "api_base_url": "http://127.0.0.1:9",
            }
        )
        template = self.env["dunning.whatsapp.template"].create(
            {
                "name": "recordatorio_pago_v1",
                "account_id": account.id,
                "body_text": "Su saldo vence pronto.",
            }
        )
        levels = {level.offset_days: level for level in default.level_ids}
        # WhatsApp only, with an email template to fall back on; WhatsApp only,
        # without; WhatsApp besides the email.
        whatsapp = {"channel_whatsapp": True, "whatsapp_template_id": template.id}
        levels[0].write({**whatsapp, "channel_email": False})
        levels[-3].write(
            {**whatsapp, "channel_email": False, "mail_template_id": False}
        )
        levels[30].write(whatsapp)
        default.write(
            {
                "promise_confirm_email": False,
                "promise_confirm_whatsapp": True,
                "promise_whatsapp_template_id": template.id,
                "thank_you_email": False,
                "thank_you_whatsapp": True,
                "thank_you_whatsapp_template_id": template.id,
            }
        )

        company = self.env["res.company"].create({"name": "Acme Guadalajara"})

        policy = company.dunning_policy_id
        self.assertEqual(policy.company_id, company)
        self.assertEqual(
            policy.level_ids.mapped("offset_days"),
            default.level_ids.mapped("offset_days"),
        )
        for record in [policy, *policy.level_ids]:
            for name, field in record._fields.items():
                if (
                    field.type not in ("many2one", "many2many")
                    or field.automatic
                    or name == "company_id"
                ):
                    continue
                if "company_id" not in self.env[field.comodel_name]._fields:
                    continue
                with self.subTest(record=record.display_name, field=name):
                    self.assertFalse(
                        record[name].filtered(
                            lambda r: r.company_id and r.company_id != company
                        )
                    )
        copies = {level.offset_days: level for level in policy.level_ids}
        self.assertFalse(any(policy.level_ids.mapped("channel_whatsapp")))
        self.assertEqual(copies[0]._get_channels(), ["email"])
        self.assertEqual(copies[-3]._get_channels(), ["activity"])
        self.assertEqual(copies[30]._get_channels(), ["email"])
        # The written confirmation and the thank-you go by email instead.
        self.assertFalse(policy.promise_confirm_whatsapp)
        self.assertTrue(policy.promise_confirm_email)
        self.assertFalse(policy.thank_you_whatsapp)
        self.assertTrue(policy.thank_you_email)
        # The default policy keeps its own.
        self.assertEqual(levels[0].whatsapp_template_id, template)
        self.assertEqual(default.promise_whatsapp_template_id, template)

    def test_company_created_by_a_user_outside_the_main_company_gets_a_policy(self):
        administrator = new_test_user(
            self.env,
            login="company_creator",
            groups="base.group_erp_manager,base.group_partner_manager,account.group_account_manager",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        company = (
            self.env["res.company"]
            .with_user(administrator)
            .create({"name": "Acme Puebla"})
        )
        self.assertEqual(company.sudo().dunning_policy_id.company_id, company)


@tagged("post_install", "-at_install")
class TestAccessRights(DunningTwoCompanies):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.collector = new_test_user(
            cls.env,
            login="collector",
            groups="account_dunning.group_dunning_collector",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.accountant_manager = new_test_user(
            cls.env,
            login="chief_accountant",
            groups="account.group_account_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    def planned_reminders(self):
        self.plan_on(TUESDAY)
        reminders = self.reminders(self.customer)
        return (
            reminders.filtered(lambda r: r.company_id == self.company),
            reminders.filtered(lambda r: r.company_id == self.company_2),
        )

    def test_collector_reads_the_policy(self):
        policy = self.policy.with_user(self.collector)
        self.assertEqual(policy.min_days_between_reminders, 3)
        self.assertEqual(len(policy.level_ids), 6)

    def test_collector_cannot_change_a_policy(self):
        with self.assertRaises(AccessError):
            self.policy.with_user(self.collector).write(
                {"min_days_between_reminders": 0}
            )

    def test_collector_cannot_create_a_policy(self):
        with self.assertRaises(AccessError):
            self.env["dunning.policy"].with_user(self.collector).create(
                {"name": "Lenient", "company_id": self.company.id}
            )

    def test_collector_cannot_change_a_level(self):
        with self.assertRaises(AccessError):
            self.levels[1].with_user(self.collector).write({"offset_days": 60})

    def test_collector_cannot_create_a_level(self):
        with self.assertRaises(AccessError):
            self.env["dunning.level"].with_user(self.collector).create(
                {
                    "policy_id": self.policy.id,
                    "name": "Much later",
                    "offset_days": 90,
                    "channel_email": False,
                    "channel_activity": True,
                }
            )

    def test_collector_sees_only_the_reminders_of_their_company(self):
        own, foreign = self.planned_reminders()
        self.assertTrue(own and foreign)
        visible = self.env["dunning.reminder"].with_user(self.collector).search([])
        self.assertEqual(visible, own)

    def test_collector_cannot_open_a_reminder_of_another_company(self):
        _own, foreign = self.planned_reminders()
        with self.assertRaises(AccessError):
            foreign.with_user(self.collector).read(["state", "amount_due"])

    def test_collector_sees_only_the_decisions_of_their_company(self):
        own, _foreign = self.planned_reminders()
        visible = self.env["dunning.reminder.line"].with_user(self.collector).search([])
        self.assertEqual(visible, own.line_ids)

    def test_collector_cannot_delete_a_reminder(self):
        own, _foreign = self.planned_reminders()
        with self.assertRaises(AccessError):
            own.with_user(self.collector).unlink()

    def test_accounting_manager_is_a_collection_manager(self):
        self.assertTrue(
            self.accountant_manager.has_group("account_dunning.group_dunning_manager")
        )
        self.policy.with_user(self.accountant_manager).write(
            {"min_days_between_reminders": 5}
        )
        self.assertEqual(self.policy.min_days_between_reminders, 5)

    def test_collection_manager_is_a_collector(self):
        manager = new_test_user(
            self.env,
            login="collection_manager",
            groups="account_dunning.group_dunning_manager",
        )
        self.assertTrue(manager.has_group("account_dunning.group_dunning_collector"))
        self.assertFalse(
            self.collector.has_group("account_dunning.group_dunning_manager")
        )

    def test_sent_reminder_cannot_be_deleted(self):
        own, _foreign = self.planned_reminders()
        own.write({"state": "sent"})
        with self.assertRaises(UserError):
            own.with_user(self.accountant_manager).unlink()
