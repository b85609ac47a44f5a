from datetime import datetime

from odoo.tests import tagged

from ..services.whatsapp.webhook import parse_webhook
from .common import TUESDAY
from .test_whatsapp_common import (
    PHONE_NUMBER_ID,
    WhatsAppCommon,
    inbound_value,
    status_value,
    webhook_body,
)

# Tuesday noon in Mexico City: inside every Mexican customer's contact window.
NOW = datetime(2026, 11, 24, 18, 0)
PHONE_NUMBER_ID_2 = "109876543210987"
MOBILE = "+52 55 1234 5678"  # the same number, a customer of each company


@tagged("post_install", "-at_install")
class TestWhatsAppTwoCompanies(WhatsAppCommon):
    """Two companies, each with its own WhatsApp Business number: every message
    leaves through its company's account and token, and what Meta reports on
    one number never touches the other company's customers or messages."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.company_ids |= cls.env.ref("base.main_company")
        cls.company_2 = cls.setup_other_company(name="Acme Monterrey")["company"]
        cls.account_2 = cls.env["dunning.whatsapp.account"].create(
            {
                "name": "Cobranza Monterrey",
                "company_id": cls.company_2.id,
                "phone_number_id": PHONE_NUMBER_ID_2,
                "waba_id": "WABA2",
                "access_token": "EAAG-token-mty",
                "app_secret": "secret-mty",
                "verify_token": "verify-mty",
                "api_base_url": cls.graph.url,
            }
        )
        cls.template_2 = cls.template.copy(
            {"account_id": cls.account_2.id, "name": "recordatorio_mty_v1"}
        )
        cls.policy_2 = cls._create_policy(cls.company_2, ladder=())
        cls.env["dunning.level"].create(
            {
                "policy_id": cls.policy_2.id,
                "name": "WhatsApp on the due date",
                "offset_days": 0,
                "channel_email": False,
                "channel_whatsapp": True,
                "whatsapp_template_id": cls.template_2.id,
            }
        )
        cls.company_2.dunning_policy_id = cls.policy_2
        # Customers of one company each, with the same mobile number.
        cls.wa_customer.company_id = cls.company
        cls.customer_2 = cls._create_customer(
            "Mariana Peña",
            mobile=MOBILE,
            whatsapp_opt_in=True,
            whatsapp_opt_in_source="contract",
            company_id=cls.company_2.id,
        )

    def send(self, reminders):
        reminders.with_user(self.env.ref("base.user_root"))._dispatch(NOW)

    def queue_both(self):
        self.create_invoice(self.wa_customer, due=TUESDAY)
        self.create_invoice(self.customer_2, due=TUESDAY, company=self.company_2)
        self.plan_on(TUESDAY)
        reminder_1 = self.reminders(self.wa_customer, channel="whatsapp")
        reminder_2 = self.reminders(self.customer_2, channel="whatsapp")
        self.assertEqual(len(reminder_1), 1)
        self.assertEqual(len(reminder_2), 1)
        self.assertEqual(reminder_2.company_id, self.company_2)
        return reminder_1, reminder_2

    def process(self, account, value, phone_number_id):
        events = parse_webhook(webhook_body(value, phone_number_id=phone_number_id))
        inbox = self.env["dunning.whatsapp.event"].sudo()
        inbox._store_webhook(account, events)._process()

    def test_each_company_sends_through_its_own_number_and_token(self):
        reminder_1, reminder_2 = self.queue_both()
        self.send(reminder_1 | reminder_2)
        self.assertEqual(len(self.graph.sends), 2)
        by_path = {r["path"]: r for r in self.graph.sends}
        self.assertEqual(
            set(by_path),
            {
                f"/v21.0/{PHONE_NUMBER_ID}/messages",
                f"/v21.0/{PHONE_NUMBER_ID_2}/messages",
            },
        )
        first = by_path[f"/v21.0/{PHONE_NUMBER_ID}/messages"]
        second = by_path[f"/v21.0/{PHONE_NUMBER_ID_2}/messages"]
        self.assertEqual(first["headers"]["Authorization"], "Bearer EAAG-token")
        self.assertEqual(second["headers"]["Authorization"], "Bearer EAAG-token-mty")
        self.assertEqual(first["json"]["template"]["name"], "recordatorio_pago_v1")
        self.assertEqual(second["json"]["template"]["name"], "recordatorio_mty_v1")
        self.assertEqual(reminder_1.whatsapp_message_ids.account_id, self.account)
        self.assertEqual(reminder_2.whatsapp_message_ids.account_id, self.account_2)

    def test_status_on_one_number_leaves_the_other_company_alone(self):
        reminder_1, reminder_2 = self.queue_both()
        self.send(reminder_1 | reminder_2)
        wamid_2 = reminder_2.whatsapp_message_ids.wamid
        # Company 2's message id reported on company 1's number: not ours there.
        self.process(self.account, status_value(wamid_2, "read"), PHONE_NUMBER_ID)
        self.assertEqual(reminder_2.state, "sent")
        self.process(self.account_2, status_value(wamid_2, "read"), PHONE_NUMBER_ID_2)
        self.assertEqual(reminder_2.state, "read")
        self.assertEqual(reminder_1.state, "sent")

    def test_inbound_reaches_the_customer_of_that_number_company(self):
        wa_id = "5215512345678"
        self.process(
            self.account_2,
            inbound_value("Ya pagué, gracias", wa_id=wa_id, wamid="wamid.IN.MTY"),
            PHONE_NUMBER_ID_2,
        )
        self.assertTrue(self.customer_2.whatsapp_last_inbound_at)
        self.assertFalse(self.wa_customer.whatsapp_last_inbound_at)
        self.assertTrue(
            self.customer_2.message_ids.filtered(lambda m: "Ya pagué" in (m.body or ""))
        )
        self.assertFalse(
            self.wa_customer.message_ids.filtered(
                lambda m: "Ya pagué" in (m.body or "")
            )
        )
        # BAJA on company 2's number opts out company 2's customer only.
        self.process(
            self.account_2,
            inbound_value("BAJA", wa_id=wa_id, wamid="wamid.IN.MTY.2"),
            PHONE_NUMBER_ID_2,
        )
        self.assertTrue(self.customer_2.whatsapp_opt_out)
        self.assertFalse(self.wa_customer.whatsapp_opt_out)
