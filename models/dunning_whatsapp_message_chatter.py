from collections import defaultdict

from markupsafe import Markup

from odoo import _, api, models
from odoo.exceptions import UserError


class DunningWhatsappMessage(models.Model):
    """The chatter of WhatsApp messages: one note per message and record (the
    customer, the invoices it is about), kept at the message's current status."""

    _inherit = "dunning.whatsapp.message"

    def _chatter_invoices(self):
        """The invoices this message is about: its reminder's or the one a
        collector wrote about; for an answer, those of the message answered,
        else of the customer's last message about invoices."""
        self.ensure_one()
        about = self
        if self.direction == "in" and self.partner_id:
            about = self.reply_to_id or self.search(
                [
                    ("partner_id", "=", self.partner_id.id),
                    ("direction", "=", "out"),
                    "|",
                    ("reminder_id", "!=", False),
                    ("move_id", "!=", False),
                    ("id", "!=", self.id),
                ],
                order="id desc",
                limit=1,
            )
        invoices = about.reminder_id.move_ids | about.move_id
        return invoices.filtered(lambda m: m.move_type == "out_invoice")

    def _chatter_body(self):
        """The note: who wrote, the status now, the text, the error if any."""
        self.ensure_one()
        states = dict(self._fields["state"]._description_selection(self.env))
        if self.direction == "in":
            title = _("WhatsApp message from the customer")
        elif self.user_id:
            title = _(
                "WhatsApp message sent by %(user)s to the customer",
                user=self.user_id.name,
            )
        elif self.notice_type:
            # Queued until the contact window opens: not "sent" yet.
            notices = dict(self._fields["notice_type"]._description_selection(self.env))
            title = _(
                "WhatsApp %(notice)s to the customer (%(template)s)",
                notice=notices[self.notice_type].lower(),
                template=self.template_id.name,
            )
        elif self.template_id:
            title = _(
                "WhatsApp message %(template)s sent to the customer",
                template=self.template_id.name,
            )
        else:
            title = _("WhatsApp message sent to the customer")
        state = states.get(self.state, self.state)
        if self.state == "queued" and self.scheduled_at and self.partner_id:
            # Waiting for the customer's contact window: the time it opens there.
            state = _(
                "Scheduled for %(when)s",
                when=self.partner_id._dunning_format_local(self.scheduled_at),
            )
        body = Markup("<p><strong>%s</strong> · %s</p>") % (
            title,
            _("Status: %(state)s", state=state),
        )
        if self.body:
            body += Markup("<p>%s</p>") % self.body
        if self.quick_reply_payload:
            body += Markup("<p>%s</p>") % _(
                "Quick reply: %(payload)s", payload=self.quick_reply_payload
            )
        body += self._media_chatter_lines()
        if self.state == "failed" and (self.error_code or self.error_title):
            body += Markup("<p>%s</p>") % _(
                "Error %(code)s: %(title)s",
                code=self.error_code or "",
                title=self.error_title or "",
            )
        return body

    def _chatter_sync(self):
        """Post these messages' notes, or bring them to their current status.

        The notes are the engine's: written as superuser, whoever triggered
        the change (a webhook, a cron, a collector). The notes of many messages
        are created together (:meth:`_chatter_post`).
        """
        messages = self.sudo()
        # The invoices of every message read at once, not one message at a time.
        (messages.reminder_id.move_ids | messages.move_id).mapped("move_type")
        to_post = []
        for message in messages:
            if not message.partner_id:
                continue
            body = message._chatter_body()
            if message.chatter_message_ids:
                message._chatter_update(body)
                continue
            records = [message.partner_id.commercial_partner_id]
            records += list(message._chatter_invoices())
            records += list(message._notice_chatter_records())
            to_post.append((message, body, records))
        if to_post:
            self._chatter_post(to_post)

    def _chatter_update(self, body):
        """Bring this message's notes to ``body`` (its new status).

        A company with the accounting Audit Trail setting on
        (``check_account_audit_trail``) forbids editing the log of its posted
        invoices and their customers: there the change gets a note of its own,
        which the next change follows, and the earlier note stays as it was.
        """
        self.ensure_one()
        notes = self.chatter_message_ids
        try:
            with self.env.cr.savepoint():
                notes.write({"body": body})
        except UserError:
            self._chatter_update_each(notes, body)

    def _chatter_update_each(self, notes, body):
        """:meth:`_chatter_update` note by note: a new note where one is
        protected by the audit trail."""
        current = self.env["mail.message"].sudo()
        for note in notes:
            try:
                with self.env.cr.savepoint():
                    note.write({"body": body})
                current |= note
            except UserError:
                record = self.env[note.model].sudo().browse(note.res_id)
                current |= record._message_log(body=body)
        self.chatter_message_ids = current

    @api.model
    def _chatter_post(self, to_post):
        """Log the notes of ``to_post``, a list of (message, body, records).

        One ``_message_log_batch`` per model rather than one ``_message_log``
        per record; a record appears once per call, so a record with several
        messages gets its notes over several rounds, in the messages' order.
        """
        notes = {message: self.env["mail.message"].sudo() for message, *__ in to_post}
        pending = [
            (message, body, record)
            for message, body, records in to_post
            for record in records
        ]
        while pending:
            by_model, later, seen = defaultdict(list), [], set()
            for item in pending:
                key = (item[2]._name, item[2].id)
                if key in seen:
                    later.append(item)
                else:
                    seen.add(key)
                    by_model[key[0]].append(item)
            for model, items in by_model.items():
                records = self.env[model].sudo().browse([item[2].id for item in items])
                logged = records._message_log_batch(
                    bodies={item[2].id: item[1] for item in items}
                )
                for item, note in zip(items, logged, strict=True):
                    notes[item[0]] |= note
            pending = later
        for message, message_notes in notes.items():
            message.chatter_message_ids = message_notes
