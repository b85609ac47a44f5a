from datetime import date, datetime, time, timedelta

from freezegun import freeze_time

from odoo import SUPERUSER_ID, Command

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

# The ladder of the shipped default policy: (offset, channel, template xml id).
DEFAULT_LADDER = (
    (-3, "email", "account_dunning.mail_template_dunning_preventive"),
    (0, "email", "account_dunning.mail_template_dunning_due"),
    (1, "email", "account_dunning.mail_template_dunning_friendly"),
    (7, "email", "account_dunning.mail_template_dunning_firm"),
    (15, "activity", None),
    (30, "email", "account_dunning.mail_template_dunning_final"),
)

# 2026-11-24 is a Tuesday. At 18:00 UTC it is 12:00 in Mexico City (UTC-6),
# 10:00 in Tijuana (UTC-8 in November) and 13:00 in Cancún (UTC-5): every
# Mexican customer may be contacted, so dispatch sends at once.
TUESDAY = date(2026, 11, 24)
TUESDAY_NOON_MX = "2026-11-24 18:00:00"


class DunningCommon(AccountTestInvoicingCommon):
    """A company collecting with a policy of its own, and customers in Mexico.

    The company sits in Madrid, its customers in three Mexican time zones, so that
    a contact window evaluated in the company's zone instead of the debtor's shows.
    Planning and dispatch run as the scheduled actions do: as the superuser.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]
        cls.company.write({"email": "cobranza@acme.example.com"})
        cls.company.partner_id.tz = "Europe/Madrid"
        cls.mexico = cls.env.ref("base.mx")
        cls.spain = cls.env.ref("base.es")

        cls.policy = cls._create_policy(cls.company)
        cls.company.dunning_policy_id = cls.policy
        cls.levels = {level.offset_days: level for level in cls.policy.level_ids}

        cls.customer = cls._create_customer("Ferretería del Centro")
        cls.customer_tijuana = cls._create_customer(
            "Maquinados Tijuana", tz="America/Tijuana"
        )
        cls.customer_cancun = cls._create_customer("Hotel Caribe", tz="America/Cancun")

    # ------------------------------------------------------------------------------
    # Fixtures
    # ------------------------------------------------------------------------------

    @classmethod
    def _create_policy(cls, company, ladder=DEFAULT_LADDER, **values):
        """A fresh policy of ``company``: Mon-Fri 08:00-20:00, 3 days apart."""
        weekdays = cls.env["dunning.weekday"].search([("code", "<=", 4)])
        return cls.env["dunning.policy"].create(
            {
                "name": f"Collection {company.name}",
                "company_id": company.id,
                "compliance_profile": "mx_conservative",
                "contact_hour_from": 8.0,
                "contact_hour_to": 20.0,
                "contact_weekdays": [Command.set(weekdays.ids)],
                "skip_holidays": True,
                "min_days_between_reminders": 3,
                "level_ids": [
                    Command.create(cls._level_values(offset, channel, template))
                    for offset, channel, template in ladder
                ],
                **values,
            }
        )

    @classmethod
    def _level_values(cls, offset, channel, template_xmlid):
        if channel == "activity":
            return {
                "name": f"Call at {offset:+d}",
                "offset_days": offset,
                "tone": "firm",
                "channel_email": False,
                "channel_activity": True,
                "activity_type_id": cls.env.ref("mail.mail_activity_data_call").id,
                "activity_summary": "Call the customer",
            }
        return {
            "name": f"Reminder at {offset:+d}",
            "offset_days": offset,
            "channel_email": True,
            "mail_template_id": cls.env.ref(template_xmlid).id,
        }

    @classmethod
    def _create_customer(
        cls, name, tz="America/Mexico_City", country=None, state=None, **values
    ):
        slug = "".join(c for c in name.lower() if c.isascii() and c.isalnum())[:20]
        return cls.env["res.partner"].create(
            {
                "name": name,
                "is_company": True,
                "email": f"pagos@{slug}.example.com",
                "tz": tz,
                "country_id": (country or cls.mexico).id,
                "state_id": state and state.id,
                "invoice_sending_method": "manual",
                "company_id": False,
                **values,
            }
        )

    @classmethod
    def create_invoice(
        cls,
        partner=None,
        due=TUESDAY,
        amount=1000.0,
        currency=None,
        move_type="out_invoice",
        company=None,
        post=True,
    ):
        """An invoice (or credit note, or bill) of ``amount`` due on ``due``.

        No tax and no payment term, so that the amount due is ``amount`` and the
        due date is exactly ``due``; dated 30 days before it.
        """
        company = company or cls.company
        move = (
            cls.env["account.move"]
            .with_company(company)
            .create(
                {
                    "move_type": move_type,
                    "partner_id": (partner or cls.customer).id,
                    "invoice_date": due - timedelta(days=30),
                    "invoice_date_due": due,
                    "invoice_payment_term_id": False,
                    "currency_id": (currency or company.currency_id).id,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": "Consulting",
                                "quantity": 1,
                                "price_unit": amount,
                                "tax_ids": [Command.clear()],
                            }
                        )
                    ],
                }
            )
        )
        if post:
            move.action_post()
        return move

    @classmethod
    def register_payment(cls, invoice, amount=None):
        """Pay ``invoice`` through the usual wizard, in full unless ``amount``."""
        values = {"amount": amount} if amount is not None else {}
        return (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create(values)
            ._create_payments()
        )

    # ------------------------------------------------------------------------------
    # The scheduled actions, run as the cron user
    # ------------------------------------------------------------------------------

    def _as_cron(self):
        return self.env["dunning.reminder"].with_user(SUPERUSER_ID)

    def plan(self):
        self._as_cron()._cron_plan()

    def dispatch(self):
        """The dispatch cron, then Odoo's mail cron that it triggers: an email
        reminder is sent once the mail server took its mail."""
        self._as_cron()._cron_dispatch()
        self.run_mail_queue()

    def run_mail_queue(self):
        """Odoo's mail cron. In a test Odoo only pretends to hand the mails to
        a server (they are accepted); test_email_smtp uses a real one."""
        self.env["mail.mail"].sudo().process_email_queue()

    def plan_on(self, day):
        """Plan at noon UTC of ``day``: the same calendar day in every zone used."""
        with freeze_time(datetime.combine(day, time(12))):
            self.plan()

    # ------------------------------------------------------------------------------
    # Look-ups
    # ------------------------------------------------------------------------------

    def reminders(self, partner=None, **filters):
        """The outbox rows of ``partner``: its level reminders, unless a
        ``kind`` of notice is asked for."""
        filters.setdefault("kind", "reminder")
        domain = [(key, "=", value) for key, value in filters.items()]
        if partner:
            domain.append(("partner_id", "=", partner.commercial_partner_id.id))
        return self.env["dunning.reminder"].sudo().search(domain, order="id")

    def mails(self, partner):
        """Emails queued for ``partner`` or its contacts."""
        return (
            self.env["mail.mail"]
            .sudo()
            .search([("recipient_ids", "child_of", partner.commercial_partner_id.id)])
        )

    def dispatch_trigger_at(self, when):
        cron = self.env.ref("account_dunning.ir_cron_dunning_dispatch")
        return (
            self.env["ir.cron.trigger"]
            .sudo()
            .search([("cron_id", "=", cron.id), ("call_at", "=", when)])
        )
