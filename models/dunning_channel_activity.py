"""Collector activity: a to-do for the collector, who calls the customer."""

from markupsafe import Markup

from odoo import _, api, fields, models

from .dunning_channel import SENT, Outcome


class DunningChannelActivity(models.AbstractModel):
    """An activity on the customer for their collector: internal, so neither
    the contact window nor the caps apply (the call the collector then logs
    counts as a contact)."""

    _name = "dunning.channel.activity"
    _inherit = "dunning.channel"
    _description = "Collection Channel: Collector Activity"

    _channel_code = "activity"
    _channel_sequence = 90
    _channel_carries_notices = True
    _channel_level_fields = ("channel_activity", "activity_type_id")
    _channel_faces_debtor = False

    @api.model
    def _channel_label(self):
        return _("Collector Activity")

    @api.model
    def _level_problem(self, level):
        if not level.activity_type_id:
            return _(
                "Level %(level)s schedules activities: choose their type.",
                level=level.display_name,
            )
        return None

    @api.model
    def _preview(self, reminder):
        invoices = reminder._get_template_invoices()
        user = reminder.user_id or invoices[:1].invoice_user_id or self.env.user
        level = reminder.level_id
        return {
            "recipient": user.name,
            "subject": level.activity_summary or level.name,
            "body": reminder._activity_note(invoices, user),
        }

    @api.model
    def _send_one(self, reminder, now):
        invoices = reminder._get_template_invoices()
        user = reminder.user_id or invoices[:1].invoice_user_id or self.env.user
        # In the collector's language, whoever runs the dispatch.
        reminder = user._dunning_in_my_lang(reminder)
        _ = reminder.env._
        level = reminder.level_id
        summary = level.activity_summary or level.name
        note = reminder._activity_note(invoices, user)
        activity_type = level.activity_type_id
        if reminder._is_notice():
            # Only as a fallback: the collector sends the notice themselves.
            summary = _(
                "Send the %(notice)s yourself: %(channel)s could not reach them",
                notice=reminder._kind_label().lower(),
                channel=reminder.fallback_of_id._channel_plugin()._channel_label(),
            )
            note = Markup("<p>%s</p>") % (reminder.fallback_of_id.error_message or "")
            activity_type = self.env.ref("mail.mail_activity_data_todo")
        elif reminder.origin == "fallback":
            # The level's activity settings are meant for its own activities,
            # if any: the collector must know why they are asked to call.
            summary = _(
                "Call the customer: %(channel)s could not reach them",
                channel=reminder.fallback_of_id._channel_plugin()._channel_label(),
            )
            # The note is HTML built by _activity_note; the field sanitizes it.
            note = Markup("<p>%s</p>%s") % (
                reminder.fallback_of_id.error_message,
                Markup(note),  # noqa: S704
            )
            activity_type = activity_type or self.env.ref(
                "mail.mail_activity_data_call"
            )
        # The collector may not be allowed to edit contacts; scheduling the
        # activity is the engine's job, not a contact edit.
        activity = reminder.partner_id.sudo().activity_schedule(
            activity_type_id=activity_type.id,
            summary=summary,
            note=note,
            user_id=user.id,
        )
        reminder.activity_id = activity
        self._log_contact(
            reminder,
            _(
                "Collection activity %(summary)s scheduled for %(user)s.",
                summary=activity.summary,
                user=user.name,
            ),
            None,
        )
        return Outcome(SENT)

    @api.model
    def _fallback_problem(self, reminder):
        if reminder.kind == "thank_you":
            return _("A thank-you is not worth a collector's call")
        if reminder.kind == "chat":
            return _("Its author sees the failure in the chatter")
        return None

    @api.model
    def _recover(self, reminder, now):
        # The activity is created in the transaction that settles the reminder.
        if reminder.activity_id:
            reminder._settle(Outcome(SENT), reminder.claimed_at)
            return None
        return super()._recover(reminder, now)


class DunningLevel(models.Model):
    _inherit = "dunning.level"

    channel_activity = fields.Boolean(string="Collector Activity")
    activity_type_id = fields.Many2one(
        "mail.activity.type",
        default=lambda self: self.env.ref(
            "mail.mail_activity_data_call", raise_if_not_found=False
        ),
    )
    activity_summary = fields.Char(translate=True)


class DunningReminder(models.Model):
    _inherit = "dunning.reminder"

    activity_id = fields.Many2one("mail.activity", readonly=True, ondelete="set null")

    _dunning_engine_fields = frozenset({"activity_id"})

    def _activity_note(self, invoices, user):
        """The activity's note, with amounts and dates as ``user`` reads them;
        an invoice paid in instalments says what is due now."""
        reader = user.partner_id
        company = self.company_id
        today = fields.Date.context_today(self)

        def amount(value, invoice):
            return reader._dunning_format_amount(value, invoice.currency_id, company)

        lines = "".join(
            "<li>{}: {} ({}){}</li>".format(
                invoice.name,
                amount(invoice.amount_residual, invoice),
                reader._dunning_format_date(invoice.dunning_due_date),
                _(", due now: %s", amount(due, invoice)) if due and not_due else "",
            )
            for invoice in invoices
            for due, not_due in [invoice._dunning_split_due(today)]
        )
        return _(
            "Call the customer about %(total)s due.<ul>%(lines)s</ul>",
            total=reader._dunning_format_amount(
                self.amount_due, self.currency_id, company
            ),
            lines=lines,
        )
