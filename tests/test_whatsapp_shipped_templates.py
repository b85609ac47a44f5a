"""The shipped WhatsApp templates: Meta's review rules, and one reminder per
step of the ladder, firmer from one level to the next."""

from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from ..services.whatsapp.templates import (
    PLACEHOLDER,
    SHIPPED_NOTICE_TEMPLATES,
    SHIPPED_REMINDER_TEMPLATES,
    review_problems,
)
from .common import TUESDAY
from .test_whatsapp_common import WhatsAppCommon
from .test_whatsapp_template_sync import meta_template

# Tuesday noon in Mexico City: inside every Mexican customer's contact window.
NOW = datetime(2026, 11, 24, 18, 0)
SHIPPED = SHIPPED_REMINDER_TEMPLATES + SHIPPED_NOTICE_TEMPLATES


@tagged("post_install", "-at_install")
class TestShippedTemplates(WhatsAppCommon):
    def draft(self, body, sources=("partner_name", "amount_due")):
        return self.env["dunning.whatsapp.template"].create(
            {
                "name": "mi_recordatorio",
                "language": "es_MX",
                "status": "draft",
                "account_id": self.account.id,
                "body_text": body,
                "param_ids": [
                    Command.create({"sequence": index, "source": source})
                    for index, source in enumerate(sources, start=1)
                ],
            }
        )

    def test_every_shipped_template_passes_metas_review_rules(self):
        for shipped in SHIPPED:
            with self.subTest(name=shipped["name"], language=shipped["language"]):
                self.assertEqual(review_problems(shipped["body_text"]), [])
                numbers = {int(n) for n in PLACEHOLDER.findall(shipped["body_text"])}
                self.assertEqual(numbers, set(range(1, len(shipped["sources"]) + 1)))
                self.assertNotIn("Estimado(a)", shipped["body_text"])

    def test_one_reminder_per_step_in_mexican_spanish_and_english(self):
        self.assertEqual(
            sorted((t["step"], t["language"]) for t in SHIPPED_REMINDER_TEMPLATES),
            sorted(
                (step, language)
                for step in ("preventive", "due", "firm", "final")
                for language in ("es_MX", "en")
            ),
        )

    def test_a_template_to_submit_breaking_a_rule_is_refused_naming_it(self):
        cases = {
            "Start": "{{1}}, su saldo de {{2}} está pendiente de pago hoy.",
            "End": "Hola, le recordamos que su saldo pendiente es {{1}} para {{2}}.",
            "Adjacent variables": "Hola, le recordamos su saldo {{1}} {{2}} de hoy.",
            "Numbering": "Hola {{1}}, le recordamos que su saldo de {{3}} vence hoy.",
            "Length": "Hola {{1}}, saldo {{2}} hoy.",
        }
        for rule, body in cases.items():
            with (
                self.subTest(rule=rule),
                self.assertRaisesRegex(ValidationError, rule),
                self.env.cr.savepoint(),
            ):
                self.draft(body)

    def test_a_template_meta_approved_is_not_second_guessed(self):
        # The fixture's approved template ends with a variable: Meta's call.
        self.assertEqual(self.template.status, "approved")
        self.assertTrue(review_problems(self.template.body_text))
        self.template.body_text = "Hola {{1}}, su saldo de {{2}} vence el {{3}}."

    def test_sync_names_the_rule_a_rejected_template_breaks(self):
        body = "{{1}}: tiene facturas pendientes por {{2}} con nosotros."
        listed = meta_template(
            "aviso_corto", body, status="REJECTED", rejected_reason="INVALID_FORMAT"
        )

        def respond(request):
            if "/message_templates" not in request["path"]:
                return self.graph.accept(request)
            return 200, {"data": [listed], "paging": {"cursors": {"after": "x"}}}

        self.graph.respond = respond
        self.account.action_sync_templates()
        template = self.account.template_ids.filtered(lambda t: t.name == "aviso_corto")
        self.assertEqual(template.status, "rejected")
        self.assertIn("INVALID_FORMAT", template.rejected_reason)
        self.assertIn("Start:", template.rejected_reason)

    def test_adding_the_shipped_templates_gives_each_level_its_step(self):
        steps = {
            -3: ("preventive", "recordatorio_preventivo"),
            0: ("preventive", "recordatorio_vencimiento"),
            1: ("friendly", "recordatorio_vencimiento"),
            7: ("firm", "recordatorio_firme"),
            30: ("final", "aviso_final"),
        }
        for offset, (tone, _name) in steps.items():
            if offset == 0:
                continue
            self.env["dunning.level"].create(
                {
                    "policy_id": self.wa_policy.id,
                    "name": f"Level {offset}",
                    "offset_days": offset,
                    "tone": tone,
                    "channel_email": True,
                    "mail_template_id": self.env.ref(
                        "account_dunning.mail_template_dunning_friendly"
                    ).id,
                }
            )
        self.wa_level.tone = "preventive"
        self.account.action_add_shipped_templates()
        levels = {level.offset_days: level for level in self.wa_policy.level_ids}
        # The due-date level keeps the template its manager chose.
        self.assertEqual(levels[0].whatsapp_template_id, self.template)
        for offset, (_tone, name) in steps.items():
            if offset:
                with self.subTest(offset=offset):
                    self.assertEqual(levels[offset].whatsapp_template_id.name, name)

    def test_a_firmer_level_sends_the_firmer_template(self):
        self.account.action_add_shipped_templates()
        self.account.template_ids.filtered(lambda t: t.status == "draft").write(
            {"status": "approved"}
        )
        for offset, tone in ((7, "firm"), (30, "final")):
            form = Form(self.env["dunning.level"])
            form.policy_id = self.wa_policy
            form.name = f"WhatsApp {tone}"
            form.offset_days = offset
            form.tone = tone
            form.channel_email = False
            form.channel_whatsapp = True
            form.save()
        customers = {
            7: self.wa_customer,
            30: self._create_customer(
                "Abarrotes Lupita",
                mobile="+52 55 8765 4321",
                whatsapp_opt_in=True,
                whatsapp_opt_in_source="contract",
            ),
        }
        for days_late, customer in customers.items():
            customer.lang = "es_MX"
            self.create_invoice(customer, due=TUESDAY - timedelta(days=days_late))
        self.plan_on(TUESDAY)
        sent = {}
        for days_late, customer in customers.items():
            reminder = self.reminders(customer, channel="whatsapp")
            self.assertEqual(len(reminder), 1)
            reminder.with_user(self.env.ref("base.user_root"))._dispatch(NOW)
            self.assertEqual(reminder.state, "sent", reminder.error_message)
            template = self.graph.sends[-1]["json"]["template"]
            sent[days_late] = (template["name"], template["language"]["code"])
        self.assertEqual(sent[7], ("recordatorio_firme", "es_MX"))
        self.assertEqual(sent[30], ("aviso_final", "es_MX"))
