"""WhatsApp: an approved template through Meta's Cloud API.

The send is a provider call that cannot be rolled back, so this channel keeps
an outbox record of its own (``dunning.whatsapp.message``) committed before the
call, marks it attempted just before the call, and records the outcome in a
short transaction of its own: whatever happens, a message is never sent twice,
and only the messages whose call may have happened are uncertain after a crash.
The calls of a batch overlap their network latency: they go in chunks, each
chunk marked and committed before its calls are made side by side
(``DunningReminder._deliver_prepared``).
"""

import logging
from collections import namedtuple
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..services.whatsapp.templates import REMINDER_TEMPLATE_NAMES
from .dunning_channel import (
    WAIT,
    Outcome,
    RecipientUnreachableError,
)
from .dunning_whatsapp_message import DEFER_CHATTER, UNCERTAIN_GRACE

_logger = logging.getLogger(__name__)

# A message prepared by ``_prepare_whatsapp``: its outbox record exists (not
# committed), the call is still to be made.
PreparedWhatsApp = namedtuple(
    "PreparedWhatsApp", "account message template params url_suffix body"
)


class WhatsAppUnreachableError(RecipientUnreachableError):
    """The customer cannot be reached by WhatsApp at all (consent, opt-out,
    number)."""


class DunningChannelWhatsapp(models.AbstractModel):
    _name = "dunning.channel.whatsapp"
    _inherit = "dunning.channel"
    _description = "Collection Channel: WhatsApp"

    _channel_code = "whatsapp"
    _channel_sequence = 20
    _channel_carries_notices = True
    _channel_level_fields = ("channel_whatsapp", "whatsapp_template_id")
    _channel_receipts = ("delivered", "read")

    @api.model
    def _channel_label(self):
        return _("WhatsApp")

    @api.model
    def _level_problem(self, level):
        if not level.whatsapp_template_id:
            return _(
                "Level %(level)s sends WhatsApp messages: choose its WhatsApp "
                "template.",
                level=level.display_name,
            )
        return None

    @api.model
    def _preview(self, reminder):
        """The template's text as the customer will read it, and the number."""
        problem = self._level_problem(reminder.level_id)
        if problem:
            raise UserError(problem)
        partner = reminder.partner_id
        template = reminder._whatsapp_template()
        params = template._render_params(reminder)
        body = template._validate_message(params, template._render_url_suffix(reminder))
        unreachable = self._unreachable_reason(reminder)
        return {
            "recipient": unreachable or partner.whatsapp_number or partner.mobile,
            "subject": template.display_name,
            "body": body,
        }

    @api.model
    def _unreachable_partners(self, partners, policy):
        # One read of the batch's customers, through the prefetch.
        partners.fetch(
            [
                "whatsapp_opt_out",
                "whatsapp_opt_in",
                "whatsapp_number",
                "whatsapp_number_invalid",
            ]
        )
        return {
            partner.id
            for partner in partners
            if partner._whatsapp_unreachable_reason(policy)
        }

    @api.model
    def _unreachable_reason(self, reminder):
        partner = reminder.partner_id
        if not reminder._is_notice():
            return partner._whatsapp_unreachable_reason(reminder.policy_id)
        # A notice may answer a customer who wrote in the last 24 hours, and
        # goes by the policy's next channel when WhatsApp cannot carry it.
        written = self.env["dunning.whatsapp.compose"]._window_open_at(
            partner, fields.Datetime.now()
        )
        reason = partner._whatsapp_unreachable_reason(
            reminder.policy_id, written=written
        )
        if reason:
            return reason
        if reminder.kind == "chat":
            if reminder.chat_body and not written:
                return _(
                    "%(partner)s has not written in the last 24 hours: outside "
                    "that window WhatsApp only delivers approved templates.",
                    partner=partner.display_name,
                )
            return None
        template = reminder._notice_whatsapp_template().sudo()
        if not template:
            return _("The policy has no WhatsApp template for this message.")
        account = template.account_id
        if not account.active or account.company_id != reminder.company_id:
            return _(
                "No WhatsApp account of %(company)s sends template %(template)s.",
                company=reminder.company_id.name,
                template=template.name,
            )
        if template.status != "approved" or template.needs_review:
            return _(
                "WhatsApp template %(template)s is not approved.",
                template=template.name,
            )
        return None

    @api.model
    def _before_send(self, reminders):
        # The statement link of the templates with a URL button.
        reminders.filtered(
            lambda r: (
                not r._is_notice()
                and (
                    r.whatsapp_template_id or r.level_id.whatsapp_template_id
                ).url_button
            )
        )._mint_links()

    @api.model
    def _send(self, reminders, now):
        """Prepare every message of the batch, commit them together (each
        message durable, its reminder ``sending``), then make the calls,
        several at a time (:meth:`DunningReminder._deliver_prepared`); the
        chatter notes go once, after the calls, with the outcome of each."""
        retry_times = set()
        prepared = {}
        for reminder in reminders.with_context(**{DEFER_CHATTER: True}):
            # No savepoint (two queries a message): nothing is written before
            # the message's own creation, the last step.
            try:
                result = reminder._prepare_whatsapp(now)
            except Exception as error:  # noqa: BLE001 -- settled as an outcome
                result = self._error_outcome(reminder, error)
            if isinstance(result, PreparedWhatsApp):
                prepared[reminder] = result
                continue
            when = reminder._settle(result, now)
            if when:
                retry_times.add(when)
        if not prepared:
            return retry_times
        reminders._commit_between_batches()
        retry_times |= reminders._deliver_prepared(prepared, now)
        messages = self.env["dunning.whatsapp.message"].union(
            *(send.message for send in prepared.values())
        )
        reminders._in_own_transaction(lambda: reminders._post_whatsapp_notes(messages))
        return retry_times

    @api.model
    def _recover(self, reminder, now):
        """A message is marked attempted (and committed) just before its call:
        with that mark it may have gone out, and only the provider's status
        webhook settles it; without it, its worker died before the call, and
        it is sent again."""
        if not reminder._has_outbox_record():
            reminder._outbox_messages().unlink()
            return super()._recover(reminder, now)
        # A worker that died during its batch's calls left its messages
        # without their chatter notes (posted after the calls).
        reminder.whatsapp_message_ids.filtered(
            lambda m: not m.chatter_message_ids
        )._chatter_sync()
        if reminder.claimed_at < now - UNCERTAIN_GRACE:
            reminder._escalate_uncertain()
        return None

    @api.model
    def _contacts_elsewhere(self, partner_ids, since):
        """``(customer id, when)`` of the WhatsApp messages sent to these
        customers since ``since`` outside reminders (a collector's chat, a
        confirmation, a thank-you): contacts the caps count."""
        self.env.cr.execute(
            SQL(
                """
                SELECT customer.commercial_partner_id,
                       COALESCE(message.sent_at, message.claimed_at)
                  FROM dunning_whatsapp_message message
                  JOIN res_partner customer ON customer.id = message.partner_id
                 WHERE customer.commercial_partner_id IN %(partners)s
                   AND message.direction = 'out'
                   AND message.reminder_id IS NULL
                   AND message.state IN ('sending', 'sent', 'delivered', 'read')
                   AND COALESCE(message.sent_at, message.claimed_at) > %(since)s
                """,
                partners=tuple(partner_ids),
                since=since,
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _log_contact(self, reminder, body, subject):
        # The WhatsApp message logs itself in the chatter, with its delivery
        # status kept current (dunning.whatsapp.message._chatter_sync).
        return


class DunningLevel(models.Model):
    _inherit = "dunning.level"

    channel_whatsapp = fields.Boolean(string="WhatsApp")
    whatsapp_template_id = fields.Many2one(
        "dunning.whatsapp.template",
        string="WhatsApp Template",
        check_company=True,
        help="An approved utility template; customers who did not agree to "
        "WhatsApp, opted out or have no valid number are not sent it. The "
        "shipped reminders get firmer from step to step: each level proposes "
        "the one of its step.",
    )

    @api.onchange("tone", "offset_days", "channel_whatsapp")
    def _onchange_whatsapp_step(self):
        for level in self:
            if level.channel_whatsapp and level._follows_shipped_whatsapp():
                level.whatsapp_template_id = (
                    level._shipped_whatsapp_template() or level.whatsapp_template_id
                )

    def _whatsapp_step(self):
        """The step of the ladder this level is, for its WhatsApp reminder:
        before the due date, on it (or just after it, friendly), firm, final."""
        self.ensure_one()
        if self.tone in ("firm", "final"):
            return self.tone
        if self.tone == "preventive" and self.offset_days < 0:
            return "preventive"
        return "due"

    def _follows_shipped_whatsapp(self):
        """Whether this level's template is none or one of the shipped
        reminders: never replace a template a manager chose."""
        self.ensure_one()
        template = self.whatsapp_template_id
        return not template or template.name in REMINDER_TEMPLATE_NAMES.values()

    def _shipped_whatsapp_template(self):
        """The shipped reminder of this level's step on the company's account
        (the customer's language is chosen when sending), if added."""
        self.ensure_one()
        templates = (
            self.env["dunning.whatsapp.template"]
            .sudo()
            .search(
                [
                    ("company_id", "=", self.company_id.id),
                    ("name", "=", REMINDER_TEMPLATE_NAMES[self._whatsapp_step()]),
                ]
            )
        )
        return templates.sorted(
            lambda t: (t.status != "approved", t.language != "es_MX", t.id)
        )[:1]

    @api.model
    def _assign_shipped_whatsapp_templates(self, company):
        """Give each level of ``company`` without a template of a manager's
        choosing the shipped reminder of its step."""
        levels = self.search([("company_id", "=", company.id)])
        for level in levels:
            if level._follows_shipped_whatsapp():
                template = level._shipped_whatsapp_template()
                if template and template != level.whatsapp_template_id:
                    level.whatsapp_template_id = template


class DunningReminder(models.Model):
    _inherit = "dunning.reminder"

    whatsapp_template_id = fields.Many2one(
        "dunning.whatsapp.template",
        string="WhatsApp Template",
        readonly=True,
        help="The template of this WhatsApp reminder when it is not the level's: "
        "one chosen by an automation rule's Send WhatsApp action.",
    )
    whatsapp_message_ids = fields.One2many(
        "dunning.whatsapp.message", "reminder_id", string="WhatsApp Messages"
    )

    _dunning_engine_fields = frozenset({"whatsapp_message_ids"})

    def _has_outbox_record(self):
        """Whether a send of this reminder may have reached the provider: its
        message's call started (or Meta's id for it is known)."""
        self.ensure_one()
        return bool(
            self._outbox_messages().filtered(lambda m: m.attempted_at or m.wamid)
        )

    def _outbox_messages(self):
        return self.whatsapp_message_ids.filtered(
            lambda m: m.direction == "out" and m.state != "failed"
        )

    def _escalate_uncertain(self):
        """No news from the provider after the grace period: a person decides.

        Failed rather than requeued: resending blindly could reach the customer
        twice; the collector checks and retries by hand if needed.
        """
        self.ensure_one()
        self._set_failed(
            _(
                "WhatsApp never confirmed this message; it may or may not have "
                "reached the customer. Check with them before sending it again."
            )
        )
        user = self.user_id or self.env.ref("base.user_root")
        self.partner_id.sudo().activity_schedule(
            "mail.mail_activity_data_todo",
            summary=user._dunning_in_my_lang(self).env._(
                "Check whether the WhatsApp reminder arrived"
            ),
            note=self.error_message,
            user_id=user.id,
        )

    def _whatsapp_template(self):
        """The template of this reminder (the automation rule's, else the
        level's) in the customer's language when it exists in it."""
        self.ensure_one()
        if self.kind == "chat":
            return self.whatsapp_template_id.sudo()
        if self._is_notice():
            template = self._notice_whatsapp_template()
        else:
            template = self.whatsapp_template_id or self.level_id.whatsapp_template_id
        if not template:
            raise UserError(
                _(
                    "%(message)s: no WhatsApp template.",
                    message=self.level_id.name or self._kind_label(),
                )
            )
        return template.sudo()._for_lang(self.partner_id.lang)

    def _whatsapp_account(self):
        """The company's WhatsApp account, for a message without a template."""
        return (
            self.env["dunning.whatsapp.account"]
            .sudo()
            .search([("company_id", "=", self.company_id.id)], limit=1)
        )

    def _prepare_whatsapp(self, now):
        """Render this reminder's message and create its outbox record (not
        committed); return a :class:`PreparedWhatsApp`, or the outcome when the
        account cannot send now."""
        self.ensure_one()
        template = self._whatsapp_template()
        account = template.account_id.sudo() or self._whatsapp_account()
        partner = self.partner_id
        if not account:
            raise UserError(
                _(
                    "No WhatsApp account is configured for %(company)s.",
                    company=self.company_id.name,
                )
            )
        if account.state != "active" or not account.active:
            return Outcome(
                WAIT,
                _("The WhatsApp account %(account)s is paused.", account=account.name),
                now + timedelta(hours=1),
            )
        budget_until = account._budget_full_until(partner, now)
        if budget_until:
            return Outcome(
                WAIT,
                _(
                    "The WhatsApp account %(account)s reached its daily budget of "
                    "%(budget)s customers.",
                    account=account.name,
                    budget=account.daily_recipient_budget,
                ),
                budget_until,
            )
        values = {
            "direction": "out",
            "state": "sending",
            "account_id": account.id,
            "company_id": self.company_id.id,
            "partner_id": partner.id,
            "reminder_id": self.id,
            "template_id": template.id,
        }
        messages = self.env["dunning.whatsapp.message"].sudo()
        if self.kind == "chat":
            values.update(
                user_id=self.author_id.id,
                move_id=self._get_template_invoices()[:1].id,
                template_id=template.id,
            )
        if self.kind == "chat" and not template:
            # Free text: a reply inside the customer's 24-hour window.
            params = url_suffix = None
            body = self.chat_body
        elif self._is_notice() and self.kind != "chat":
            values.update(
                notice_type=self.kind,
                promise_id=self.promise_id.id,
                notice_move_ids=[fields.Command.set(self.move_ids.ids)],
            )
            params = template._render_notice_params(messages.new(values))
            url_suffix = None
            body = template._validate_message(params, url_suffix)
        else:
            params = template._render_params(self)
            url_suffix = template._render_url_suffix(self)
            body = template._validate_message(params, url_suffix)
        self.recipient_id = partner
        # Outbox: once committed, the claim and its message make sure the
        # reminder is never sent again by this channel unless Meta answered that
        # it refused it.
        message = messages.create({**values, "body": body})
        return PreparedWhatsApp(account, message, template, params, url_suffix, body)
