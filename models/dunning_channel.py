"""The channels of the outbox: the contract each plug-in implements.

A channel is an abstract model of its own file (``dunning_channel_<code>.py``)
that inherits ``dunning.channel`` and sets ``_channel_code``; the same file adds,
by inheritance, the fields the channel needs on levels, policies and reminders.
The engine (planning, dispatch, the contact gate, retries, fallback, stale-claim
recovery) never names a channel: it asks the registry of plug-ins,
:meth:`DunningChannel._dunning_channels`, and calls the methods below.

Methods receive the reminders they act on as arguments; the plug-in itself is
an empty recordset, as a service.
"""

import logging
from collections import namedtuple

from odoo import _, api, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)

# What a channel's send of one reminder came to; the engine settles the
# reminder from it in one place (dunning.reminder._settle):
# - SENT: the provider accepted it (``sent``);
# - HANDED_OVER: an Odoo queue of the channel's own (mail, SMS, letters) took
#   it; the reminder stays ``sending`` until that queue reports back;
# - RETRY: a temporary failure, tried again with the shared backoff, counted;
# - WAIT: not sent, to be sent at ``when`` without counting a failure (a rate
#   limit, a paused account, a budget);
# - UNCERTAIN: the request may have reached the provider: never sent again,
#   its status callback settles it, else a person after a grace period;
# - UNREACHABLE: the debtor cannot be reached on this channel: failed, and
#   the policy's next channel takes over;
# - FAILED: failed for a reason a fallback would not fix (a broken template).
SENT = "sent"
HANDED_OVER = "handed_over"
RETRY = "retry"
WAIT = "wait"
UNCERTAIN = "uncertain"
UNREACHABLE = "unreachable"
FAILED = "failed"

Outcome = namedtuple("Outcome", "kind reason when", defaults=(None, None))


class RecipientUnreachableError(UserError):
    """The customer cannot be reached on this channel at all (no valid address,
    no consent, opt-out): the reminder fails and its fallback takes over."""


class DunningChannel(models.AbstractModel):
    """The contract of a channel plug-in, and the registry of plug-ins."""

    _name = "dunning.channel"
    _description = "Collection Channel"

    # Set by each plug-in.
    _channel_code = None
    # Order of the channels in lists and selections.
    _channel_sequence = 100
    # Whether the channel reaches the debtor: then the contact gate applies
    # (window, holidays, caps) and its sends count as contacts.
    _channel_faces_debtor = True
    # The channel that takes over when this one cannot reach the debtor and
    # the policy says nothing (a policy field ``<code>_fallback`` decides
    # when the plug-in adds one); "none": nobody.
    _channel_default_fallback = "none"
    # Whether the channel carries notices (a promise's confirmation, a
    # thank-you: dunning_reminder_notice.py), as a fallback or by the policy.
    _channel_carries_notices = False
    # The fields the plug-in adds to levels that :meth:`_level_problem` checks.
    _channel_level_fields = ()
    # The states past "sent" the channel's provider reports back ("delivered",
    # "read"): the reminder's status bar shows only these.
    _channel_receipts = ()

    # ------------------------------------------------------------------------------
    # The registry
    # ------------------------------------------------------------------------------

    @api.model
    def _dunning_channels(self):
        """``{code: plug-in}`` of every installed channel, in their order: the
        only list of channels there is."""
        plugins = sorted(
            (model._channel_sequence, model._channel_code, name)
            for name, model in self.env.registry.items()
            if getattr(model, "_channel_code", None)
        )
        return {code: self.env[name] for _sequence, code, name in plugins}

    @api.model
    def _dunning_channel(self, code):
        """The plug-in of channel ``code``."""
        plugin = self._dunning_channels().get(code)
        if plugin is None:
            raise UserError(_("Unknown collection channel: %(code)s", code=code))
        return plugin

    @api.model
    def _dunning_channel_selection(self):
        """``(code, label)`` of every channel, labelled in the user's language."""
        return [
            (code, plugin._channel_label())
            for code, plugin in self._dunning_channels().items()
        ]

    @api.model
    def _dunning_debtor_channels(self):
        """Codes of the channels that reach the debtor."""
        return [
            code
            for code, plugin in self._dunning_channels().items()
            if plugin._channel_faces_debtor
        ]

    # ------------------------------------------------------------------------------
    # The contract: what every plug-in says
    # ------------------------------------------------------------------------------

    @api.model
    def _channel_label(self):
        """The channel's name, translated."""
        raise NotImplementedError

    # Levels ----------------------------------------------------------------------

    @api.model
    def _level_uses(self, level):
        """Whether ``level`` sends on this channel: its ``channel_<code>``
        checkbox, which the plug-in adds to levels."""
        return bool(level[f"channel_{self._channel_code}"])

    @api.model
    def _level_problem(self, level):
        """Why ``level`` cannot send on this channel as configured (its
        template is missing), or None; whether it uses the channel or not."""
        return None

    @api.model
    def _preview(self, reminder):
        """What ``reminder`` (unsaved, its statement set) would send:
        ``{"recipient", "subject", "body"}``, rendered as dispatch would."""
        raise NotImplementedError

    # Planning --------------------------------------------------------------------

    @api.model
    def _unreachable_partners(self, partners, policy):
        """Ids of ``partners`` this channel cannot reach under ``policy``,
        known at planning time (no consent, no number): planning leaves the
        channel out where the level reaches them on another debtor channel."""
        return set()

    # Dispatch --------------------------------------------------------------------

    @api.model
    def _unreachable_reason(self, reminder):
        """Why ``reminder``'s recipient cannot be reached on this channel now,
        or None: then the reminder fails and its fallback takes over."""
        return None

    @api.model
    def _prepare_ahead(self, reminders, may_start, tried):
        """Make, before ``reminders`` are claimed for sending, what sending them
        needs and takes long to make (an invoice's PDF): each piece in a
        transaction of its own, committed at once, while the batch stays
        uncommitted and queued, so that a worker stopped by its time limit
        leaves the batch queued and keeps what it made. A piece starts only
        while ``may_start(made)`` (``made``: the pieces made by this call);
        ``tried`` (a set, updated) holds the ids of the pieces this run
        tried already, not tried again.

        Returns the pieces made and those left to make."""
        return 0, 0

    @api.model
    def _before_send(self, reminders):
        """Prepare, for the whole batch at once, what rendering ``reminders``
        (gated, their statement set) would otherwise do one by one: the
        links their messages carry (``dunning.reminder._mint_links``)."""

    @api.model
    def _send(self, reminders, now):
        """Send ``reminders`` (claimed, gated, their statement set); return
        the times at which the dispatcher must run again.

        By default, one :meth:`_send_one` each in a savepoint: a reminder that
        breaks rolls back alone and the rest of the batch goes on.
        """
        retry_times = set()
        for reminder in reminders:
            try:
                with self.env.cr.savepoint():
                    outcome = self._send_one(reminder, now)
            except Exception as error:  # noqa: BLE001 -- settled as an outcome
                outcome = self._error_outcome(reminder, error)
            when = reminder._settle(outcome, now)
            if when:
                retry_times.add(when)
        return retry_times

    @api.model
    def _send_one(self, reminder, now):
        """Send one reminder; return its :data:`Outcome`.

        May raise: a :class:`RecipientUnreachableError` falls back, any other
        ``UserError`` fails the reminder with its message, anything else fails
        it as unexpected (and is logged for the administrator).
        """
        raise NotImplementedError

    @api.model
    def _error_outcome(self, reminder, error):
        """The outcome of an exception raised by a send."""
        if isinstance(error, RecipientUnreachableError):
            return Outcome(UNREACHABLE, str(error))
        if isinstance(error, (UserError, ValueError)):
            return Outcome(FAILED, str(error))
        _logger.exception(
            "Reminder %s could not be sent", reminder.uuid, exc_info=error
        )
        return Outcome(FAILED, _("Unexpected error: %(error)s", error=error))

    @api.model
    def _contacts_elsewhere(self, partner_ids, since):
        """``(customer id, when)`` of what this channel sent to these customers
        since ``since`` outside the outbox's reminders: contacts the caps count."""
        return []

    @api.model
    def _recover(self, reminder, now):
        """Settle ``reminder``, left ``sending`` by a worker that died.

        By default the send never left the transaction that died with it:
        the reminder is queued again.
        """
        reminder._requeue(now, _("Sent again: the worker sending it stopped."))

    @api.model
    def _trigger_queue(self, reminders):
        """Wake the channel's own queue after a batch handed it ``reminders``."""

    # Fallback --------------------------------------------------------------------

    @api.model
    def _fallback_code(self, reminder):
        """The channel that takes over when ``reminder`` cannot reach the
        debtor on this one: the policy's ``<code>_fallback`` field when the
        plug-in adds one, else the plug-in's default; "none" for nobody."""
        field = f"{self._channel_code}_fallback"
        policy = reminder.policy_id
        if field in policy._fields:
            return policy[field] or "none"
        return self._channel_default_fallback

    @api.model
    def _fallback_problem(self, reminder):
        """Why this channel cannot carry the fallback of ``reminder`` (sent
        on another channel), or None; the engine then tries this channel's own
        fallback."""
        return None

    @api.model
    def _fallback_values(self, reminder):
        """Extra values of a fallback reminder on this channel."""
        return {}

    # Chatter ---------------------------------------------------------------------

    @api.model
    def _log_contact(self, reminder, body, subject):
        """Leave the contact in the customer's chatter, and in that of the
        invoices it reminded of (a reminder) or of its promise or plan (a
        notice)."""
        if reminder._is_notice():
            note = _(
                "%(kind)s sent by %(channel)s.",
                kind=reminder._kind_label(),
                channel=self._channel_label(),
            )
            for record in (reminder.partner_id, *reminder._notice_log_records()):
                record.sudo()._message_log(body=body or note, subject=subject or note)
            return
        note = _(
            "Collection reminder %(level)s sent by %(channel)s.",
            level=reminder.level_id.name,
            channel=self._channel_label(),
        )
        partner = reminder.partner_id.sudo()
        partner._message_log_batch(
            bodies={partner.id: body or note}, subject=subject or note
        )
        invoices = reminder._get_template_invoices().sudo()
        if invoices:
            invoices._message_log_batch(bodies=dict.fromkeys(invoices.ids, note))


def channel_selection(records):
    """Selection of a ``channel`` field: every installed channel."""
    return records.env["dunning.channel"]._dunning_channel_selection()
