from odoo import api, fields, models

from .dunning_reminder_senders import SENDERS_PARAM


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    dunning_policy_id = fields.Many2one(
        related="company_id.dunning_policy_id", readonly=False
    )
    dunning_risk_weight_delay = fields.Integer(
        related="company_id.dunning_risk_weight_delay", readonly=False
    )
    dunning_risk_weight_trend = fields.Integer(
        related="company_id.dunning_risk_weight_trend", readonly=False
    )
    dunning_risk_weight_late = fields.Integer(
        related="company_id.dunning_risk_weight_late", readonly=False
    )
    dunning_risk_weight_broken = fields.Integer(
        related="company_id.dunning_risk_weight_broken", readonly=False
    )
    dunning_risk_weight_dispute = fields.Integer(
        related="company_id.dunning_risk_weight_dispute", readonly=False
    )
    dunning_risk_weight_exposure = fields.Integer(
        related="company_id.dunning_risk_weight_exposure", readonly=False
    )
    dunning_risk_weight_new = fields.Integer(
        related="company_id.dunning_risk_weight_new", readonly=False
    )
    dunning_dispatch_senders = fields.Integer(
        string="Senders",
        default=1,
        groups="base.group_system",
        help="Scheduled actions sending the outbox side by side, each in a cron "
        "worker of any of your Odoo servers. One is enough for a few thousand "
        "messages an hour; add one per cron worker you can spare.",
    )

    @api.model
    def get_values(self):
        values = super().get_values()
        param = self.env["ir.config_parameter"].sudo().get_param(SENDERS_PARAM)
        values["dunning_dispatch_senders"] = int(param or 1)
        return values

    def set_values(self):
        res = super().set_values()
        if self.env.user.has_group("base.group_system"):
            reminders = self.env["dunning.reminder"]
            if len(reminders._dispatch_crons()) != self.dunning_dispatch_senders:
                reminders._set_dispatch_senders(self.dunning_dispatch_senders)
        return res
