"""Email: the reminder's mail template, sent through Odoo's mail queue."""

import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import email_normalize

from ..services import smtp_failure
from ..services.backoff import can_retry, next_retry_at
from .dunning_channel import HANDED_OVER, SENT, Outcome, RecipientUnreachableError

_logger = logging.getLogger(__name__)


class DunningChannelEmail(models.AbstractModel):
    """An email rendered from the level's template (or the fallback's), queued
    in Odoo's mail queue: the reminder is ``sending`` until the mail server
    accepts the mail (:meth:`DunningReminder._dunning_mail_outcome`)."""

    _name = "dunning.channel.email"
    _inherit = "dunning.channel"
    _description = "Collection Channel: Email"

    _channel_code = "email"
    _channel_sequence = 10
    _channel_carries_notices = True
    _channel_level_fields = ("channel_email", "mail_template_id")
    # An email that cannot reach the customer goes to the collector, who must
    # know (fix the address, call them).
    _channel_default_fallback = "activity"

    @api.model
    def _channel_label(self):
        return _("Email")

    @api.model
    def _level_problem(self, level):
        if not level.mail_template_id:
            return _(
                "Level %(level)s sends emails: choose its email template.",
                level=level.display_name,
            )
        return None

    @api.model
    def _preview(self, reminder):
        problem = self._level_problem(reminder.level_id)
        if problem:
            raise UserError(problem)
        recipient = reminder._get_email_recipient()
        reminder.recipient_id = recipient
        # Rendered as superuser, like the email itself: the template calls
        # model helpers that a collector's restricted rendering would refuse.
        template = reminder.level_id._origin.mail_template_id.sudo()
        res_ids = list(reminder._ids)
        return {
            "recipient": recipient.email_formatted
            or _("%(partner)s has no email address.", partner=recipient.display_name),
            "subject": template._render_field("subject", res_ids, compute_lang=True)[
                res_ids[0]
            ],
            "body": template._render_field("body_html", res_ids, compute_lang=True)[
                res_ids[0]
            ],
        }

    @api.model
    def _unreachable_reason(self, reminder):
        recipient = reminder._get_email_recipient()
        if not recipient.email:
            return _(
                "%(partner)s has no email address.", partner=recipient.display_name
            )
        if not email_normalize(recipient.email):
            return _(
                "The email address of %(partner)s is not valid: %(email)s.",
                partner=recipient.display_name,
                email=recipient.email,
            )
        return None

    @api.model
    def _mail_template(self, reminder):
        """The template of ``reminder``'s email: a notice's, else the one it
        was given (a fallback's), else its level's."""
        if reminder._is_notice():
            template = reminder._notice_mail_template()
        else:
            template = reminder.mail_template_id or reminder.level_id.mail_template_id
        if not template:
            raise UserError(
                _(
                    "%(message)s: no email template.",
                    message=reminder.level_id.name or reminder._kind_label(),
                )
            )
        return template

    @api.model
    def _before_send(self, reminders):
        # The statement links each listed invoice (its access token) and the
        # customer's statement page (a new link per reminder).
        reminders._mint_links()
        # The PDFs the batch attaches, rendered first, each committed: a
        # batch of invoices never sent may take longer than a cron run may
        # last, and the next run must find what this one rendered. (The batch
        # is claimed already: committing it releases nothing to others.)
        attaching = reminders.filtered(
            lambda r: not r._is_notice() and r.level_id.attach_invoice_pdf
        )
        invoices = attaching.move_ids.filtered(lambda m: m.move_type == "out_invoice")
        reminders._render_invoice_pdfs(invoices, commit=True)

    @api.model
    def _prepare_ahead(self, reminders, may_start, tried):
        # The PDFs: a batch of them may take longer than a cron worker may live.
        attaching = reminders.filtered(
            lambda r: not r._is_notice() and r.level_id.attach_invoice_pdf
        )
        invoices = attaching.move_ids.filtered(
            lambda m: (
                m.move_type == "out_invoice"
                and not m.invoice_pdf_report_id
                and m.id not in tried
            )
        )
        made = 0
        for invoice in invoices:
            if not may_start(made):
                break
            # Once per run: a PDF that cannot be rendered is not tried again
            # and again; _before_send tries it once more and says why.
            tried.add(invoice.id)
            self.env["dunning.reminder"]._render_invoice_pdf_apart(invoice)
            made += 1
        return made, len(invoices) - made

    @api.model
    def _send_one(self, reminder, now):
        template = self._mail_template(reminder)
        reason = self._unreachable_reason(reminder)
        if reason:
            raise RecipientUnreachableError(reason)
        recipient = reminder._get_email_recipient()
        reminder.recipient_id = recipient
        email_values = {"recipient_ids": [fields.Command.set(recipient.ids)]}
        notes = []
        if not reminder._is_notice() and reminder.level_id.attach_invoice_pdf:
            attachments, notes = reminder._get_invoice_pdfs()
            email_values["attachment_ids"] = [fields.Command.set(attachments.ids)]
        # No notification layout: the template is the whole letter, and a layout
        # would title it with the reminder's technical name. A notice renders
        # on what it is about (its promise, its plan), a reminder on itself.
        mail_id = template.sudo().send_mail(
            reminder._render_record().id, email_values=email_values
        )
        mail = self.env["mail.mail"].sudo().browse(mail_id)
        reminder.write({"mail_id": mail.id, "message_id": mail.mail_message_id.id})
        # Sent (and logged in the chatter) when the mail server accepts it.
        return Outcome(HANDED_OVER, "\n".join(notes) or None)

    @api.model
    def _trigger_queue(self, reminders):
        # Wake the mail queue's cron instead of waiting for its next run.
        if reminders.filtered(lambda r: r.state == "sending" and r.mail_id):
            mail_cron = self.env.ref(
                "mail.ir_cron_mail_scheduler_action", raise_if_not_found=False
            )
            if mail_cron:
                mail_cron._trigger()

    @api.model
    def _recover(self, reminder, now):
        """A claim with its mail waits for the mail queue, which reports the
        server's answer; a mail that failed without that answer reaching the
        reminder settles it from the mail's state. Without its mail, the email
        was never queued: sent again."""
        mail = reminder.mail_id
        if not mail:
            return super()._recover(reminder, now)
        if mail.state in ("sent", "exception", "cancel"):
            reminder._dunning_mail_outcome(mail, mail.failure_type, mail.failure_reason)
        return None

    @api.model
    def _fallback_problem(self, reminder):
        if reminder.kind == "chat":
            return _("A collector's message is not sent on another channel")
        if reminder._is_notice():
            template = reminder._notice_mail_template()
        else:
            template = reminder._get_fallback_mail_template()
        if not template:
            return _("The policy has no email template")
        if not reminder._get_email_recipient().email:
            return _("The customer has no email address")
        return None

    @api.model
    def _fallback_values(self, reminder):
        if reminder._is_notice():
            return {}
        return {"mail_template_id": reminder._get_fallback_mail_template().id}


class DunningLevel(models.Model):
    _inherit = "dunning.level"

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


class DunningReminder(models.Model):
    _inherit = "dunning.reminder"

    mail_template_id = fields.Many2one(
        "mail.template",
        string="Email Template",
        readonly=True,
        help="The template of this email when it is not the level's own: a "
        "fallback email of a WhatsApp level.",
    )
    mail_id = fields.Many2one("mail.mail", string="Email", readonly=True)

    _dunning_engine_fields = frozenset({"mail_id"})

    def _get_email_recipient(self):
        """The customer's invoicing contact, else the customer itself."""
        address_id = self.partner_id.address_get(["invoice"])["invoice"]
        recipient = self.env["res.partner"].browse(address_id)
        return recipient if recipient.email else self.partner_id

    def _get_fallback_mail_template(self):
        """The email template of a fallback: the level's own, else that of the
        closest earlier email level of the policy (same stage, same tone), else
        that of its first email level."""
        self.ensure_one()
        level = self.level_id
        if level.mail_template_id:
            return level.mail_template_id
        email_levels = self.policy_id._get_levels_by_rank().filtered("mail_template_id")
        earlier = email_levels.filtered(lambda lv: lv.offset_days <= level.offset_days)
        return (earlier[-1:] or email_levels[:1]).mail_template_id

    def _get_invoice_pdfs(self):
        """The PDF of every listed invoice: the invoice's own, else a new one
        (:meth:`_render_invoice_pdfs`).

        A PDF that cannot be rendered does not hold the reminder back: the email
        links every invoice anyway. Returns the attachments and what was missed.
        """
        invoices = self._get_template_invoices()
        errors = self._render_invoice_pdfs(invoices)
        notes = [
            _(
                "The PDF of %(invoice)s could not be attached: %(error)s",
                invoice=invoice.name,
                error=errors[invoice.id],
            )
            for invoice in invoices
            if invoice.id in errors
        ]
        return invoices.invoice_pdf_report_id, notes

    @api.model
    def _render_invoice_pdfs(self, invoices, commit=False):
        """Render the PDF of each of ``invoices`` that has none, and keep it as
        the invoice's own (``invoice_pdf_report_file``, where Odoo keeps the
        PDF of a sent invoice): rendered once, whatever the number of
        reminders that attach it. With ``commit``, each PDF is committed as
        soon as rendered: a run stopped by its time limit keeps them.

        Returns ``{invoice id: error}`` of the PDFs that could not be rendered.
        """
        errors = {}
        for invoice in invoices.filtered(lambda m: not m.invoice_pdf_report_id):
            try:
                with self.env.cr.savepoint():
                    content, _report_type = (
                        self.env["ir.actions.report"]
                        .sudo()
                        ._render_qweb_pdf("account.account_invoices", invoice.ids)
                    )
            except UserError as error:
                errors[invoice.id] = error
                continue
            except Exception as error:  # noqa: BLE001 -- the email goes without it
                _logger.exception("The PDF of invoice %s failed", invoice.id)
                errors[invoice.id] = error
                continue
            self.env["ir.attachment"].sudo().create(
                {
                    "name": invoice._get_invoice_report_filename(),
                    "raw": content,
                    "mimetype": "application/pdf",
                    "res_model": invoice._name,
                    "res_id": invoice.id,
                    "res_field": "invoice_pdf_report_file",
                }
            )
            invoice.invalidate_recordset(
                ["invoice_pdf_report_id", "invoice_pdf_report_file"]
            )
            if commit:
                self._commit_between_batches()
        return errors

    @api.model
    def _render_invoice_pdf_apart(self, invoice):
        """Render ``invoice``'s PDF (:meth:`_render_invoice_pdfs`) in a
        transaction of its own, committed at once, whatever the current one
        holds (a claimed batch, uncommitted). Under tests, in the test's
        transaction."""
        if self._testing():
            return self._render_invoice_pdfs(invoice)
        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            return env["dunning.reminder"]._render_invoice_pdfs(invoice.with_env(env))

    @api.model
    def _dunning_mail_outcome(self, mails, failure_type=None, failure_reason=None):
        """What the mail server answered for ``mails``: settle their reminders.

        Called by the mail queue for each mail it tried (mail.mail
        ``_postprocess_sent_message``). Accepted: the reminder is sent and
        logged in the chatter. A temporary failure (server unreachable, 4xx):
        the mail goes back to the queue at a backoff time, a bounded number of
        times. A permanent one (no valid address, 5xx): the reminder fails
        with the server's reason and its fallback takes over.
        """
        reminders = self.search(
            [("mail_id", "in", mails.ids), ("state", "=", "sending")]
        )
        now = fields.Datetime.now()
        email = self.env["dunning.channel.email"]
        for reminder in reminders:
            mail = reminder.mail_id
            if not failure_type and mail.state == "sent":
                reminder._settle(Outcome(SENT, reminder.error_message), now)
                email._log_contact(reminder, mail.body_html, mail.subject)
                continue
            reason = (
                mail.failure_reason
                or failure_reason
                or dict(
                    mail._fields["failure_type"]._description_selection(self.env)
                ).get(failure_type)
                or _("The mail server did not accept the email.")
            )
            kind = smtp_failure.classify(failure_type, reason)
            attempts = reminder.retry_count + 1
            if kind == smtp_failure.TEMPORARY and can_retry(
                attempts, smtp_failure.EMAIL_MAX_ATTEMPTS
            ):
                reminder._retry_mail(now, reason)
                continue
            if kind == smtp_failure.TEMPORARY:
                reason = _(
                    "The mail server kept refusing the email after %(count)s "
                    "attempts: %(reason)s",
                    count=attempts,
                    reason=reason,
                )
            reminder._fail_with_fallback(reason, now)

    def _retry_mail(self, now, reason):
        """Put this reminder's mail back in the mail queue at a backoff time:
        the mail itself is retried (it is rendered already), the reminder
        counts the attempt and stays ``sending``."""
        retry_at = next_retry_at(
            now,
            self.retry_count,
            base=smtp_failure.EMAIL_BACKOFF_BASE,
            cap=smtp_failure.EMAIL_BACKOFF_CAP,
        )
        self.mail_id.write({"state": "outgoing", "scheduled_date": retry_at})
        self.write(
            {
                "retry_count": self.retry_count + 1,
                "error_message": _(
                    "The mail server did not take the email (%(reason)s): "
                    "trying again at %(when)s UTC.",
                    reason=reason,
                    when=retry_at.replace(microsecond=0),
                ),
            }
        )
        mail_cron = self.env.ref(
            "mail.ir_cron_mail_scheduler_action", raise_if_not_found=False
        )
        if mail_cron:
            mail_cron._trigger(at=retry_at)
