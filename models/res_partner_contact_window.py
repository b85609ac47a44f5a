"""The debtor's time zones and contact window: one definition, used by the
contact gate, the wizards that warn a collector, and every date told to a
customer."""

import logging

from odoo import models

from ..services.timezones import partner_timezones

_logger = logging.getLogger(__name__)


class ResPartnerContactWindow(models.Model):
    _inherit = "res.partner"

    def _dunning_zones(self, recipient=None, company=None):
        """The time zones a message to this customer must fit in.

        The reader decides the hour: ``recipient`` (the invoicing contact,
        who may sit in another zone than the head office), else this
        customer; the zone set on the contact, else the zones of its country
        and state. When none can be derived, the zones of ``company`` (an
        explicit, logged fallback, never a silent one), else UTC.
        """
        self.ensure_one()
        reader = recipient or self
        zones = partner_timezones(
            reader.tz or self.tz,
            (reader.country_id or self.country_id).code,
            (reader.state_id or self.state_id).code,
        )
        if zones:
            return zones
        if company:
            company_partner = company.partner_id
            zones = partner_timezones(
                company_partner.tz,
                company_partner.country_id.code,
                company_partner.state_id.code,
            )
            if zones:
                _logger.info(
                    "Customer %s has no time zone; using %s", self.id, ", ".join(zones)
                )
                return zones
        return ("UTC",)

    def _dunning_contact_window(self, policy, recipient=None, company=None):
        """``policy``'s contact window for this customer (the reader's country
        decides its holidays and rules), and the zones it must fit in."""
        self.ensure_one()
        country = (recipient or self).country_id or self.country_id
        window = policy._get_contact_window(country)
        return window, self._dunning_zones(recipient, company)
