from odoo import models


class MailMail(models.Model):
    """A reminder's e-mail tells its reminder what the mail server answered.

    Odoo's mail queue sends the mail later, in its own cron: the reminder is
    ``sending`` until then, becomes ``sent`` only when the server accepted the
    mail, and on a failure is retried or failed by the reminder itself
    (``dunning.reminder._dunning_mail_outcome``), instead of staying "sent"
    while the mail sits in ``exception`` forever.
    """

    _inherit = "mail.mail"

    def _postprocess_sent_message(
        self, success_pids, failure_reason=False, failure_type=None
    ):
        # Before super: it deletes the auto-delete mails the reminder reads.
        self.env["dunning.reminder"].sudo()._dunning_mail_outcome(
            self, failure_type, failure_reason
        )
        return super()._postprocess_sent_message(
            success_pids, failure_reason=failure_reason, failure_type=failure_type
        )
