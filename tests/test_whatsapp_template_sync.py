from datetime import datetime

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .test_whatsapp_common import WhatsAppCommon

NOW = datetime(2026, 11, 24, 18, 0)

BODY = "Hola {{1}}, su saldo de {{2}} vence el {{3}}."


def meta_template(name, body=BODY, status="APPROVED", language="es_MX", **extra):
    buttons = [{"type": "URL", "text": "Pagar", "url": "https://erp.example.com/{{1}}"}]
    buttons += [{"type": "QUICK_REPLY", "text": t} for t in extra.pop("replies", [])]
    return {
        "id": f"id-{name}-{language}",
        "name": name,
        "language": language,
        "status": status,
        "category": extra.pop("category", "UTILITY"),
        "components": [
            {"type": "BODY", "text": body},
            {"type": "BUTTONS", "buttons": buttons},
        ],
        **extra,
    }


@tagged("post_install", "-at_install")
class TestWhatsAppTemplateSync(WhatsAppCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.collector = new_test_user(
            cls.env,
            login="collector_sync",
            groups="account_dunning.group_dunning_collector",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )

    def serve(self, *pages):
        """Answer GET message_templates with ``pages``, linked by paging.next."""
        base = f"{self.graph.url}/v21.0/WABA1/message_templates"

        def respond(request):
            if (
                request["method"] != "GET"
                or "/message_templates" not in request["path"]
            ):
                return self.graph.accept(request)
            index = 0
            if "after=" in request["path"]:
                index = int(request["path"].split("after=P")[1].split("&")[0])
            body = {"data": pages[index], "paging": {"cursors": {"after": "x"}}}
            if index + 1 < len(pages):
                body["paging"]["next"] = f"{base}?limit=100&after=P{index + 1}"
            return 200, body

        self.graph.respond = respond

    def templates(self):
        return self.env["dunning.whatsapp.template"].search(
            [("account_id", "=", self.account.id)]
        )

    def test_sync_creates_and_updates_across_pages(self):
        self.serve(
            [meta_template("recordatorio_pago_v1", replies=["Ya pagué"])],
            [
                meta_template("aviso_vencido", "Hola {{1}}, venció su factura."),
                meta_template("sin_parametros", "Gracias por su pago.", "PAUSED"),
            ],
        )
        result = self.account.action_sync_templates()
        self.assertEqual(len(self.graph.requests), 2)
        self.assertIn("after=P1", self.graph.requests[1]["path"])
        params = result["params"]
        self.assertIn("2 created", params["message"])
        self.assertIn("1 updated", params["message"])
        self.assertIn("1 paused", params["message"])
        by_name = {t.name: t for t in self.templates()}
        self.assertEqual(
            set(by_name), {"recordatorio_pago_v1", "aviso_vencido", "sin_parametros"}
        )
        existing = by_name["recordatorio_pago_v1"]
        self.assertEqual(existing, self.template)
        self.assertEqual(existing.quick_reply_buttons, "Ya pagué")
        self.assertEqual(existing.meta_template_id, "id-recordatorio_pago_v1-es_MX")
        self.assertEqual(existing.url_button_url, "https://erp.example.com/{{1}}")
        self.assertTrue(existing.synced_at)
        new = by_name["aviso_vencido"]
        self.assertEqual(
            (new.status, new.category, new.language), ("approved", "utility", "es_MX")
        )
        self.assertEqual(new.body_text, "Hola {{1}}, venció su factura.")
        self.assertTrue(new.url_button)
        self.assertTrue(new.needs_review, "a new template's parameters must be mapped")
        self.assertEqual(by_name["sin_parametros"].status, "paused")
        self.assertFalse(by_name["sin_parametros"].needs_review)

    def test_unchanged_body_keeps_the_mapped_parameters(self):
        sources = self.template.param_ids.mapped("source")
        self.serve([meta_template("recordatorio_pago_v1")])
        self.account.action_sync_templates()
        self.assertEqual(self.template.param_ids.mapped("source"), sources)
        self.assertFalse(self.template.needs_review)
        self.assertEqual(self.template.status, "approved")

    def test_changed_parameter_count_blocks_sending_until_reviewed(self):
        four = "Hola {{1}}, su saldo de {{2}} vence el {{3}}. Ref {{4}}."
        self.serve([meta_template("recordatorio_pago_v1", four)])
        result = self.account.action_sync_templates()
        self.assertEqual(result["params"]["type"], "warning")
        self.assertIn("mapped before they can be sent", result["params"]["message"])
        self.assertTrue(self.template.needs_review)
        self.assertEqual(self.template.body_text, four)
        self.assertEqual(len(self.template.param_ids), 3, "local mapping kept")
        with self.assertRaisesRegex(UserError, "map its body parameters again"):
            self.template._validate_message(["a", "b", "c", "d"], "s/1")
        reminder = self.queued_whatsapp()
        reminder.with_user(self.env.ref("base.user_root"))._dispatch(NOW)
        self.assertEqual(reminder.state, "failed")
        self.assertIn("map its body parameters again", reminder.error_message)
        self.assertFalse(self.graph.sends)
        # The manager maps the fourth parameter: the review is done.
        self.template.write(
            {"param_ids": [(0, 0, {"sequence": 4, "source": "invoice_numbers"})]}
        )
        self.assertFalse(self.template.needs_review)

    def test_marking_reviewed_still_checks_the_placeholders(self):
        self.serve([meta_template("recordatorio_pago_v1", "Hola {{1}}.")])
        self.account.action_sync_templates()
        with self.assertRaisesRegex(UserError, "placeholders"):
            self.template.action_mark_reviewed()

    def test_status_and_quality_from_meta(self):
        self.serve(
            [
                meta_template(
                    "recordatorio_pago_v1",
                    status="REJECTED",
                    rejected_reason="INCORRECT_CATEGORY",
                    quality_score={"score": "RED"},
                ),
                meta_template("apelado", status="IN_APPEAL", category="MARKETING"),
            ]
        )
        self.account.action_sync_templates()
        self.assertEqual(self.template.status, "rejected")
        # Meta's reason, then the review rules the body breaks.
        self.assertEqual(
            self.template.rejected_reason,
            "INCORRECT_CATEGORY End: the body must not end with a variable. Length: "
            "3 variables need at least 9 words of fixed text (3 per variable); the "
            "body has 6.",
        )
        self.assertEqual(self.template.quality_score, "red")
        appealed = self.templates().filtered(lambda t: t.name == "apelado")
        self.assertEqual(
            (appealed.status, appealed.category), ("in_appeal", "marketing")
        )
        with self.assertRaisesRegex(UserError, "not approved"):
            self.template._validate_message(["a", "b", "c"], "s/1")

    def test_template_gone_from_meta_is_marked_not_deleted(self):
        self.serve([meta_template("otra", "Hola {{1}}.")])
        result = self.account.action_sync_templates()
        self.assertIn("1 no longer on Meta", result["params"]["message"])
        self.assertTrue(self.template.exists())
        self.assertEqual(self.template.status, "missing")
        self.assertEqual(self.wa_level.whatsapp_template_id, self.template)

    def test_api_error_writes_nothing(self):
        pages = [[meta_template("nueva", "Hola {{1}}.")]]

        def respond(request):
            if "after=" in request["path"]:
                return self.graph.error(190, 401, "Error validating access token")
            return 200, {
                "data": pages[0],
                "paging": {
                    "next": f"{self.graph.url}/v21.0/WABA1/message_templates?after=P1"
                },
            }

        self.graph.respond = respond
        with self.assertRaisesRegex(UserError, "could not be read from Meta.*190"):
            self.account.action_sync_templates()
        self.assertEqual(self.templates(), self.template)
        self.assertEqual(self.account.state, "active", "reading never pauses")

    def test_sync_without_waba_id_is_refused(self):
        self.account.waba_id = False
        with self.assertRaisesRegex(UserError, "WhatsApp Business Account ID"):
            self.account.action_sync_templates()
        self.assertFalse(self.graph.requests)

    def test_template_list_action_syncs_the_companys_accounts(self):
        self.serve([meta_template("recordatorio_pago_v1")])
        result = self.env["dunning.whatsapp.template"].action_sync_from_meta()
        self.assertEqual(result["tag"], "display_notification")
        self.assertEqual(len(self.graph.requests), 1)

    def test_collector_cannot_sync(self):
        self.serve([meta_template("nueva", "Hola {{1}}.")])
        with self.assertRaises(AccessError):
            self.account.with_user(self.collector).action_sync_templates()
        self.assertFalse(self.graph.requests, "refused before calling Meta")

    def test_cron_logs_an_error_on_the_account_and_goes_on(self):
        self.graph.respond = lambda request: self.graph.error(190, 401, "Expired")
        with self.assertLogs(
            "odoo.addons.account_dunning.models.dunning_whatsapp_account", "WARNING"
        ):
            self.env["dunning.whatsapp.account"]._cron_sync_templates()
        self.assertIn("Expired", self.account.message_ids[0].body)
