"""The customer page's self-service forms: a promise, a dispute, the contact
preferences (POST, with Odoo's CSRF token)."""

from odoo import _, fields, http
from odoo.exceptions import UserError, ValidationError
from odoo.http import request

from .portal import MAX_ATTACHMENT_BYTES, DunningPortal


class DunningPortalForms(DunningPortal):
    # ------------------------------------------------------------------------------
    # Self-service forms (POST, with Odoo's CSRF token)
    # ------------------------------------------------------------------------------

    def _dunning_form_error(self, link, token, error):
        return request.render(
            "account_dunning.dunning_portal_page",
            self._dunning_page_values(link, token, error=error),
        )

    def _dunning_done(self, token, what):
        return request.redirect(f"/cobranza/{token}?done={what}", local=True)

    @http.route(
        "/cobranza/<string:token>/promise",
        type="http",
        auth="public",
        methods=["POST"],
        sitemap=False,
    )
    def dunning_promise(self, token, date_promised=None, **post):
        link, response = self._dunning_link(token)
        if not link:
            return response
        if "dunning.promise" not in request.env:
            return self._dunning_not_found()
        invoices = self._dunning_selected(
            link, request.httprequest.form.getlist("invoice_ids")
        )
        try:
            day = fields.Date.to_date(date_promised)
        except ValueError:
            day = None
        if not invoices or not day:
            return self._dunning_form_error(
                link, token, _("Choose a date and at least one invoice.")
            )
        amount = sum(invoices.mapped("amount_residual"))
        try:
            # A savepoint, not a rollback: the request counters must stay.
            with request.env.cr.savepoint():
                request.env["dunning.promise"].sudo()._dunning_register(
                    link.partner_id, invoices, amount, day, source="portal"
                )
        except (UserError, ValidationError) as error:
            return self._dunning_form_error(link, token, str(error))
        return self._dunning_done(token, "promise")

    @http.route(
        "/cobranza/<string:token>/dispute",
        type="http",
        auth="public",
        methods=["POST"],
        sitemap=False,
    )
    def dunning_dispute(self, token, reason=None, comment=None, **post):
        link, response = self._dunning_link(token)
        if not link:
            return response
        if "dunning.dispute" not in request.env:
            return self._dunning_not_found()
        invoices = self._dunning_selected(
            link, request.httprequest.form.getlist("invoice_ids")
        )
        reasons = dict(self._dunning_dispute_reasons())
        if not invoices or (reasons and reason not in reasons) or not reason:
            return self._dunning_form_error(
                link, token, _("Choose the invoices and the reason of the problem.")
            )
        upload = request.httprequest.files.get("attachment")
        content = upload.read(MAX_ATTACHMENT_BYTES + 1) if upload else b""
        if len(content) > MAX_ATTACHMENT_BYTES:
            return self._dunning_form_error(
                link, token, _("The attached file is too large (10 MB at most).")
            )
        try:
            with request.env.cr.savepoint():
                attachments = request.env["ir.attachment"].sudo()
                if upload and upload.filename and content:
                    # Private to the collectors: no public flag, no access token.
                    attachments = attachments.create(
                        {
                            "name": upload.filename[-120:],
                            "raw": content,
                            "res_model": "dunning.dispute",
                        }
                    )
                dispute = (
                    request.env["dunning.dispute"]
                    .sudo()
                    ._dunning_open(
                        invoices,
                        reason,
                        comment=(comment or "").strip()[:5000] or None,
                        source="portal",
                        attachments=attachments or None,
                    )
                )
                attachments.write({"res_id": dispute.id})
        except (UserError, ValidationError) as error:
            return self._dunning_form_error(link, token, str(error))
        return self._dunning_done(token, "dispute")

    @http.route(
        "/cobranza/<string:token>/contact",
        type="http",
        auth="public",
        methods=["POST"],
        sitemap=False,
    )
    def dunning_contact(self, token, whatsapp=None, **post):
        link, response = self._dunning_link(token)
        if not link:
            return response
        partner = link.partner_id.sudo()
        now = fields.Datetime.now()
        if whatsapp == "in":
            text = self._dunning_consent_text(partner, link.company_id)
            partner.write(
                {
                    "whatsapp_opt_in": True,
                    "whatsapp_opt_in_date": now,
                    "whatsapp_opt_in_source": "portal",
                    "whatsapp_opt_in_text": text,
                    "whatsapp_opt_out": False,
                    "whatsapp_opt_out_date": False,
                }
            )
            partner._message_log(
                body=_(
                    "The customer agreed to WhatsApp reminders on the customer "
                    'page: "%(text)s"',
                    text=text,
                )
            )
            return self._dunning_done(token, "opt_in")
        if whatsapp == "out":
            partner._whatsapp_set_opt_out(_("opt-out on the customer page"), now)
            return self._dunning_done(token, "opt_out")
        return self._dunning_form_error(link, token, _("Choose an option."))
