from odoo import fields, models


class DunningWeekday(models.Model):
    """A day of the week, so that policies can pick their contact days as tags."""

    _name = "dunning.weekday"
    _description = "Collection Contact Weekday"
    _order = "code"

    name = fields.Char(required=True, translate=True)
    # Same numbering as datetime.weekday(): 0 is Monday, 6 is Sunday.
    code = fields.Integer(required=True)

    _sql_constraints = [
        ("code_unique", "UNIQUE(code)", "Each weekday exists once."),
        ("code_range", "CHECK(code >= 0 AND code <= 6)", "A weekday code is 0 to 6."),
    ]
