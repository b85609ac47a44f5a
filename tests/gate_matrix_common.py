"""Fixtures of the contact-gate matrix: every kind of message on every channel.

Not a test module of its own: the class here has no test method.

One company, one policy whose level has a template on every channel, the
shipped notice templates approved on the company's WhatsApp account, and the
providers of every channel on loopback (the Graph API, Odoo's SMS API, the
snail mail service). Each cell of the matrix gets a customer of its own, in
Mexico City, reachable on every channel: the cells of one test never see each
other's contacts.
"""

from datetime import datetime, timedelta

from freezegun import freeze_time

from .common import TUESDAY
from .test_letter_channel import _SnailmailServer
from .test_sms_channel import FakeSmsProvider
from .test_whatsapp_common import WhatsAppCommon

# Tuesday 2026-11-24. 06:00 in Mexico City (UTC-6): before the window opens.
EARLY = datetime(2026, 11, 24, 12, 0)
# 08:00 in Mexico City: the window's opening, in UTC.
OPENING = datetime(2026, 11, 24, 14, 0)
# Noon in Mexico City: inside the window.
NOON = datetime(2026, 11, 24, 18, 0)
# Wednesday 08:00 in Mexico City: the next opening after a day's cap.
WEDNESDAY_OPENING = datetime(2026, 11, 25, 14, 0)

# The channels that carry each kind of message to the debtor. A reminder also
# goes by collector activity (internal: no window, caps nor reachability);
# a notice reaches a collector only as the fallback of a debtor channel.
CARRIERS = {
    "reminder": ("email", "whatsapp", "sms", "letter"),
    "promise_confirmation": ("email", "whatsapp"),
    "instalment_reminder": ("email", "whatsapp"),
    "plan_agreement": ("email",),
    "thank_you": ("email", "whatsapp"),
    "chat": ("whatsapp",),
}
DEBTOR_CELLS = tuple(
    (kind, channel) for kind, channels in CARRIERS.items() for channel in channels
)
NOTICE_KINDS = tuple(kind for kind in CARRIERS if kind != "reminder")


class GateMatrixCommon(WhatsAppCommon):
    """Every channel configured and reachable; rows of every kind on demand."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sms_provider = FakeSmsProvider()
        cls.addClassCleanup(cls.sms_provider.stop)
        cls.snailmail = _SnailmailServer()
        cls.snailmail.start()
        cls.addClassCleanup(cls.snailmail.stop)
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("sms.endpoint", cls.sms_provider.url)
        params.set_param("snailmail.endpoint", cls.snailmail.url)
        cls.env["iap.account"].sudo().create(
            [
                {"service_id": cls.env.ref("sms.iap_service_sms").id},
                {
                    "service_id": cls.env.ref("snailmail.iap_service_snailmail").id,
                    "account_token": "dunning-matrix-token",
                },
            ]
        )
        cls.env["res.lang"]._activate_lang("es_MX")
        notice_templates = cls.env[
            "dunning.whatsapp.template"
        ]._create_shipped_notice_templates(cls.account)
        (notice_templates | cls.template).status = "approved"
        confirm_es, _confirm_en, thanks_es, _thanks_en = notice_templates
        # Notices are queued by the tests on the channel of each cell, never
        # by the flows that make them (a promise, a payment).
        cls.wa_policy.write(
            {
                "promise_whatsapp_template_id": confirm_es.id,
                "thank_you_whatsapp_template_id": thanks_es.id,
                "promise_confirm_email": False,
                "promise_confirm_whatsapp": False,
                "thank_you_email": False,
                "thank_you_whatsapp": False,
                "whatsapp_fallback": "email",
                "sms_fallback": "email",
                "letter_fallback": "activity",
            }
        )
        # One level with the settings of every channel; each row says its own.
        cls.wa_level.write(
            {
                "mail_template_id": cls.env.ref(
                    "account_dunning.mail_template_dunning_due"
                ).id,
                "sms_template_id": cls.env.ref(
                    "account_dunning.sms_template_dunning_friendly"
                ).id,
                "activity_type_id": cls.env.ref("mail.mail_activity_data_call").id,
            }
        )
        cls.Reminder = cls.env["dunning.reminder"]
        cls.cron = cls.env.ref("account_dunning.ir_cron_dunning_dispatch")

    def setUp(self):
        super().setUp()
        self.sms_provider.requests.clear()
        self.snailmail.requests.clear()
        self.cell_number = 0

    # ------------------------------------------------------------------------------
    # A customer and a row per cell
    # ------------------------------------------------------------------------------

    def debtor(self, label):
        """A customer of its own for one cell: in Mexico City, with an email
        address, a mobile that agreed to WhatsApp and a full postal address."""
        self.cell_number += 1
        return self._create_customer(
            f"Cliente {label} {self.cell_number}",
            mobile=f"+52 55 1234 {5600 + self.cell_number}",
            whatsapp_opt_in=True,
            whatsapp_opt_in_source="contract",
            street="Av. Juárez 100",
            city="Ciudad de México",
            zip="06000",
        )

    def queue(self, kind, channel, partner, moves=None, asked=False, body=None):
        """Queue a row of ``kind`` on ``channel`` for ``partner``, as its flow
        does (a manual reminder as the Send Reminder wizard, a notice through
        ``_enqueue_notice``, a chat through ``_enqueue_chat``), at the frozen
        time; return it."""
        if moves is None:
            moves = self.create_invoice(partner, due=TUESDAY - timedelta(days=10))
        company = self.company
        if kind == "reminder":
            row = self.Reminder.sudo().create(
                {
                    "origin": "manual",
                    "company_id": company.id,
                    "partner_id": partner.id,
                    "level_id": self.wa_level.id,
                    "channel": channel,
                    "currency_id": moves.currency_id[:1].id,
                    "move_ids": [(6, 0, moves.ids)],
                    "amount_due": sum(moves.mapped("amount_residual")),
                }
            )
            row._enqueue_now()
            return row
        if kind == "chat" and channel == "whatsapp":
            template = None if body else self.template
            return self.Reminder._enqueue_chat(
                partner, company, moves, template=template, body=body
            )
        promise = plan = None
        if kind in ("instalment_reminder", "plan_agreement"):
            plan = self.payment_plan(partner, moves)
            promise = (
                plan._get_instalments()[0] if kind == "instalment_reminder" else None
            )
            if kind == "plan_agreement":
                moves = plan.move_ids
        elif kind == "promise_confirmation":
            promise = self.promise(partner, moves, "portal" if asked else "call")
        return self.Reminder._enqueue_notice(
            kind,
            partner,
            company,
            [channel],
            promise=promise,
            plan=plan,
            moves=moves if kind in ("thank_you", "chat", "plan_agreement") else None,
            asked_by_debtor=asked,
        )

    def promise(self, partner, moves, source="call"):
        """A promise to pay ``moves`` in full in a week, not confirmed yet."""
        return self.env["dunning.promise"]._dunning_register(
            partner,
            moves,
            sum(moves.mapped("amount_residual")),
            TUESDAY + timedelta(days=7),
            source,
            confirm=False,
        )

    def payment_plan(self, partner, moves):
        """A plan of two instalments over ``moves``, its agreement not sent."""
        total = sum(moves.mapped("amount_residual"))
        return self.env["dunning.payment.plan"]._dunning_create(
            partner,
            moves,
            [
                (TUESDAY + timedelta(days=9), total / 2),
                (TUESDAY + timedelta(days=39), total / 2),
            ],
            confirm=False,
        )

    def past_contact(self, partner, when):
        """An email reminder that reached ``partner`` at ``when``."""
        return self.Reminder.sudo().create(
            {
                "origin": "manual",
                "company_id": self.company.id,
                "partner_id": partner.id,
                "level_id": self.wa_level.id,
                "channel": "email",
                "currency_id": self.company.currency_id.id,
                "state": "sent",
                "scheduled_at": when,
                "claimed_at": when,
                "sent_at": when,
            }
        )

    # ------------------------------------------------------------------------------
    # Dispatch and what left
    # ------------------------------------------------------------------------------

    def dispatch_at(self, when):
        with freeze_time(when):
            self.dispatch()

    def clear_triggers(self):
        self.env["ir.cron.trigger"].sudo().search(
            [("cron_id", "=", self.cron.id)]
        ).unlink()

    def handed(self, row):
        """What ``row``'s channel made of it: its mail, its WhatsApp requests
        to the provider, its SMS, its letter or its activity (empty if none)."""
        if row.channel == "whatsapp":
            number = row.partner_id.whatsapp_number.lstrip("+")
            return [
                request
                for request in self.graph.sends
                if request["json"]["to"] == number
                and (request["json"]["type"] == "text") == bool(row.chat_body)
            ]
        return {
            "email": row.mail_id,
            "sms": row.sms_id,
            "letter": row.letter_id or row.letter_attachment_id,
            "activity": row.activity_id,
        }[row.channel]

    def assertGone(self, row):
        """``row`` passed the gate and reached its channel (an email, SMS or
        letter waits for its provider in Odoo's queue: ``sending``)."""
        self.assertIn(row.state, ("sending", "sent"), row.error_message)
        self.assertTrue(self.handed(row), "nothing reached the channel")

    def assertHeld(self, row):
        self.assertEqual(row.state, "deferred", row.error_message)
        self.assertFalse(self.handed(row), "sent while held")

    def rendered(self, row):
        """The text the debtor (or, for an activity, the collector) reads."""
        if row.channel == "email":
            return str(row.mail_id.body_html)
        if row.channel == "whatsapp":
            return " ".join(row.whatsapp_message_ids.mapped("body"))
        if row.channel == "sms":
            return row.sms_id.body
        if row.channel == "letter":
            return row.letter_attachment_id.raw.decode()
        return str(row.activity_id.note)
