"""Letter: the formal statement, posted through Odoo's snail mail service or
printed in-house.

The letter is the reminder's own PDF report (``dunning_reminder_letter_report``),
in the customer's language. By post, it becomes a ``snailmail.letter`` queued in
Odoo's snail mail queue: the reminder is ``sending`` until that queue reports
the provider's answer (``snailmail.letter.write``, below). In-house, the PDF is
attached to the reminder and the collector gets an activity to print and post it.

The letter's chatter message (and its delivery status) lives on the customer:
a reminder is not a mail thread.
"""

from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models

from .dunning_channel import (
    HANDED_OVER,
    RETRY,
    SENT,
    UNREACHABLE,
    WAIT,
    Outcome,
    RecipientUnreachableError,
)

LETTER_REPORT = "account_dunning.dunning_reminder_letter_report"
# How long a letter waits when the company has no snail mail credit: the pace
# of Odoo's own snail mail queue.
CREDIT_WAIT = timedelta(hours=1)
# Snail mail error codes: what retrying would not fix for this customer (its
# address, its country, the document), and what buying credit fixes. Any other
# error is temporary.
UNREACHABLE_ERRORS = ("MISSING_REQUIRED_FIELDS", "NO_PRICE_AVAILABLE", "FORMAT_ERROR")
CREDIT_ERRORS = ("CREDIT_ERROR", "TRIAL_ERROR")


class DunningChannelLetter(models.AbstractModel):
    _name = "dunning.channel.letter"
    _inherit = "dunning.channel"
    _description = "Collection Channel: Letter"

    _channel_code = "letter"
    _channel_sequence = 40
    _channel_level_fields = ("channel_letter",)
    # A letter that cannot go tells the collector, who fixes the address or
    # calls.
    _channel_default_fallback = "activity"

    @api.model
    def _channel_label(self):
        return _("Letter")

    @api.model
    def _preview(self, reminder):
        recipient = reminder._letter_recipient()
        reason = self._unreachable_reason(reminder)
        if reminder.policy_id.letter_mode == "print":
            subject = _("Letter printed and posted by the collector")
        else:
            subject = _("Letter posted by Odoo's snail mail service")
        lang = reminder.partner_id.lang or self.env.lang
        return {
            "recipient": reason or recipient._display_address().replace("\n", ", "),
            "subject": subject,
            "body": self.env["ir.qweb"]
            .with_context(lang=lang)
            ._render("account_dunning.dunning_reminder_letter_body", {"o": reminder}),
        }

    @api.model
    def _unreachable_reason(self, reminder):
        recipient = reminder._letter_recipient()
        if self.env["snailmail.letter"]._is_valid_address(recipient):
            return None
        missing = [
            recipient._fields[name].get_description(self.env)["string"]
            for name in ("street", "zip", "city", "country_id")
            if not recipient[name]
        ]
        return _(
            "The postal address of %(partner)s is incomplete: %(missing)s missing.",
            partner=recipient.display_name,
            missing=", ".join(missing),
        )

    @api.model
    def _send_one(self, reminder, now):
        reason = self._unreachable_reason(reminder)
        if reason:
            raise RecipientUnreachableError(reason)
        reminder.recipient_id = reminder._letter_recipient()
        if reminder.policy_id.letter_mode == "print":
            return self._queue_for_printing(reminder)
        reminder._post_letter()
        # Sent when Odoo's snail mail queue reports the provider's answer.
        return Outcome(HANDED_OVER)

    @api.model
    def _queue_for_printing(self, reminder):
        """In-house: the PDF on the reminder, and an activity for the collector
        to print and post it. Sent once it is in the collector's hands."""
        attachment = reminder._letter_attachment(post=False)
        recipient = reminder.recipient_id
        user = reminder.user_id or self.env.ref("base.user_root")
        summary = _("Print and post the letter to %(partner)s", partner=recipient.name)
        note = Markup("<p>%s</p><p>%s</p>") % (
            _(
                "Print the attached letter %(level)s and post it to:",
                level=reminder.level_id.name,
            ),
            Markup("<br/>").join(recipient._display_address().split("\n")),
        )
        # Scheduling the activity is the engine's job, not a contact edit.
        reminder.partner_id.sudo().activity_schedule(
            "mail.mail_activity_data_todo",
            summary=summary,
            note=note,
            user_id=user.id,
            attachment_ids=[fields.Command.link(attachment.id)],
        )
        self._log_contact(
            reminder,
            _(
                "Letter %(level)s queued for printing: %(user)s prints and posts it.",
                level=reminder.level_id.name,
                user=user.name,
            ),
            None,
        )
        return Outcome(SENT)

    @api.model
    def _trigger_queue(self, reminders):
        # Wake the snail mail queue's cron instead of waiting for its next run.
        if reminders.filtered(lambda r: r.state == "sending" and r.letter_id):
            cron = self.env.ref("snailmail.snailmail_print", raise_if_not_found=False)
            if cron:
                cron._trigger()

    @api.model
    def _recover(self, reminder, now):
        """A claim whose letter is in the snail mail queue waits for it (or
        takes the answer it already gave); otherwise the letter never reached
        the queue in this claim: sent again."""
        letter = reminder.letter_id
        if letter.state == "pending":
            return None
        if letter.state in ("sent", "error"):
            reminder._dunning_letter_outcome(letter)
            return None
        return super()._recover(reminder, now)

    @api.model
    def _letter_outcome(self, letter):
        """What the snail mail queue's answer about ``letter`` means for its
        reminder: an :data:`Outcome`, or None while it is still queued."""
        if letter.state == "sent":
            return Outcome(SENT)
        if letter.state == "canceled":
            return None
        code = letter.error_code
        reason = _(
            "Snail mail could not post the letter: %(error)s",
            error=self._error_description(code),
        )
        if code in UNREACHABLE_ERRORS:
            return Outcome(UNREACHABLE, reason)
        if code in CREDIT_ERRORS:
            return Outcome(WAIT, reason, fields.Datetime.now() + CREDIT_WAIT)
        return Outcome(RETRY, reason)

    @api.model
    def _error_description(self, code):
        descriptions = {
            "MISSING_REQUIRED_FIELDS": _("the recipient's name or address is missing."),
            "NO_PRICE_AVAILABLE": _("the customer's country is not served."),
            "FORMAT_ERROR": _("the document could not be printed as it is."),
            "CREDIT_ERROR": _(
                "the company has no snail mail credit left. Buy credit "
                "(Settings > In-App Purchases) or print and post it yourself."
            ),
            "TRIAL_ERROR": _(
                "the company has no snail mail account yet. Create one "
                "(Settings > In-App Purchases) or print and post it yourself."
            ),
            "ATTACHMENT_ERROR": _("the document could not be generated."),
        }
        return descriptions.get(code) or _("an unknown error; tried again later.")

    @api.model
    def _fallback_problem(self, reminder):
        return self._unreachable_reason(reminder)


class DunningLevel(models.Model):
    _inherit = "dunning.level"

    channel_letter = fields.Boolean(
        string="Letter",
        help="A formal letter with the statement, posted through Odoo's snail "
        "mail service or printed in-house, as the policy says.",
    )
    letter_color = fields.Boolean(
        string="Letter in Colour",
        default=lambda self: self.env.company.snailmail_color,
    )
    letter_duplex = fields.Boolean(
        string="Letter on Both Sides",
        default=lambda self: self.env.company.snailmail_duplex,
    )
    letter_cover = fields.Boolean(
        string="Letter Cover Page",
        default=lambda self: self.env.company.snailmail_cover,
        help="A first page with the customer's address, for window envelopes.",
    )


class DunningPolicy(models.Model):
    _inherit = "dunning.policy"

    letter_mode = fields.Selection(
        [
            ("post", "Posted by Odoo's snail mail service"),
            ("print", "Printed in-house by the collector"),
        ],
        string="Letters",
        default="post",
        required=True,
        help="Posted: Odoo's snail mail service prints and posts the letter "
        "(paid with In-App Purchase credit). In-house: the letter's PDF is "
        "attached to the reminder and the collector gets an activity to print "
        "and post it.",
    )
    letter_fallback = fields.Selection(
        [
            ("none", "No fallback"),
            ("email", "Email"),
            ("activity", "Collector activity"),
        ],
        string="When a Letter Cannot Go",
        default="activity",
        required=True,
        help="What replaces a letter that cannot reach the customer (incomplete "
        "postal address, country not served, refused document): a collector "
        "activity (default), an email reminder of the same level, or nothing.",
    )


class DunningReminder(models.Model):
    _inherit = "dunning.reminder"

    letter_id = fields.Many2one(
        "snailmail.letter",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    letter_attachment_id = fields.Many2one(
        "ir.attachment", string="Letter Document", readonly=True, ondelete="set null"
    )

    _dunning_engine_fields = frozenset({"letter_id", "letter_attachment_id"})

    def _letter_recipient(self):
        """Who the letter is addressed to: the one it went to once it left,
        else the customer's invoicing address when it is a complete postal
        address, else the customer."""
        self.ensure_one()
        left = self.state not in ("queued", "deferred", "sending")
        if self.channel == "letter" and self.recipient_id and left:
            return self.recipient_id
        address_id = self.partner_id.address_get(["invoice"])["invoice"]
        recipient = self.env["res.partner"].browse(address_id)
        if self.env["snailmail.letter"]._is_valid_address(recipient):
            return recipient
        return self.partner_id

    def _letter_values(self):
        """What the letter shows, read once for its template."""
        self.ensure_one()
        invoices = self._get_template_invoices()
        credit_notes = self._get_template_credit_notes()
        return {
            "invoices": invoices,
            "credit_notes": credit_notes,
            "sections": self._get_statement_sections(),
            "late_names": self._get_late_invoice_names(1),
            "total": sum(invoices.mapped("amount_residual"))
            - sum(credit_notes.mapped("amount_residual")),
            "bank_accounts": self.company_id.partner_id.bank_ids,
            "portal_url": self._get_portal_url(),
            "today": fields.Date.context_today(self),
        }

    def _letter_attachment(self, post, letter=None):
        """Render the letter and keep it on the reminder; by ``post``, as Odoo's
        snail mail service prints it (A4, the margins kept blank, its cover
        page when ``letter`` asks for one)."""
        self.ensure_one()
        report = (
            self.env["ir.actions.report"].sudo().with_context(snailmail_layout=post)
        )
        content, report_type = report._render_qweb_pdf(LETTER_REPORT, self.ids)
        # Without wkhtmltopdf the report engine renders HTML (and so it does
        # under tests): kept as such, never dressed as a PDF.
        if report_type == "pdf" and letter:
            content = letter._overwrite_margins(content)
            if letter.cover:
                content = letter._append_cover_page(content)
        name = _(
            "%(level)s - %(partner)s",
            level=self.level_id.name,
            partner=self.partner_id.name,
        )
        values = {
            "name": f"{name}.{report_type}",
            "raw": content,
            "mimetype": "application/pdf" if report_type == "pdf" else "text/html",
            "res_model": self._name,
            "res_id": self.id,
        }
        attachment = self.letter_attachment_id
        if attachment:
            attachment.sudo().write(values)
        else:
            attachment = self.env["ir.attachment"].sudo().create(values)
            self.letter_attachment_id = attachment
        return attachment

    def _post_letter(self):
        """Queue this reminder's letter in Odoo's snail mail queue: a new one,
        or the one of an earlier attempt put back in the queue with a fresh
        statement (one letter per reminder, one status in the chatter)."""
        self.ensure_one()
        recipient = self.recipient_id
        level = self.level_id
        values = {
            "partner_id": recipient.id,
            "user_id": self.user_id.id,
            "color": level.letter_color,
            "cover": level.letter_cover,
            "duplex": level.letter_duplex,
        }
        letter = self.letter_id.sudo()
        if letter and letter.state != "sent":
            letter.write(
                {
                    **values,
                    "state": "pending",
                    "error_code": False,
                    "info_msg": False,
                    # What the letter's create copies from its recipient.
                    **{
                        name: recipient[name]
                        for name in ("street", "street2", "zip", "city")
                    },
                    "state_id": recipient.state_id.id,
                    "country_id": recipient.country_id.id,
                }
            )
            letter.notification_ids.sudo().write(
                {
                    "res_partner_id": recipient.id,
                    "notification_status": "ready",
                    "failure_type": False,
                    "failure_reason": False,
                }
            )
        else:
            # Its status message goes to the customer's chatter: snail mail
            # posts it on the letter's document, which must be a mail thread.
            letter = (
                self.env["snailmail.letter"]
                .sudo()
                .create(
                    {
                        **values,
                        "model": "res.partner",
                        "res_id": self.partner_id.id,
                        "company_id": self.company_id.id,
                        "report_template": self.env.ref(LETTER_REPORT).id,
                    }
                )
            )
            self.letter_id = letter
        letter.attachment_id = self._letter_attachment(post=True, letter=letter)
        return letter

    @api.model
    def _dunning_letter_outcome(self, letters):
        """What Odoo's snail mail queue answered for ``letters``: settle their
        reminders.

        Sent: the reminder is sent and logged in the chatter. An error: the
        letter leaves snail mail's own queue (which would try some of them
        again, behind the contact gate), and the reminder is retried, waits
        for credit, or fails to its fallback. Cancelled by a user: the
        reminder is cancelled.
        """
        reminders = self.search(
            [
                ("letter_id", "in", letters.ids),
                ("channel", "=", "letter"),
                ("state", "in", ("sending", "queued", "deferred")),
            ]
        )
        plugin = self.env["dunning.channel.letter"]
        now = fields.Datetime.now()
        for reminder in reminders:
            letter = reminder.letter_id
            if letter.state == "canceled" and reminder.state == "sending":
                reminder._set_cancelled(
                    _("The letter was cancelled in the snail mail queue.")
                )
                continue
            outcome = plugin._letter_outcome(letter)
            if outcome is None or (
                reminder.state != "sending" and outcome.kind != SENT
            ):
                continue
            reminder._settle(outcome, now)
            if outcome.kind == SENT:
                plugin._log_contact(reminder, None, None)
                continue
            letter.write({"state": "canceled"})
            if letter.error_code in CREDIT_ERRORS:
                reminder._letter_credit_activity(outcome.reason)

    def _letter_credit_activity(self, reason):
        """Tell the collector that the letter waits for snail mail credit:
        one open activity per customer, however many letters wait."""
        self.ensure_one()
        summary = _("Letter waiting for snail mail credit")
        partner = self.partner_id.sudo()
        if partner.activity_ids.filtered(lambda a: a.summary == summary):
            return
        partner.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=summary,
            note=reason,
            user_id=(self.user_id or self.env.ref("base.user_root")).id,
        )


class SnailmailLetter(models.Model):
    _inherit = "snailmail.letter"

    def write(self, vals):
        result = super().write(vals)
        if vals.get("state") in ("sent", "error", "canceled"):
            self.env["dunning.reminder"].sudo()._dunning_letter_outcome(self)
        return result
