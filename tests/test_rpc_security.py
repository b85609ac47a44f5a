"""What a collection manager or a collector can do over JSON-RPC, as an
intruder would try it: where the WhatsApp token goes, and the audit trail."""

from datetime import timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from .collect_common import CollectCommon
from .common import TUESDAY, TUESDAY_NOON_MX

TOKEN = "EAAG-secret-token"


class RpcCommon(CollectCommon, HttpCase):
    """The collect fixtures, a WhatsApp account and a system administrator;
    every user's password is their login (new_test_user)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin_user = new_test_user(
            cls.env,
            login="sysadmin",
            groups="base.group_system,account_dunning.group_dunning_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        # Exporting is a right of its own; with it, still no token.
        cls.manager.groups_id += cls.env.ref("base.group_allow_export")
        cls.account = cls.env["dunning.whatsapp.account"].create(
            {
                "name": "Cobranza",
                "company_id": cls.company.id,
                "phone_number_id": "106540352242922",
                "access_token": TOKEN,
                "app_secret": "app-secret",
                "verify_token": "verify",
                "api_base_url": "https://graph.facebook.com",
            }
        )

    def rpc(self, login, model, method, *args, **kwargs):
        """``model.method(*args, **kwargs)`` through /web/dataset/call_kw."""
        self.authenticate(login, login)
        with mute_logger("odoo.http"):
            return self.make_jsonrpc_request(
                "/web/dataset/call_kw",
                {
                    "model": model,
                    "method": method,
                    "args": list(args),
                    "kwargs": kwargs,
                },
            )

    def assertRpcRefused(self, login, model, method, *args, **kwargs):
        with self.assertRaises(JsonRpcException) as caught:
            self.rpc(login, model, method, *args, **kwargs)
        self.assertEqual(caught.exception.args[0], "odoo.exceptions.AccessError")


@tagged("post_install", "-at_install")
class TestWhatsAppConnectionSettings(RpcCommon):
    """Item: a manager must not be able to send the token to a server of theirs."""

    def test_manager_cannot_point_the_api_at_another_server_over_rpc(self):
        self.assertRpcRefused(
            "jefa",
            "dunning.whatsapp.account",
            "write",
            [self.account.id],
            {"api_base_url": "https://attacker.example.com"},
        )
        self.assertEqual(self.account.api_base_url, "https://graph.facebook.com")

    def test_manager_cannot_change_the_api_version_or_the_number_id(self):
        for values in (
            {"api_version": "v21.0/../../x"},
            {"api_version": "v22.0"},
            {"phone_number_id": "123"},
        ):
            with self.subTest(values=values), self.assertRaises(AccessError):
                self.account.with_user(self.manager).write(values)

    def test_manager_cannot_create_an_account_aimed_anywhere(self):
        self.assertRpcRefused(
            "jefa",
            "dunning.whatsapp.account",
            "create",
            {
                "name": "Mine",
                "phone_number_id": "999",
                "api_base_url": "https://attacker.example.com",
            },
        )

    def test_manager_cannot_read_the_token_through_any_route(self):
        for method, args, kwargs in (
            ("read", [[self.account.id], ["access_token"]], {}),
            ("search_read", [[("id", "=", self.account.id)], ["app_secret"]], {}),
            (
                "web_read",
                [[self.account.id]],
                {"specification": {"access_token": {}}},
            ),
            ("search", [[("access_token", "=like", "EAAG%")]], {}),
            ("read_group", [[], ["access_token"], ["access_token"]], {}),
            ("export_data", [[self.account.id], ["access_token"]], {}),
        ):
            with self.subTest(method=method):
                self.assertRpcRefused(
                    "jefa", "dunning.whatsapp.account", method, *args, **kwargs
                )

    def test_manager_still_manages_the_account_itself(self):
        self.rpc(
            "jefa",
            "dunning.whatsapp.account",
            "write",
            [self.account.id],
            {"name": "Cobranza norte", "rate_per_second": 10},
        )
        self.assertEqual(self.account.name, "Cobranza norte")
        self.assertEqual(self.account.rate_per_second, 10)

    def test_administrator_sets_the_connection(self):
        self.rpc(
            "sysadmin",
            "dunning.whatsapp.account",
            "write",
            [self.account.id],
            {"api_version": "v22.0", "api_base_url": "https://graph.example.net"},
        )
        self.assertEqual(self.account.api_base_url, "https://graph.example.net")

    def test_the_token_travels_over_https_only(self):
        account = self.account.with_user(self.admin_user)
        for url in (
            "http://graph.facebook.com",
            "ftp://graph.facebook.com",
            "https://user:pw@graph.facebook.com",
            "https://graph.facebook.com/proxy",
            "https://graph.facebook.com?x=1",
            "graph.facebook.com",
        ):
            with self.subTest(url=url), self.assertRaises(ValidationError):
                account.write({"api_base_url": url})
                account.flush_recordset()
        for url in ("https://graph.facebook.com/", "http://127.0.0.1:9069"):
            account.write({"api_base_url": url})
            account.flush_recordset()

    def test_api_version_and_number_id_are_plain_path_segments(self):
        account = self.account.with_user(self.admin_user)
        for values in (
            {"api_version": "v21.0/../me"},
            {"api_version": "latest"},
            {"phone_number_id": "1065/../messages"},
        ):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                account.write(values)
                account.flush_recordset()


@tagged("post_install", "-at_install")
class TestAuditTrailOverRpc(RpcCommon):
    """Item: the contact history is written by the engine only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls.create_invoice(due=TUESDAY - timedelta(days=1))

    def sent_reminder(self):
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            self.dispatch()
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.state, "sent")
        return reminder

    def test_collector_cannot_set_a_sent_reminder_back_to_queued(self):
        reminder = self.sent_reminder()
        mails_before = self.mails(self.customer)
        self.assertRpcRefused(
            "lucia",
            "dunning.reminder",
            "write",
            [reminder.id],
            {"state": "queued", "scheduled_at": "2026-11-24 17:00:00"},
        )
        self.assertEqual(reminder.state, "sent")
        with freeze_time(TUESDAY_NOON_MX):
            self.dispatch()
        self.assertEqual(self.mails(self.customer), mails_before)

    def test_collector_cannot_rewrite_the_error_or_dates_of_a_reminder(self):
        reminder = self.sent_reminder()
        for values in (
            {"error_message": "Never sent"},
            {"sent_at": "2026-01-01 00:00:00"},
            {"scheduled_at": "2026-01-01 00:00:00"},
            {"attempt_count": 0},
        ):
            with self.subTest(values=values), self.assertRaises(AccessError):
                reminder.with_user(self.collector).write(values)

    def test_a_sent_reminder_is_immutable_to_users_even_a_manager(self):
        reminder = self.sent_reminder()
        with self.assertRaisesRegex(AccessError, "audit trail"):
            reminder.with_user(self.manager).write({"amount_due": 1.0})

    def test_collector_cannot_create_a_reminder_already_sent(self):
        self.assertRpcRefused(
            "lucia",
            "dunning.reminder",
            "create",
            {
                "partner_id": self.customer.id,
                "level_id": self.levels[1].id,
                "channel": "email",
                "currency_id": self.company.currency_id.id,
                "state": "sent",
                "sent_at": "2026-11-20 12:00:00",
            },
        )

    def test_collector_still_cancels_a_queued_reminder_through_its_button(self):
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.state, "queued")
        self.rpc("lucia", "dunning.reminder", "action_cancel", [reminder.id])
        self.assertEqual(reminder.state, "cancelled")

    def test_manager_retries_a_failed_reminder_and_the_error_stays_on_record(self):
        reminder = self.sent_reminder()
        reminder.sudo().write({"state": "failed", "error_message": "SMTP refused"})
        reminder.with_user(self.manager).action_retry()
        self.assertEqual(reminder.state, "queued")
        self.assertIn("SMTP refused", "".join(self.customer.message_ids.mapped("body")))

    def test_manager_cannot_rewrite_a_whatsapp_message_or_a_webhook_event(self):
        message = (
            self.env["dunning.whatsapp.message"]
            .sudo()
            .create(
                {
                    "direction": "out",
                    "state": "sent",
                    "wamid": "wamid.HBgM",
                    "account_id": self.account.id,
                    "partner_id": self.customer.id,
                }
            )
        )
        event = (
            self.env["dunning.whatsapp.event"]
            .sudo()
            .create(
                {
                    "event_key": "status:wamid.HBgM:delivered",
                    "account_id": self.account.id,
                    "kind": "status",
                    "payload": "{}",
                }
            )
        )
        self.assertRpcRefused(
            "jefa",
            "dunning.whatsapp.message",
            "write",
            [message.id],
            {"state": "read"},
        )
        self.assertEqual(message.state, "sent")
        # Even an administrator: the inbox is what Meta sent.
        with self.assertRaises(AccessError):
            event.with_user(self.admin_user).write({"state": "done"})

    def test_collector_edits_the_note_of_a_call_but_not_its_facts(self):
        interaction, _action = self.log("no_answer")
        self.rpc(
            "lucia",
            "dunning.interaction",
            "write",
            [interaction.id],
            {"note": "Voicemail full"},
        )
        self.assertEqual(interaction.note, "Voicemail full")
        for values in (
            {"date": "2026-01-01 10:00:00"},
            {"outcome_id": self.outcomes["promise"].id},
            {"user_id": self.collector_2.id},
        ):
            with self.subTest(values=values):
                self.assertRpcRefused(
                    "lucia",
                    "dunning.interaction",
                    "write",
                    [interaction.id],
                    values,
                )
