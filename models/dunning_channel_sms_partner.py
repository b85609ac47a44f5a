"""SMS consent and opt-out on the customer, and Odoo's SMS queue and delivery
reports handed to the SMS channel (models/dunning_channel_sms.py)."""

from odoo import _, api, fields, models

from ..services.phone import InvalidPhoneError, normalize
from ..services.whatsapp.events import is_opt_out


class ResPartner(models.Model):
    _inherit = "res.partner"

    dunning_sms_opt_in = fields.Boolean(
        string="SMS Consent",
        tracking=True,
        copy=False,
        help="The customer agreed to receive payment reminders by SMS; "
        "required by policies that send SMS only with consent. To stop SMS, "
        "blacklist the number (Odoo's phone blacklist).",
    )
    dunning_sms_opt_in_date = fields.Datetime(string="SMS Consent Date", copy=False)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._dunning_sms_stamp_consent(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._dunning_sms_stamp_consent(vals)
        return super().write(vals)

    @api.model
    def _dunning_sms_stamp_consent(self, vals):
        if vals.get("dunning_sms_opt_in") and not vals.get("dunning_sms_opt_in_date"):
            vals["dunning_sms_opt_in_date"] = fields.Datetime.now()

    def _dunning_sms_recipient(self):
        """The contact collection SMS go to: the customer's invoicing contact
        when it has a number, else the customer."""
        self.ensure_one()
        address = self.browse(self.address_get(["invoice"])["invoice"])
        return address if address.mobile or address.phone else self

    def _dunning_sms_number(self):
        """This contact's number for SMS (the mobile, else the phone, as Odoo's
        SMS does): ``(as typed, E.164 or None, why it is not valid or None)``."""
        self.ensure_one()
        number = self.mobile or self.phone
        if not number:
            return None, None, None
        country = self.country_id or self.commercial_partner_id.country_id
        try:
            return number, normalize(number, country.code or None), None
        except InvalidPhoneError as error:
            return number, None, str(error)

    def _dunning_sms_unreachable_reason(self, policy):
        """Why a collection SMS cannot reach this customer under ``policy``,
        or None. A blacklisted number always wins; consent is required when
        the policy asks for it; a missing, invalid or reported wrong number
        cannot be sent to."""
        self.ensure_one()
        recipient = self._dunning_sms_recipient()
        number, e164, error = recipient._dunning_sms_number()
        if e164 and self.env["phone.blacklist"].sudo().search_count(
            [("number", "=", e164)], limit=1
        ):
            return _(
                "%(partner)s opted out of SMS: the number %(number)s is blacklisted.",
                partner=self.display_name,
                number=e164,
            )
        if policy.sms_require_opt_in and not self.dunning_sms_opt_in:
            return _(
                "%(partner)s did not agree to receive SMS.", partner=self.display_name
            )
        if not number:
            return _(
                "%(partner)s has no mobile number for SMS.", partner=self.display_name
            )
        if not e164:
            return _(
                "The mobile number of %(partner)s is not valid: %(error)s",
                partner=recipient.display_name,
                error=error,
            )
        if e164 == recipient.dunning_phone_invalid_number:
            return _(
                "The number %(number)s of %(partner)s was reported wrong by a "
                "collector.",
                number=e164,
                partner=recipient.display_name,
            )
        return None

    @api.model
    def _dunning_sms_inbound(self, number, text, when=None):
        """Hook for an SMS provider add-on that reports inbound messages
        (Odoo's own SMS API reports none): a STOP, BAJA, ALTO or CANCELAR
        blacklists the number at once and cancels the queued SMS reminders of
        the customers who have it. Returns whether it was an opt-out."""
        if not is_opt_out(text):
            return False
        try:
            e164 = normalize(number, None)
        except InvalidPhoneError:
            return False
        when = when or fields.Datetime.now()
        self.env["phone.blacklist"].sudo()._add(
            [e164],
            message=_('Opted out of SMS by replying "%(text)s".', text=text),
        )
        # Numbers are stored as typed: find them by their last digits, then
        # keep those that normalise to the same number.
        candidates = (
            self.sudo()
            .with_context(active_test=False)
            .search([("phone_mobile_search", "like", e164[-8:])])
        )
        partners = candidates.filtered(
            lambda p: e164 in p._dunning_phone_numbers()
        ).commercial_partner_id
        reminders = (
            self.env["dunning.reminder"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", partners.ids),
                    ("channel", "=", "sms"),
                    ("state", "in", ("queued", "deferred")),
                ]
            )
        )
        reminders.write(
            {
                "state": "cancelled",
                "error_message": _("The customer opted out of SMS."),
            }
        )
        for partner in partners:
            partner._message_log(
                body=_(
                    'The customer opted out of SMS by replying "%(text)s" from '
                    "%(number)s; %(count)s queued SMS reminder(s) cancelled.",
                    text=text,
                    number=e164,
                    count=len(
                        reminders.filtered(lambda r, p=partner: r.partner_id == p)
                    ),
                )
            )
        return True


class SmsSms(models.Model):
    _inherit = "sms.sms"

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        result = super()._send(
            unlink_failed=unlink_failed,
            unlink_sent=unlink_sent,
            raise_exception=raise_exception,
        )
        # The provider answered for this batch (or could not be reached):
        # the reminders among these SMS are settled from it.
        self.env["dunning.reminder"].sudo()._dunning_sms_outcome(self.sudo())
        return result


class SmsTracker(models.Model):
    _inherit = "sms.tracker"

    def _action_update_from_sms_state(
        self, sms_state, failure_type=False, failure_reason=False
    ):
        result = super()._action_update_from_sms_state(
            sms_state, failure_type=failure_type, failure_reason=failure_reason
        )
        self.env["dunning.reminder"].sudo()._dunning_sms_delivery(
            self, sms_state, failure_type
        )
        return result

    def _action_update_from_provider_error(self, provider_error):
        result = super()._action_update_from_provider_error(provider_error)
        _status, failure_type, _reason = result
        self.env["dunning.reminder"].sudo()._dunning_sms_delivery(
            self, "error", failure_type
        )
        return result
