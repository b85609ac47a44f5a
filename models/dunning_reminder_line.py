from odoo import fields, models

from .dunning_channel import channel_selection


class DunningReminderLine(models.Model):
    """The decision that an invoice reached a level on a channel.

    The unique key on (invoice, level, channel) is what guarantees that no customer
    ever gets the same reminder twice: planning inserts these rows with
    ``ON CONFLICT DO NOTHING``, so a second pass, a second worker or a retry after a
    crash finds the decision already taken.
    """

    _name = "dunning.reminder.line"
    _description = "Collection Reminder Decision"
    _order = "id"
    # Planning writes one row per invoice and level: no log columns (and their
    # foreign keys to res_users) on this hot path; the reminder carries who and when.
    _log_access = False

    reminder_id = fields.Many2one(
        "dunning.reminder", required=True, index=True, ondelete="cascade"
    )
    move_id = fields.Many2one(
        "account.move", string="Invoice", required=True, ondelete="cascade"
    )
    level_id = fields.Many2one(
        "dunning.level", required=True, index=True, ondelete="cascade"
    )
    channel = fields.Selection(selection=channel_selection, required=True)
    company_id = fields.Many2one("res.company", required=True, index=True)

    _sql_constraints = [
        (
            "move_level_channel_unique",
            "UNIQUE(move_id, level_id, channel)",
            "This invoice already has a reminder for this level on this channel.",
        ),
    ]
