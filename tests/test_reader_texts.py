"""What the debtor reads: amounts, dates and salutations in their own terms."""

import re
from pathlib import Path

from odoo.tests import new_test_user, tagged

from .common import TUESDAY
from .test_promise import PromiseCommon, days
from .test_whatsapp_common import WhatsAppCommon

NBSP = "\N{NO-BREAK SPACE}"
# Calques the Spanish texts once had (issue "Right for every debtor", item 14).
CALQUES = (
    "ignore este mensaje y gracias",
    "gracias, y por favor ignore",
    "recibimos su pago de INV",
    "al corriente en estas facturas",
    "Estimado(a) <t",
)


def load_spanish(env, *codes):
    for code in codes:
        env["res.lang"]._activate_lang(code)
    # The languages are activated after the add-on was installed: load its
    # Spanish terms as an update of the add-on would.
    env["ir.module.module"]._load_module_terms(
        ["account_dunning"], list(codes), overwrite=True
    )


@tagged("post_install", "-at_install")
class TestReaderAmounts(WhatsAppCommon):
    """A company in Mexico invoicing in pesos, with the dollar active too."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        load_spanish(cls.env, "es_MX", "es_ES")
        cls.company.country_id = cls.mexico
        cls.mxn = cls.setup_other_currency("MXN")
        cls.eur = cls.setup_other_currency("EUR")
        cls.wa_customer.lang = "es_MX"
        cls.email_template = cls.env.ref(
            "account_dunning.mail_template_dunning_friendly"
        )

    def reminder_of(self, partner, currency, amount=19800.0):
        self.create_invoice(partner, due=TUESDAY, amount=amount, currency=currency)
        self.plan_on(TUESDAY)
        reminder = self.reminders(partner, channel="whatsapp")
        self.assertEqual(len(reminder), 1)
        return reminder

    def email_body(self, reminder):
        return self.email_template._render_field(
            "body_html", reminder.ids, compute_lang=True
        )[reminder.id]

    def test_a_customer_abroad_reads_the_iso_code(self):
        us_customer = self._create_customer(
            "Lone Star Tools",
            tz="America/Chicago",
            country=self.env.ref("base.us"),
            lang="en_US",
        )
        self.assertEqual(
            us_customer._dunning_format_amount(19800.0, self.mxn, self.company),
            f"${NBSP}19,800.00 MXN",
        )

    def test_a_symbol_shared_with_an_active_currency_shows_the_iso_code(self):
        # A Mexican customer, a peso invoice: "$" is also the dollar's.
        self.assertEqual(
            self.wa_customer._dunning_format_amount(19800.0, self.mxn, self.company),
            f"${NBSP}19,800.00 MXN",
        )

    def test_an_unambiguous_symbol_at_home_needs_no_iso_code(self):
        self.assertEqual(
            self.wa_customer._dunning_format_amount(19800.0, self.eur, self.company),
            f"19,800.00{NBSP}€",
        )

    def test_the_separators_are_the_customers_languages(self):
        spain = self._create_customer("Suministros Iberia", country=self.spain)
        spain.lang = "es_ES"
        # es_ES groups with "." and decimals with ","; es_MX the other way.
        self.assertEqual(
            spain._dunning_format_amount(19800.0, self.eur, self.company),
            f"19.800,00{NBSP}€ EUR",
        )

    def test_email_and_whatsapp_show_the_same_amount(self):
        reminder = self.reminder_of(self.wa_customer, self.mxn)
        expected = f"${NBSP}19,800.00 MXN"
        params = self.template._render_params(reminder)
        self.assertEqual(params[1], expected)
        self.assertIn(expected, self.email_body(reminder))

    def test_whatsapp_due_date_in_the_customers_format(self):
        reminder = self.reminder_of(self.wa_customer, self.mxn)
        self.assertEqual(self.template._render_params(reminder)[2], "24/11/2026")


@tagged("post_install", "-at_install")
class TestReaderDatesAndSalutations(PromiseCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        load_spanish(cls.env, "es_MX")
        cls.customer.lang = "es_MX"
        cls.contact = cls.env["res.partner"].create(
            {
                "name": "Marisol Peña",
                "parent_id": cls.customer.id,
                "type": "invoice",
                "email": "marisol@ferreteria.example.com",
                "lang": "es_MX",
            }
        )

    def render(self, xmlid, record, field="body_html"):
        template = self.env.ref(xmlid)
        return template._render_field(field, record.ids, compute_lang=True)[record.id]

    def test_spanish_promise_subject_has_the_mexican_date_format(self):
        promise = self.promise(amount=800.0, date=TUESDAY + days(16))
        subject = self.render(
            "account_dunning.mail_template_dunning_promise_confirm", promise, "subject"
        )
        self.assertIn("10/12/2026", subject)
        self.assertNotIn("2026-12-10", subject)

    def test_chatter_note_for_a_spanish_collector_has_the_spanish_date(self):
        collector = new_test_user(
            self.env,
            login="cobrador_es",
            groups="account.group_account_invoice",
            lang="es_MX",
        )
        self.customer.dunning_collector_id = collector
        promise = self.promise(amount=800.0, date=TUESDAY + days(16))
        self.check_on(TUESDAY + days(20))
        self.assertEqual(promise.state, "broken")
        note = promise.activity_ids.note
        self.assertIn("10/12/2026", note)
        self.assertNotIn("2026-12-10", note)
        # The invoice's chatter says when it was promised, for the collector too.
        bodies = " ".join(self.invoice.message_ids.mapped("body"))
        self.assertIn("10/12/2026", bodies)
        self.assertNotIn("2026-12-10", bodies)

    def test_spanish_salutation_addresses_a_person_with_a_colon(self):
        promise = self.promise(amount=800.0)
        body = self.render(
            "account_dunning.mail_template_dunning_promise_confirm", promise
        )
        self.assertIn("Estimado(a) Marisol Peña:", body)

    def test_spanish_salutation_never_calls_a_company_estimado(self):
        self.contact.unlink()
        promise = self.promise(amount=800.0)
        body = self.render(
            "account_dunning.mail_template_dunning_promise_confirm", promise
        )
        self.assertIn("A la atención de Ferretería del Centro:", body)
        self.assertNotIn("Estimado(a) Ferretería", body)

    def test_spanish_reminder_and_thank_you_open_with_a_colon(self):
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(len(reminder), 1)
        reminder.recipient_id = False
        body = self.render("account_dunning.mail_template_dunning_friendly", reminder)
        self.assertIn("A la atención de Ferretería del Centro:", body)
        self.assertNotIn("Estimado(a)", body)
        self.register_payment(self.invoice)
        thanks = self.env["dunning.reminder"]._enqueue_notice(
            "thank_you", self.customer, self.company, ["email"], moves=self.invoice
        )
        body = self.render("account_dunning.mail_template_dunning_thank_you", thanks)
        self.assertRegex(body, r"(Estimado\(a\) Marisol Peña|A la atención de .*):")
        self.assertNotIn("Hola", body)

    def test_english_salutation_keeps_its_comma(self):
        self.customer.lang = "en_US"
        self.contact.lang = "en_US"
        promise = self.promise(amount=800.0)
        body = self.render(
            "account_dunning.mail_template_dunning_promise_confirm", promise
        )
        self.assertIn("Dear Marisol Peña,", body)

    def test_no_calque_left_in_the_spanish_translation(self):
        po = (Path(__file__).parents[1] / "i18n" / "es.po").read_text()
        # One string per entry, whatever the line wrapping.
        text = re.sub(r'"\n"', "", po)
        for calque in CALQUES:
            with self.subTest(calque=calque):
                self.assertNotIn(calque, text)
