"""What holds an invoice from reminders (promises, payment to verify), the
thank-you once paid, and cancelling reminders no longer needed."""

from odoo import _, api, fields, models
from odoo.tools import SQL, format_date

from .dunning_reminder_plan import reminder_day_sql


class AccountMoveHold(models.Model):
    _inherit = "account.move"

    def _dunning_thank(self):
        """Thank each customer (per company) for these paid invoices, by email,
        WhatsApp or both as the policy says: one message naming every invoice
        paid, through the outbox (inside the contact hours)."""
        for (partner, company), moves in self.grouped(
            lambda m: (m.commercial_partner_id, m.company_id)
        ).items():
            policy = moves[0]._get_dunning_policy()
            channels = []
            if policy.thank_you_email and policy.thank_you_mail_template_id:
                channels.append("email")
            if policy.thank_you_whatsapp:
                channels.append("whatsapp")
            self.env["dunning.reminder"]._enqueue_notice(
                "thank_you", partner, company, channels, moves=moves
            )

    def _dunning_held(self):
        """The invoices of ``self`` whose reminders are on hold today: disputed,
        with a payment to verify until a day not past, or covered by an open
        payment promise until its grace date (``promised_sql`` in SQL)."""
        today = fields.Date.context_today(self)
        held = self.filtered(
            lambda m: (
                m.dunning_dispute_id
                or (m.dunning_verify_until and m.dunning_verify_until >= today)
            )
        )
        return held | (self - held)._dunning_promised()

    def _dunning_promised(self):
        """The invoices of ``self`` covered today by an open payment promise."""
        return self.browse([move.id for move in self._dunning_promised_until()])

    def _dunning_promised_until(self):
        """``{invoice: grace date}`` of the invoices of ``self`` covered today
        by an open payment promise: held until that day included (the SQL of
        planning says the same, ``promised_sql``)."""
        today = fields.Date.context_today(self)
        promises = (
            self.env["dunning.promise"]
            .sudo()
            .search(
                [
                    ("move_ids", "in", self.ids),
                    ("state", "=", "open"),
                    ("date_grace", ">=", today),
                ]
            )
        )
        until = {}
        for promise in promises:
            for move in promise.move_ids & self:
                until[move] = max(
                    until.get(move, promise.date_grace), promise.date_grace
                )
        return until

    def _dunning_last_reminder_days(self):
        """``{(customer id, company id): day}`` the last reminder to the
        customers of ``self`` reached them or is due to: what the policy's days
        between reminders count from, as planning counts it
        (``reminder_day_sql``)."""
        if not self:
            return {}
        self.env["dunning.reminder"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT recent.partner_id, recent.company_id, MAX(%(day)s)
                  FROM dunning_reminder recent
                 WHERE recent.partner_id = ANY(%(partner_ids)s)
                   AND recent.kind = 'reminder'
                   AND recent.state != 'cancelled'
              GROUP BY recent.partner_id, recent.company_id
                """,
                day=reminder_day_sql("recent"),
                partner_ids=list(set(self.commercial_partner_id.ids)),
            )
        )
        return {(row[0], row[1]): row[2] for row in self.env.cr.fetchall()}

    def _dunning_refresh_next_date(self):
        """Compute "Next Reminder" again: what it says depends on today and
        on the customer's reminders, which no field dependency sees."""
        self.env.add_to_compute(self._fields["dunning_next_date"], self)
        self._recompute_recordset(["dunning_next_date"])

    def _dunning_open(self):
        """The open customer invoices of ``self``."""
        return self.filtered(lambda m: m._is_dunning_open())

    def _dunning_verify(self, until, note=None):
        """Hold these invoices from reminders until ``until`` (included): the
        customer says they are paid and a collector is checking. A note in
        the chatter of each invoice and of its customer says who and until
        when (the collectors may not edit invoices: written as the system)."""
        self.sudo().write({"dunning_verify_until": until})
        # As for a promise: a queued reminder about these invoices only is not
        # needed any more; one listing others still goes, without them.
        self._dunning_cancel_pending(
            self,
            _(
                "A collector is verifying the payment of the invoices this "
                "reminder was about."
            ),
        )
        for partner, moves in self.grouped("commercial_partner_id").items():
            body = _(
                "%(user)s marked %(invoices)s as payment to verify until %(date)s: "
                "no reminder about them until then.",
                user=self.env.user.name,
                invoices=", ".join(moves.mapped("name")),
                date=format_date(self.env, until),
            )
            if note:
                body = _("%(body)s Note: %(note)s", body=body, note=note)
            for record in (partner, *moves):
                record.sudo()._message_log(
                    body=body, author_id=self.env.user.partner_id.id
                )

    def _dunning_verify_clear(self, reason):
        """Lift the payment to verify of these invoices, with ``reason`` in
        the chatter of each."""
        self.sudo().write({"dunning_verify_until": False})
        for move in self:
            move.sudo()._message_log(body=reason)

    def _dunning_active(self):
        """The invoices of ``self`` that still call for reminders: open, included
        and not on hold."""
        candidates = self.filtered(
            lambda m: m._is_dunning_open() and not m.dunning_excluded
        )
        return candidates - candidates._dunning_held()

    @api.model
    def _dunning_cancel_pending(self, moves, reason):
        """Cancel the queued reminders of which none of the invoices that called
        for them is still open, included and not on hold; the others still go
        out, without the closed invoices."""
        pending = (
            self.env["dunning.reminder"]
            .sudo()
            .search(
                [
                    ("line_ids.move_id", "in", moves.ids),
                    ("state", "in", ("queued", "deferred")),
                ]
            )
        )
        active = pending.line_ids.move_id._dunning_active()
        for reminder in pending:
            if not reminder.line_ids.move_id & active:
                reminder._set_cancelled(reason)
