from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Command

from ..services.contact_window import ContactWindow

# Published contact rules, shipped as editable presets (not legal advice): hours are
# the debtor's local time, weekdays use datetime.weekday() numbering.
COMPLIANCE_PROFILES = {
    # CONDUSEF rules for collection agencies (DOF 2014-10-07): 07:00-22:00; the
    # conservative reading keeps to working days and skips federal holidays.
    "mx_condusef": {
        "contact_hour_from": 7.0,
        "contact_hour_to": 22.0,
        "weekdays": (0, 1, 2, 3, 4),
        "contact_saturday_hour_from": 0.0,
        "contact_saturday_hour_to": 0.0,
        "skip_holidays": True,
        "max_contacts_per_day": 0,
        "max_contacts_per_week": 0,
    },
    # Common Mexican practice: office hours, at most one message a day.
    "mx_conservative": {
        "contact_hour_from": 8.0,
        "contact_hour_to": 20.0,
        "weekdays": (0, 1, 2, 3, 4),
        "contact_saturday_hour_from": 0.0,
        "contact_saturday_hour_to": 0.0,
        "skip_holidays": True,
        "max_contacts_per_day": 1,
        "max_contacts_per_week": 0,
    },
    # Regulation F (12 CFR 1006.6): 08:00-21:00 in every zone the debtor may be in;
    # 1006.14: no more than 7 call attempts in 7 days.
    "us_reg_f": {
        "contact_hour_from": 8.0,
        "contact_hour_to": 21.0,
        "weekdays": (0, 1, 2, 3, 4, 5, 6),
        "contact_saturday_hour_from": 0.0,
        "contact_saturday_hour_to": 0.0,
        "skip_holidays": False,
        "max_contacts_per_day": 0,
        "max_contacts_per_week": 7,
    },
    # Ley 2300 de 2023: Mon-Fri 07:00-19:00, Saturday 08:00-15:00, never on Sundays
    # or holidays; at most one contact a day.
    "co_ley_2300": {
        "contact_hour_from": 7.0,
        "contact_hour_to": 19.0,
        "weekdays": (0, 1, 2, 3, 4, 5),
        "contact_saturday_hour_from": 8.0,
        "contact_saturday_hour_to": 15.0,
        "skip_holidays": True,
        "max_contacts_per_day": 1,
        "max_contacts_per_week": 0,
    },
    # Ley 21.320: Mon-Sat 08:00-20:00, at most two electronic messages a week.
    "cl_ley_21320": {
        "contact_hour_from": 8.0,
        "contact_hour_to": 20.0,
        "weekdays": (0, 1, 2, 3, 4, 5),
        "contact_saturday_hour_from": 0.0,
        "contact_saturday_hour_to": 0.0,
        "skip_holidays": True,
        "max_contacts_per_day": 0,
        "max_contacts_per_week": 2,
    },
    # Ley 29571 art. 62: Mon-Fri 07:00-20:00, no weekends or holidays.
    "pe_ley_29571": {
        "contact_hour_from": 7.0,
        "contact_hour_to": 20.0,
        "weekdays": (0, 1, 2, 3, 4),
        "contact_saturday_hour_from": 0.0,
        "contact_saturday_hour_to": 0.0,
        "skip_holidays": True,
        "max_contacts_per_day": 0,
        "max_contacts_per_week": 0,
    },
    # Spain / EU common benchmark.
    "es_eu": {
        "contact_hour_from": 9.0,
        "contact_hour_to": 21.0,
        "weekdays": (0, 1, 2, 3, 4),
        "contact_saturday_hour_from": 0.0,
        "contact_saturday_hour_to": 0.0,
        "skip_holidays": True,
        "max_contacts_per_day": 0,
        "max_contacts_per_week": 0,
    },
}


class DunningPolicy(models.Model):
    """A collection policy: the ladder of levels and the rules for contacting debtors.

    Every company has a default policy (``res.company.dunning_policy_id``); a customer
    may follow another one (``res.partner.dunning_policy_id``).
    """

    _name = "dunning.policy"
    _description = "Collection Policy"
    _order = "company_id, name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    level_ids = fields.One2many(
        "dunning.level", "policy_id", string="Levels", copy=True
    )
    level_count = fields.Integer(compute="_compute_level_count")
    compliance_profile = fields.Selection(
        [
            ("mx_condusef", "Mexico - CONDUSEF (07:00-22:00)"),
            ("mx_conservative", "Mexico - conservative (08:00-20:00, Mon-Fri)"),
            ("us_reg_f", "United States - Regulation F (08:00-21:00)"),
            ("co_ley_2300", "Colombia - Ley 2300 de 2023"),
            ("cl_ley_21320", "Chile - Ley 21.320"),
            ("pe_ley_29571", "Peru - Ley 29571"),
            ("es_eu", "Spain / EU benchmark (09:00-21:00)"),
            ("custom", "Custom"),
        ],
        default="mx_conservative",
        required=True,
        help="Fills the contact window with a published rule set. The values stay "
        "editable; this is not legal advice.",
    )
    contact_hour_from = fields.Float(
        string="Contact From",
        default=8.0,
        required=True,
        help="Earliest hour a debtor may be contacted, in the debtor's local time.",
    )
    contact_hour_to = fields.Float(
        string="Contact Until",
        default=20.0,
        required=True,
        help="Hour at which contact must stop, in the debtor's local time.",
    )
    contact_saturday_hour_from = fields.Float(
        string="Saturday From",
        help="Later start of the window on Saturdays (e.g. 08:00 in Colombia). "
        "Leave empty to use the same hours every contact day.",
    )
    contact_saturday_hour_to = fields.Float(
        string="Saturday Until",
        help="Earlier end of the window on Saturdays (e.g. 15:00 in Colombia). "
        "Leave empty to use the same hours every contact day.",
    )
    # The form's switch for the Saturday hours above: off, Saturdays use the
    # same hours as the other days (both stored hours empty).
    contact_saturday_own_hours = fields.Boolean(
        string="Other Hours on Saturday",
        compute="_compute_contact_saturday",
        inverse="_inverse_contact_saturday_own_hours",
    )
    contact_on_saturday = fields.Boolean(compute="_compute_contact_saturday")
    contact_weekdays = fields.Many2many(
        "dunning.weekday",
        string="Contact Days",
        default=lambda self: self.env["dunning.weekday"].search([("code", "<=", 4)]),
        required=True,
    )
    skip_holidays = fields.Boolean(
        string="No Contact on Holidays",
        default=True,
        help="Never contact a debtor on a public holiday of the debtor's country "
        "(Collections > Configuration > Holidays).",
    )
    min_days_between_reminders = fields.Integer(
        string="Days Between Reminders",
        default=3,
        required=True,
        help="A customer gets no new reminder within this many days of the previous "
        "one, whatever the number of invoices; invoices that reach a level "
        "meanwhile wait for the next allowed reminder.",
    )
    max_contacts_per_day = fields.Integer(
        string="Contacts per Day",
        help="At most this many contacts with a customer in one day of the "
        "customer's calendar, counting every channel and every collector: "
        "reminders, WhatsApp messages and logged calls and visits. A reminder "
        "over the cap waits for the next day's window. 0: no cap.",
    )
    max_contacts_per_week = fields.Integer(
        string="Contacts per 7 Days",
        help="At most this many contacts with a customer in any 7 days, counting "
        "every channel and every collector (e.g. 7 under the US Regulation F). A "
        "reminder over the cap waits until the oldest of them is 7 days old. "
        "0: no cap.",
    )
    min_amount = fields.Monetary(
        string="Minimum Amount",
        currency_field="currency_id",
        help="Invoices whose amount due is below this amount are not reminded.",
    )
    whatsapp_require_opt_in = fields.Boolean(
        string="WhatsApp Only With Consent",
        default=True,
        help="Send WhatsApp reminders only to customers who recorded their "
        "consent, as Meta requires for business-initiated messages.",
    )
    whatsapp_fallback = fields.Selection(
        [
            ("none", "No fallback"),
            ("email", "Email"),
            ("activity", "Collector activity"),
        ],
        string="When WhatsApp Cannot Reach",
        default="email",
        required=True,
        help="What replaces a WhatsApp reminder that cannot reach the customer (no "
        "consent, opted out, no valid number, or refused by WhatsApp): an email "
        "reminder of the same level, so that the customer still hears from us "
        "without anyone having to act (default); a collector activity, for a "
        "personal call; or nothing. The email uses the level's template, else "
        "that of the closest earlier email level of the policy, else of its first "
        "one; without any email template, or when the customer has no email "
        "address, a collector activity is created instead.",
    )
    portal_token_days = fields.Integer(
        string="Customer Page Link Validity (days)",
        default=60,
        required=True,
        help="How long the link to the customer's statement page, sent in every "
        "reminder, keeps working. Each reminder carries a new link.",
    )
    thank_you_email = fields.Boolean(
        string="Thank-you Email",
        default=True,
        help="When a customer pays invoices that were in collection, queue a "
        "thank-you email (inside the contact window).",
    )
    thank_you_mail_template_id = fields.Many2one(
        "mail.template",
        string="Thank-you Template",
        domain="[('model', '=', 'res.partner')]",
        default=lambda self: self.env.ref(
            "account_dunning.mail_template_dunning_thank_you", raise_if_not_found=False
        ),
    )
    note = fields.Html(translate=True)
    promise_max_days = fields.Integer(
        string="Longest Promise",
        default=30,
        required=True,
        help="A customer may promise to pay at most this many days from today.",
    )
    promise_grace_days = fields.Integer(
        default=2,
        required=True,
        help="Days after the promised date before a promise is found broken: "
        "a transfer takes time to show up. Reminders stay paused until then.",
    )
    promise_min_amount = fields.Monetary(
        string="Minimum Promise on the Customer Page",
        currency_field="currency_id",
        help="A promise the customer makes online must be at least this amount.",
    )
    plan_reminder_days = fields.Integer(
        string="Remind Instalments",
        default=3,
        help="Days before each payment plan instalment to remind the customer "
        "by email, and by WhatsApp too when promises are confirmed by WhatsApp; "
        "0 sends no reminder.",
    )
    promise_confirm_email = fields.Boolean(
        string="Confirm Promises by Email",
        default=True,
        help="Send the customer the agreed terms in writing as soon as a promise "
        "is registered.",
    )
    promise_mail_template_id = fields.Many2one(
        "mail.template",
        string="Promise Confirmation Template",
        domain="[('model', '=', 'dunning.promise')]",
        default=lambda self: self.env.ref(
            "account_dunning.mail_template_dunning_promise_confirm",
            raise_if_not_found=False,
        ),
    )
    promise_confirm_whatsapp = fields.Boolean(
        string="Confirm Promises by WhatsApp",
        help="Also (or instead) send the agreed terms by WhatsApp, with an "
        "approved utility template, in the customer's contact hours and with "
        "their consent, like a reminder; the instalments of a payment plan are "
        "reminded with it too. When WhatsApp cannot reach the customer, the email "
        "goes if selected here, else the policy's setting "
        '"When WhatsApp Cannot Reach" applies.',
    )
    promise_whatsapp_template_id = fields.Many2one(
        "dunning.whatsapp.template",
        string="Promise Confirmation WhatsApp Template",
        check_company=True,
        domain="[('company_id', '=', company_id), ('category', '=', 'utility')]",
        help="Sent in the customer's language when the template exists in it "
        "under the same name (es_MX, en...). Its parameters: customer name, "
        "promised amount, promised date, invoice numbers, company name.",
    )
    thank_you_whatsapp = fields.Boolean(
        string="Thank-you by WhatsApp",
        help="When a customer pays invoices that were in collection, thank them "
        "by WhatsApp too (or instead of the email), inside the contact window "
        "and with their consent. When WhatsApp cannot reach the customer, the "
        "email goes if selected here, else the policy's setting "
        '"When WhatsApp Cannot Reach" applies (email only: a thank-you is not '
        "worth a call).",
    )
    thank_you_whatsapp_template_id = fields.Many2one(
        "dunning.whatsapp.template",
        string="Thank-you WhatsApp Template",
        check_company=True,
        domain="[('company_id', '=', company_id), ('category', '=', 'utility')]",
        help="Sent in the customer's language when the template exists in it "
        "under the same name. Its parameters: customer name, amount paid, "
        "company name.",
    )

    _sql_constraints = [
        (
            "min_days_positive",
            "CHECK(min_days_between_reminders >= 0)",
            "The days between reminders cannot be negative.",
        ),
        (
            "portal_token_days_positive",
            "CHECK(portal_token_days > 0)",
            "The customer page link must be valid for at least one day.",
        ),
        (
            "promise_max_days_positive",
            "CHECK(promise_max_days > 0)",
            "The longest promise must be at least one day.",
        ),
        (
            "promise_grace_days_positive",
            "CHECK(promise_grace_days >= 0)",
            "The promise grace days cannot be negative.",
        ),
    ]

    @api.depends("level_ids")
    def _compute_level_count(self):
        for policy in self:
            policy.level_count = len(policy.level_ids)

    @api.depends(
        "contact_saturday_hour_from", "contact_saturday_hour_to", "contact_weekdays"
    )
    def _compute_contact_saturday(self):
        for policy in self:
            policy.contact_saturday_own_hours = bool(
                policy.contact_saturday_hour_from or policy.contact_saturday_hour_to
            )
            policy.contact_on_saturday = 5 in policy.contact_weekdays.mapped("code")

    def _inverse_contact_saturday_own_hours(self):
        for policy in self:
            if not policy.contact_saturday_own_hours:
                policy.contact_saturday_hour_from = 0.0
                policy.contact_saturday_hour_to = 0.0

    @api.onchange("contact_saturday_own_hours")
    def _onchange_contact_saturday_own_hours(self):
        """Switched on, Saturdays start from the weekday hours, to be edited;
        switched off, they use them."""
        for policy in self:
            if not policy.contact_saturday_own_hours:
                policy.contact_saturday_hour_from = 0.0
                policy.contact_saturday_hour_to = 0.0
            elif not (
                policy.contact_saturday_hour_from or policy.contact_saturday_hour_to
            ):
                policy.contact_saturday_hour_from = policy.contact_hour_from
                policy.contact_saturday_hour_to = policy.contact_hour_to

    @api.constrains(
        "contact_hour_from",
        "contact_hour_to",
        "contact_saturday_hour_from",
        "contact_saturday_hour_to",
    )
    def _check_contact_hours(self):
        for policy in self:
            if not 0 <= policy.contact_hour_from < policy.contact_hour_to <= 24:
                raise ValidationError(
                    _(
                        "Policy %(policy)s: the contact window must start before it "
                        "ends, between 00:00 and 24:00.",
                        policy=policy.display_name,
                    )
                )
            saturday_from = (
                policy.contact_saturday_hour_from or policy.contact_hour_from
            )
            saturday_to = policy.contact_saturday_hour_to or policy.contact_hour_to
            if not 0 <= saturday_from < saturday_to <= 24:
                raise ValidationError(
                    _(
                        "Policy %(policy)s: on Saturdays the contact window must "
                        "start before it ends.",
                        policy=policy.display_name,
                    )
                )

    @api.constrains(
        "promise_confirm_whatsapp",
        "promise_whatsapp_template_id",
        "thank_you_whatsapp",
        "thank_you_whatsapp_template_id",
    )
    def _check_whatsapp_notice_templates(self):
        for policy in self:
            if (
                policy.promise_confirm_whatsapp
                and not policy.promise_whatsapp_template_id
            ) or (
                policy.thank_you_whatsapp and not policy.thank_you_whatsapp_template_id
            ):
                raise ValidationError(
                    _(
                        "Policy %(policy)s: choose the WhatsApp template of each "
                        "message sent by WhatsApp.",
                        policy=policy.display_name,
                    )
                )

    @api.constrains("contact_weekdays")
    def _check_contact_weekdays(self):
        for policy in self:
            if not policy.contact_weekdays:
                raise ValidationError(
                    _(
                        "Policy %(policy)s needs at least one contact day.",
                        policy=policy.display_name,
                    )
                )

    @api.constrains("max_contacts_per_day", "max_contacts_per_week")
    def _check_contact_caps(self):
        for policy in self:
            if policy.max_contacts_per_day < 0 or policy.max_contacts_per_week < 0:
                raise ValidationError(
                    _(
                        "Policy %(policy)s: a cap on contacts is a number of "
                        "contacts, or 0 for no cap.",
                        policy=policy.display_name,
                    )
                )

    @api.onchange("compliance_profile")
    def _onchange_compliance_profile(self):
        values = COMPLIANCE_PROFILES.get(self.compliance_profile)
        if not values:
            return
        values = dict(values)
        weekday_codes = values.pop("weekdays")
        self.update(values)
        self.contact_weekdays = self.env["dunning.weekday"].search(
            [("code", "in", weekday_codes)]
        )

    def _copy_for_company(self, company):
        """A copy of this policy for ``company``, without another company's records.

        Levels and notices may point to records bound to this policy's company
        (its WhatsApp templates, and any company-bound field added later):
        copied as they are, the multi-company rules refuse them ("Incompatible
        companies on records"), and with them the creation of the company.
        Those values are left empty, and what used them goes by what needs no
        company-bound record: a notice by email instead of WhatsApp; a
        WhatsApp-only level by email when it has an email template, else as a
        collector activity. The new company chooses its own templates later.
        """
        self.ensure_one()
        values = self._values_for_company(self, company)
        if "promise_whatsapp_template_id" in values and self.promise_confirm_whatsapp:
            values.update(promise_confirm_whatsapp=False, promise_confirm_email=True)
        if "thank_you_whatsapp_template_id" in values and self.thank_you_whatsapp:
            values.update(thank_you_whatsapp=False, thank_you_email=True)
        # The levels are copied one by one, not given in the policy's copy
        # values: a copied level keeps the translations of its name and
        # summary, values given to a copy do not.
        policy = self.copy(
            {"company_id": company.id, "name": self.name, "level_ids": [], **values}
        )
        for level in self.level_ids.sorted("id"):
            level_values = self._values_for_company(level, company)
            if "whatsapp_template_id" in level_values and level.channel_whatsapp:
                level_values["channel_whatsapp"] = False
                if not (level.channel_email or level.channel_activity):
                    channel = (
                        "channel_email"
                        if level.mail_template_id
                        else "channel_activity"
                    )
                    level_values[channel] = True
            level.copy({**level_values, "policy_id": policy.id})
        return policy

    @api.model
    def _values_for_company(self, record, company):
        """The values emptying the fields of ``record`` that point to records of
        another company than ``company``.

        Read from the fields themselves, so that a company-bound field added
        later (an account, a user...) is covered without a list to maintain;
        compatibility is what Odoo's own multi-company check uses.
        """
        values = {}
        for name, field in record._fields.items():
            if (
                field.type not in ("many2one", "many2many")
                or not field.store
                or field.compute
                or field.automatic
                or name == "company_id"
            ):
                continue
            comodel = self.env[field.comodel_name]
            if "company_id" not in comodel._fields:
                continue
            value = record[name]
            kept = value.filtered_domain(comodel._check_company_domain(company))
            if kept != value:
                values[name] = (
                    kept.id if field.type == "many2one" else [Command.set(kept.ids)]
                )
        return values

    def _get_contact_window(self, country=None, around=None):
        """The contact window of this policy for a debtor of ``country``.

        :param country: ``res.country`` record of the debtor, for its holidays
        :param around: date near which holidays matter (default: today)
        :rtype: ContactWindow
        """
        self.ensure_one()
        holidays = frozenset()
        if self.skip_holidays and country:
            holidays = self.env["dunning.holiday"]._get_dates_around(
                country,
                around or fields.Date.context_today(self),
                company=self.company_id,
            )
        return ContactWindow(
            hour_from=self.contact_hour_from,
            hour_to=self.contact_hour_to,
            weekdays=frozenset(self.contact_weekdays.mapped("code")),
            holidays=holidays,
            saturday_hour_to=self.contact_saturday_hour_to or None,
            saturday_hour_from=self.contact_saturday_hour_from or None,
        )

    def _get_levels_by_rank(self):
        """Levels from the earliest offset to the latest."""
        self.ensure_one()
        return self.level_ids.sorted(lambda level: (level.offset_days, level.id))

    def action_view_levels(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_level_action"
        )
        action["domain"] = [("policy_id", "=", self.id)]
        action["context"] = {"default_policy_id": self.id}
        return action
