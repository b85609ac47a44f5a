"""The one outbox: a channel plug-in defined here only, the collector's
language, customers' replies to a reminder."""

from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.tests import Form, new_test_user, tagged

from ..models.dunning_channel import RETRY, SENT, DunningChannel, Outcome
from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon
from .test_whatsapp_common import WhatsAppCommon

# Tuesday 06:00 in Mexico City: before the contact window opens at 08:00.
EARLY = datetime(2026, 11, 24, 12, 0)
OPENING = datetime(2026, 11, 24, 14, 0)


class PagerChannel:
    """A channel that exists only in these tests: a pager, reaching customers
    who have a phone number. It implements the contract's own methods and
    inherits the rest (the defaults of ``dunning.channel``), as a plug-in
    file would; the engine is not told anything about it."""

    _channel_code = "pager"
    _channel_sequence = 50
    _channel_faces_debtor = True
    _channel_carries_notices = False
    _channel_default_fallback = "email"
    _channel_level_fields = ()

    def __init__(self, env, level):
        self._base = env["dunning.channel"]
        self.level = level
        self.paged = []
        self.busy = 0

    def __getattr__(self, name):
        # The contract's defaults, bound to this plug-in (as inheritance would).
        default = getattr(type(self._base), name, None)
        if callable(default):
            return default.__get__(self)
        return getattr(self._base, name)

    def _channel_label(self):
        return "Pager"

    def _level_uses(self, level):
        return level == self.level

    def _level_problem(self, level):
        return None

    def _unreachable_reason(self, reminder):
        if not reminder.partner_id.phone:
            return f"{reminder.partner_id.name} has no pager number."
        return None

    def _send(self, reminders, now):
        retry_times = set()
        for reminder in reminders:
            if self.busy:
                self.busy -= 1
                outcome = Outcome(RETRY, "The pager network is busy.")
            else:
                self.paged.append((reminder.partner_id.phone, reminder.amount_due))
                outcome = Outcome(SENT)
            when = reminder._settle(outcome, now)
            if outcome.kind == SENT:
                reminder.partner_id._message_log(body="Paged about the statement.")
            if when:
                retry_times.add(when)
        return retry_times


@tagged("post_install", "-at_install")
class TestTestOnlyChannel(DunningCommon):
    """A plug-in the engine never heard of is planned, gated, dispatched,
    retried, logged and fallen back from."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        level = cls.levels[0]
        cls.pager = pager = PagerChannel(cls.env, level)
        real = DunningChannel._dunning_channels

        def channels(model):
            return {**real(model), "pager": pager}

        cls.startClassPatcher(
            patch.object(DunningChannel, "_dunning_channels", channels)
        )
        level.channel_email = False
        cls.customer.phone = "+52 55 1234 5678"

    def setUp(self):
        super().setUp()
        self.pager.paged.clear()
        self.pager.busy = 0

    def test_registry_lists_it(self):
        self.assertIn("pager", self.env["dunning.channel"]._dunning_channels())
        self.assertIn(
            ("pager", "Pager"),
            self.env["dunning.reminder"]
            ._fields["channel"]
            ._description_selection(self.env),
        )

    def test_planned_gated_dispatched_retried_and_logged(self):
        self.create_invoice(due=TUESDAY)
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.channel, "pager")
        # Before the contact hours: the gate defers it to the opening.
        with freeze_time(EARLY):
            self.dispatch()
        self.assertEqual(reminder.state, "deferred")
        self.assertEqual(reminder.scheduled_at, OPENING)
        self.assertFalse(self.pager.paged)
        # At the opening the network is busy: retried with the backoff.
        self.pager.busy = 1
        with freeze_time(OPENING):
            self.dispatch()
        self.assertEqual(reminder.state, "queued")
        self.assertEqual(reminder.retry_count, 1)
        self.assertIn("busy", reminder.error_message)
        self.assertGreater(reminder.scheduled_at, OPENING)
        with freeze_time(reminder.scheduled_at + timedelta(seconds=1)):
            self.dispatch()
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(self.pager.paged, [("+52 55 1234 5678", 1000.0)])
        self.assertIn(
            "Paged about the statement",
            " ".join(self.customer.message_ids.mapped("body")),
        )

    def test_unreachable_falls_back_to_its_next_channel(self):
        self.customer.phone = False
        self.create_invoice(due=TUESDAY)
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        with freeze_time(TUESDAY_NOON_MX):
            self.dispatch()
        self.assertEqual(reminder.state, "failed")
        self.assertIn("no pager number", reminder.error_message)
        fallback = reminder.fallback_ids
        self.assertEqual(fallback.channel, "email")
        self.assertEqual(fallback.state, "sent")
        self.assertEqual(len(self.mails(self.customer)), 1)

    def test_counted_by_the_caps_of_every_channel(self):
        # One contact a day (the policy's cap): the pager's reminder today
        # holds back an email reminder of another level the same day.
        self.policy.max_contacts_per_day = 1
        self.create_invoice(due=TUESDAY)
        self.plan_on(TUESDAY)
        with freeze_time(TUESDAY_NOON_MX):
            self.dispatch()
        manual = self.env["dunning.reminder"].create(
            {
                "origin": "manual",
                "company_id": self.company.id,
                "partner_id": self.customer.id,
                "level_id": self.levels[1].id,
                "channel": "email",
                "currency_id": self.company.currency_id.id,
            }
        )
        with freeze_time(TUESDAY_NOON_MX):
            manual.sudo()._dispatch(datetime(2026, 11, 24, 18, 5))
        self.assertEqual(manual.state, "deferred")
        self.assertIn("contact caps", manual.error_message)


@tagged("post_install", "-at_install")
class TestCollectorLanguage(DunningCommon):
    """What the engine writes for a Spanish-speaking collector is in Spanish,
    whoever triggered it (a cron runs as the system in English)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("es_MX")
        cls.env["ir.module.module"]._load_module_terms(
            ["account_dunning"], ["es_MX"], overwrite=True
        )
        cls.collector = new_test_user(
            cls.env,
            login="cobrador_es",
            lang="es_MX",
            groups="account_dunning.group_dunning_collector",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.customer.with_company(cls.company).dunning_collector_id = cls.collector

    def test_collection_activity_of_a_cron_in_the_collectors_language(self):
        self.create_invoice(due=TUESDAY - timedelta(days=15))
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer, channel="activity")
        with freeze_time(TUESDAY_NOON_MX):
            self.dispatch()
        self.assertEqual(reminder.state, "sent")
        activity = reminder.activity_id
        self.assertEqual(activity.user_id, self.collector)
        self.assertIn("Llamar al cliente por su adeudo", str(activity.note))

    def test_broken_promise_told_in_the_collectors_language(self):
        invoice = self.create_invoice(due=TUESDAY - timedelta(days=10))
        with freeze_time(TUESDAY_NOON_MX):
            promise = self.env["dunning.promise"]._dunning_register(
                self.customer, invoice, 1000.0, TUESDAY + timedelta(days=2), "call"
            )
        cron = self.env.ref("account_dunning.ir_cron_promise_check").sudo()
        with freeze_time(TUESDAY + timedelta(days=20)):
            cron.method_direct_trigger()
        self.assertEqual(promise.state, "broken")
        self.assertEqual(promise.activity_ids.summary, "Promesa incumplida")
        self.assertEqual(promise.activity_ids.user_id, self.collector)

    def test_dispute_from_the_customer_page_in_the_collectors_language(self):
        invoice = self.create_invoice(due=TUESDAY - timedelta(days=10))
        public = self.env.ref("base.public_user")
        dispute = (
            self.env["dunning.dispute"]
            .with_user(public)
            .sudo()
            .create(
                {
                    "partner_id": self.customer.id,
                    "company_id": self.company.id,
                    "move_ids": [Command.set(invoice.ids)],
                    "reason": "wrong_amount",
                    "comment": "El importe no coincide",
                }
            )
        )
        activity = dispute.activity_ids.filtered(lambda a: a.user_id == self.collector)
        self.assertEqual(activity.summary, "Revisar la disputa del cliente")


@tagged("post_install", "-at_install")
class TestReplies(DunningCommon):
    """A customer's email reply to a reminder lands on it; the collector is told."""

    def test_reply_lands_on_the_reminder_and_the_collector_is_told(self):
        collector = new_test_user(
            self.env,
            login="cobrador_replies",
            groups="account_dunning.group_dunning_collector",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        self.customer.with_company(self.company).dunning_collector_id = collector
        self.create_invoice(due=TUESDAY)
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        with freeze_time(TUESDAY_NOON_MX):
            self.dispatch()
        self.assertEqual(reminder.state, "sent")
        sent = reminder.mail_id.mail_message_id or reminder.message_id
        raw = (
            f"From: {self.customer.email}\r\n"
            f"To: cobranza@acme.example.com\r\n"
            f"Subject: Re: {sent.subject}\r\n"
            f"Message-ID: <reply-1@example.com>\r\n"
            f"In-Reply-To: {sent.message_id}\r\n"
            f"References: {sent.message_id}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n"
            "Ya pagamos la factura ayer, adjunto comprobante.\r\n"
        )
        thread_id = self.env["mail.thread"].sudo().message_process(None, raw)
        self.assertEqual(thread_id, reminder.id)
        self.assertIn(
            "Ya pagamos",
            " ".join(reminder.message_ids.mapped("body")),
        )
        activity = reminder.activity_ids
        self.assertEqual(activity.user_id, collector)
        self.assertEqual(activity.summary, "The customer answered the reminder")


@tagged("post_install", "-at_install")
class TestSendWizardPreview(WhatsAppCommon):
    """The Send Reminder wizard previews the message of the channel chosen."""

    def test_whatsapp_preview_is_the_template_not_an_activity(self):
        self.template.status = "approved"
        invoice = self.create_invoice(self.wa_customer, due=TUESDAY)
        with freeze_time(TUESDAY_NOON_MX):
            form = Form(
                self.env["dunning.reminder.send"].with_context(
                    active_model="account.move", active_ids=invoice.ids
                )
            )
            self.assertEqual(form.level_id, self.wa_level)
            self.assertEqual(form.channel, "whatsapp")
            self.assertFalse(form.preview_error)
            self.assertTrue(form.preview_body.startswith("Hola María Peña, su saldo"))
            self.assertEqual(form.preview_recipient, self.wa_customer.whatsapp_number)
            self.assertEqual(form.preview_subject, self.template.display_name)


@tagged("post_install", "-at_install")
class TestPlanningLeavesOutUnreachableChannels(WhatsAppCommon):
    """A customer WhatsApp cannot reach, with invoices at a level that also
    emails and at a level that only asks the collector to call."""

    def test_email_planned_without_whatsapp_and_the_call_as_well(self):
        self.template.status = "approved"
        self.env["dunning.level"].create(
            [
                {
                    "policy_id": self.wa_policy.id,
                    "name": "Email and WhatsApp",
                    "offset_days": 5,
                    "channel_email": True,
                    "mail_template_id": self.env.ref(
                        "account_dunning.mail_template_dunning_friendly"
                    ).id,
                    "channel_whatsapp": True,
                    "whatsapp_template_id": self.template.id,
                },
                {
                    "policy_id": self.wa_policy.id,
                    "name": "Call",
                    "offset_days": 15,
                    "channel_email": False,
                    "channel_activity": True,
                },
            ]
        )
        customer = self._create_customer("Abarrotes Lupita", mobile="+52 55 8765 4321")
        self.create_invoice(customer, due=TUESDAY - timedelta(days=6))
        self.create_invoice(customer, due=TUESDAY - timedelta(days=16))
        self.plan_on(TUESDAY)
        self.assertEqual(
            sorted(self.reminders(customer).mapped("channel")), ["activity", "email"]
        )
