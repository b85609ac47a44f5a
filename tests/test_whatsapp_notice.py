import sys
from datetime import datetime, timedelta
from pathlib import Path
from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import tagged
from odoo.tools import format_date, mute_logger

from ..models import dunning_whatsapp_account
from ..services.whatsapp.templates import (
    SHIPPED_NOTICE_TEMPLATES,
    SHIPPED_REMINDER_TEMPLATES,
)
from ..services.whatsapp.webhook import parse_webhook
from .common import TUESDAY
from .test_whatsapp_common import WhatsAppCommon, status_value, webhook_body

_SCRIPTS = str(Path(__file__).resolve().parents[1] / "scripts")
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)

import whatsapp_sandbox  # noqa: E402

# Tuesday noon in Mexico City (18:00 UTC): inside the customer's contact window.
NOW = datetime(2026, 11, 24, 18, 0)
# Tuesday 06:00 in Mexico City (12:00 UTC): before the window opens at 08:00.
EARLY = datetime(2026, 11, 24, 12, 0)
OPENING = datetime(2026, 11, 24, 14, 0)


class NoticeCommon(WhatsAppCommon):
    """The shipped notice templates, approved, on the company's account; a
    policy confirming promises and thanking for payments by WhatsApp only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("es_MX")
        templates = cls.env[
            "dunning.whatsapp.template"
        ]._create_shipped_notice_templates(cls.account)
        templates.status = "approved"
        cls.confirm_es, cls.confirm_en, cls.thanks_es, cls.thanks_en = templates
        cls.wa_policy.write(
            {
                "promise_confirm_email": False,
                "promise_confirm_whatsapp": True,
                "promise_whatsapp_template_id": cls.confirm_es.id,
                "thank_you_email": False,
                "thank_you_whatsapp": True,
                "thank_you_whatsapp_template_id": cls.thanks_es.id,
                "whatsapp_fallback": "email",
            }
        )
        cls.wa_customer.lang = "es_MX"
        cls.Promise = cls.env["dunning.promise"]
        cls.Message = cls.env["dunning.whatsapp.message"].sudo()

    def promise(self, partner=None, amount=800.0, at=NOW):
        partner = partner or self.wa_customer
        invoice = self.create_invoice(partner, due=TUESDAY - timedelta(days=10))
        with freeze_time(at):
            return self.Promise._dunning_register(
                partner, invoice, amount, TUESDAY + timedelta(days=7), "call"
            )

    def send_notices(self, at=NOW):
        """The outbox's dispatcher, then the mail queue, at ``at``."""
        with freeze_time(at):
            self.dispatch()

    def rows(self, kind, channel="whatsapp"):
        """The outbox rows of the notices of ``kind`` on ``channel``."""
        return self.reminders(kind=kind, channel=channel)

    def notices(self, kind):
        """The WhatsApp messages of the notices of ``kind``, once sent."""
        return self.rows(kind).whatsapp_message_ids.sorted("id")

    def chatter(self, record):
        return " ".join(record.message_ids.mapped("body"))

    def webhook(self, *statuses):
        events = parse_webhook(webhook_body({"statuses": list(statuses)}))
        inbox = self.env["dunning.whatsapp.event"].sudo()
        inbox._store_webhook(self.account, events)._process()

    def pay_in_collection(self, partner=None):
        """An invoice that reached a level (a reminder was planned), then paid
        in full at NOW."""
        partner = partner or self.wa_customer
        invoice = self.create_invoice(partner, due=TUESDAY, amount=1250.0)
        self.plan_on(TUESDAY)
        self.assertTrue(invoice.dunning_level_id)
        with freeze_time(NOW):
            self.register_payment(invoice)
        return invoice


@tagged("post_install", "-at_install")
class TestPromiseConfirmationWhatsApp(NoticeCommon):
    def test_confirmation_template_payload_sent_exactly(self):
        promise = self.promise()
        row = self.rows("promise_confirmation")
        self.assertEqual(row.state, "queued")
        self.assertEqual(row.promise_id, promise)
        self.assertFalse(self.graph.sends, "never sent from the promise's transaction")
        self.send_notices()
        self.assertEqual(len(self.graph.sends), 1)
        message = self.notices("promise_confirmation")
        self.assertEqual(message.promise_id, promise)
        currency = promise.currency_id
        self.assertEqual(
            self.graph.sends[0]["json"],
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "525512345678",
                "type": "template",
                "template": {
                    "name": "confirmacion_promesa_pago",
                    "language": {"code": "es_MX"},
                    "components": [
                        {
                            "type": "body",
                            "parameters": [
                                {"type": "text", "text": "María Peña"},
                                {
                                    "type": "text",
                                    "text": f"{currency.format(800.0)} {currency.name}",
                                },
                                {
                                    "type": "text",
                                    "text": format_date(
                                        self.env,
                                        TUESDAY + timedelta(days=7),
                                        lang_code="es_MX",
                                    ),
                                },
                                {"type": "text", "text": promise.move_ids.name},
                                {"type": "text", "text": self.company.name},
                            ],
                        }
                    ],
                },
                "biz_opaque_callback_data": message.reminder_id.uuid,
            },
        )
        self.assertEqual(message.state, "sent")
        self.assertTrue(message.wamid)
        self.assertEqual(row.state, "sent")
        self.assertEqual(promise.confirmation_sent_at, NOW)

    def test_confirmation_in_the_chatter_of_the_promise_and_the_customer(self):
        promise = self.promise()
        self.send_notices()
        message = self.notices("promise_confirmation")
        self.assertIn("Hola, María Peña:", message.body)
        for record in (promise, self.wa_customer):
            self.assertIn("Hola, María Peña:", self.chatter(record))
            self.assertIn("Status: Sent", self.chatter(record))

    def test_status_webhook_settles_the_confirmation(self):
        promise = self.promise()
        self.send_notices()
        message = self.notices("promise_confirmation")
        self.webhook(status_value(message.wamid, "delivered")["statuses"][0])
        self.assertEqual(message.state, "delivered")
        self.assertIn("Status: Delivered", self.chatter(promise))
        self.assertIn("Status: Delivered", self.chatter(self.wa_customer))

    def test_uncertain_send_settled_by_the_webhook_with_its_reference(self):
        self.graph.respond = lambda request: ("sleep", 25)  # read timeout
        with (
            mute_logger("odoo.addons.account_dunning.services.whatsapp.client"),
            patch.object(dunning_whatsapp_account, "CLIENT_TIMEOUT", (2, 0.3)),
        ):
            self.promise()
            self.send_notices()
        message = self.notices("promise_confirmation")
        self.assertEqual(message.state, "sending")
        self.assertFalse(message.wamid)
        self.assertIn("may have reached WhatsApp", message.reminder_id.error_message)
        self.send_notices()
        self.assertEqual(len(self.graph.sends), 1, "an uncertain send is not resent")
        self.webhook(
            status_value("wamid.LATE", "read", callback=message.reminder_id.uuid)[
                "statuses"
            ][0]
        )
        self.assertEqual(message.wamid, "wamid.LATE")
        self.assertEqual(message.state, "read")

    def test_english_template_for_an_english_speaking_customer(self):
        self.wa_customer.lang = "en_US"
        self.promise()
        self.send_notices()
        request = self.graph.sends[0]["json"]
        self.assertEqual(request["template"]["name"], "confirmacion_promesa_pago")
        self.assertEqual(request["template"]["language"], {"code": "en"})
        message = self.notices("promise_confirmation")
        self.assertEqual(message.template_id, self.confirm_en)
        self.assertTrue(message.body.startswith("Dear María Peña, this is"))

    def test_outside_contact_hours_scheduled_for_the_next_opening(self):
        self.promise(at=EARLY)
        row = self.rows("promise_confirmation")
        self.assertEqual(row.state, "queued")
        self.send_notices(at=EARLY)
        # Deferred by the contact gate to the opening, with the reason.
        self.assertEqual(row.state, "deferred")
        self.assertEqual(row.scheduled_at, OPENING)
        self.assertIn("Outside the contact window", row.error_message)
        self.assertTrue(self.dispatch_trigger_at(OPENING))
        self.assertFalse(self.graph.sends)
        self.send_notices(at=EARLY + timedelta(hours=1))
        self.assertFalse(self.graph.sends)
        self.send_notices(at=OPENING)
        self.assertEqual(len(self.graph.sends), 1)
        self.assertEqual(row.state, "sent")
        self.assertEqual(self.notices("promise_confirmation").state, "sent")

    def test_a_promise_the_customer_entered_is_confirmed_at_once(self):
        invoice = self.create_invoice(
            self.wa_customer, due=TUESDAY - timedelta(days=10)
        )
        with freeze_time(EARLY):
            promise = self.Promise._dunning_register(
                self.wa_customer, invoice, 800.0, TUESDAY + timedelta(days=7), "portal"
            )
        self.send_notices(at=EARLY)
        self.assertEqual(self.rows("promise_confirmation").state, "sent")
        self.assertEqual(promise.confirmation_sent_at, EARLY)

    def test_no_consent_no_whatsapp_the_email_goes_and_the_chatter_says_why(self):
        customer = self._create_customer("Abarrotes Lupita", mobile="+52 55 8765 4321")
        promise = self.promise(customer)
        self.send_notices()
        self.assertFalse(self.graph.sends)
        self.assertFalse(self.notices("promise_confirmation"))
        self.assertEqual(self.rows("promise_confirmation").state, "failed")
        mail = self.mails(customer).filtered(lambda m: m.res_id == promise.id)
        self.assertEqual(len(mail), 1, "the policy falls back to email")
        self.assertEqual(self.rows("promise_confirmation", "email").state, "sent")
        self.assertTrue(promise.confirmation_sent_at)
        for record in (promise, customer):
            self.assertIn("did not agree to receive WhatsApp", self.chatter(record))
            self.assertIn(
                "A reminder by Email was queued instead", self.chatter(record)
            )

    def test_no_consent_with_email_selected_too_only_the_email(self):
        self.wa_policy.promise_confirm_email = True
        customer = self._create_customer("Abarrotes Lupita", mobile="+52 55 8765 4321")
        promise = self.promise(customer)
        self.send_notices()
        self.assertEqual(len(self.mails(customer)), 1)
        self.assertIn("It goes by Email already", self.chatter(promise))

    def test_both_channels_when_the_customer_agreed(self):
        self.wa_policy.promise_confirm_email = True
        promise = self.promise()
        self.send_notices()
        self.assertEqual(len(self.mails(self.wa_customer)), 1)
        self.assertEqual(len(self.graph.sends), 1)
        self.assertEqual(self.notices("promise_confirmation").promise_id, promise)

    def test_no_fallback_nothing_sent_and_said(self):
        self.wa_policy.whatsapp_fallback = "none"
        customer = self._create_customer("Abarrotes Lupita", mobile="+52 55 8765 4321")
        promise = self.promise(customer)
        self.send_notices()
        self.assertFalse(self.mails(customer))
        self.assertIn("The policy has no fallback channel", self.chatter(promise))

    def test_invalid_number_falls_back_to_a_collector_activity(self):
        self.wa_policy.whatsapp_fallback = "activity"
        customer = self._create_customer(
            "Abarrotes Lupita", mobile="12", whatsapp_opt_in=True
        )
        promise = self.promise(customer)
        self.send_notices()
        self.assertFalse(self.notices("promise_confirmation"))
        self.assertFalse(self.mails(customer))
        activity = customer.activity_ids
        self.assertEqual(
            activity.summary,
            "Send the promise confirmation yourself: WhatsApp could not reach them",
        )
        self.assertIn("not a valid number", self.chatter(promise))

    def test_template_not_approved_no_whatsapp(self):
        (self.confirm_es | self.confirm_en).status = "paused"
        promise = self.promise()
        self.send_notices()
        self.assertFalse(self.notices("promise_confirmation"))
        self.assertIn("is not approved", self.chatter(promise))
        self.assertEqual(len(self.mails(self.wa_customer)), 1)

    def test_provider_refusal_fails_with_its_code_and_falls_back_to_email(self):
        self.graph.respond = lambda request: self.graph.error(
            131026, title="Undeliverable"
        )
        promise = self.promise()
        self.send_notices()
        message = self.notices("promise_confirmation")
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_code, 131026)
        self.assertEqual(len(self.mails(self.wa_customer)), 1)
        self.assertIn("Error 131026", self.chatter(promise))
        self.assertIn("A reminder by Email was queued instead", self.chatter(promise))

    def test_failed_status_webhook_falls_back_to_email(self):
        promise = self.promise()
        self.send_notices()
        message = self.notices("promise_confirmation")
        self.assertFalse(self.mails(self.wa_customer))
        with freeze_time(NOW):
            self.webhook(
                status_value(
                    message.wamid,
                    "failed",
                    errors=[{"code": 131026, "title": "Message undeliverable"}],
                )["statuses"][0]
            )
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_code, 131026)
        self.send_notices()
        self.assertEqual(len(self.mails(self.wa_customer)), 1)
        self.assertIn("A reminder by Email was queued instead", self.chatter(promise))

    def test_temporary_error_retried_later_with_backoff(self):
        self.graph.respond = lambda request: self.graph.error(131000, status=500)
        self.promise()
        self.send_notices()
        row = self.rows("promise_confirmation")
        self.assertEqual(row.state, "queued")
        self.assertEqual(row.retry_count, 1)
        self.assertGreater(row.scheduled_at, NOW)
        self.assertFalse(self.mails(self.wa_customer))
        self.graph.respond = self.graph.accept
        self.send_notices(at=row.scheduled_at + timedelta(seconds=1))
        self.assertEqual(row.state, "sent")
        self.assertEqual(self.notices("promise_confirmation").state, "sent")
        self.assertEqual(len(self.graph.sends), 2)

    def test_daily_budget_defers_a_confirmation_to_a_new_customer(self):
        # The confirmation being sent does not count itself: another customer
        # messaged two hours ago used the budget of one.
        self.account.daily_recipient_budget = 1
        other = self._create_customer("Papelería Sol", mobile="+52 33 1234 5678")
        sent = NOW - timedelta(hours=2)
        self.Message.create(
            {
                "direction": "out",
                "state": "sent",
                "account_id": self.account.id,
                "partner_id": other.id,
                "wamid": "wamid.OTHER",
                "sent_at": sent,
            }
        )
        self.promise()
        self.send_notices()
        row = self.rows("promise_confirmation")
        self.assertEqual(row.state, "queued")
        self.assertEqual(row.scheduled_at, sent + timedelta(hours=24))
        self.assertIn("daily budget", row.error_message)
        self.assertFalse(self.graph.sends)

    def test_a_scheduled_confirmation_leaves_the_daily_budget_alone(self):
        self.account.daily_recipient_budget = 1
        other = self._create_customer("Papelería Sol", mobile="+52 33 1234 5678")
        self.promise(at=EARLY)
        self.send_notices(at=EARLY)
        self.assertEqual(self.rows("promise_confirmation").state, "deferred")
        self.assertFalse(self.account._budget_full_until(other, EARLY))

    def test_opt_out_before_the_opening_cancels_whatsapp_email_instead(self):
        promise = self.promise(at=EARLY)
        self.wa_customer._whatsapp_set_opt_out("BAJA", EARLY)
        self.send_notices(at=OPENING)
        self.assertFalse(self.graph.sends)
        self.assertEqual(self.rows("promise_confirmation").state, "failed")
        self.assertIn("opted out", self.chatter(promise))
        self.assertEqual(len(self.mails(self.wa_customer)), 1)

    def test_promise_cancelled_before_the_opening_nothing_sent(self):
        promise = self.promise(at=EARLY)
        promise.action_cancel()
        self.send_notices(at=OPENING)
        self.assertFalse(self.graph.sends)
        self.assertEqual(self.rows("promise_confirmation").state, "cancelled")
        self.assertFalse(self.mails(self.wa_customer))


@tagged("post_install", "-at_install")
class TestThankYouWhatsApp(NoticeCommon):
    def test_thank_you_template_payload_sent_exactly(self):
        invoice = self.pay_in_collection()
        self.assertEqual(self.rows("thank_you").move_ids, invoice)
        self.send_notices()
        message = self.notices("thank_you")
        self.assertEqual(message.notice_move_ids, invoice)
        currency = invoice.currency_id
        sends = [
            r["json"]
            for r in self.graph.sends
            if r["json"]["template"]["name"] == "agradecimiento_pago"
        ]
        self.assertEqual(
            sends,
            [
                {
                    "messaging_product": "whatsapp",
                    "recipient_type": "individual",
                    "to": "525512345678",
                    "type": "template",
                    "template": {
                        "name": "agradecimiento_pago",
                        "language": {"code": "es_MX"},
                        "components": [
                            {
                                "type": "body",
                                "parameters": [
                                    {"type": "text", "text": "María Peña"},
                                    {
                                        "type": "text",
                                        "text": f"{currency.format(1250.0)} "
                                        f"{currency.name}",
                                    },
                                    {"type": "text", "text": self.company.name},
                                ],
                            }
                        ],
                    },
                    "biz_opaque_callback_data": message.reminder_id.uuid,
                }
            ],
        )
        self.assertEqual(message.state, "sent")
        for record in (invoice, self.wa_customer):
            self.assertIn("confirmamos la recepción de su pago", self.chatter(record))
            self.assertIn("Status: Sent", self.chatter(record))

    def test_thank_you_in_english(self):
        self.wa_customer.lang = "en_US"
        self.pay_in_collection()
        self.send_notices()
        message = self.notices("thank_you")
        self.assertEqual(message.template_id, self.thanks_en)
        self.assertTrue(message.body.startswith("Dear María Peña, this is"))
        self.assertIn("we have received your payment", message.body)

    def test_no_consent_thank_you_by_email_instead(self):
        customer = self._create_customer("Abarrotes Lupita", mobile="+52 55 8765 4321")
        self.pay_in_collection(customer)
        self.send_notices()
        self.assertFalse(self.notices("thank_you"))
        mail = self.mails(customer).filtered(lambda m: "thank you" in m.subject)
        self.assertEqual(len(mail), 1)
        self.assertIn("did not agree to receive WhatsApp", self.chatter(customer))
        self.assertIn("A reminder by Email was queued instead", self.chatter(customer))

    def test_thank_you_by_email_and_whatsapp(self):
        self.wa_policy.thank_you_email = True
        self.pay_in_collection()
        self.send_notices()
        self.assertTrue(
            self.mails(self.wa_customer).filtered(lambda m: "thank you" in m.subject)
        )
        self.assertEqual(self.notices("thank_you").state, "sent")

    def test_thank_you_outside_contact_hours_scheduled(self):
        invoice = self.create_invoice(self.wa_customer, due=TUESDAY, amount=1250.0)
        self.plan_on(TUESDAY)
        with freeze_time(EARLY):
            self.register_payment(invoice)
        self.send_notices(at=EARLY)
        row = self.rows("thank_you")
        self.assertEqual(row.state, "deferred")
        self.assertEqual(row.scheduled_at, OPENING)

    def test_scheduled_time_in_the_customer_time_zone(self):
        # Tijuana opens at 08:00 local, 16:00 UTC; the note says so in Spanish
        # for a Spanish-speaking user.
        self.wa_customer.tz = "America/Tijuana"
        invoice = self.create_invoice(self.wa_customer, due=TUESDAY, amount=1250.0)
        self.plan_on(TUESDAY)
        with freeze_time(EARLY):
            self.register_payment(invoice)
        self.send_notices(at=EARLY)
        row = self.rows("thank_you")
        self.assertEqual(row.scheduled_at, datetime(2026, 11, 24, 16, 0))
        self.assertEqual(
            self.wa_customer.with_context(lang="es_MX")._dunning_format_local(
                row.scheduled_at
            ),
            "24/11/2026 08:00 (America/Tijuana)",
        )
        self.send_notices(at=datetime(2026, 11, 24, 16, 0))
        self.assertEqual(row.state, "sent")
        self.assertEqual(self.notices("thank_you").state, "sent")


@tagged("post_install", "-at_install")
class TestInstalmentReminderWhatsApp(NoticeCommon):
    def test_instalment_reminded_by_email_and_whatsapp(self):
        self.wa_policy.plan_reminder_days = 3
        invoice = self.create_invoice(
            self.wa_customer, due=TUESDAY - timedelta(days=10), amount=2000.0
        )
        with freeze_time(NOW):
            plan = self.env["dunning.payment.plan"]._dunning_create(
                self.wa_customer,
                invoice,
                [
                    (TUESDAY + timedelta(days=9), 1000.0),
                    (TUESDAY + timedelta(days=39), 1000.0),
                ],
                confirm=False,
            )
        first = plan._get_instalments()[0]
        day = NOW + timedelta(days=6)
        cron = self.env.ref("account_dunning.ir_cron_promise_check").sudo()
        with freeze_time(day):
            cron.method_direct_trigger()
        self.assertTrue(first.reminder_sent_at)
        self.assertEqual(self.rows("instalment_reminder").promise_id, first)
        self.send_notices(at=day)
        self.assertEqual(len(self.mails(self.wa_customer)), 1)
        message = self.notices("instalment_reminder")
        self.assertEqual(message.promise_id, first)
        parameters = self.graph.sends[0]["json"]["template"]["components"][0][
            "parameters"
        ]
        self.assertEqual(
            parameters[2]["text"],
            format_date(self.env, TUESDAY + timedelta(days=9), lang_code="es_MX"),
        )
        self.assertEqual(message.state, "sent")
        self.assertIn("Status: Sent", self.chatter(first))
        # Once only.
        with freeze_time(day + timedelta(days=1)):
            cron.method_direct_trigger()
        self.assertEqual(len(self.rows("instalment_reminder")), 1)


@tagged("post_install", "-at_install")
class TestNoticeTemplates(NoticeCommon):
    def test_shipped_templates_added_once_with_their_parameters(self):
        account = self.env["dunning.whatsapp.account"].create(
            {
                "name": "Otra",
                "company_id": self.company.id,
                "phone_number_id": "999",
                "api_base_url": self.graph.url,
            }
        )
        account.action_add_shipped_templates()
        account.action_add_shipped_templates()
        templates = account.template_ids.filtered(
            lambda t: t.name in ("agradecimiento_pago", "confirmacion_promesa_pago")
        )
        self.assertEqual(len(account.template_ids), 12, "8 reminders, 4 notices")
        self.assertEqual(
            sorted(templates.mapped(lambda t: (t.name, t.language))),
            [
                ("agradecimiento_pago", "en"),
                ("agradecimiento_pago", "es_MX"),
                ("confirmacion_promesa_pago", "en"),
                ("confirmacion_promesa_pago", "es_MX"),
            ],
        )
        self.assertEqual(set(templates.mapped("status")), {"draft"})
        self.assertEqual(set(templates.mapped("category")), {"utility"})
        confirm = templates.filtered(
            lambda t: t.name == "confirmacion_promesa_pago" and t.language == "en"
        )
        self.assertEqual(
            confirm.param_ids.mapped("source"),
            [
                "partner_name",
                "promised_amount",
                "promised_date",
                "invoice_numbers",
                "company_name",
            ],
        )

    def test_language_choice_falls_back_to_the_policy_template(self):
        self.assertEqual(self.confirm_es._for_lang("es_AR"), self.confirm_es)
        self.assertEqual(self.confirm_es._for_lang("en_GB"), self.confirm_en)
        self.assertEqual(self.confirm_es._for_lang("fr_FR"), self.confirm_es)
        self.assertEqual(self.confirm_en._for_lang("es_MX"), self.confirm_es)

    def test_policy_needs_the_template_of_a_whatsapp_message(self):
        from odoo.exceptions import ValidationError

        with self.assertRaises(ValidationError):
            self.wa_policy.thank_you_whatsapp_template_id = False

    def test_a_reminder_cannot_use_a_notice_only_parameter(self):
        self.template.param_ids[1].source = "amount_paid"
        reminder = self.queued_whatsapp()
        reminder.with_user(self.env.ref("base.user_root"))._dispatch(NOW)
        self.assertEqual(reminder.state, "failed")
        self.assertIn("fills only a promise confirmation", reminder.error_message)
        self.assertFalse(self.graph.sends)

    def test_the_demo_sandbox_approved_the_shipped_templates_as_shipped(self):
        approved = {
            (t["name"], t["language"]): next(
                c["text"] for c in t["components"] if c["type"] == "BODY"
            )
            for t in whatsapp_sandbox.TEMPLATES
            if t["status"] == "APPROVED"
        }
        for shipped in SHIPPED_NOTICE_TEMPLATES + SHIPPED_REMINDER_TEMPLATES:
            self.assertEqual(
                approved[(shipped["name"], shipped["language"])], shipped["body_text"]
            )
