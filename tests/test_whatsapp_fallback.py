import json
from datetime import datetime

from odoo import Command
from odoo.tests import HttpCase, tagged

from ..services.whatsapp.webhook import parse_webhook
from .common import TUESDAY
from .test_whatsapp_common import WhatsAppCommon, sign, status_value, webhook_body

# Tuesday noon in Mexico City: inside every Mexican customer's contact window.
NOW = datetime(2026, 11, 24, 18, 0)
PREVENTIVE = "account_dunning.mail_template_dunning_preventive"
FIRM = "account_dunning.mail_template_dunning_firm"
UNDELIVERABLE = [{"code": 131026, "title": "Message undeliverable"}]
# Every way a WhatsApp reminder can fail to reach the customer.
TRIGGERS = (
    "no_consent",
    "opted_out",
    "invalid_number",
    "no_number",
    "refused_at_send",
    "failed_status",
)


@tagged("post_install", "-at_install")
class TestWhatsAppFallback(WhatsAppCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.due_template = cls.env.ref("account_dunning.mail_template_dunning_due")
        # The WhatsApp-only level names the email that replaces it.
        cls.wa_level.mail_template_id = cls.due_template

    def send(self, reminders):
        reminders.with_user(self.env.ref("base.user_root"))._dispatch(NOW)
        self.run_mail_queue()

    def process_status(self, wamid, status, errors=None):
        events = parse_webhook(webhook_body(status_value(wamid, status, errors=errors)))
        inbox = self.env["dunning.whatsapp.event"].sudo()
        inbox._store_webhook(self.account, events)._process()

    def failed_reminder(self, trigger):
        """A WhatsApp reminder of a new customer that failed the ``trigger`` way."""
        index = len(self.reminders()) + 10
        values = {"mobile": f"+52 55 1234 56{index:02d}", "whatsapp_opt_in": True}
        if trigger == "no_consent":
            values["whatsapp_opt_in"] = False
        elif trigger == "opted_out":
            values["whatsapp_opt_out"] = True
        elif trigger == "invalid_number":
            values["mobile"] = "55 1234"
        elif trigger == "no_number":
            values["mobile"] = False
        elif trigger == "refused_at_send":
            self.graph.respond = lambda request: self.graph.error(
                131026, title="Message undeliverable"
            )
        partner = self._create_customer(f"Cliente {trigger}", **values)
        reminder = self.queued_whatsapp(partner)
        self.send(reminder)
        if trigger == "failed_status":
            self.assertEqual(reminder.state, "sent")
            wamid = reminder.whatsapp_message_ids.wamid
            self.process_status(wamid, "sent")
            self.process_status(wamid, "failed", errors=UNDELIVERABLE)
        self.graph.respond = self.graph.accept
        self.assertEqual(reminder.state, "failed")
        return reminder

    def assert_one_fallback(self, reminder, channel):
        fallback = self.reminders(origin="fallback", fallback_of_id=reminder.id)
        self.assertEqual(len(fallback), 1)
        self.assertEqual(reminder.fallback_ids, fallback)
        self.assertRecordValues(
            fallback,
            [
                {
                    "channel": channel,
                    "state": "queued",
                    "partner_id": reminder.partner_id.id,
                    "level_id": reminder.level_id.id,
                    "currency_id": reminder.currency_id.id,
                    "amount_due": reminder.amount_due,
                }
            ],
        )
        self.assertEqual(fallback.move_ids, reminder.move_ids)
        self.assertEqual(fallback.line_ids.move_id, reminder.line_ids.move_id)
        self.assertEqual(set(fallback.line_ids.mapped("channel")), {channel})
        self.assertIn("queued instead", reminder.error_message)
        return fallback

    def test_every_trigger_queues_one_email_fallback(self):
        for trigger in TRIGGERS:
            with self.subTest(trigger=trigger):
                reminder = self.failed_reminder(trigger)
                fallback = self.assert_one_fallback(reminder, "email")
                self.assertEqual(fallback.mail_template_id, self.due_template)

    def test_every_trigger_queues_one_activity_fallback(self):
        self.wa_policy.whatsapp_fallback = "activity"
        for trigger in TRIGGERS:
            with self.subTest(trigger=trigger):
                self.assert_one_fallback(self.failed_reminder(trigger), "activity")

    def test_no_fallback_when_the_policy_says_none(self):
        self.wa_policy.whatsapp_fallback = "none"
        for trigger in TRIGGERS:
            with self.subTest(trigger=trigger):
                reminder = self.failed_reminder(trigger)
                self.assertFalse(reminder.fallback_ids)
                self.assertIn("no fallback channel", reminder.error_message)
        self.assertFalse(self.reminders(origin="fallback"))

    def test_failure_reason_kept_on_the_failed_reminder(self):
        reminder = self.failed_reminder("no_consent")
        self.assertIn("did not agree", reminder.error_message)
        reminder = self.failed_reminder("refused_at_send")
        self.assertIn("131026", reminder.error_message)
        message = reminder.whatsapp_message_ids
        self.assertEqual(message.error_code, 131026)

    def test_email_fallback_really_sends_the_email(self):
        reminder = self.failed_reminder("refused_at_send")
        fallback = reminder.fallback_ids
        self.send(fallback)
        self.assertEqual(fallback.state, "sent")
        mail = fallback.mail_id
        self.assertTrue(mail)
        self.assertEqual(mail.recipient_ids, reminder.partner_id)
        self.assertEqual(self.mails(reminder.partner_id), mail)
        self.assertIn(reminder.move_ids.name, mail.body_html)

    def test_activity_fallback_asks_the_collector_to_call(self):
        self.wa_policy.whatsapp_fallback = "activity"
        reminder = self.failed_reminder("opted_out")
        fallback = reminder.fallback_ids
        self.send(fallback)
        self.assertEqual(fallback.state, "sent")
        activity = fallback.activity_id
        self.assertEqual(activity.res_id, reminder.partner_id.id)
        self.assertIn("WhatsApp could not reach", activity.summary)
        self.assertIn("opted out", str(activity.note))

    def test_rerunning_plan_dispatch_and_webhook_changes_nothing(self):
        reminder = self.failed_reminder("failed_status")
        fallback = reminder.fallback_ids
        self.send(fallback)
        self.assertEqual(fallback.state, "sent")
        reminders = self.reminders()
        mails = self.mails(reminder.partner_id)
        wamid = reminder.whatsapp_message_ids.wamid
        # The same webhook again, planning and dispatch again, a retry by hand
        # that WhatsApp refuses again.
        self.process_status(wamid, "failed", errors=UNDELIVERABLE)
        self.plan_on(TUESDAY)
        self.dispatch()
        self.graph.respond = lambda request: self.graph.error(131026)
        reminder.action_retry()
        self.send(reminder)
        self.assertEqual(reminder.state, "failed")
        self.assertIn("already queued", reminder.error_message)
        self.assertEqual(self.reminders(), reminders)
        self.assertEqual(reminder.fallback_ids, fallback)
        self.assertEqual(self.mails(reminder.partner_id), mails)

    def test_no_second_email_when_the_level_already_emails(self):
        self.wa_level.channel_email = True
        reminder = self.failed_reminder("refused_at_send")
        email = self.reminders(reminder.partner_id, channel="email")
        self.assertEqual(len(email), 1)
        self.assertEqual(email.origin, "plan")
        self.assertFalse(reminder.fallback_ids)
        self.assertFalse(self.reminders(origin="fallback"))
        self.assertIn("already reminds these invoices by Email", reminder.error_message)

    def test_email_template_of_the_closest_earlier_email_level(self):
        self.wa_level.mail_template_id = False
        self.wa_policy.level_ids = [
            Command.create(self._level_values(-3, "email", PREVENTIVE)),
            Command.create(self._level_values(7, "email", FIRM)),
        ]
        reminder = self.failed_reminder("invalid_number")
        self.assertEqual(
            reminder.fallback_ids.mail_template_id, self.env.ref(PREVENTIVE)
        )

    def test_no_email_address_falls_back_to_an_activity(self):
        partner = self._create_customer(
            "Sin Correo", email=False, mobile="+52 55 8765 0000"
        )
        reminder = self.queued_whatsapp(partner)
        self.send(reminder)
        self.assertEqual(reminder.fallback_ids.channel, "activity")
        self.assertIn("no email address", reminder.error_message)

    def test_temporary_failure_status_has_no_fallback(self):
        reminder = self.queued_whatsapp()
        self.send(reminder)
        self.process_status(
            reminder.whatsapp_message_ids.wamid,
            "failed",
            errors=[{"code": 131000, "title": "Something went wrong"}],
        )
        self.assertEqual(reminder.state, "failed")
        self.assertFalse(reminder.fallback_ids)

    def test_chatter_tells_the_collector_what_happened(self):
        reminder = self.failed_reminder("refused_at_send")
        for record in (reminder.partner_id, reminder.move_ids):
            bodies = " ".join(record.message_ids.mapped("body"))
            self.assertIn("could not reach the customer", bodies)
            self.assertIn("131026", bodies)
            self.assertIn("A reminder by Email was queued instead", bodies)

    def test_level_that_also_emails_plans_no_unreachable_whatsapp(self):
        """Email and WhatsApp on the same level: a customer WhatsApp cannot reach
        gets the email only, not a WhatsApp reminder bound to fail; one who can
        gets both."""
        self.wa_level.write(
            {"channel_email": True, "mail_template_id": self.due_template.id}
        )
        cases = {
            "no_consent": {"whatsapp_opt_in": False},
            "opted_out": {"whatsapp_opt_in": True, "whatsapp_opt_out": True},
            "invalid_number": {"whatsapp_opt_in": True, "mobile": "55 1234"},
            "no_number": {"whatsapp_opt_in": True, "mobile": False},
            "reachable": {"whatsapp_opt_in": True},
        }
        partners = {}
        for index, (case, values) in enumerate(cases.items()):
            values = {"mobile": f"+52 55 1234 57{index:02d}", **values}
            partners[case] = self._create_customer(f"Cliente {case}", **values)
            self.create_invoice(partners[case], due=TUESDAY)
        self.plan_on(TUESDAY)
        for case, partner in partners.items():
            with self.subTest(case=case):
                expected = ["email", "whatsapp"] if case == "reachable" else ["email"]
                self.assertEqual(
                    sorted(self.reminders(partner).mapped("channel")), expected
                )
                invoice = self.reminders(partner, channel="email").line_ids.move_id
                self.assertEqual(invoice.dunning_level_id, self.wa_level)

    def test_consent_withdrawn_after_planning_fails_at_send(self):
        """Planned with consent, opted out before sending: the WhatsApp reminder
        fails with the reason, and the level's email is the reminder."""
        self.wa_level.write(
            {"channel_email": True, "mail_template_id": self.due_template.id}
        )
        reminder = self.queued_whatsapp()
        self.wa_customer.whatsapp_opt_out = True
        self.send(reminder)
        self.assertEqual(reminder.state, "failed")
        self.assertIn("opted out", reminder.error_message)
        self.assertFalse(reminder.fallback_ids)
        self.assertEqual(len(self.reminders(self.wa_customer, channel="email")), 1)
        self.assertFalse(self.graph.requests)

    def test_consent_not_required_plans_whatsapp_without_it(self):
        self.wa_level.write(
            {"channel_email": True, "mail_template_id": self.due_template.id}
        )
        self.wa_policy.whatsapp_require_opt_in = False
        partner = self._create_customer(
            "Cliente sin registro", mobile="+52 55 1234 5790", whatsapp_opt_in=False
        )
        self.create_invoice(partner, due=TUESDAY)
        self.plan_on(TUESDAY)
        self.assertEqual(
            sorted(self.reminders(partner).mapped("channel")), ["email", "whatsapp"]
        )


@tagged("post_install", "-at_install")
class TestWhatsAppFallbackWebhook(WhatsAppCommon, HttpCase):
    def test_signed_failed_status_queues_the_fallback(self):
        reminder = self.queued_whatsapp()
        reminder.with_user(self.env.ref("base.user_root"))._dispatch(NOW)
        wamid = reminder.whatsapp_message_ids.wamid
        raw = json.dumps(
            webhook_body(status_value(wamid, "failed", errors=UNDELIVERABLE)),
            ensure_ascii=False,
        ).encode()
        response = self.url_open(
            "/dunning/whatsapp/webhook",
            data=raw,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(raw),
            },
        )
        self.assertEqual(response.status_code, 200)
        self.process_webhook_events()
        self.assertEqual(reminder.state, "failed")
        self.assertEqual(len(reminder.fallback_ids), 1)
        # The level names no email template and the policy has no email level:
        # the email fallback becomes a call for the collector.
        self.assertEqual(reminder.fallback_ids.channel, "activity")
        self.assertIn("no email template", reminder.error_message)
