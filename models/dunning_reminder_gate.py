from collections import defaultdict
from datetime import UTC, datetime, time, timedelta

from odoo import _, fields, models
from odoo.tools import SQL, format_date

from ..services.contact_window import (
    describe,
    is_open,
    next_opening,
    resolve_zone,
)
from .dunning_reminder import (
    OPEN_INVOICE_DOMAIN,
)


class DunningReminderGate(models.Model):
    """The contact gate: whether a claimed message may reach the debtor now,
    and what it lists (the statement, without the invoices on hold)."""

    _inherit = "dunning.reminder"

    def _gate(self, now, plugin, statements, active, contacts):
        """The contact gate of this claimed reminder, at send time: whether
        it may go now, and when to look again if not; the decision and its
        reason are stored on the reminder.

        In order: the customer excluded (cancelled) or paused (deferred);
        nothing left to collect or the invoices that called for it held
        (cancelled); for a channel that reaches the debtor, the contact window
        and holidays in the debtor's zones (deferred to the opening); the
        channel's reachability (failed, and the policy's next channel takes
        over); the caps on contacts across channels (deferred). ``statements``
        (:meth:`_statement_moves_by_reminder`), ``active``
        (``_dunning_active()`` of the batch's invoices) and ``contacts``
        (:meth:`_contacts_by_partner`) are read once for a batch; a reminder
        that passes counts as a contact at once.
        """
        self.ensure_one()
        partner = self.partner_id
        notice = self._is_notice()
        if partner.dunning_excluded and not notice:
            self._set_cancelled(_("The customer is excluded from collections."))
            return False, None
        window, zones = self._contact_window()
        paused_until = partner.dunning_paused_until
        if paused_until and paused_until >= local_date(now, zones) and not notice:
            # The pause covers its last day in the customer's own calendar: resume
            # at the first opening after local midnight in every zone.
            resume = max(local_midnight_utc(paused_until + timedelta(days=1), zones))
            if plugin._channel_faces_debtor:
                resume = next_opening(window, resume, zones) or resume
            self._set_deferred(
                resume,
                _(
                    "Collections are paused for this customer until %(date)s.",
                    date=format_date(self.env, paused_until),
                ),
            )
            return False, resume
        # A notice lists what it is about (a promise's invoices, the paid
        # ones); a reminder, the customer's open statement now.
        moves = self._notice_listed_moves() if notice else statements.get(self.id)
        if moves is None:
            moves = self._get_statement_moves()
        if notice:
            reason = self._notice_cancel_reason()
        else:
            reason = self._cancel_reason(moves, active)
        if reason:
            self._set_cancelled(reason)
            return False, None
        # What the customer just asked for goes at once, caps and hours aside.
        asked = self.asked_by_debtor
        if plugin._channel_faces_debtor:
            if not asked:
                held, when = self._window_gate(now, window, zones)
                if held:
                    return False, when
            reason = plugin._unreachable_reason(self)
            if reason:
                if not notice:
                    self._set_statement(moves)
                self._fail_with_fallback(reason, now)
                return False, None
            capped = not asked and self._contact_cap(now, window, zones, contacts)
            if capped:
                self._set_deferred(*capped)
                return False, capped[0]
            # Counted at once: the next reminder of the batch for this customer
            # sees it, whatever this one's outcome.
            contacts[partner.id].append(now)
        if not notice or moves != self.move_ids:
            self._set_statement(moves)
        return True, None

    def _cancel_reason(self, moves, active=None):
        """Why this reminder is not needed any more, if so: nothing left in
        its statement ``moves``, or none of the invoices that called for it
        still ``active`` (``_dunning_active()``, read now when not given)."""
        if active is None:
            active = self.line_ids.move_id._dunning_active()
        if self.line_ids and not self.line_ids.move_id & active:
            return self._inactive_reason()
        if not moves.filtered(lambda m: m.move_type == "out_invoice"):
            return _("Nothing is left to collect.")
        return None

    def _inactive_reason(self):
        """Why none of the invoices that called for this reminder needs it now."""
        moves = self.line_ids.move_id
        if moves.filtered("dunning_dispute_id"):
            return _("The customer disputes the invoices this reminder was about.")
        today = fields.Date.context_today(self)
        if moves.filtered(
            lambda m: m.dunning_verify_until and m.dunning_verify_until >= today
        ):
            return _(
                "A collector is verifying the payment of the invoices this "
                "reminder was about."
            )
        if moves._dunning_held():
            return _(
                "The invoices this reminder was about are covered by a payment promise."
            )
        return _("The invoices this reminder was about are settled or excluded.")

    def _window_gate(self, now, window, zones):
        """Whether this reminder to the debtor must wait for the contact window
        (or cannot go at all), and until when: the window and holidays in the
        debtor's zones. Records the deferral or the failure.
        """
        if not is_open(window, now, zones):
            opening = next_opening(window, now, zones)
            if not opening:
                self._set_failed(
                    _(
                        "The contact window %(window)s never opens in the "
                        "customer's time zones (%(zones)s) within a month.",
                        window=describe(window),
                        zones=", ".join(zones),
                    )
                )
                return True, None
            self._set_deferred(
                opening,
                _(
                    "Outside the contact window %(window)s in %(zones)s.",
                    window=describe(window),
                    zones=", ".join(zones),
                ),
            )
            return True, opening
        return False, None

    def _contacts_by_partner(self, now):
        """When each customer of these reminders was contacted in the 7 days up
        to ``now``, on any channel, by anyone: the reminders that left (or are
        leaving) by a channel that reaches the debtor, what channels sent
        outside reminders (``_contacts_elsewhere``: a collector's chat, a
        confirmation), and the calls and visits collectors logged.

        Raw SQL: one union over reminders and interactions for the whole batch.
        """
        result = defaultdict(list)
        partners = self.partner_id.commercial_partner_id
        if not partners:
            return result
        since = now - timedelta(days=7)
        channel_model = self.env["dunning.channel"]
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT partner_id, COALESCE(sent_at, claimed_at) AS at
                  FROM dunning_reminder
                 WHERE partner_id IN %(partners)s
                   AND id NOT IN %(batch)s
                   AND channel IN %(channels)s
                   AND state IN ('sending', 'sent', 'delivered', 'read')
                   AND COALESCE(sent_at, claimed_at) > %(since)s
                 UNION ALL
                SELECT customer.commercial_partner_id, interaction.date
                  FROM dunning_interaction interaction
                  JOIN res_partner customer ON customer.id = interaction.partner_id
                 WHERE customer.commercial_partner_id IN %(partners)s
                   AND interaction.channel IN ('call', 'visit')
                   AND interaction.date > %(since)s
                   AND interaction.date <= %(now)s
                """,
                partners=tuple(partners.ids),
                # The batch's own reminders, claimed (``sending``) already,
                # count as each of them goes (see _gate).
                batch=tuple(self.ids) or (0,),
                channels=tuple(channel_model._dunning_debtor_channels()),
                since=since,
                now=now,
            )
        )
        rows = self.env.cr.fetchall()
        for plugin in channel_model._dunning_channels().values():
            rows += plugin._contacts_elsewhere(partners.ids, since)
        for partner_id, at in rows:
            if at is not None:
                result[partner_id].append(at)
        return result

    def _contact_cap(self, now, window, zones, contacts):
        """When this customer may be contacted again under the policy's caps,
        and why, if a cap is reached now; None otherwise.

        The day is the customer's (its first time zone); the 7 days roll. A
        deferral lands on the next opening of the contact window after the
        cap frees.
        """
        policy = self.policy_id
        per_day, per_week = policy.max_contacts_per_day, policy.max_contacts_per_week
        times = sorted(contacts.get(self.partner_id.id) or ())
        free_at, reasons = None, []
        if per_day:
            zone = resolve_zone(zones[0])
            today = now.replace(tzinfo=UTC).astimezone(zone).date()
            same_day = [
                t
                for t in times
                if t.replace(tzinfo=UTC).astimezone(zone).date() == today
            ]
            if len(same_day) >= per_day:
                free_at = max(local_midnight_utc(today + timedelta(days=1), zones[:1]))
                reasons.append(
                    _(
                        "%(count)s contact(s) with this customer today, the "
                        "policy's cap per day.",
                        count=len(same_day),
                    )
                )
        if per_week:
            recent = [t for t in times if t > now - timedelta(days=7)]
            if len(recent) >= per_week:
                week_free = recent[-per_week] + timedelta(days=7)
                free_at = max(free_at, week_free) if free_at else week_free
                reasons.append(
                    _(
                        "%(count)s contacts with this customer in the last 7 days, "
                        "the policy's cap.",
                        count=len(recent),
                    )
                )
        if not free_at:
            return None
        when = next_opening(window, free_at, zones) or free_at
        return when, _(
            "Deferred by the contact caps: %(reasons)s",
            reasons=" ".join(reasons),
        )

    def _contact_window(self):
        """The policy's window for this customer, and the zones it must fit."""
        recipient = self.recipient_id or self._get_email_recipient()
        return self.partner_id._dunning_contact_window(
            self.policy_id, recipient, self.company_id
        )

    def _statement_moves_by_reminder(self):
        """:meth:`_get_statement_moves` of each reminder of ``self`` (by id), read
        in one search."""
        if not self:
            return {}
        moves = self.env["account.move"].search(
            [
                *OPEN_INVOICE_DOMAIN,
                ("company_id", "in", self.company_id.ids),
                ("commercial_partner_id", "in", self.partner_id.ids),
                ("currency_id", "in", self.currency_id.ids),
                ("move_type", "in", ("out_invoice", "out_refund")),
                ("dunning_excluded", "=", False),
                ("dunning_dispute_id", "=", False),
            ],
            order="dunning_due_date, id",
        )
        # Invoices on hold (promised until the grace date) are neither listed
        # nor counted: the customer was told no reminder would be about them.
        moves -= moves._dunning_held()
        grouped = defaultdict(list)
        for move in moves:
            key = (
                move.company_id.id,
                move.commercial_partner_id.id,
                move.currency_id.id,
            )
            grouped[key].append(move.id)
        return {
            reminder.id: moves.browse(
                grouped[
                    (
                        reminder.company_id.id,
                        reminder.partner_id.id,
                        reminder.currency_id.id,
                    )
                ]
            )
            for reminder in self
        }

    def _get_statement_moves(self):
        """Open invoices and credit notes of the customer in this currency, now."""
        self.ensure_one()
        return self._statement_moves_by_reminder()[self.id]


def local_date(now_utc, zones):
    """The earliest calendar date among ``zones`` at the naive UTC ``now_utc``."""
    aware = now_utc.replace(tzinfo=UTC)
    return min(aware.astimezone(resolve_zone(zone)).date() for zone in zones)


def local_midnight_utc(day, zones):
    """Midnight starting ``day`` in each of ``zones``, as naive UTC datetimes."""
    return [
        datetime.combine(day, time.min, tzinfo=resolve_zone(zone))
        .astimezone(UTC)
        .replace(tzinfo=None)
        for zone in zones
    ]
