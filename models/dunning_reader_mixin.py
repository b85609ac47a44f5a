from odoo import models


class DunningReaderMixin(models.AbstractModel):
    """Amounts and dates of a message as its reader reads them.

    For templates (``object._reader_amount(object.amount_due)``) and for the
    code that fills a message's parameters; see ``res.partner``'s
    ``_dunning_format_amount`` and ``_dunning_format_date``.
    """

    _name = "dunning.reader.mixin"
    _description = "Amounts and Dates as the Customer Reads Them"

    def _dunning_reader(self):
        """The partner who reads this record's messages."""
        self.ensure_one()
        return self.partner_id

    def _reader_amount(self, amount, currency=None):
        self.ensure_one()
        return self._dunning_reader()._dunning_format_amount(
            amount, currency or self.currency_id, self.company_id
        )

    def _reader_date(self, value):
        self.ensure_one()
        return self._dunning_reader()._dunning_format_date(value)

    def _dunning_salutation(self):
        self.ensure_one()
        return self._dunning_reader()._dunning_salutation()
