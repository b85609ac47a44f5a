import json
import logging
from contextlib import contextmanager
from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..controllers.portal import money_formatter
from ..models.dunning_portal_token import hash_token
from ..services.log_privacy import token_ref
from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon

# The queries of one GET of the customer page, whatever its number of invoices
# (two of them read the customer's and the company's countries: an amount shows
# its currency's ISO code to a customer abroad; one its risk row, whose segment
# may choose its policy).
PAGE_QUERIES = 21


class PortalCommon(DunningCommon, HttpCase):
    """A customer with two overdue invoices in collection, and a link to its page."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.lang = "en_US"
        cls.invoice_1 = cls.create_invoice(cls.customer, due=TUESDAY, amount=1000.0)
        cls.invoice_2 = cls.create_invoice(
            cls.customer, due=TUESDAY + timedelta(days=3), amount=250.0
        )
        cls.other_invoice = cls.create_invoice(cls.customer_tijuana, amount=777.0)
        cls.provider = cls._demo_provider(cls.company)

    @classmethod
    def _demo_provider(cls, company):
        base = cls.env.ref("payment.payment_provider_demo")
        provider = cls.env["payment.provider"].sudo().search(
            [("code", "=", "demo"), ("company_id", "=", company.id)], limit=1
        ) or base.sudo().copy({"company_id": company.id})
        provider.write(
            {
                "state": "test",
                "is_published": True,
                "payment_method_ids": [(6, 0, base.payment_method_ids.ids)],
            }
        )
        return provider

    def link(self, partner=None, company=None):
        """A new raw token for ``partner``'s page and its path."""
        token = self.env["dunning.portal.token"]._mint(
            partner or self.customer, company or self.company
        )
        return token, f"/cobranza/{token}"

    def token_record(self, token):
        return (
            self.env["dunning.portal.token"]
            .sudo()
            .search([("token_hash", "=", hash_token(token))])
        )


@tagged("post_install", "-at_install")
class TestPortalAccess(PortalCommon):
    def test_valid_link_shows_the_open_invoices_and_totals(self):
        _token, path = self.link()
        response = self.url_open(path)
        self.assertEqual(response.status_code, 200)
        self.assertIn(self.invoice_1.name, response.text)
        self.assertIn(self.invoice_2.name, response.text)
        self.assertIn(self.customer.name, response.text)
        self.assertIn(self.company.name, response.text)
        self.assertIn("1,250.00", response.text)

    def test_link_never_shows_another_customers_invoices(self):
        _token, path = self.link()
        response = self.url_open(path)
        self.assertNotIn(self.other_invoice.name, response.text)
        self.assertNotIn(self.customer_tijuana.name, response.text)

    def test_link_never_shows_another_companys_invoices(self):
        company_2 = self.setup_other_company(name="Acme Monterrey")["company"]
        other = self.create_invoice(self.customer, amount=555.0, company=company_2)
        _token, path = self.link()
        response = self.url_open(path)
        self.assertIn(self.invoice_1.name, response.text)
        self.assertNotIn("555.00", response.text)
        self.assertNotIn("Acme Monterrey", response.text)
        response = self.url_open(f"{path}/invoice/{other.id}")
        self.assertEqual(response.status_code, 404)

    def test_wrong_token_is_not_found(self):
        response = self.url_open("/cobranza/" + "x" * 43)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(self.customer.name, response.text)

    def test_expired_token_is_not_found(self):
        token, path = self.link()
        self.token_record(token).expires_at = fields.Datetime.now() - timedelta(
            seconds=1
        )
        response = self.url_open(path)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(self.customer.name, response.text)

    def test_revoked_token_is_not_found(self):
        token, path = self.link()
        self.customer.action_dunning_portal_revoke()
        self.assertTrue(self.token_record(token).revoked_at)
        response = self.url_open(path)
        self.assertEqual(response.status_code, 404)

    def test_wrong_expired_and_revoked_answer_the_same(self):
        expired, expired_path = self.link()
        self.token_record(expired).expires_at = fields.Datetime.now() - timedelta(
            days=1
        )
        _revoked, revoked_path = self.link()
        self.customer.action_dunning_portal_revoke()
        bodies = {
            self.url_open(path).text
            for path in (expired_path, revoked_path, "/cobranza/nope")
        }
        self.assertEqual(len(bodies), 1)

    def test_only_the_hash_of_the_token_is_stored(self):
        token, _path = self.link()
        record = self.token_record(token)
        self.assertGreaterEqual(len(token), 43)  # 32 bytes, base64
        self.assertEqual(record.token_hash, hash_token(token))
        self.env.cr.execute(
            "SELECT count(*) FROM dunning_portal_token WHERE token_hash = %s",
            [token],
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)

    def test_expiry_follows_the_policy(self):
        self.policy.portal_token_days = 10
        token, _path = self.link()
        expires = self.token_record(token).expires_at
        self.assertAlmostEqual(
            expires,
            fields.Datetime.now() + timedelta(days=10),
            delta=timedelta(minutes=1),
        )

    def test_default_expiry_is_sixty_days(self):
        self.assertEqual(self.env["dunning.policy"].new({}).portal_token_days, 60)

    def test_invoice_pdf_through_the_link(self):
        _token, path = self.link()
        response = self.url_open(f"{path}/invoice/{self.invoice_1.id}")
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment", response.headers.get("Content-Disposition", ""))

    def test_link_of_a_cannot_reach_the_pdf_of_b(self):
        _token, path = self.link()
        response = self.url_open(f"{path}/invoice/{self.other_invoice.id}")
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(self.other_invoice.name, response.text)

    def test_pay_page_ignores_invoices_of_another_customer(self):
        _token, path = self.link()
        response = self.url_open(
            f"{path}/pay?invoice_ids={self.invoice_1.id}"
            f"&invoice_ids={self.other_invoice.id}"
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn(self.invoice_1.name, response.text)
        self.assertNotIn(self.other_invoice.name, response.text)
        self.assertIn("o_payment_form", response.text)

    def test_page_speaks_the_customers_language(self):
        self.env["res.lang"]._activate_lang("es_MX")
        self.env["ir.module.module"]._load_module_terms(["account_dunning"], ["es_MX"])
        self.customer.lang = "es_MX"
        _token, path = self.link()
        response = self.url_open(path)
        self.assertIn("Pagar en línea las facturas seleccionadas", response.text)
        self.assertIn("Facturas pendientes en", response.text)


@tagged("post_install", "-at_install")
class TestPortalRendering(PortalCommon):
    def page_queries(self, path):
        """The SQL queries of one GET of the page, once the server is warm."""
        self.url_open(path)
        before = self.cr.sql_log_count
        response = self.url_open(path)
        self.assertEqual(response.status_code, 200)
        return self.cr.sql_log_count - before

    def test_page_queries_do_not_grow_with_the_invoices(self):
        # Each invoice is read and formatted once, with its fields prefetched
        # for all of them: a customer with 30 open invoices costs the queries of
        # one with 2. Per-invoice reads made a page of 200 invoices take a
        # second (bench/views.py measures it at 100,000 invoices).
        many = self._create_customer("Muchas Facturas SA")
        for day in range(30):
            self.create_invoice(many, due=TUESDAY - timedelta(days=day), amount=10.0)
        few = self.page_queries(self.link()[1])
        lots = self.page_queries(self.link(many)[1])
        self.assertEqual(lots, few)
        self.assertLessEqual(lots, PAGE_QUERIES)

    def test_amounts_are_formatted_as_the_monetary_widget_does(self):
        for code in ("es_MX", "fr_FR"):
            self.env["res.lang"]._activate_lang(code)
        currencies = (
            self.company.currency_id
            | self.env.ref("base.EUR")
            | self.env.ref("base.CLP")
        )
        widget = self.env["ir.qweb.field.monetary"]
        for code in ("en_US", "es_MX", "fr_FR"):
            env = self.env(context=dict(self.env.context, lang=code))
            for currency in currencies:
                money = money_formatter(env, currency)
                for amount in (0.0, 0.005, 7.5, 1234567.891, -1500.5):
                    with self.subTest(lang=code, currency=currency.name, amount=amount):
                        self.assertEqual(
                            money(amount),
                            widget.with_env(env).value_to_html(
                                amount, {"display_currency": currency}
                            ),
                        )


@tagged("post_install", "-at_install")
class TestPortalThrottle(PortalCommon):
    def test_too_many_requests_from_one_address(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "account_dunning.portal_rate_ip", "3"
        )
        with freeze_time(fields.Datetime.now().replace(second=30)):
            codes = [
                self.url_open("/cobranza/guess%s" % i).status_code for i in range(5)
            ]
        self.assertEqual(codes, [404, 404, 404, 429, 429])

    def test_too_many_requests_on_one_link(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "account_dunning.portal_rate_token", "2"
        )
        _token, path = self.link()
        # The counters are per minute: the requests of a busy machine must not
        # straddle two.
        with freeze_time(fields.Datetime.now().replace(second=30)):
            codes = [self.url_open(path).status_code for _i in range(3)]
            self.assertEqual(codes, [200, 200, 429])
            response = self.url_open(path)
        self.assertEqual(response.headers.get("Retry-After"), "60")


@tagged("post_install", "-at_install")
class TestPortalForms(PortalCommon):
    def test_forms_carry_a_csrf_token(self):
        _token, path = self.link()
        response = self.url_open(path)
        self.assertEqual(
            response.text.count('name="csrf_token"'),
            response.text.count('method="post"'),
        )

    @mute_logger("odoo.http")
    def test_post_without_csrf_token_is_refused(self):
        self.customer.whatsapp_opt_out = False
        _token, path = self.link()
        response = self.url_open(f"{path}/contact", data={"whatsapp": "out"})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.customer.whatsapp_opt_out)

    def test_opt_out_tour(self):
        self.customer.write(
            {"whatsapp_opt_in": True, "whatsapp_opt_in_source": "contract"}
        )
        self.create_invoice(self.customer)
        _token, path = self.link()
        self.start_tour(path, "dunning_portal_opt_out")
        self.customer.invalidate_recordset()
        self.assertTrue(self.customer.whatsapp_opt_out)
        self.assertTrue(self.customer.whatsapp_opt_out_date)

    def test_opt_in_records_the_consent_text(self):
        self.customer.mobile = "+52 55 1234 5678"
        _token, path = self.link()
        self.authenticate(None, None)
        page = self.url_open(path)
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = self.url_open(
            f"{path}/contact", data={"whatsapp": "in", "csrf_token": csrf}
        )
        self.assertEqual(response.status_code, 200)
        self.customer.invalidate_recordset()
        self.assertTrue(self.customer.whatsapp_opt_in)
        self.assertEqual(self.customer.whatsapp_opt_in_source, "portal")
        self.assertIn(self.company.name, self.customer.whatsapp_opt_in_text)
        self.assertIn("+525512345678", self.customer.whatsapp_opt_in_text)


@tagged("post_install", "-at_install")
class TestPortalPayment(PortalCommon):
    def test_pay_all_with_the_demo_provider(self):
        # Both invoices reached a level: an email reminder waits in the queue.
        self.plan_on(TUESDAY + timedelta(days=3))
        queued = self.reminders(self.customer, state="queued")
        self.assertTrue(queued)
        _token, path = self.link()
        self.start_tour(path, "dunning_portal_pay_all")
        invoices = self.invoice_1 | self.invoice_2
        invoices.invalidate_recordset()
        self.assertEqual(
            set(invoices.mapped("payment_state")) - {"paid", "in_payment"}, set()
        )
        tx = invoices.transaction_ids
        self.assertEqual(len(tx), 1)
        self.assertEqual(tx.state, "done")
        self.assertEqual(tx.invoice_ids, invoices)
        self.assertEqual(tx.amount, 1250.0)
        queued.invalidate_recordset()
        self.assertEqual(set(queued.mapped("state")), {"cancelled"})
        self.assertFalse(invoices.mapped("dunning_level_id"))
        # One thank-you naming both invoices, queued in the outbox.
        thanks = self.reminders(self.customer, kind="thank_you")
        self.assertEqual(len(thanks), 1)
        self.assertEqual(thanks.move_ids, invoices)

    def test_transaction_refuses_another_customers_invoice(self):
        token, _path = self.link()
        self.authenticate(None, None)
        params = {"provider_id": self.provider.id, "flow": "direct", "amount": 777.0}
        with mute_logger("odoo.http"):
            response = self.url_open(
                f"/cobranza/{token}/transaction/{self.other_invoice.id}",
                data=json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}),
                headers={"Content-Type": "application/json"},
            )
        self.assertIn("cannot be paid together", response.text)
        self.assertFalse(self.other_invoice.transaction_ids)


@tagged("post_install", "-at_install")
class TestPortalThankYou(DunningCommon):
    def pay(self, invoice):
        """Pay ``invoice`` inside the contact hours, then run the outbox."""
        with freeze_time(TUESDAY_NOON_MX):
            self.register_payment(invoice)
            self.dispatch()

    def test_paying_an_invoice_in_collection_queues_one_thank_you(self):
        invoice = self.create_invoice(self.customer)
        self.plan_on(TUESDAY)
        self.assertTrue(invoice.dunning_level_id)
        self.pay(invoice)
        thanks = self.mails(self.customer).filtered(
            lambda m: "thank you for your payment" in (m.subject or "")
        )
        self.assertEqual(len(thanks), 1)
        self.assertIn(invoice.name, thanks.body_html)

    def test_one_payment_of_two_invoices_is_thanked_once_naming_both(self):
        first = self.create_invoice(self.customer, amount=1000.0)
        second = self.create_invoice(self.customer, amount=250.0)
        self.plan_on(TUESDAY)
        with freeze_time(TUESDAY_NOON_MX):
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=(first | second).ids
            ).create({"group_payment": True})._create_payments()
            self.dispatch()
        thanks = self.mails(self.customer).filtered(
            lambda m: "thank you for your payment" in (m.subject or "")
        )
        self.assertEqual(len(thanks), 1)
        total = self.company.currency_id.format(
            first.amount_total + second.amount_total
        )
        self.assertIn(total, thanks.subject)
        for invoice in first | second:
            self.assertIn(invoice.name, thanks.body_html)
        self.assertIn(total, thanks.body_html)
        row = self.reminders(self.customer, kind="thank_you")
        self.assertEqual(row.state, "sent")

    def test_no_thank_you_for_an_invoice_never_reminded(self):
        invoice = self.create_invoice(self.customer)
        self.pay(invoice)
        thanks = self.mails(self.customer).filtered(
            lambda m: "thank you for your payment" in (m.subject or "")
        )
        self.assertFalse(thanks)

    def test_no_thank_you_when_the_policy_says_so(self):
        self.policy.thank_you_email = False
        invoice = self.create_invoice(self.customer)
        self.plan_on(TUESDAY)
        self.pay(invoice)
        thanks = self.mails(self.customer).filtered(
            lambda m: "thank you for your payment" in (m.subject or "")
        )
        self.assertFalse(thanks)

    def test_reminder_email_links_to_the_customer_page(self):
        invoice = self.create_invoice(self.customer)
        self.plan_on(TUESDAY)
        with freeze_time(TUESDAY_NOON_MX):
            self.dispatch()
        reminder = self.reminders(self.customer, channel="email")
        self.assertEqual(reminder.state, "sent")
        body = reminder.mail_id.body_html
        token = body.split("/cobranza/")[1].split('"')[0]
        link = self.env["dunning.portal.token"]._find_valid(token)
        self.assertEqual(link.partner_id, self.customer)
        self.assertEqual(link.reminder_id, reminder)
        self.assertIn(invoice.name, body)


@tagged("post_install", "-at_install")
class TestPortalSelfService(PortalCommon):
    def test_promise_tour_pauses_the_reminders(self):
        _token, path = self.link()
        self.start_tour(path, "dunning_portal_promise")
        promise = (
            self.env["dunning.promise"]
            .sudo()
            .search([("partner_id", "=", self.customer.id)])
        )
        self.assertEqual(len(promise), 1)
        self.assertEqual(promise.source, "portal")
        self.assertEqual(promise.state, "open")
        self.assertEqual(promise.move_ids, self.invoice_1 | self.invoice_2)
        self.assertEqual(promise.amount, 1250.0)
        # Reminders paused: the due-date levels are reached, nothing is planned.
        self.plan_on(TUESDAY + timedelta(days=4))
        self.assertFalse(self.reminders(self.customer))

    def test_promise_beyond_the_policy_maximum_is_refused(self):
        token, path = self.link()
        page = self.url_open(path)
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        too_late = fields.Date.today() + timedelta(days=365)
        response = self.url_open(
            f"{path}/promise",
            data={
                "csrf_token": csrf,
                "date_promised": str(too_late),
                "invoice_ids": [self.invoice_1.id],
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_dunning_error", response.text)
        self.assertFalse(
            self.env["dunning.promise"]
            .sudo()
            .search([("partner_id", "=", self.customer.id)])
        )

    def test_dispute_tour_takes_the_invoices_out_of_the_flow(self):
        collector = new_test_user(
            self.env,
            login="cobrador_portal",
            groups="account_dunning.group_dunning_collector",
            company_id=self.company.id,
            company_ids=self.company.ids,
        )
        self.customer.with_company(self.company).dunning_collector_id = collector
        _token, path = self.link()
        self.start_tour(path, "dunning_portal_dispute")
        dispute = (
            self.env["dunning.dispute"]
            .sudo()
            .search([("partner_id", "=", self.customer.id)])
        )
        self.assertEqual(len(dispute), 1)
        self.assertEqual(dispute.source, "portal")
        self.assertEqual(dispute.comment, "The order arrived incomplete.")
        self.assertEqual(dispute.move_ids, self.invoice_1 | self.invoice_2)
        self.assertEqual(dispute.activity_ids.user_id, collector)
        self.plan_on(TUESDAY + timedelta(days=4))
        self.assertFalse(self.reminders(self.customer))

    def test_dispute_with_an_attachment(self):
        _token, path = self.link()
        page = self.url_open(path)
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = self.url_open(
            f"{path}/dispute",
            data={
                "csrf_token": csrf,
                "reason": "wrong_amount",
                "comment": "We ordered 10, not 12.",
                "invoice_ids": [self.invoice_2.id],
            },
            files={"attachment": ("remision.pdf", b"%PDF-1.4 delivery note")},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_dunning_done", response.text)
        dispute = (
            self.env["dunning.dispute"]
            .sudo()
            .search([("partner_id", "=", self.customer.id)])
        )
        self.assertEqual(dispute.move_ids, self.invoice_2)
        self.assertEqual(dispute.attachment_ids.name, "remision.pdf")
        self.assertEqual(dispute.attachment_ids.res_id, dispute.id)
        self.assertFalse(dispute.attachment_ids.public)

    def test_dispute_comment_reaches_the_collector_as_text(self):
        collector = new_test_user(
            self.env,
            login="cobrador_texto",
            groups="account_dunning.group_dunning_collector",
            company_id=self.company.id,
            company_ids=self.company.ids,
            notification_type="email",
        )
        self.customer.with_company(self.company).dunning_collector_id = collector
        comment = (
            '<a href="https://evil.example.com/pay">Pay here</a>\n'
            '<img src="https://evil.example.com/pixel.png">'
        )
        _token, path = self.link()
        page = self.url_open(path)
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = self.url_open(
            f"{path}/dispute",
            data={
                "csrf_token": csrf,
                "reason": "other",
                "comment": comment,
                "invoice_ids": [self.invoice_1.id],
            },
        )
        self.assertIn("o_dunning_done", response.text)
        dispute = (
            self.env["dunning.dispute"]
            .sudo()
            .search([("partner_id", "=", self.customer.id)])
        )
        # Kept as typed, in a text field.
        self.assertEqual(dispute.comment, comment)
        activity = dispute.activity_ids
        self.assertEqual(activity.user_id, collector)
        note = str(activity.note)
        self.assertNotIn("<a", note)
        self.assertNotIn("<img", note)
        self.assertIn("&lt;img src=", note)
        self.assertIn("Pay here&lt;/a&gt;<br", note)
        # Neither the chatter nor the email telling the collector carry markup
        # of the customer's.
        messages = (
            self.env["mail.message"]
            .sudo()
            .search([("model", "=", "dunning.dispute"), ("res_id", "=", dispute.id)])
        )
        mails = (
            self.env["mail.mail"]
            .sudo()
            .search([("model", "=", "dunning.dispute"), ("res_id", "=", dispute.id)])
        )
        self.assertTrue(mails)
        for body in messages.mapped("body") + mails.mapped("body_html"):
            self.assertNotIn("<img", body)
            self.assertNotIn('href="https://evil.example.com', body)


@tagged("post_install", "-at_install")
class TestPortalPrivacy(PortalCommon):
    """The link is the customer's credential: it stays out of the server log,
    out of other sites' Referer and out of every cache."""

    @contextmanager
    def server_logs(self):
        """Everything the server logs meanwhile, down to DEBUG: werkzeug's line
        for each request, and Odoo's own lines."""
        loggers = [logging.getLogger(name) for name in ("werkzeug", "odoo")]
        levels = [logger.level for logger in loggers]
        try:
            for logger in loggers:
                logger.setLevel(logging.DEBUG)
            with self.assertLogs(level=logging.DEBUG) as logs:
                yield logs
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)

    def csrf(self, page):
        return page.text.split('name="csrf_token" value="')[1].split('"')[0]

    def test_request_log_lines_carry_a_hash_prefix_not_the_token(self):
        token, path = self.link()
        self.authenticate(None, None)
        with self.server_logs() as logs:
            page = self.url_open(path)
            self.url_open(f"{path}/invoice/{self.invoice_1.id}")
            # A form: the POST, then the page it redirects to.
            self.url_open(
                f"{path}/contact",
                data={"whatsapp": "out", "csrf_token": self.csrf(page)},
            )
            self.url_open(f"{path}/nothing/here")
        # The server's lines; not those of the test's own HTTP client (urllib3).
        messages = [
            record.getMessage()
            for record in logs.records
            if record.name == "werkzeug" or record.name.startswith("odoo")
        ]
        self.assertEqual([m for m in messages if token in m], [])
        requests = [
            record.getMessage() for record in logs.records if record.name == "werkzeug"
        ]
        self.assertEqual(
            len([m for m in requests if f"/cobranza/[sha256:{token_ref(token)}]" in m]),
            5,
        )

    def test_refused_form_warning_carries_a_hash_prefix_not_the_token(self):
        token, path = self.link()
        with self.assertLogs("odoo.http", logging.WARNING) as logs:
            response = self.url_open(f"{path}/contact", data={"whatsapp": "out"})
        self.assertEqual(response.status_code, 400)
        self.assertNotIn(token, logs.output[0])
        self.assertIn(f"/cobranza/[sha256:{token_ref(token)}]/contact", logs.output[0])

    def test_every_answer_forbids_referrer_and_cache(self):
        # The last answer needs the request counter of the same minute.
        with freeze_time(fields.Datetime.now().replace(second=5)):
            self._check_every_answer_forbids_referrer_and_cache()

    def _check_every_answer_forbids_referrer_and_cache(self):
        token, path = self.link()
        self.authenticate(None, None)
        page = self.url_open(path)
        csrf = self.csrf(page)
        answers = {
            "page": (page, 200),
            "invoice PDF": (
                self.url_open(f"{path}/invoice/{self.invoice_1.id}"),
                200,
            ),
            "payment page": (
                self.url_open(f"{path}/pay?invoice_ids={self.invoice_1.id}"),
                200,
            ),
            "form with an error": (
                self.url_open(
                    f"{path}/contact", data={"whatsapp": "?", "csrf_token": csrf}
                ),
                200,
            ),
            "redirection after a form": (
                self.url_open(
                    f"{path}/contact",
                    data={"whatsapp": "out", "csrf_token": csrf},
                    allow_redirects=False,
                ),
                303,
            ),
            "wrong link": (self.url_open("/cobranza/" + "x" * 43), 404),
            "unknown path": (self.url_open(f"{path}/nothing/here"), 404),
            "after a payment, unknown": (self.url_open("/cobranza/paid?tx_id=0"), 404),
        }
        with mute_logger("odoo.http"):
            answers["form without CSRF token"] = (
                self.url_open(f"{path}/contact", data={"whatsapp": "out"}),
                400,
            )
        self.env["ir.config_parameter"].sudo().set_param(
            "account_dunning.portal_rate_token", "1"
        )
        answers["too many requests"] = (self.url_open(path), 429)
        for what, (response, status) in answers.items():
            with self.subTest(what):
                self.assertEqual(response.status_code, status)
                self.assertEqual(response.headers.get("Referrer-Policy"), "no-referrer")
                self.assertEqual(response.headers.get("Cache-Control"), "no-store")
