from datetime import datetime, timedelta
from itertools import pairwise
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import format_date, mute_logger

from ..models import dunning_channel_whatsapp_calls as whatsapp_channel
from ..models import dunning_whatsapp_account
from ..services.backoff import MAX_ATTEMPTS, backoff_ceiling
from ..services.whatsapp.webhook import parse_webhook
from .common import TUESDAY
from .test_whatsapp_common import (
    PHONE_NUMBER_ID,
    WhatsAppCommon,
    status_value,
    webhook_body,
)

# Tuesday noon in Mexico City: inside every Mexican customer's contact window.
NOW = datetime(2026, 11, 24, 18, 0)


@tagged("post_install", "-at_install")
class TestWhatsAppSend(WhatsAppCommon):
    def send(self, reminders):
        reminders.with_user(self.env.ref("base.user_root"))._dispatch(NOW)

    def test_template_payload_sent_exactly(self):
        reminder = self.queued_whatsapp()
        self.send(reminder)
        self.assertEqual(len(self.graph.sends), 1)
        request = self.graph.sends[0]
        self.assertEqual(request["path"], f"/v21.0/{PHONE_NUMBER_ID}/messages")
        self.assertEqual(request["headers"]["Authorization"], "Bearer EAAG-token")
        currency = reminder.currency_id
        # The button opens the customer's statement page through a link minted
        # for this reminder, of which only the hash is stored.
        suffix = request["json"]["template"]["components"][1]["parameters"][0]["text"]
        self.assertTrue(suffix.startswith("cobranza/"))
        link = self.env["dunning.portal.token"]._find_valid(suffix.split("/", 1)[1])
        self.assertEqual(link.reminder_id, reminder)
        self.assertEqual(link.partner_id, self.wa_customer)
        self.assertEqual(
            request["json"],
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "525512345678",
                "type": "template",
                "template": {
                    "name": "recordatorio_pago_v1",
                    "language": {"code": "es_MX"},
                    "components": [
                        {
                            "type": "body",
                            "parameters": [
                                {"type": "text", "text": "María Peña"},
                                {
                                    "type": "text",
                                    "text": f"{currency.format(1000.0)} "
                                    f"{currency.name}",
                                },
                                {
                                    "type": "text",
                                    "text": format_date(
                                        self.env,
                                        TUESDAY,
                                        lang_code=self.wa_customer.lang,
                                    ),
                                },
                            ],
                        },
                        {
                            "type": "button",
                            "sub_type": "url",
                            "index": "0",
                            "parameters": [
                                {
                                    "type": "text",
                                    "text": suffix,
                                }
                            ],
                        },
                    ],
                },
                "biz_opaque_callback_data": reminder.uuid,
            },
        )

    def test_success_stores_wamid_and_wa_id(self):
        reminder = self.queued_whatsapp()
        self.send(reminder)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.sent_at, NOW)
        message = reminder.whatsapp_message_ids
        self.assertEqual(len(message), 1)
        self.assertTrue(message.wamid.startswith("wamid.OK"))
        self.assertEqual(message.wa_id, "5215512345678")
        self.assertEqual(message.state, "sent")
        self.assertEqual(message.direction, "out")
        self.assertIn("María Peña", message.body)

    def test_throughput_error_retried_with_growing_delay_then_failed(self):
        self.graph.respond = lambda request: self.graph.error(130429)
        reminder = self.queued_whatsapp()
        delays = []
        # The top of each full-jitter interval: the delays are the ceilings.
        with patch("random.uniform", side_effect=lambda low, high: high):
            for _attempt in range(MAX_ATTEMPTS - 1):
                self.send(reminder)
                self.assertEqual(reminder.state, "queued")
                delays.append((reminder.scheduled_at - NOW).total_seconds())
            self.send(reminder)
        self.assertEqual(delays, [backoff_ceiling(n) for n in range(MAX_ATTEMPTS - 1)])
        self.assertEqual(delays, sorted(delays))
        self.assertEqual(reminder.state, "failed")
        self.assertEqual(len(self.graph.sends), MAX_ATTEMPTS)
        self.assertIn("130429", reminder.error_message)

    def test_pair_rate_limit_delays_only_that_customer(self):
        other = self._create_customer(
            "Papelería Sol", mobile="+52 33 1234 5678", whatsapp_opt_in=True
        )
        self.graph.respond = lambda request: (
            self.graph.error(131056)
            if request["json"]["to"] == "525512345678"
            else self.graph.accept(request)
        )
        self.create_invoice(self.wa_customer, due=TUESDAY)
        self.create_invoice(other, due=TUESDAY)
        self.plan_on(TUESDAY)
        limited = self.reminders(self.wa_customer, channel="whatsapp")
        sent = self.reminders(other, channel="whatsapp")
        self.send(limited | sent)
        self.assertEqual(sent.state, "sent")
        self.assertEqual(limited.state, "queued")
        delay = (limited.scheduled_at - NOW).total_seconds()
        self.assertTrue(6 <= delay <= 10, delay)
        self.assertEqual(limited.retry_count, 0)

    @mute_logger("odoo.addons.account_dunning.models.dunning_whatsapp_account")
    def test_expired_token_pauses_the_account(self):
        self.graph.respond = lambda request: self.graph.error(
            190, status=401, title="Error validating access token"
        )
        reminder = self.queued_whatsapp()
        self.send(reminder)
        self.assertEqual(self.account.state, "paused")
        self.assertIn("190", self.account.pause_reason)
        self.assertEqual(reminder.state, "queued")
        self.assertGreater(reminder.scheduled_at, NOW)
        # While paused, nothing more goes out.
        self.send(reminder)
        self.assertEqual(len(self.graph.sends), 1)

    def test_read_timeout_never_resent_then_settled_by_status_webhook(self):
        self.graph.respond = lambda request: ("sleep", 30)
        reminder = self.queued_whatsapp()
        with patch.object(dunning_whatsapp_account, "CLIENT_TIMEOUT", (2, 0.3)):
            self.send(reminder)
        self.assertEqual(reminder.state, "sending")
        self.assertIn("status webhook", reminder.error_message)
        # A later dispatch, even long after, neither resends nor requeues it.
        self._as_cron()._recover_stale_claims(NOW + timedelta(hours=12))
        self.send(reminder)
        self.assertEqual(reminder.state, "sending")
        self.assertEqual(len(self.graph.sends), 1)
        events = parse_webhook(
            webhook_body(
                status_value("wamid.LATE", "delivered", callback=reminder.uuid)
            )
        )
        inbox = self.env["dunning.whatsapp.event"].sudo()
        inbox._store_webhook(self.account, events)._process()
        self.assertEqual(reminder.state, "delivered")
        self.assertEqual(reminder.whatsapp_message_ids.wamid, "wamid.LATE")
        self.assertEqual(reminder.whatsapp_message_ids.state, "delivered")

    def test_stale_claim_without_outbox_record_goes_back_to_the_queue(self):
        # A worker died after claiming the reminder, before its outbox record:
        # the message was never tried.
        reminder = self.queued_whatsapp()
        reminder.write({"state": "sending", "claimed_at": NOW - timedelta(hours=2)})
        self._as_cron()._recover_stale_claims(NOW)
        self.assertEqual(reminder.state, "queued")

    def test_stale_claim_with_outbox_record_left_alone(self):
        # A worker died during the call: the message may have gone out.
        reminder = self.queued_whatsapp()
        reminder.write({"state": "sending", "claimed_at": NOW - timedelta(hours=2)})
        self.env["dunning.whatsapp.message"].sudo().create(
            {
                "direction": "out",
                "state": "sending",
                "account_id": self.account.id,
                "company_id": self.company.id,
                "partner_id": self.wa_customer.id,
                "reminder_id": reminder.id,
                # Its call had started when the worker died.
                "attempted_at": NOW - timedelta(hours=2),
            }
        )
        self._as_cron()._recover_stale_claims(NOW)
        self.assertEqual(reminder.state, "sending")

    def test_uncertain_send_escalated_after_the_grace_period(self):
        self.graph.respond = lambda request: ("sleep", 30)
        reminder = self.queued_whatsapp()
        with patch.object(dunning_whatsapp_account, "CLIENT_TIMEOUT", (2, 0.3)):
            self.send(reminder)
        self._as_cron()._recover_stale_claims(NOW + timedelta(hours=2))
        self.assertEqual(reminder.state, "sending")
        self._as_cron()._recover_stale_claims(NOW + timedelta(days=2))
        self.assertEqual(reminder.state, "failed")
        self.assertIn("never confirmed", reminder.error_message)
        self.assertTrue(self.wa_customer.activity_ids)
        self.assertEqual(len(self.graph.sends), 1)

    def test_terminal_error_fails_with_code_and_title(self):
        self.graph.respond = lambda request: self.graph.error(
            132001, title="Template does not exist"
        )
        reminder = self.queued_whatsapp()
        self.send(reminder)
        self.assertEqual(reminder.state, "failed")
        message = reminder.whatsapp_message_ids
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_code, 132001)
        self.assertEqual(message.error_title, "Template does not exist")
        self.assertEqual(len(self.graph.sends), 1)

    def test_daily_budget_defers_new_customers(self):
        self.account.daily_recipient_budget = 1
        other = self._create_customer(
            "Papelería Sol", mobile="+52 33 1234 5678", whatsapp_opt_in=True
        )
        self.create_invoice(self.wa_customer, due=TUESDAY)
        self.create_invoice(other, due=TUESDAY)
        self.plan_on(TUESDAY)
        first = self.reminders(self.wa_customer, channel="whatsapp")
        second = self.reminders(other, channel="whatsapp")
        self.send(first)
        sent_at = first.whatsapp_message_ids.sent_at
        self.send(second)
        self.assertEqual(first.state, "sent")
        self.assertEqual(second.state, "queued")
        self.assertEqual(second.scheduled_at, sent_at + timedelta(hours=24))
        self.assertIn("daily budget", second.error_message)
        self.assertEqual(len(self.graph.sends), 1)

    def budget_message(self, partner, state, created, sent_at=None, wamid=None):
        """An outgoing message of the account to ``partner``, created at
        ``created``."""
        message = (
            self.env["dunning.whatsapp.message"]
            .sudo()
            .create(
                {
                    "direction": "out",
                    "state": state,
                    "account_id": self.account.id,
                    "partner_id": partner.id,
                    "sent_at": sent_at,
                    "wamid": wamid,
                }
            )
        )
        message.flush_recordset()
        self.env.cr.execute(
            "UPDATE dunning_whatsapp_message SET create_date = %s WHERE id = %s",
            (created, message.id),
        )
        message.invalidate_recordset(["create_date"])
        return message

    def test_daily_budget_ignores_messages_that_never_left(self):
        # Scheduled confirmations waiting for the contact window, cancelled
        # ones and refusals without a WhatsApp ID opened no conversation.
        self.account.daily_recipient_budget = 1
        for name, state in (
            ("Papelería Sol", "queued"),
            ("Abarrotes Luna", "cancelled"),
            ("Ferretería Río", "failed"),
        ):
            other = self._create_customer(name, mobile="+52 33 1234 5678")
            self.budget_message(other, state, NOW - timedelta(hours=1))
        self.assertFalse(self.account._budget_full_until(self.wa_customer, NOW))
        reminder = self.queued_whatsapp()
        self.send(reminder)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(len(self.graph.sends), 1)

    def test_daily_budget_counts_a_failure_that_reached_whatsapp(self):
        self.account.daily_recipient_budget = 1
        other = self._create_customer("Papelería Sol", mobile="+52 33 1234 5678")
        sent = NOW - timedelta(hours=2)
        self.budget_message(other, "failed", sent, sent_at=sent, wamid="wamid.F1")
        self.assertEqual(
            self.account._budget_full_until(self.wa_customer, NOW),
            sent + timedelta(hours=24),
        )

    def test_daily_budget_counted_from_the_time_sent(self):
        # Queued 30 hours ago, sent an hour ago when the window opened: it
        # holds the budget until a day after it was sent.
        self.account.daily_recipient_budget = 1
        other = self._create_customer("Papelería Sol", mobile="+52 33 1234 5678")
        sent = NOW - timedelta(hours=1)
        self.budget_message(
            other, "delivered", NOW - timedelta(hours=30), sent_at=sent, wamid="w.1"
        )
        self.assertEqual(
            self.account._budget_full_until(self.wa_customer, NOW),
            sent + timedelta(hours=24),
        )
        # The customer already messaged costs nothing more.
        self.assertFalse(self.account._budget_full_until(other, NOW))
        # A message whose call is in flight counts from its creation.
        third = self._create_customer("Abarrotes Luna", mobile="+52 81 1234 5678")
        self.account.daily_recipient_budget = 2
        self.budget_message(third, "sending", NOW - timedelta(minutes=5))
        self.assertEqual(
            self.account._budget_full_until(self.wa_customer, NOW),
            sent + timedelta(hours=24),
        )
        self.assertFalse(self.account._budget_full_until(third, NOW))

    def test_sends_paced_at_the_rate_per_second(self):
        self.account.rate_per_second = 5
        customers = (
            self.wa_customer
            | self._create_customer(
                "Papelería Sol", mobile="+52 33 1234 5678", whatsapp_opt_in=True
            )
            | self._create_customer(
                "Abarrotes Luna", mobile="+52 81 1234 5678", whatsapp_opt_in=True
            )
        )
        for customer in customers:
            self.create_invoice(customer, due=TUESDAY)
        self.plan_on(TUESDAY)
        # One call at a time: a clock that moves only when slept on cannot
        # order calls that wait side by side (the pacers' thread safety is
        # tested in tests/unit: concurrent takes get distinct, spaced slots).
        with patch.object(whatsapp_channel, "WHATSAPP_CALLS_AT_ONCE", 1):
            self.send(self.reminders(channel="whatsapp"))
        # The instants on the pacing clock, which moves only when sending waits.
        times = [request["at"] for request in self.graph.sends]
        self.assertEqual(len(times), 3)
        gaps = [later - earlier for earlier, later in pairwise(times)]
        for gap in gaps:
            self.assertGreaterEqual(gap, 1 / 5)
            self.assertAlmostEqual(gap, 1 / 5, places=5)

    def test_no_consent_not_sent(self):
        self.wa_customer.whatsapp_opt_in = False
        reminder = self.queued_whatsapp()
        self.send(reminder)
        self.assertEqual(reminder.state, "failed")
        self.assertIn("did not agree", reminder.error_message)
        self.assertFalse(self.graph.sends)

    def test_opted_out_not_sent(self):
        self.wa_customer.whatsapp_opt_out = True
        reminder = self.queued_whatsapp()
        self.send(reminder)
        self.assertEqual(reminder.state, "failed")
        self.assertFalse(self.graph.sends)

    def test_invalid_number_never_sent(self):
        self.wa_customer.mobile = "55 1234"
        self.assertTrue(self.wa_customer.whatsapp_number_invalid)
        self.assertFalse(self.wa_customer.whatsapp_number)
        reminder = self.queued_whatsapp()
        self.send(reminder)
        self.assertEqual(reminder.state, "failed")
        self.assertFalse(self.graph.sends)

    def test_number_stored_in_e164_from_the_country(self):
        partner = self._create_customer("Tacos Lupita", mobile="044 55 8765 4321")
        self.assertEqual(partner.whatsapp_number, "+525587654321")
        partner.mobile = False
        partner.phone = "(33) 3123 4567"
        self.assertEqual(partner.whatsapp_number, "+523331234567")

    def test_test_connection_reads_the_number(self):
        self.graph.phone = {
            "id": PHONE_NUMBER_ID,
            "display_phone_number": "+52 55 5000 1111",
            "verified_name": "Acme Cobranza",
            "quality_rating": "GREEN",
        }
        action = self.account.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("Acme Cobranza", action["params"]["message"])
        self.assertEqual(self.account.display_phone_number, "+52 55 5000 1111")
        self.assertEqual(self.graph.requests[0]["method"], "GET")
        self.assertTrue(
            self.graph.requests[0]["path"].startswith(f"/v21.0/{PHONE_NUMBER_ID}?")
        )

    def test_test_connection_refused_token(self):
        self.graph.respond = lambda request: self.graph.error(190, status=401)
        with self.assertRaises(UserError):
            self.account.action_test_connection()

    def test_consent_is_dated(self):
        self.assertTrue(self.wa_customer.whatsapp_opt_in_date)


@tagged("post_install", "-at_install")
class TestWhatsAppAccess(WhatsAppCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.collector = new_test_user(
            cls.env,
            login="wa_collector",
            groups="account_dunning.group_dunning_collector",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    def test_collector_cannot_read_the_access_token(self):
        account = self.account.with_user(self.collector)
        self.assertEqual(account.name, "Cobranza")
        for secret in ("access_token", "app_secret", "verify_token"):
            with self.assertRaises(AccessError):
                account.read([secret])

    def test_collector_cannot_edit_templates(self):
        with self.assertRaises(AccessError):
            self.template.with_user(self.collector).write({"name": "otro"})

    def test_collector_of_another_company_does_not_see_the_account(self):
        self.env.user.company_ids |= self.env.ref("base.main_company")
        company_2 = self.setup_other_company(name="Acme Monterrey")["company"]
        outsider = new_test_user(
            self.env,
            login="wa_collector_mty",
            groups="account_dunning.group_dunning_collector",
            company_id=company_2.id,
            company_ids=[Command.set(company_2.ids)],
        )
        accounts = self.env["dunning.whatsapp.account"].with_user(outsider)
        self.assertFalse(accounts.search([]))
        templates = self.env["dunning.whatsapp.template"].with_user(outsider)
        self.assertFalse(templates.search([]))

    def test_template_params_must_match_the_body(self):
        with self.assertRaises(ValidationError):
            last = self.template.param_ids[-1]
            self.template.write({"param_ids": [Command.delete(last.id)]})
