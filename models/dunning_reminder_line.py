from odoo import fields, models

from .dunning_channel import channel_selection


class DunningReminderLine(models.Model):
    """The decision that an invoice reached a level on a channel, for the
    instalment falling due on ``due_date``.

    The unique key on (invoice, level, channel, instalment) is what guarantees
    that no customer ever gets the same reminder twice: planning inserts these rows with
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
    # Each instalment of an invoice climbs the levels on its own date: the
    # second one's reminders are not the first one's again. Empty on decisions
    # taken before instalments were told apart.
    due_date = fields.Date(string="Instalment Due Date", readonly=True)

    _sql_constraints = [
        (
            "move_level_channel_unique",
            "UNIQUE(move_id, level_id, channel, due_date)",
            "This instalment of the invoice already has a reminder for this "
            "level on this channel.",
        ),
    ]
