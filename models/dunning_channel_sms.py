"""SMS: a short text through Odoo's own SMS queue (``sms.sms``).

The reminder is rendered from the level's ``sms.template`` and posted as an
SMS message in the customer's chatter (``_message_sms``), which queues an
``sms.sms`` and tracks its delivery on the message, as any SMS sent from Odoo.
Odoo's SMS queue then hands it to the provider (``SmsApi``, whose endpoint is
the ``sms.endpoint`` system parameter), so that any SMS provider add-on for
Odoo carries reminders unchanged. The reminder is ``sending`` until the
provider answers (:meth:`DunningReminder._dunning_sms_outcome`), and follows
the delivery reports afterwards (:meth:`DunningReminder._dunning_sms_delivery`).

Opt-out is Odoo's phone blacklist (``phone.blacklist``): a number blacklisted
in Odoo is never sent a reminder, and a provider add-on that reports inbound
messages hands them to :meth:`ResPartner._dunning_sms_inbound`, which
blacklists the number on a STOP or BAJA.
"""

import re
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .dunning_channel import (
    FAILED,
    HANDED_OVER,
    RETRY,
    SENT,
    UNREACHABLE,
    WAIT,
    Outcome,
    RecipientUnreachableError,
)

# What Odoo's SMS queue reports (``sms.sms.failure_type``, and the provider's
# own code for the ``unknown`` ones) and what it means for the reminder: the
# debtor cannot be reached at this number (the policy's fallback takes over),
# the account cannot send now (wait, uncounted), or the message itself is
# refused (a fallback would not fix the template). Anything else is retried.
UNREACHABLE_FAILURES = frozenset(
    {
        "sms_number_missing",
        "sms_number_format",
        "sms_country_not_supported",
        "sms_registration_needed",
        "sms_blacklist",
        "sms_optout",
        # Delivery reports.
        "sms_invalid_destination",
        "sms_not_allowed",
        "sms_rejected",
        "sms_expired",
        "sms_not_delivered",
        # Provider codes Odoo files under ``unknown``.
        "registration_needed",
    }
)
ACCOUNT_FAILURES = frozenset({"sms_credit", "sms_acc"})
REFUSED_CONTENT = frozenset({"incompatible_content", "duplicate_message"})
# How long a reminder waits for the SMS account (credits, registration).
ACCOUNT_WAIT = timedelta(hours=1)
# What the SMS queue reports once the provider took the message:
# ``process`` (processing), ``pending`` (sent) and ``sent`` (delivered).
ACCEPTED_STATES = frozenset({"process", "pending", "sent"})

# Characters a rendered text often carries that the GSM 03.38 alphabet lacks:
# one of them makes the SMS UCS-2, 70 characters a part instead of 160.
# Amounts are formatted with no-break spaces, templates typed with curly quotes.
_GSM7_LOOKALIKES = str.maketrans(
    {
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
    }
)
_SPACES = re.compile(r"[ \t]+")


def gsm7_text(text):
    """``text`` with the look-alike characters above replaced by their GSM-7
    forms and runs of spaces collapsed; letters are kept as they are."""
    return _SPACES.sub(" ", (text or "").translate(_GSM7_LOOKALIKES)).strip()


class DunningChannelSms(models.AbstractModel):
    """A short text rendered from the level's SMS template, queued in Odoo's
    SMS queue: the reminder is ``sending`` until the provider took it."""

    _name = "dunning.channel.sms"
    _inherit = "dunning.channel"
    _description = "Collection Channel: SMS"

    _channel_code = "sms"
    _channel_sequence = 30
    _channel_level_fields = ("channel_sms", "sms_template_id")
    _channel_receipts = ("delivered",)
    _channel_default_fallback = "email"

    @api.model
    def _channel_label(self):
        return _("SMS")

    @api.model
    def _level_problem(self, level):
        if not level.sms_template_id:
            return _(
                "Level %(level)s sends SMS: choose its SMS template.",
                level=level.display_name,
            )
        return None

    @api.model
    def _preview(self, reminder):
        problem = self._level_problem(reminder.level_id)
        if problem:
            raise UserError(problem)
        partner = reminder.partner_id
        recipient = partner._dunning_sms_recipient()
        reminder.recipient_id = recipient
        template = reminder.level_id._origin.sms_template_id
        return {
            "recipient": self._unreachable_reason(reminder)
            or recipient._dunning_sms_number()[1],
            "subject": template.name,
            "body": reminder._dunning_sms_body(template),
        }

    @api.model
    def _unreachable_partners(self, partners, policy):
        # A look-up of the invoicing contact and of the blacklist per
        # customer; planning asks only for levels with several debtor channels.
        return {
            partner.id
            for partner in partners
            if partner._dunning_sms_unreachable_reason(policy)
        }

    @api.model
    def _unreachable_reason(self, reminder):
        return reminder.partner_id._dunning_sms_unreachable_reason(reminder.policy_id)

    @api.model
    def _send_one(self, reminder, now):
        template = reminder.sms_template_id or reminder.level_id.sms_template_id
        if not template:
            raise UserError(
                _("Level %(level)s has no SMS template.", level=reminder.level_id.name)
            )
        reason = self._unreachable_reason(reminder)
        if reason:
            raise RecipientUnreachableError(reason)
        customer = reminder.partner_id
        recipient = customer._dunning_sms_recipient()
        number = recipient._dunning_sms_number()[1]
        reminder.recipient_id = recipient
        body = reminder._dunning_sms_body(template)
        # Posted in the customer's chatter as Odoo posts any SMS: the message
        # shows the text and its delivery status; the queue sends it.
        message = customer.sudo()._message_sms(
            body,
            partner_ids=recipient.ids,
            sms_pid_to_number={recipient.id: number},
            put_in_queue=True,
        )
        sms = (
            self.env["sms.sms"]
            .sudo()
            .search([("mail_message_id", "=", message.id)], limit=1)
        )
        reminder.write(
            {"sms_id": sms.id, "sms_uuid": sms.uuid, "message_id": message.id}
        )
        # Sent when the provider takes it (sms.sms._send).
        return Outcome(HANDED_OVER)

    @api.model
    def _trigger_queue(self, reminders):
        if reminders.filtered(lambda r: r.state == "sending" and r.sms_id):
            self._trigger_sms_cron()

    @api.model
    def _trigger_sms_cron(self):
        cron = self.env.ref(
            "sms.ir_cron_sms_scheduler_action", raise_if_not_found=False
        )
        if cron:
            cron._trigger()

    @api.model
    def _recover(self, reminder, now):
        """A claim with its SMS waits for the SMS queue, which reports the
        provider's answer; an answer that never reached the reminder settles
        it from the SMS. Without its SMS, it was never queued: sent again."""
        if not reminder.sms_uuid:
            return super()._recover(reminder, now)
        sms = reminder.sms_id
        if sms.state == "outgoing":
            self._trigger_sms_cron()
            return None
        reminder._dunning_sms_settle(self._sms_outcome(sms, now), now)
        return None

    @api.model
    def _sms_outcome(self, sms, now):
        """The :data:`Outcome` of what the SMS queue reports on ``sms``, or None
        while it waits in the queue. A missing SMS was deleted by the queue
        after the provider took it."""
        if not sms:
            return Outcome(SENT)
        if sms.state == "outgoing":
            return None
        if sms.state in ACCEPTED_STATES:
            return Outcome(SENT)
        if sms.state == "canceled":
            return Outcome(FAILED, _("The SMS was cancelled in Odoo's SMS queue."))
        failure = sms.failure_type or "unknown"
        code = failure == "unknown" and self._provider_code(sms)
        labels = dict(sms._fields["failure_type"]._description_selection(self.env))
        error = labels.get(failure, failure)
        if code:
            error = f"{error} ({code})"
        reason = _("The SMS provider did not take the SMS: %(error)s", error=error)
        if failure in UNREACHABLE_FAILURES or code in UNREACHABLE_FAILURES:
            return Outcome(UNREACHABLE, reason)
        if failure in ACCOUNT_FAILURES:
            return Outcome(WAIT, reason, now + ACCOUNT_WAIT)
        if code in REFUSED_CONTENT:
            return Outcome(FAILED, reason)
        return Outcome(RETRY, reason)

    @api.model
    def _provider_code(self, sms):
        """The provider's own code of an ``unknown`` failure, which Odoo keeps
        on the message's notification only."""
        trackers = self.env["sms.tracker"].sudo().search([("sms_uuid", "=", sms.uuid)])
        return trackers.mail_notification_id[:1].failure_reason or None

    @api.model
    def _contacts_elsewhere(self, partner_ids, since):
        """SMS sent from Odoo to these customers outside reminders (the SMS
        composer, an automation): contacts the caps count."""
        self.env.cr.execute(
            SQL(
                """
                SELECT customer.commercial_partner_id, message.date
                  FROM mail_notification notification
                  JOIN mail_message message
                    ON message.id = notification.mail_message_id
                  JOIN res_partner customer
                    ON customer.id = notification.res_partner_id
                 WHERE customer.commercial_partner_id IN %(partners)s
                   AND notification.notification_type = 'sms'
                   AND notification.notification_status
                       IN ('ready', 'process', 'pending', 'sent')
                   AND message.date > %(since)s
                   AND NOT EXISTS (
                        SELECT 1
                          FROM dunning_reminder reminder
                         WHERE reminder.message_id = message.id
                   )
                """,
                partners=tuple(partner_ids),
                since=since,
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _log_contact(self, reminder, body, subject):
        # The SMS itself is in the customer's chatter, with its delivery
        # status; the invoices say that it went.
        note = _(
            "Collection reminder %(level)s sent by %(channel)s.",
            level=reminder.level_id.name,
            channel=self._channel_label(),
        )
        invoices = reminder._get_template_invoices().sudo()
        if invoices:
            invoices._message_log_batch(bodies=dict.fromkeys(invoices.ids, note))

    @api.model
    def _fallback_problem(self, reminder):
        if not reminder._dunning_sms_fallback_template():
            return _("The level has no SMS template")
        return reminder.partner_id._dunning_sms_unreachable_reason(reminder.policy_id)

    @api.model
    def _fallback_values(self, reminder):
        return {"sms_template_id": reminder._dunning_sms_fallback_template().id}


class DunningLevel(models.Model):
    _inherit = "dunning.level"

    channel_sms = fields.Boolean(string="SMS")
    sms_template_id = fields.Many2one(
        "sms.template",
        string="SMS Template",
        domain=[("model", "=", "dunning.reminder")],
        help="A short text, rendered in the customer's language. Keep it under "
        "160 characters of the GSM alphabet (no á, í, ó, ú) with the link to "
        "the customer's page, or it is sent as several SMS.",
    )


class DunningPolicy(models.Model):
    _inherit = "dunning.policy"

    sms_require_opt_in = fields.Boolean(
        string="SMS Only With Consent",
        help="Send SMS reminders only to customers who recorded their consent "
        "(SMS Consent on the customer), as Colombia's Ley 2300 asks for every "
        "channel. Without it, the number the customer gave is used. Either way, "
        "a number blacklisted in Odoo (a STOP or BAJA) is never sent a reminder.",
    )
    sms_fallback = fields.Selection(
        [
            ("none", "No fallback"),
            ("email", "Email"),
            ("activity", "Collector activity"),
        ],
        string="When SMS Cannot Reach",
        default="email",
        required=True,
        help="What replaces an SMS reminder that cannot reach the customer (no "
        "valid mobile number, blacklisted, no consent where required, or refused "
        "by the provider): an email reminder of the same level (default), a "
        "collector activity, or nothing.",
    )
    whatsapp_fallback = fields.Selection(
        selection_add=[("sms", "SMS")], ondelete={"sms": "set default"}
    )

    @api.onchange("compliance_profile")
    def _onchange_compliance_profile(self):
        result = super()._onchange_compliance_profile()
        # Ley 2300 de 2023: only the channels the debtor authorised.
        if self.compliance_profile == "co_ley_2300":
            self.sms_require_opt_in = True
        return result


class DunningReminder(models.Model):
    _inherit = "dunning.reminder"

    sms_template_id = fields.Many2one(
        "sms.template",
        string="SMS Template",
        readonly=True,
        help="The template of this SMS when it is not the level's own: a "
        "fallback SMS of a WhatsApp level.",
    )
    # Odoo's SMS queue deletes an SMS once the provider took it: the reminder
    # keeps its id (uuid) to follow the delivery reports.
    sms_id = fields.Many2one(
        "sms.sms", string="SMS", readonly=True, ondelete="set null"
    )
    sms_uuid = fields.Char(
        string="SMS Reference", readonly=True, index="btree_not_null"
    )

    _dunning_engine_fields = frozenset({"sms_id", "sms_uuid"})

    def _dunning_sms_body(self, template):
        """``template`` rendered for this reminder in its recipient's language,
        in the GSM alphabet where a look-alike exists."""
        self.ensure_one()
        res_ids = list(self._ids)
        body = template.sudo()._render_field("body", res_ids, compute_lang=True)
        return gsm7_text(body[res_ids[0]])

    def _dunning_sms_fallback_template(self):
        """The SMS template of a fallback: the level's own, else the shipped
        one of the level's tone."""
        self.ensure_one()
        return self.level_id.sms_template_id or self.env.ref(
            f"account_dunning.sms_template_dunning_{self.level_id.tone}",
            raise_if_not_found=False,
        )

    @api.model
    def _dunning_sms_outcome(self, sms_records):
        """What the provider answered for ``sms_records``: settle their
        reminders. Called by the SMS queue after each batch (sms.sms
        ``_send``)."""
        reminders = self.search(
            [("sms_id", "in", sms_records.ids), ("state", "=", "sending")]
        )
        now = fields.Datetime.now()
        plugin = self.env["dunning.channel.sms"]
        for reminder in reminders:
            outcome = plugin._sms_outcome(reminder.sms_id, now)
            if outcome:
                reminder._dunning_sms_settle(outcome, now)

    def _dunning_sms_settle(self, outcome, now):
        """Settle this reminder from its SMS's outcome. An attempt the
        provider refused for now never reached the customer: its chatter
        message goes, the reminder keeps the reason and the count."""
        self.ensure_one()
        sms, message = self.sms_id, self.message_id
        when = self._settle(outcome, now)
        if outcome.kind == SENT:
            self.env["dunning.channel.sms"]._log_contact(self, sms.body, None)
        elif self.state == "queued":
            sms.sudo().to_delete = True
            message.sudo().unlink()
        if when:
            self.env["dunning.reminder"]._trigger_dispatch(at=when)

    @api.model
    def _dunning_sms_delivery(self, trackers, sms_state, failure_type=None):
        """A delivery report on SMS that the provider took: delivered moves
        the reminder forward; not delivered fails it, and the policy's
        fallback takes over. A delivered reminder never moves back."""
        uuids = [uuid for uuid in trackers.mapped("sms_uuid") if uuid]
        if (
            sms_state == "error"
            and failure_type not in self.env["sms.sms"].DELIVERY_ERRORS
        ):
            # A status Odoo does not know says nothing about the customer.
            return
        if not uuids or sms_state not in ("sent", "error"):
            return
        reminders = self.search([("sms_uuid", "in", uuids), ("state", "=", "sent")])
        if sms_state == "sent":
            reminders.write({"state": "delivered"})
            return
        labels = dict(
            self.env["mail.notification"]
            ._fields["failure_type"]
            ._description_selection(self.env)
        )
        reason = _(
            "The SMS was not delivered: %(error)s",
            error=labels.get(failure_type, failure_type),
        )
        for reminder in reminders:
            reminder._fail_with_fallback(reason)
