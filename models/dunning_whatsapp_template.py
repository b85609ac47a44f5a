from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..services.whatsapp.errors import TemplateParamsError
from ..services.whatsapp.payloads import validate_template_params
from ..services.whatsapp.templates import (
    PLACEHOLDER,
    SHIPPED_NOTICE_TEMPLATES,
    SHIPPED_REMINDER_TEMPLATES,
)

# Parameter sources that only a notice (a promise confirmation, a thank-you)
# can fill: a reminder has no promise and no payment.
NOTICE_SOURCES = {"promised_amount", "promised_date", "amount_paid"}
# Meta's template statuses (GET message_templates), lower-cased; "missing" is
# ours: the template is no longer listed by Meta.
TEMPLATE_STATUSES = [
    ("draft", "Not Submitted"),
    ("pending", "Pending Review"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("paused", "Paused"),
    ("disabled", "Disabled"),
    ("in_appeal", "In Appeal"),
    ("pending_deletion", "Pending Deletion"),
    ("deleted", "Deleted"),
    ("limit_exceeded", "Limit Exceeded"),
    ("archived", "Archived"),
    ("missing", "Missing on Meta"),
]


class DunningWhatsappTemplate(models.Model):
    """A message template approved by Meta, as sent by a collection level.

    Outside the 24-hour window a business may only start a conversation with an
    approved template; its body parameters ({{1}}..{{n}}) are filled, in order,
    from the reminder. Payment reminders are *utility* templates: amount, due
    date, reference, link; never promotional.
    """

    _name = "dunning.whatsapp.template"
    _description = "WhatsApp Message Template"
    _order = "account_id, name, language"
    _check_company_auto = True

    name = fields.Char(
        required=True, help="The template's name in Meta's WhatsApp Manager."
    )
    language = fields.Char(
        required=True, default="es_MX", help="Meta's language code, e.g. es_MX."
    )
    category = fields.Selection(
        [
            ("utility", "Utility"),
            ("marketing", "Marketing"),
            ("authentication", "Authentication"),
        ],
        default="utility",
        required=True,
    )
    account_id = fields.Many2one(
        "dunning.whatsapp.account",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one(
        related="account_id.company_id", store=True, index=True, precompute=True
    )
    status = fields.Selection(
        TEMPLATE_STATUSES,
        default="approved",
        required=True,
        help="Meta's review status; only approved templates are sent. "
        "Missing on Meta: the last sync did not find it any more.",
    )
    meta_template_id = fields.Char(
        string="Meta Template ID", readonly=True, copy=False, index=True
    )
    rejected_reason = fields.Char(
        string="Rejection Reason",
        readonly=True,
        copy=False,
        help="Why Meta rejected the template, as the last sync reported it.",
    )
    quality_score = fields.Selection(
        [
            ("green", "High"),
            ("yellow", "Medium"),
            ("red", "Low"),
            ("unknown", "Not rated yet"),
        ],
        readonly=True,
        copy=False,
        help="Meta's quality rating: a low-rated template is paused, then disabled.",
    )
    url_button_url = fields.Char(
        string="Button URL",
        readonly=True,
        help="The URL of the template's URL button, as approved by Meta.",
    )
    button_types = fields.Char(
        string="Buttons",
        readonly=True,
        help="The template's buttons as Meta approved them, in their order "
        "(their index): URL, QUICK_REPLY, PHONE_NUMBER... The payment link and "
        "the quick-reply payloads are sent at these indexes.",
    )
    url_button_index = fields.Integer(
        string="Payment Link Button Index",
        readonly=True,
        help="The index of the URL button whose URL ends in a variable.",
    )
    quick_reply_buttons = fields.Text(
        readonly=True,
        help="The texts of the template's quick-reply buttons, one per line. A "
        "tap comes back through the webhook as a quick reply.",
    )
    needs_review = fields.Boolean(
        string="Parameters to Review",
        copy=False,
        help="The number of body parameters approved by Meta differs from the "
        "parameters mapped here: nothing is sent until a manager maps them "
        "again.",
    )
    synced_at = fields.Datetime(string="Last Sync", readonly=True, copy=False)
    body_text = fields.Text(
        string="Body",
        help="The approved body, with {{1}}, {{2}}... where the parameters go: "
        "used to validate the message before sending and to log it.",
    )
    param_ids = fields.One2many(
        "dunning.whatsapp.template.param",
        "template_id",
        string="Body Parameters",
        copy=True,
    )
    url_button = fields.Boolean(
        string="Payment Link Button",
        help="The template has a URL button whose approved URL ends in a "
        "variable (at Payment Link Button Index): the suffix sent is the path "
        "of the customer's statement page (a new link for each reminder), "
        "relative to the approved URL, which must therefore be the company's "
        "web address followed by {{1}} (e.g. https://erp.example.com/{{1}}).",
    )

    _sql_constraints = [
        (
            "name_language_account_unique",
            "UNIQUE(account_id, name, language)",
            "This template already exists for this account and language.",
        ),
    ]

    @api.constrains("body_text", "param_ids")
    def _check_placeholders(self):
        for template in self:
            # A template whose approved body changed under its mapping cannot be
            # sent (needs_review) until a manager maps its parameters again.
            if not template.body_text or template.needs_review:
                continue
            numbers = {int(n) for n in PLACEHOLDER.findall(template.body_text)}
            if numbers != set(range(1, len(template.param_ids) + 1)):
                raise ValidationError(
                    _(
                        "Template %(template)s: the body has %(count)s placeholders "
                        "({{1}} to {{n}}) but %(params)s parameters are defined.",
                        template=template.name,
                        count=len(numbers),
                        params=len(template.param_ids),
                    )
                )

    @api.depends("name", "language")
    def _compute_display_name(self):
        for template in self:
            template.display_name = f"{template.name} ({template.language})"

    def write(self, vals):
        # Mapping the parameters again is the review the sync asked for.
        if "param_ids" in vals and "needs_review" not in vals:
            vals = dict(vals, needs_review=False)
        return super().write(vals)

    # ------------------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------------------

    def action_sync_from_meta(self):
        """Sync the templates of the selected templates' accounts from Meta.

        From the list without a selection: every account of the current
        companies that has a WhatsApp Business Account ID.
        """
        accounts = self.account_id
        if not accounts:
            accounts = self.env["dunning.whatsapp.account"].search(
                [("company_id", "in", self.env.companies.ids), ("waba_id", "!=", False)]
            )
        if not accounts:
            raise UserError(
                _(
                    "No WhatsApp account with a WhatsApp Business Account ID to "
                    "sync templates from."
                )
            )
        return accounts.action_sync_templates()

    def action_mark_reviewed(self):
        """The parameters are mapped as Meta's body expects: send again."""
        self.write({"needs_review": False})
        self._check_placeholders()
        return True

    # ------------------------------------------------------------------------------
    # Sync from Meta
    # ------------------------------------------------------------------------------

    @api.model
    def _values_from_meta(self, info):
        """The fields a sync sets from Meta's ``TemplateInfo`` (see the client)."""
        category = (info.category or "").lower()
        status = (info.status or "").lower()
        quality = (info.quality_score or "").lower()
        url_button = info.url_button
        url = url_button.get("url") if url_button else None
        # Positions count every button, whatever its type: they are the
        # indexes Meta expects the parameters at.
        buttons = [b if isinstance(b, dict) else {} for b in info.buttons]
        types = [str(b.get("type") or "").upper() for b in buttons]
        dynamic = [
            index
            for index, button in enumerate(buttons)
            if types[index] == "URL"
            and PLACEHOLDER.search(str(button.get("url") or ""))
        ]
        if dynamic:
            url = buttons[dynamic[0]].get("url")
        rejected_reason = info.rejected_reason or False
        if status == "rejected":
            # Say which of Meta's rules the body breaks, when one does.
            problems = self._review_problems(info.body_text)
            if problems:
                rejected_reason = " ".join([rejected_reason or "", *problems]).strip()
        return {
            "meta_template_id": info.id or False,
            "status": status if status in dict(TEMPLATE_STATUSES) else "pending",
            "category": category
            if category in dict(self._fields["category"].selection)
            else "utility",
            "body_text": info.body_text or False,
            "rejected_reason": rejected_reason,
            "quality_score": quality
            if quality in dict(self._fields["quality_score"].selection)
            else False,
            # Only a URL ending in a variable takes the payment link as suffix.
            "url_button": bool(url and PLACEHOLDER.search(url)),
            "url_button_url": url or False,
            "quick_reply_buttons": "\n".join(info.quick_replies) or False,
            "button_types": ",".join(types) or False,
            "url_button_index": dynamic[0] if dynamic else 0,
        }

    def _apply_meta(self, values, param_count):
        """Update this template from Meta; return what changed for the summary.

        The locally mapped parameters stay when the number of placeholders did
        not change; otherwise the template waits for a manager's review.
        """
        self.ensure_one()
        changes = {
            name: value
            for name, value in values.items()
            if (self[name] or False) != value
        }
        if param_count != len(self.param_ids) and not self.needs_review:
            changes["needs_review"] = True
        if changes:
            # The write must not clear needs_review: param_ids is not written.
            self.write(changes)
        return changes

    # ------------------------------------------------------------------------------
    # Notices: promise confirmations and thank-you messages
    # ------------------------------------------------------------------------------

    @api.model
    def _create_shipped_notice_templates(self, account):
        """Add the shipped notice templates to ``account``, not submitted yet;
        return them (those it had already are left as they are)."""
        return self._create_shipped_templates(account, SHIPPED_NOTICE_TEMPLATES)

    @api.model
    def _create_shipped_templates(self, account, shipped_templates=None):
        """Add the shipped templates (the reminder of each step of the ladder,
        the notices) to ``account``, not submitted yet; return them (those it
        had already are left as they are)."""
        if shipped_templates is None:
            shipped_templates = SHIPPED_REMINDER_TEMPLATES + SHIPPED_NOTICE_TEMPLATES
        existing = {
            (t.name, t.language) for t in self.search([("account_id", "=", account.id)])
        }
        return self.create(
            [
                {
                    "name": shipped["name"],
                    "language": shipped["language"],
                    "category": "utility",
                    "status": "draft",
                    "account_id": account.id,
                    "body_text": shipped["body_text"],
                    "param_ids": [
                        Command.create({"sequence": index, "source": source})
                        for index, source in enumerate(shipped["sources"], start=1)
                    ],
                }
                for shipped in shipped_templates
                if (shipped["name"], shipped["language"]) not in existing
            ]
        )

    def _for_lang(self, lang):
        """This template in the language closest to ``lang`` (a partner's).

        Meta keeps a template's languages under one name: the one in exactly
        ``lang`` (es_MX), else in the same language (es for es_AR: this one
        first), else this one.
        """
        self.ensure_one()
        if not lang:
            return self
        wanted = lang.lower()
        if (self.language or "").replace("-", "_").lower() == wanted:
            return self
        siblings = self.search(
            [
                ("account_id", "=", self.account_id.id),
                ("name", "=", self.name),
                ("status", "=", "approved"),
            ]
        )

        def rank(template):
            code = (template.language or "").replace("-", "_").lower()
            if code == wanted:
                return (0, 0)
            if code.split("_")[0] == wanted.split("_")[0]:
                return (1, 0 if template == self else 1)
            return (2, 0 if template == self else 1)

        return min(siblings | self, key=lambda t: (*rank(t), t.id))

    def _render_notice_params(self, message):
        """The body parameters of the notice ``message``, in the template's order.

        :raise UserError: a parameter whose source this kind of notice cannot
            fill (the amount paid in a promise confirmation)
        """
        self.ensure_one()
        values = message._notice_param_values()
        params = []
        for index, param in enumerate(self.param_ids, start=1):
            if param.source not in values:
                raise UserError(
                    _(
                        "WhatsApp template %(template)s: parameter {{%(index)s}} "
                        "(%(param)s) cannot be filled in this message.",
                        template=self.name,
                        index=index,
                        param=dict(
                            param._fields["source"]._description_selection(self.env)
                        )[param.source],
                    )
                )
            params.append(values[param.source])
        return params

    # ------------------------------------------------------------------------------
    # Rendering
    # ------------------------------------------------------------------------------

    def _render_params(self, reminder):
        """The body parameters of ``reminder``, in the template's order."""
        self.ensure_one()
        return [param._render(reminder) for param in self.param_ids]

    def _render_url_suffix(self, reminder):
        """The URL button's suffix: the customer's statement page path.

        Relative to the approved base URL (the company's web address): the path
        of a new link to the statement page (pay, promise, dispute, opt out).
        """
        self.ensure_one()
        if not self.url_button:
            return None
        url = reminder._get_portal_url()
        if not url:
            return None
        base = reminder.partner_id.get_base_url().rstrip("/")
        return url.removeprefix(base).lstrip("/")

    def _button_params(self):
        """Where this template's buttons are: the keyword arguments of the
        client's ``send_template`` (``url_button_index``, ``quick_replies``).

        Each quick-reply button gets the payload ``<template>:<index>``: the
        same in every language of the template, returned by the tap's webhook
        (``res.partner._dunning_whatsapp_quick_reply``); the message tapped is
        the inbound message's ``reply_to_id``. A template never synced from
        Meta has its payment link button first and no quick reply.
        """
        self.ensure_one()
        types = [t.strip() for t in (self.button_types or "").split(",")]
        return {
            "url_button_index": self.url_button_index,
            "quick_replies": {
                index: f"{self.name}:{index}"
                for index, kind in enumerate(types)
                if kind == "QUICK_REPLY"
            },
        }

    def _validate_message(self, params, url_suffix):
        """Refuse what Meta would refuse (error 132000 and friends) before sending.

        Returns the body as the customer will read it, for the chatter.
        """
        self.ensure_one()
        if self.status != "approved":
            raise UserError(
                _("WhatsApp template %(template)s is not approved.", template=self.name)
            )
        if self.needs_review:
            raise UserError(
                _(
                    "WhatsApp template %(template)s changed on Meta: map its body "
                    "parameters again, then mark it reviewed, before sending it.",
                    template=self.name,
                )
            )
        if self.url_button and not url_suffix:
            raise UserError(_("No payment link to put in the WhatsApp button."))
        try:
            body = validate_template_params(self.body_text or None, params)
        except TemplateParamsError as error:
            raise UserError(
                _(
                    "WhatsApp template %(template)s cannot be sent: %(error)s",
                    template=self.name,
                    error=error,
                )
            ) from error
        return body or " / ".join(params)


class DunningWhatsappTemplateParam(models.Model):
    """One body parameter ({{n}}) of a template: where its text comes from."""

    _name = "dunning.whatsapp.template.param"
    _description = "WhatsApp Template Parameter"
    _order = "template_id, sequence, id"

    template_id = fields.Many2one(
        "dunning.whatsapp.template", required=True, index=True, ondelete="cascade"
    )
    sequence = fields.Integer(default=10)
    source = fields.Selection(
        [
            ("partner_name", "Customer name"),
            ("amount_due", "Total due with currency"),
            ("amount_due_now", "Amount due now with currency"),
            ("oldest_due_date", "Oldest due date"),
            ("invoice_numbers", "Invoice numbers"),
            ("company_name", "Company name"),
            ("promised_amount", "Promised amount with currency (confirmation)"),
            ("promised_date", "Promised date (confirmation)"),
            ("amount_paid", "Amount paid with currency (thank-you)"),
        ],
        required=True,
        help="Where the text of this parameter comes from. The promised amount "
        "and date fill only the confirmation of a payment promise, the amount "
        "paid only the thank-you after a payment (the total of the invoices the "
        "payment settled); the other sources fill every message.",
    )

    def _render(self, reminder):
        self.ensure_one()
        if self.source in NOTICE_SOURCES:
            raise UserError(
                _(
                    "WhatsApp template %(template)s: the %(param)s fills only a "
                    "promise confirmation or a thank-you, not a reminder.",
                    template=self.template_id.name,
                    param=dict(self._fields["source"]._description_selection(self.env))[
                        self.source
                    ],
                )
            )
        invoices = reminder._get_template_invoices()
        if self.source == "partner_name":
            return reminder.partner_id.name or ""
        if self.source in ("amount_due", "amount_due_now"):
            # Due now: what fell due, without the instalments and invoices not
            # due yet, for a text that calls the amount late.
            amount = (
                reminder._get_amount_due_now()
                if self.source == "amount_due_now"
                else reminder.amount_due
            )
            return reminder._reader_amount(amount)
        if self.source == "oldest_due_date":
            # The earliest unpaid instalment's: what is late of each invoice.
            dates = [d for d in invoices.mapped("dunning_due_date") if d]
            return reminder._reader_date(min(dates)) if dates else ""
        if self.source == "invoice_numbers":
            return ", ".join(invoices.mapped("name"))
        if self.source == "company_name":
            return reminder.company_id.name or ""
        return ""
