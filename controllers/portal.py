"""The customer statement page: a login-free link sent in every reminder.

Everything below runs as the public user: each route first checks the rate of
the client address, then the link (``dunning.portal.token``), then the rate of
the link, and from there reads only the link's customer in the link's company,
in ``sudo`` (the public user has no access to invoices).
"""

import ast
import logging

from markupsafe import Markup, escape
from werkzeug.exceptions import NotFound

from odoo import _, fields, http
from odoo.exceptions import ValidationError
from odoo.fields import Command
from odoo.http import request
from odoo.tools import float_round, format_date, is_html_empty
from odoo.tools.misc import get_lang

from odoo.addons.account.controllers.download_docs import (
    _build_zip_from_data,
    _get_headers,
)
from odoo.addons.account_payment.controllers.payment import PaymentPortal
from odoo.addons.base.models.res_lang import intersperse
from odoo.addons.payment import utils as payment_utils

from ..models.dunning_reminder import OPEN_CUSTOMER_INVOICE_DOMAIN
from ..services import log_privacy

_logger = logging.getLogger(__name__)

# The page's URL is its credential: keep it out of the lines the HTTP server
# logs for each request (see services/log_privacy.py).
log_privacy.install()

# The most invoices one payment may cover (the reference lists them all).
MAX_SELECTION = 200
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


def money_formatter(env, currency, code=False):
    """A function formatting amounts in ``currency`` exactly as QWeb's
    ``monetary`` widget (``ir.qweb.field.monetary``) does in ``env``'s language,
    followed by the currency's ISO code when ``code`` (see
    ``res.partner._dunning_format_amount``: when the symbol could mislead).

    The widget looks the language, its separators and the currency up again
    for every amount: on a statement of 200 invoices that was 43 % of the
    page's time. Here they are read once; tests compare both outputs.
    """
    lang = get_lang(env)
    grouping = ast.literal_eval(lang.grouping)
    thousands_sep = lang.thousands_sep or ""
    decimal_point = lang.decimal_point
    digits = currency.decimal_places
    rounding = currency.rounding
    symbol = currency.symbol or ""
    if currency.position == "before":
        pre, post = escape(f"{symbol}\N{NO-BREAK SPACE}"), Markup()
    else:
        pre, post = Markup(), escape(f"\N{NO-BREAK SPACE}{symbol}")
    if code:
        post += escape(f" {currency.name}")

    def money(amount):
        parts = (
            "%.*f" % (digits, float_round(amount, precision_rounding=rounding))
        ).split(".")
        parts[0] = intersperse(parts[0], grouping, thousands_sep)[0]
        number = (
            decimal_point.join(parts)
            .replace(" ", "\N{NO-BREAK SPACE}")
            .replace("-", "-\N{ZERO WIDTH NO-BREAK SPACE}")
        )
        return pre + Markup('<span class="oe_currency_value">%s</span>') % number + post

    return money


class DunningPortal(PaymentPortal):
    # ------------------------------------------------------------------------------
    # Guards
    # ------------------------------------------------------------------------------

    def _dunning_link(self, token):
        """The live link for ``token`` and None, or None and the response to send.

        The responses are returned, not raised: a raised exception rolls the
        request back, and with it the request counters.
        """
        throttle = request.env["dunning.portal.throttle"].sudo()
        if not throttle._allow_ip(request.httprequest.remote_addr or "-"):
            return None, self._dunning_too_many()
        link = request.env["dunning.portal.token"].sudo()._find_valid(token)
        if not link:
            # The same answer for a wrong, expired or revoked link.
            return None, self._dunning_not_found()
        if not throttle._allow_token(link):
            return None, self._dunning_too_many()
        self._dunning_set_lang(link.partner_id)
        return link, None

    def _dunning_link_or_raise(self, token):
        """For JSON routes: the live link, else an exception."""
        link, response = self._dunning_link(token)
        if not link:
            if response.status_code == 429:
                raise ValidationError(_("Too many requests: please wait a minute."))
            raise NotFound()
        return link

    def _dunning_not_found(self):
        return request.make_response(
            request.env["ir.qweb"]._render("account_dunning.dunning_portal_not_found"),
            headers=[("Content-Type", "text/html; charset=utf-8")],
            status=404,
        )

    def _dunning_too_many(self):
        return request.make_response(
            _("Too many requests: please wait a minute and try again."),
            headers=[
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Retry-After", "60"),
            ],
            status=429,
        )

    def _dunning_set_lang(self, partner):
        installed = dict(request.env["res.lang"].get_installed())
        lang = partner.lang if partner.lang in installed else None
        if lang:
            request.update_context(lang=lang)

    # ------------------------------------------------------------------------------
    # Data of the page
    # ------------------------------------------------------------------------------

    def _dunning_open_invoices(self, link):
        """The customer's open invoices in the link's company, oldest due first."""
        return (
            request.env["account.move"]
            .sudo()
            .search(
                [
                    ("commercial_partner_id", "=", link.partner_id.id),
                    ("company_id", "=", link.company_id.id),
                    *OPEN_CUSTOMER_INVOICE_DOMAIN,
                ],
                order="dunning_due_date, id",
            )
        )

    def _dunning_selected(self, link, ids):
        """The open invoices of the link's customer among ``ids``; the others are
        ignored, never shown."""
        try:
            wanted = {int(i) for i in ids if str(i).strip()}
        except (TypeError, ValueError):
            return request.env["account.move"].sudo()
        if len(wanted) > MAX_SELECTION:
            return request.env["account.move"].sudo()
        return self._dunning_open_invoices(link).filtered(lambda m: m.id in wanted)

    def _dunning_invoice_rows(self, invoices, today):
        """What the page shows of each invoice, read and formatted once: the
        page lists every invoice three times (to pay, to promise, to dispute)."""
        env = request.env
        reader = invoices[:1].commercial_partner_id
        company = invoices[:1].company_id
        money = {
            currency: money_formatter(
                env,
                currency,
                code=reader._dunning_amount_needs_code(currency, company),
            )
            for currency in invoices.currency_id
        }
        dates = {}

        def date(value):
            if value not in dates:
                dates[value] = format_date(env, value) if value else ""
            return dates[value]

        disputable = "dunning_dispute_id" in invoices._fields
        rows = []
        for invoice in invoices:
            # The earliest unpaid instalment's date: what is late of the invoice.
            due = invoice.dunning_due_date or invoice.invoice_date_due
            amount_due, not_due = invoice._dunning_split_due(today)
            rows.append(
                {
                    "id": invoice.id,
                    "name": invoice.name,
                    "currency": invoice.currency_id,
                    "amount_residual": invoice.amount_residual,
                    "amount": money[invoice.currency_id](invoice.amount_residual),
                    "invoice_date": date(invoice.invoice_date),
                    "invoice_date_due": date(due),
                    "days_late": invoice._dunning_days_late(today),
                    # Of an invoice paid by instalments, what fell due: the
                    # rest is shown as not due yet.
                    "amount_due_now": money[invoice.currency_id](amount_due),
                    "amount_not_due": money[invoice.currency_id](not_due)
                    if amount_due and not_due
                    else "",
                    "disputed": disputable and bool(invoice.dunning_dispute_id),
                }
            )
        return rows

    def _dunning_page_values(self, link, token, **extra):
        invoices = self._dunning_open_invoices(link)
        today = fields.Date.context_today(link)
        rows = self._dunning_invoice_rows(invoices, today)
        groups = []
        partner = link.partner_id
        company = link.company_id
        for currency in invoices.currency_id.sorted("name"):
            currency_rows = [row for row in rows if row["currency"] == currency]
            groups.append(
                {
                    "currency": currency,
                    "rows": currency_rows,
                    "total": sum(row["amount_residual"] for row in currency_rows),
                    "show_code": partner._dunning_amount_needs_code(currency, company),
                }
            )
        policy = partner._dunning_policy(company)
        env = request.env
        return {
            "token": token,
            "link": link,
            "partner": partner,
            "company": company,
            "res_company": company,
            "groups": groups,
            "invoices": invoices,
            "rows": rows,
            "today": today,
            "tomorrow": fields.Date.add(today, days=1),
            "bank_accounts": company.partner_id.bank_ids,
            "policy": policy,
            "can_promise": "dunning.promise" in env,
            "can_dispute": "dunning.dispute" in env,
            "dispute_reasons": self._dunning_dispute_reasons(),
            "consent_text": self._dunning_consent_text(partner, company),
            "promise_max_date": self._dunning_promise_max_date(policy, today),
            "title": _("Statement of %(partner)s", partner=partner.name),
            **extra,
        }

    def _dunning_dispute_reasons(self):
        env = request.env
        if "dunning.dispute" not in env:
            return []
        field = env["dunning.dispute"]._fields.get("reason")
        if field and field.type == "selection":
            return field._description_selection(env)
        return []

    def _dunning_promise_max_date(self, policy, today):
        days = (
            policy
            and policy._fields.get("promise_max_days")
            and (policy.promise_max_days)
        )
        return fields.Date.add(today, days=days) if days else None

    @staticmethod
    def _dunning_consent_text(partner, company):
        return _(
            "I agree to receive payment reminders and account notices from "
            "%(company)s by WhatsApp at %(number)s. I can opt out at any time "
            "from this page or by answering STOP.",
            company=company.name,
            number=partner.whatsapp_number or partner.mobile or partner.phone or "-",
        )

    # ------------------------------------------------------------------------------
    # The page
    # ------------------------------------------------------------------------------

    @http.route(
        "/cobranza/<string:token>",
        type="http",
        auth="public",
        methods=["GET"],
        sitemap=False,
    )
    def dunning_statement(self, token, done=None, **kwargs):
        link, response = self._dunning_link(token)
        if not link:
            return response
        return request.render(
            "account_dunning.dunning_portal_page",
            self._dunning_page_values(link, token, done=done),
        )

    @http.route(
        "/cobranza/<string:token>/invoice/<int:move_id>",
        type="http",
        auth="public",
        methods=["GET"],
        sitemap=False,
    )
    def dunning_invoice_pdf(self, token, move_id, **kwargs):
        link, response = self._dunning_link(token)
        if not link:
            return response
        invoice = (
            request.env["account.move"]
            .sudo()
            .search(
                [
                    ("id", "=", move_id),
                    ("commercial_partner_id", "=", link.partner_id.id),
                    ("company_id", "=", link.company_id.id),
                    ("move_type", "in", ("out_invoice", "out_refund")),
                    ("state", "=", "posted"),
                ],
                limit=1,
            )
        )
        if not invoice:
            return self._dunning_not_found()
        # The official document (or a rendered copy), as Odoo's own portal does.
        docs = invoice._get_invoice_legal_documents_all(allow_fallback=True)
        if len(docs) == 1:
            headers = self._get_http_headers(invoice, "pdf", docs[0]["content"], True)
            return request.make_response(docs[0]["content"], list(headers.items()))
        filename = invoice._get_invoice_report_filename(extension="zip")
        content = _build_zip_from_data(docs)
        return request.make_response(content, _get_headers(filename, "zip", content))

    # ------------------------------------------------------------------------------
    # Payment through Odoo's payment providers
    # ------------------------------------------------------------------------------

    @http.route(
        "/cobranza/<string:token>/pay",
        type="http",
        auth="public",
        methods=["GET"],
        sitemap=False,
    )
    def dunning_pay(self, token, **kwargs):
        link, response = self._dunning_link(token)
        if not link:
            return response
        ids = request.httprequest.args.getlist("invoice_ids")
        invoices = self._dunning_selected(link, ids)
        error = None
        if not invoices:
            error = _("Select at least one invoice to pay.")
        elif len(invoices.currency_id) > 1:
            error = _("Please pay the invoices of each currency separately.")
        if error:
            return request.render(
                "account_dunning.dunning_portal_page",
                self._dunning_page_values(link, token, error=error),
            )
        partner = link.partner_id
        company = link.company_id
        currency = invoices.currency_id
        amount = currency.round(sum(invoices.mapped("amount_residual")))
        availability_report = {}
        providers = (
            request.env["payment.provider"]
            .sudo()
            ._get_compatible_providers(
                company.id,
                partner.id,
                amount,
                currency_id=currency.id,
                report=availability_report,
            )
        )
        methods = (
            request.env["payment.method"]
            .sudo()
            ._get_compatible_payment_methods(
                providers.ids,
                partner.id,
                currency_id=currency.id,
                report=availability_report,
            )
        )
        values = {
            **self._dunning_page_values(link, token),
            "selected": invoices,
            "amount": amount,
            "currency": currency,
            "show_code": partner._dunning_amount_needs_code(currency, company),
            "partner_id": partner.id,
            "reference_prefix": ", ".join(invoices.mapped("name"))[:60],
            "providers_sudo": providers,
            "payment_methods_sudo": methods,
            # A link may be forwarded: never offer the customer's saved cards,
            # and never save a new one from it.
            "tokens_sudo": request.env["payment.token"].sudo().browse(),
            "show_tokenize_input_mapping": dict.fromkeys(providers.ids, False),
            "availability_report": availability_report,
            "transaction_route": f"/cobranza/{token}/transaction/"
            + "-".join(str(i) for i in invoices.ids),
            "landing_route": "/cobranza/paid",
            "access_token": payment_utils.generate_access_token(
                partner.id, amount, currency.id
            ),
            "company_mismatch": False,
            # Used by the providers' templates (odoo.tools, not in QWeb's globals).
            "is_html_empty": is_html_empty,
            "title": _("Pay %(partner)s's invoices", partner=partner.name),
        }
        return request.render("account_dunning.dunning_portal_pay", values)

    @http.route(
        "/cobranza/<string:token>/transaction/<string:move_ids>",
        type="json",
        auth="public",
    )
    def dunning_transaction(
        self, token, move_ids, amount=None, access_token=None, **kw
    ):
        """Create the transaction paying the selected invoices (a transaction
        linked to them through ``invoice_ids``, as Odoo's invoice payment does);
        Odoo reconciles them when the provider confirms the payment."""
        link = self._dunning_link_or_raise(token)
        invoices = self._dunning_selected(link, move_ids.split("-"))
        if not invoices or len(invoices.currency_id) != 1:
            raise ValidationError(_("These invoices cannot be paid together."))
        if len(invoices) != len(set(move_ids.split("-"))):
            raise ValidationError(
                _("Some of these invoices were paid meanwhile: please reload the page.")
            )
        currency = invoices.currency_id
        partner = link.partner_id
        total = currency.round(sum(invoices.mapped("amount_residual")))
        if not payment_utils.check_access_token(
            access_token, partner.id, total, currency.id
        ):
            # The page was computed for another amount: something was paid or
            # changed since it was opened.
            raise ValidationError(
                _("The amount due changed since the page was opened: please reload it.")
            )
        if kw.get("flow") not in ("redirect", "direct"):
            raise ValidationError(_("This payment method is not available here."))
        provider = (
            request.env["payment.provider"]
            .sudo()
            .browse(int(kw.get("provider_id") or 0))
        )
        if not provider.exists() or provider.company_id != link.company_id:
            raise ValidationError(_("This payment method is not available here."))
        self._validate_transaction_kwargs(kw)
        kw.pop("csrf_token", None)
        kw.update(
            {
                "tokenization_requested": False,
                "token_id": None,
                "landing_route": "/cobranza/paid",
                "is_validation": False,
            }
        )
        tx_sudo = self._create_transaction(
            amount=total,
            currency_id=currency.id,
            partner_id=partner.id,
            custom_create_values={"invoice_ids": [Command.set(invoices.ids)]},
            **kw,
        )
        self._update_landing_route(tx_sudo, access_token)
        return tx_sudo._get_processing_values()

    @http.route("/cobranza/paid", type="http", auth="public", methods=["GET"])
    def dunning_paid(self, tx_id=None, access_token=None, **kwargs):
        """Where the payment flow lands: a thank-you, without the link's token."""
        throttle = request.env["dunning.portal.throttle"].sudo()
        if not throttle._allow_ip(request.httprequest.remote_addr or "-"):
            return self._dunning_too_many()
        tx = request.env["payment.transaction"].sudo().browse(self._cast_as_int(tx_id))
        if not tx.exists() or not payment_utils.check_access_token(
            access_token, tx.partner_id.id, tx.amount, tx.currency_id.id
        ):
            return self._dunning_not_found()
        self._dunning_set_lang(tx.partner_id)
        return request.render(
            "account_dunning.dunning_portal_paid",
            {
                "tx": tx,
                "company": tx.company_id,
                "res_company": tx.company_id,
                "title": _("Thank you"),
            },
        )
