from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class DunningLevel(models.Model):
    """One step of a policy: how many days from the due date, and what to do then."""

    _name = "dunning.level"
    _description = "Collection Level"
    _order = "policy_id, sequence, id"
    _check_company_auto = True

    policy_id = fields.Many2one(
        "dunning.policy", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(
        related="policy_id.company_id", store=True, index=True, precompute=True
    )
    # Levels escalate in the order of their offsets: the rank is the offset itself,
    # so that reordering by hand can never contradict the calendar.
    sequence = fields.Integer(
        compute="_compute_sequence", store=True, precompute=True, index=True
    )
    name = fields.Char(required=True, translate=True)
    offset_days = fields.Integer(
        string="Days from Due Date",
        required=True,
        help="Days from the invoice's due date when this level is reached: negative "
        "before it (preventive), 0 on it, positive after it.",
    )
    tone = fields.Selection(
        [
            ("preventive", "Preventive"),
            ("friendly", "Friendly"),
            ("firm", "Firm"),
            ("final", "Final notice"),
        ],
        default="friendly",
        required=True,
    )
    # Each channel plug-in adds its ``channel_<code>`` checkbox and settings.
    reminder_count = fields.Integer(compute="_compute_reminder_count")

    _sql_constraints = [
        (
            "offset_policy_unique",
            "UNIQUE(policy_id, offset_days)",
            "Two levels of a policy cannot share the same day offset.",
        ),
    ]

    @api.depends("offset_days")
    def _compute_sequence(self):
        for level in self:
            level.sequence = level.offset_days

    def _compute_reminder_count(self):
        counts = dict(
            self.env["dunning.reminder"]._read_group(
                [("level_id", "in", self.ids)], ["level_id"], ["__count"]
            )
        )
        for level in self:
            level.reminder_count = counts.get(level, 0)

    @api.constrains(lambda self: self._channel_fields())
    def _check_channels(self):
        plugins = self.env["dunning.channel"]._dunning_channels().values()
        for level in self:
            for plugin in plugins:
                problem = plugin._level_uses(level) and plugin._level_problem(level)
                if problem:
                    raise ValidationError(problem)
            if not level._get_channels():
                raise ValidationError(
                    _(
                        "Level %(level)s needs at least one channel.",
                        level=level.display_name,
                    )
                )

    @api.model
    def _channel_fields(self):
        """The level's fields that say how it sends, on every channel: the
        fields the channel plug-ins added."""
        return sorted(
            {
                name
                for plugin in self.env["dunning.channel"]._dunning_channels().values()
                for name in plugin._channel_level_fields
            }
        )

    def _get_channels(self):
        """The channels this level uses, as ``dunning.reminder.channel`` values."""
        self.ensure_one()
        return [
            code
            for code, plugin in self.env["dunning.channel"]._dunning_channels().items()
            if plugin._level_uses(self)
        ]

    @api.depends("name", "offset_days")
    def _compute_display_name(self):
        for level in self:
            level.display_name = _(
                "%(name)s (%(offset)+d d)", name=level.name, offset=level.offset_days
            )
