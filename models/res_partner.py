from collections import defaultdict

from odoo import _, api, fields, models
from odoo.tools import format_datetime
from odoo.tools.misc import babel_locale_parse, get_lang, posix_to_ldml

from ..services.phone import InvalidPhoneError, normalize
from .dunning_reminder import OPEN_CUSTOMER_INVOICE_DOMAIN


class ResPartner(models.Model):
    _inherit = "res.partner"

    dunning_policy_id = fields.Many2one(
        "dunning.policy",
        string="Collection Policy",
        company_dependent=True,
        domain="[('company_id', 'in', (False, current_company_id))]",
        help="Leave empty to follow the company's default collection policy.",
    )
    dunning_collector_id = fields.Many2one(
        "res.users",
        string="Collector",
        company_dependent=True,
        help="The person who follows up this customer's payments; collection "
        "activities are assigned to them.",
    )
    dunning_excluded = fields.Boolean(
        string="Excluded from Collections",
        tracking=True,
        help="This customer never receives reminders.",
    )
    dunning_exclusion_reason = fields.Char(string="Exclusion Reason")
    dunning_paused_until = fields.Date(
        string="Reminders Paused Until",
        tracking=True,
        help="No reminder reaches this customer until this day included.",
    )
    dunning_level_id = fields.Many2one(
        "dunning.level",
        string="Collection Level",
        compute="_compute_dunning_level_id",
        help="The highest level reached by the customer's open invoices.",
    )
    dunning_reminder_ids = fields.One2many(
        "dunning.reminder", "partner_id", string="Reminders", readonly=True
    )
    dunning_reminder_count = fields.Integer(compute="_compute_dunning_reminder_count")
    dunning_promise_ids = fields.One2many(
        "dunning.promise", "partner_id", string="Payment Promises", readonly=True
    )
    dunning_promise_count = fields.Integer(
        string="Promises",
        compute="_compute_dunning_promise_stats",
        help="Payment promises of this customer, in every state.",
    )
    dunning_promise_settled_count = fields.Integer(
        string="Promises Due",
        compute="_compute_dunning_promise_stats",
        help="Promises whose date has passed: kept, partly kept or broken. The "
        "share kept is only meaningful once there is one.",
    )
    dunning_promise_kept_rate = fields.Float(
        string="Promises Kept (%)",
        compute="_compute_dunning_promise_stats",
        help="Share of the customer's settled promises that were kept in full: "
        "partially kept and broken promises count against it.",
    )
    # WhatsApp consent: Meta requires an opt-in before any business-initiated
    # message; when, how and what the customer agreed to is the proof.
    whatsapp_opt_in = fields.Boolean(
        string="WhatsApp Consent",
        tracking=True,
        copy=False,
        help="The customer agreed to receive payment reminders by WhatsApp.",
    )
    whatsapp_opt_in_date = fields.Datetime(string="Consent Date", copy=False)
    whatsapp_opt_in_source = fields.Selection(
        [
            ("contract", "Contract or signed form"),
            ("portal", "Customer portal"),
            ("whatsapp", "WhatsApp message"),
            ("phone", "Phone call"),
            ("other", "Other"),
        ],
        string="Consent Source",
        copy=False,
    )
    whatsapp_opt_in_text = fields.Text(
        string="Consent Wording",
        copy=False,
        help="What the customer agreed to, word for word.",
    )
    whatsapp_opt_out = fields.Boolean(
        string="WhatsApp Opt-out",
        tracking=True,
        copy=False,
        help="The customer asked not to be contacted by WhatsApp: nothing is sent.",
    )
    whatsapp_opt_out_date = fields.Datetime(string="Opt-out Date", copy=False)
    whatsapp_number = fields.Char(
        string="WhatsApp Number",
        compute="_compute_whatsapp_number",
        store=True,
        index=True,
        help="The mobile number (else the phone) in international E.164 form, read "
        "with the customer's country.",
    )
    whatsapp_number_invalid = fields.Boolean(
        string="Invalid WhatsApp Number",
        compute="_compute_whatsapp_number",
        store=True,
        help="The mobile or phone number is not a valid number: WhatsApp is "
        "never sent to it.",
    )
    whatsapp_undeliverable_number = fields.Char(
        string="Number Not on WhatsApp",
        readonly=True,
        copy=False,
        help="The number, in E.164 form, that WhatsApp could not deliver to "
        "because it is not on WhatsApp (error 131026). Cleared when the number "
        "changes.",
    )
    whatsapp_undeliverable = fields.Boolean(
        string="Not on WhatsApp",
        compute="_compute_whatsapp_undeliverable",
        store=True,
        help="WhatsApp reported that the customer's number is not on WhatsApp: "
        "no WhatsApp message is sent to it until the number changes.",
    )
    dunning_phone_invalid = fields.Boolean(
        string="Wrong Phone Number",
        tracking=True,
        copy=False,
        help="A collector reported that the phone number does not reach this "
        "customer. Cleared when the number changes.",
    )
    dunning_phone_invalid_number = fields.Char(
        string="Number Reported Wrong",
        copy=False,
        help="The number, in E.164 form, that a collector reported as not "
        "reaching this customer.",
    )
    dunning_interaction_ids = fields.One2many(
        "dunning.interaction", "partner_id", string="Contact Log", readonly=True
    )
    dunning_interaction_count = fields.Integer(
        compute="_compute_dunning_interaction_count"
    )
    dunning_timeline_ids = fields.One2many(
        "dunning.timeline", "partner_id", string="Collection Timeline", readonly=True
    )
    whatsapp_last_inbound_at = fields.Datetime(
        string="Last WhatsApp Message",
        readonly=True,
        copy=False,
        help="Free text may be sent within 24 hours of the customer's last message.",
    )

    @api.depends("mobile", "phone", "country_id", "dunning_phone_invalid_number")
    def _compute_whatsapp_number(self):
        for partner in self:
            number = partner.mobile or partner.phone
            e164 = False
            if number:
                try:
                    e164 = normalize(number, partner.country_id.code or None)
                except InvalidPhoneError:
                    e164 = False
            partner.whatsapp_number = e164
            # A collector found the number wrong on a call: WhatsApp to the same
            # number would reach the same stranger.
            partner.whatsapp_number_invalid = (bool(number) and not e164) or bool(
                e164 and e164 == partner.dunning_phone_invalid_number
            )

    @api.depends("whatsapp_number", "whatsapp_undeliverable_number")
    def _compute_whatsapp_undeliverable(self):
        for partner in self:
            partner.whatsapp_undeliverable = bool(
                partner.whatsapp_undeliverable_number
                and partner.whatsapp_undeliverable_number == partner.whatsapp_number
            )

    def _compute_dunning_level_id(self):
        moves = self.env["account.move"].search(
            [
                ("commercial_partner_id", "in", self.commercial_partner_id.ids),
                ("company_id", "=", self.env.company.id),
                *OPEN_CUSTOMER_INVOICE_DOMAIN,
                ("dunning_level_id", "!=", False),
            ]
        )
        top = {}
        for move in moves:
            best = top.get(move.commercial_partner_id.id)
            if not best or move.dunning_level_id.offset_days > best.offset_days:
                top[move.commercial_partner_id.id] = move.dunning_level_id
        for partner in self:
            partner.dunning_level_id = top.get(partner.commercial_partner_id.id)

    def _compute_dunning_interaction_count(self):
        counts = dict(
            self.env["dunning.interaction"]._read_group(
                [("partner_id", "in", self.commercial_partner_id.ids)],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.dunning_interaction_count = counts.get(
                partner.commercial_partner_id, 0
            )

    def _compute_dunning_reminder_count(self):
        counts = dict(
            self.env["dunning.reminder"]._read_group(
                [("partner_id", "in", self.commercial_partner_id.ids)],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.dunning_reminder_count = counts.get(
                partner.commercial_partner_id, 0
            )

    def _compute_dunning_promise_stats(self):
        counts = defaultdict(lambda: defaultdict(int))
        for partner, state, count in self.env["dunning.promise"]._read_group(
            [("partner_id", "in", self.commercial_partner_id.ids)],
            ["partner_id", "state"],
            ["__count"],
        ):
            counts[partner.id][state] = count
        for partner in self:
            by_state = counts[partner.commercial_partner_id.id]
            settled = by_state["kept"] + by_state["partial"] + by_state["broken"]
            partner.dunning_promise_count = sum(by_state.values())
            partner.dunning_promise_settled_count = settled
            partner.dunning_promise_kept_rate = (
                100.0 * by_state["kept"] / settled if settled else 0.0
            )

    @api.model
    def _commercial_fields(self):
        return super()._commercial_fields() + [
            "dunning_excluded",
            "dunning_exclusion_reason",
            "dunning_paused_until",
        ]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._whatsapp_stamp_consent(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._whatsapp_stamp_consent(vals)
        res = super().write(vals)
        if {"phone", "mobile"} & set(vals):
            # A new number is a new chance: forget the wrong one once it is gone.
            self.filtered(
                lambda p: (
                    p.dunning_phone_invalid
                    and p.dunning_phone_invalid_number not in p._dunning_phone_numbers()
                )
            ).write(
                {"dunning_phone_invalid": False, "dunning_phone_invalid_number": False}
            )
        if {"phone", "mobile", "country_id"} & set(vals):
            # A new WhatsApp number may be on WhatsApp: forget the one that was
            # not, for good (the old number back is not flagged again).
            self.filtered(
                lambda p: (
                    p.whatsapp_undeliverable_number
                    and p.whatsapp_undeliverable_number != p.whatsapp_number
                )
            ).write({"whatsapp_undeliverable_number": False})
        return res

    @api.model
    def _whatsapp_stamp_consent(self, vals):
        """Date the consent and the opt-out when they are given without a date."""
        now = fields.Datetime.now()
        if vals.get("whatsapp_opt_in") and not vals.get("whatsapp_opt_in_date"):
            vals["whatsapp_opt_in_date"] = now
        if vals.get("whatsapp_opt_out") and not vals.get("whatsapp_opt_out_date"):
            vals["whatsapp_opt_out_date"] = now

    def action_dunning_portal_revoke(self):
        """Stop every link to this customer's statement page sent so far."""
        self.ensure_one()
        count = self.env["dunning.portal.token"]._revoke(self)
        self.commercial_partner_id._message_log(
            body=_(
                "%(count)s link(s) to the customer page revoked by %(user)s.",
                count=count,
                user=self.env.user.name,
            )
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _(
                    "%(count)s link(s) to the customer page revoked; the next "
                    "reminder carries a new one.",
                    count=count,
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_dunning_view_reminders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_reminder_action"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        return action

    def action_dunning_view_promises(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_promise_action"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    def action_dunning_view_interactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_interaction_action"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    def action_dunning_log_interaction(self):
        """Open the log-a-call wizard for this customer."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account_dunning.dunning_interaction_log_action"
        )
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    # ------------------------------------------------------------------------------
    # Calls
    # ------------------------------------------------------------------------------

    def _dunning_phone_numbers(self):
        """The partner's phone and mobile numbers in E.164 form (those valid)."""
        self.ensure_one()
        numbers = set()
        for number in (self.mobile, self.phone):
            if number:
                try:
                    numbers.add(normalize(number, self.country_id.code or None))
                except InvalidPhoneError:
                    continue
        return numbers

    def _dunning_call_number(self):
        """The number a collector calls: the mobile, else the phone."""
        self.ensure_one()
        return self.mobile or self.phone or False

    def _dunning_mark_phone_invalid(self, user):
        """A collector reached someone else on the customer's number."""
        self.ensure_one()
        number = self._dunning_call_number()
        try:
            e164 = normalize(number, self.country_id.code or None) if number else False
        except InvalidPhoneError:
            e164 = False
        # sudo: a collector flags the number without the right to edit contacts.
        self.sudo().write(
            {
                "dunning_phone_invalid": True,
                "dunning_phone_invalid_number": e164 or number,
            }
        )
        self.sudo()._message_log(
            body=_(
                "%(user)s reported the number %(number)s as wrong: it does not "
                "reach this customer.",
                user=user.name,
                number=number or "-",
            )
        )

    # ------------------------------------------------------------------------------
    # WhatsApp
    # ------------------------------------------------------------------------------

    def _dunning_timezones(self):
        """The zones of this customer's contact window for a confirmation or a
        thank-you (:meth:`_dunning_zones`)."""
        self.ensure_one()
        return self._dunning_zones()

    def _dunning_format_local(self, when):
        """``when`` (UTC) as this customer reads it, in the first zone of its
        contact window and in the user's date format, the zone named: e.g.
        ``24/11/2026 08:00 (America/Mexico_City)``."""
        self.ensure_one()
        zone = self._dunning_timezones()[0]
        lang = get_lang(self.env)
        pattern = posix_to_ldml(lang.date_format, locale=babel_locale_parse(lang.code))
        local = format_datetime(self.env, when, tz=zone, dt_format=f"{pattern} HH:mm")
        return f"{local} ({zone})"
