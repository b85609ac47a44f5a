"""What a collection manager or a collector can do over JSON-RPC, as an
intruder would try it: where the WhatsApp token goes, and the audit trail."""



from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from .collect_common import CollectCommon

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
