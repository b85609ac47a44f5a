from odoo import models
from odoo.tools import format_amount, format_date


class ResPartner(models.Model):
    """How a partner reads an amount and a date, on every channel.

    E-mail, SMS, WhatsApp, letter, portal and chatter all format through these
    two methods, so that a customer reads the same figure the same way
    wherever it reaches them.
    """

    _inherit = "res.partner"

    def _dunning_reader_lang(self):
        return self[:1].lang or self.env.lang or "en_US"

    def _dunning_format_amount(self, amount, currency, company=None):
        """``amount`` in ``currency`` as this partner reads it.

        The separators of the partner's language, the currency's symbol, and
        its ISO code as well when the symbol alone could mislead: the partner
        is outside the company's country (a "$" read in Texas is a dollar), or
        another active currency uses the same symbol ("$" is the peso's and the
        dollar's).
        """
        text = format_amount(
            self.env, amount or 0.0, currency, lang_code=self._dunning_reader_lang()
        )
        if self._dunning_amount_needs_code(currency, company or self.env.company):
            text = f"{text} {currency.name}"
        return text

    def _dunning_amount_needs_code(self, currency, company):
        if not currency or currency.symbol == currency.name:
            return False
        country = self[:1].commercial_partner_id.country_id or self[:1].country_id
        if country and company.country_id and country != company.country_id:
            return True
        return currency.symbol in self.env["res.currency"]._dunning_shared_symbols()

    def _dunning_format_date(self, value):
        """``value`` (a date) in the date format of the partner's language."""
        if not value:
            return ""
        return format_date(self.env, value, lang_code=self._dunning_reader_lang())

    def _dunning_salutation(self):
        """The opening line of a message to this partner, in their language.

        Spanish opens with a colon where English has a comma, and addresses a
        company as such: "Estimado(a)" is for a person.
        """
        partner = self[:1]
        env = partner.with_context(lang=partner._dunning_reader_lang()).env
        if partner.is_company:
            return env._("Dear %(company)s,", company=partner.name or "")
        return env._("Dear %(name)s,", name=partner.name or "")
