from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

# Channels a level can use; a new channel adds a key here and a
# ``_send_<channel>`` method on ``dunning.reminder``, and nothing in the engine.
CHANNELS = [
    ("email", "Email"),
    ("activity", "Collector Activity"),
    ("whatsapp", "WhatsApp"),
]


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
    channel_email = fields.Boolean(string="Email", default=True)
    mail_template_id = fields.Many2one(
        "mail.template",
        string="Email Template",
        domain=[("model", "=", "dunning.reminder")],
    )
    attach_invoice_pdf = fields.Boolean(
        string="Attach Invoice PDFs",
        help="Attach the PDF of every invoice listed in the email.",
    )
    channel_whatsapp = fields.Boolean(string="WhatsApp")
    whatsapp_template_id = fields.Many2one(
        "dunning.whatsapp.template",
        string="WhatsApp Template",
        check_company=True,
        help="An approved utility template; customers who did not agree to "
        "WhatsApp, opted out or have no valid number are not sent it.",
    )
    channel_activity = fields.Boolean(string="Collector Activity")
    activity_type_id = fields.Many2one(
        "mail.activity.type",
        default=lambda self: self.env.ref(
            "mail.mail_activity_data_call", raise_if_not_found=False
        ),
    )
    activity_summary = fields.Char(translate=True)
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

    @api.constrains(
        "channel_email",
        "mail_template_id",
        "channel_activity",
        "channel_whatsapp",
        "whatsapp_template_id",
    )
    def _check_channels(self):
        for level in self:
            if level.channel_whatsapp and not level.whatsapp_template_id:
                raise ValidationError(
                    _(
                        "Level %(level)s sends WhatsApp messages: choose its "
                        "WhatsApp template.",
                        level=level.display_name,
                    )
                )
            if level.channel_email and not level.mail_template_id:
                raise ValidationError(
                    _(
                        "Level %(level)s sends emails: choose its email template.",
                        level=level.display_name,
                    )
                )
            if not level._get_channels():
                raise ValidationError(
                    _(
                        "Level %(level)s needs at least one channel.",
                        level=level.display_name,
                    )
                )

    def _get_channels(self):
        """The channels this level uses, as ``dunning.reminder.channel`` values."""
        self.ensure_one()
        return [code for code, _label in CHANNELS if self[f"channel_{code}"]]

    @api.depends("name", "offset_days")
    def _compute_display_name(self):
        for level in self:
            level.display_name = _(
                "%(name)s (%(offset)+d d)", name=level.name, offset=level.offset_days
            )
