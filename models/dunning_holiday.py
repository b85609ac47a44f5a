from odoo import fields, models


class DunningHoliday(models.Model):
    """A public holiday of a country: no collection contact on that local date."""

    _name = "dunning.holiday"
    _description = "Collection Holiday"
    _order = "date desc, country_id"

    name = fields.Char(required=True, translate=True)
    date = fields.Date(required=True, index=True)
    country_id = fields.Many2one("res.country", required=True, index=True)

    _sql_constraints = [
        (
            "date_country_unique",
            "UNIQUE(country_id, date)",
            "This country already has a holiday on that date.",
        ),
    ]
