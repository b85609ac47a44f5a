"""Notices: the messages to a debtor that are not level reminders.

A promise confirmation, a plan instalment's reminder, a payment plan's
agreement and a thank-you are rows of the same outbox as the reminders
(``dunning.reminder`` with a ``kind``): the same dispatcher sends them through
the same contact gate, channels, retries, fallback and audit trail. What
differs per kind is said here, once: which template, rendered on which record,
when a notice is no longer needed, and what its sending changes.
"""

from odoo import _, api, fields, models
from odoo.exceptions import UserError

NOTICE_KINDS = [
    ("reminder", "Collection reminder"),
    ("promise_confirmation", "Promise confirmation"),
    ("instalment_reminder", "Instalment reminder"),
    ("plan_agreement", "Payment plan agreement"),
    ("thank_you", "Thank-you"),
    ("chat", "Collector's message"),
]


class DunningReminderNotice(models.Model):
    _inherit = "dunning.reminder"

    kind = fields.Selection(
        NOTICE_KINDS,
        default="reminder",
        required=True,
        readonly=True,
        index=True,
        help="A collection reminder of a level, or a notice: the written "
        "confirmation of a promise, the reminder of a plan instalment, a plan's "
        "agreement, the thanks after a payment, a message a collector wrote.",
    )
    chat_body = fields.Text(
        string="Text Written",
        readonly=True,
        help="The text a collector wrote, sent as it is (a reply within 24 hours "
        "of the customer's last message); a template otherwise.",
    )
    author_id = fields.Many2one(
        "res.users",
        string="Written By",
        readonly=True,
        help="The collector who wrote this message.",
    )
    promise_id = fields.Many2one(
        "dunning.promise",
        string="Payment Promise",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    plan_id = fields.Many2one(
        "dunning.payment.plan",
        string="Payment Plan",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    asked_by_debtor = fields.Boolean(
        readonly=True,
        help="The customer just asked for this message (a promise they entered "
        "on the customer page): it goes at once, inside or outside the contact "
        "hours.",
    )

    _dunning_engine_fields = frozenset(
        {"kind", "asked_by_debtor", "chat_body", "author_id"}
    )

    # ------------------------------------------------------------------------------
    # Queueing
    # ------------------------------------------------------------------------------

    @api.model
    def _enqueue_notice(
        self,
        kind,
        partner,
        company,
        channels,
        promise=None,
        plan=None,
        moves=None,
        asked_by_debtor=False,
    ):
        """Queue a notice of ``kind`` to ``partner`` on each of ``channels``
        (codes) and wake the dispatcher; return the rows.

        Never sent from the caller's transaction (a payment, a promise saved
        from the customer page): the dispatcher sends it through the contact
        gate, at once or when the customer's contact hours open.

        :raise UserError: a channel that does not carry this kind of notice
        """
        self._check_notice_channels(kind, channels)
        partner = partner.commercial_partner_id
        moves = moves or (promise.move_ids if promise else self.env["account.move"])
        currency = (
            moves.currency_id[:1]
            or (promise and promise.currency_id)
            or company.currency_id
        )
        now = fields.Datetime.now()
        rows = (
            self.sudo()
            .with_company(company)
            .create(
                [
                    {
                        "kind": kind,
                        "origin": "manual",
                        "company_id": company.id,
                        "partner_id": partner.id,
                        "channel": channel,
                        "currency_id": currency.id,
                        "promise_id": promise.id if promise else False,
                        "plan_id": plan.id if plan else False,
                        "move_ids": [fields.Command.set(moves.ids)],
                        "amount_due": sum(moves.mapped("amount_residual")),
                        "asked_by_debtor": asked_by_debtor,
                        "scheduled_at": now,
                    }
                    for channel in channels
                ]
            )
        )
        if rows:
            self.env["dunning.reminder"]._trigger_dispatch(at=now)
        return rows

    @api.model
    def _check_notice_channels(self, kind, channels):
        """Refuse to queue a notice of ``kind`` on a channel that cannot carry
        it: one that does not carry notices (an SMS, a letter would send a
        collection message instead), the collector's activity (a notice
        reaches a collector only as a fallback) and, for a collector's chat,
        any channel but WhatsApp."""
        plugins = self.env["dunning.channel"]._dunning_channels()
        for code in channels:
            plugin = plugins.get(code)
            if (
                plugin is None
                or not plugin._channel_carries_notices
                or not plugin._channel_faces_debtor
                or (kind == "chat" and code != "whatsapp")
            ):
                raise UserError(
                    _(
                        "%(channel)s cannot carry this message: %(notice)s.",
                        notice=dict(
                            self._fields["kind"]._description_selection(self.env)
                        )[kind].lower(),
                        channel=plugin._channel_label() if plugin else code,
                    )
                )

    # ------------------------------------------------------------------------------
    # What each kind says
    # ------------------------------------------------------------------------------

    def _is_notice(self):
        return self.kind != "reminder"

    def _kind_label(self):
        return dict(self._fields["kind"]._description_selection(self.env))[self.kind]

    def _render_record(self):
        """The record a notice's email template renders: the promise of a
        confirmation or an instalment, the plan of an agreement, else the row
        itself (a reminder, a thank-you)."""
        self.ensure_one()
        if self.kind in ("promise_confirmation", "instalment_reminder"):
            return self.promise_id
        if self.kind == "plan_agreement":
            return self.plan_id
        return self

    def _notice_mail_template(self):
        """The email template of a notice."""
        self.ensure_one()
        policy = self.policy_id
        if self.kind == "promise_confirmation":
            return policy.promise_mail_template_id or self.env.ref(
                "account_dunning.mail_template_dunning_promise_confirm",
                raise_if_not_found=False,
            )
        if self.kind == "instalment_reminder":
            return self.env.ref(
                "account_dunning.mail_template_dunning_plan_instalment",
                raise_if_not_found=False,
            )
        if self.kind == "plan_agreement":
            return self.env.ref(
                "account_dunning.mail_template_dunning_payment_plan",
                raise_if_not_found=False,
            )
        if self.kind == "thank_you":
            return policy.thank_you_mail_template_id
        return self.env["mail.template"]

    def _notice_whatsapp_template(self):
        """The WhatsApp template of a notice (none for a plan's agreement)."""
        self.ensure_one()
        policy = self.policy_id
        if self.kind in ("promise_confirmation", "instalment_reminder"):
            return policy.promise_whatsapp_template_id
        if self.kind == "thank_you":
            return policy.thank_you_whatsapp_template_id
        return self.env["dunning.whatsapp.template"]

    @api.model
    def _enqueue_chat(self, partner, company, moves, template=None, body=None):
        """Queue a collector's WhatsApp message (a template, or free text when
        the customer wrote in the last 24 hours: a reply, sent at once) and
        wake the dispatcher; return the row."""
        rows = self._enqueue_notice(
            "chat",
            partner,
            company,
            ["whatsapp"],
            moves=moves,
            asked_by_debtor=bool(body),
        )
        rows.write(
            {
                "whatsapp_template_id": template.id if template else False,
                "chat_body": body or False,
                "author_id": self.env.user.id,
            }
        )
        return rows

    def _notice_cancel_reason(self):
        """Why this notice is not needed any more, if so."""
        self.ensure_one()
        if self.kind in ("promise_confirmation", "instalment_reminder"):
            if not self.promise_id or self.promise_id.state != "open":
                return _("The promise is no longer open.")
        if self.kind == "chat" and self.whatsapp_template_id:
            if not self._notice_listed_moves().filtered(
                lambda m: m.move_type == "out_invoice"
            ):
                return _(
                    "The invoices this message was about are settled, on hold or "
                    "excluded."
                )
        return None

    def _notice_listed_moves(self):
        """The invoices this notice lists when it goes: what it is about (a
        promise's, a plan's, the ones just paid); for a collector's chat from
        a template, which shows the amount due and the oldest due date as a
        reminder does, only those still open, included and not on hold (a
        promise or a dispute may come while it waits for the contact hours)."""
        self.ensure_one()
        moves = self.move_ids
        if self.kind != "chat" or not self.whatsapp_template_id:
            return moves
        invoices = moves.filtered(lambda m: m.move_type == "out_invoice")
        return moves - invoices + invoices._dunning_active()

    def _notice_log_records(self):
        """Where a notice is logged besides the customer: its promise or plan."""
        self.ensure_one()
        return self.promise_id or self.plan_id

    def _notice_on_sent(self, when):
        """The notice reached the provider: what that confirms."""
        self.ensure_one()
        promise = self.promise_id.sudo()
        if self.kind == "promise_confirmation" and not promise.confirmation_sent_at:
            promise.confirmation_sent_at = when
        elif self.kind == "plan_agreement" and not self.plan_id.agreement_sent_at:
            self.plan_id.sudo().agreement_sent_at = when

    def _get_amount_paid(self):
        """What the customer paid for the invoices a thank-you names: their
        total (they are paid), in the row's currency."""
        self.ensure_one()
        return sum(self._get_template_invoices().mapped("amount_total"))

    def _notice_sibling(self, channel):
        """Another row of the same notice on ``channel`` that went or will go:
        a fallback there would say it twice."""
        self.ensure_one()
        domain = [
            ("id", "!=", self.id),
            ("kind", "=", self.kind),
            ("partner_id", "=", self.partner_id.id),
            ("channel", "=", channel),
            ("promise_id", "=", self.promise_id.id),
            ("plan_id", "=", self.plan_id.id),
            ("state", "not in", ("failed", "cancelled")),
        ]
        if self.kind == "thank_you":
            domain.append(("move_ids", "in", self.move_ids.ids))
        return self.search(domain, limit=1)
