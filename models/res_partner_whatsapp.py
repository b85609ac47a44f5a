"""The customer on WhatsApp: reachability, numbers, consent and opt-out, and
what a customer writes."""

from odoo import _, api, fields, models
from odoo.tools import format_datetime

from ..services.phone import InvalidPhoneError, from_wa_id, normalize, wa_id_candidates
from .dunning_dispute import text_to_html


class ResPartnerWhatsapp(models.Model):
    _inherit = "res.partner"

    def _whatsapp_unreachable_reason(self, policy, written=False):
        """Why a business-initiated WhatsApp message cannot reach this customer
        under ``policy``, or None: the one place for the rules that reminders,
        notices and planning share.

        An opt-out always wins; consent is required when the policy asks for it
        (or there is no policy), unless ``written``: the customer wrote to us in
        the last 24 hours; a missing or invalid number cannot be sent to.
        """
        self.ensure_one()
        if self.whatsapp_opt_out:
            return _("%(partner)s opted out of WhatsApp.", partner=self.display_name)
        requires_consent = not policy or policy.whatsapp_require_opt_in
        if requires_consent and not self.whatsapp_opt_in and not written:
            return _(
                "%(partner)s did not agree to receive WhatsApp messages.",
                partner=self.display_name,
            )
        if self.whatsapp_number_invalid:
            return _(
                "The mobile number of %(partner)s is not a valid number.",
                partner=self.display_name,
            )
        if not self.whatsapp_number:
            return _(
                "%(partner)s has no mobile number for WhatsApp.",
                partner=self.display_name,
            )
        if self.whatsapp_undeliverable:
            return _(
                "WhatsApp reported that %(number)s, the number of %(partner)s, is "
                "not on WhatsApp: nothing is sent to it until the number changes.",
                number=self.whatsapp_number,
                partner=self.display_name,
            )
        return None

    def _whatsapp_mark_undeliverable(self, number, title=None):
        """WhatsApp cannot deliver to ``number`` (error 131026, not on
        WhatsApp): nothing more goes to it while it is this customer's number.

        Only while ``number`` is still the customer's WhatsApp number: a late
        status about an earlier number says nothing about the new one.
        """
        for partner in self.sudo():
            if not number or number != partner.whatsapp_number:
                continue
            if partner.whatsapp_undeliverable_number == number:
                continue
            partner.whatsapp_undeliverable_number = number
            partner._message_log(
                body=_(
                    "WhatsApp cannot deliver to %(number)s (error 131026: "
                    "%(title)s): the number is not on WhatsApp. Nothing is sent "
                    "to it by WhatsApp until the number changes.",
                    number=number,
                    title=title or _("message undeliverable"),
                )
            )

    @api.model
    def _whatsapp_numbers_of(self, wa_id):
        """The E.164 numbers WhatsApp may mean by ``wa_id`` (none if it is not
        a phone number): Mexican mobiles come as 521 + 10 digits, stored as +52
        + 10 digits."""
        try:
            return [f"+{c}" for c in wa_id_candidates(from_wa_id(wa_id or ""))]
        except InvalidPhoneError:
            return []

    @api.model
    def _whatsapp_holders(self, wa_id, company=None):
        """The contacts whose WhatsApp number is ``wa_id``, active ones first."""
        numbers = self._whatsapp_numbers_of(wa_id)
        if not numbers:
            return self.browse()
        domain = [("whatsapp_number", "in", numbers)]
        if company:
            domain.append(("company_id", "in", (False, company.id)))
        return (
            self.sudo()
            .with_context(active_test=False)
            .search(domain, order="active desc, id")
        )

    def _whatsapp_change_number(self, old_wa_id, new_wa_id, company=None):
        """WhatsApp says the customer moved from ``old_wa_id`` to ``new_wa_id``
        (a ``user_changed_number`` notice): the contacts that had the old
        number get the new one, in the field that held it, and the customer's
        chatter says so."""
        self.ensure_one()
        customer = self.commercial_partner_id.sudo()
        try:
            new_number = from_wa_id(new_wa_id or "")
        except InvalidPhoneError:
            customer._message_log(
                body=_(
                    "WhatsApp reports that the customer changed number to "
                    "%(new)s, which is not a valid phone number: the number is "
                    "not changed.",
                    new=new_wa_id,
                )
            )
            return
        old_numbers = set(self._whatsapp_numbers_of(old_wa_id))
        holders = self._whatsapp_holders(old_wa_id, company).filtered(
            lambda p: p.commercial_partner_id == customer
        )
        for contact in holders:
            mobile = contact._whatsapp_e164(contact.mobile)
            name = "mobile" if mobile in old_numbers else "phone"
            old = contact[name]
            contact.write({name: new_number})
            customer._message_log(
                body=_(
                    "WhatsApp reports that %(contact)s changed their number: "
                    "%(field)s %(old)s replaced by %(new)s.",
                    contact=contact.display_name,
                    field=contact._fields[name]._description_string(self.env),
                    old=old,
                    new=new_number,
                )
            )

    def _whatsapp_e164(self, number):
        """``number`` in E.164 form read with this contact's country, or False."""
        self.ensure_one()
        if not number:
            return False
        try:
            return normalize(number, self.country_id.code or None)
        except InvalidPhoneError:
            return False

    @api.model
    def _whatsapp_find_by_wa_id(self, wa_id, company=None):
        """The contact whose number WhatsApp reports as ``wa_id`` (or none).

        WhatsApp reports Mexican mobiles as 521 + 10 digits while the stored
        E.164 number is +52 + 10 digits: every form of the number is tried.
        """
        partners = self._whatsapp_holders(wa_id, company)
        # A contact and its company sharing the number: the company is the
        # customer the reminders were about.
        return partners.commercial_partner_id[:1] if partners else partners

    def _whatsapp_set_opt_out(self, text, when):
        """Honour an opt-out at once: no reminder by WhatsApp goes out after it."""
        partners = (self | self.commercial_partner_id).sudo()
        partners.write(
            {
                "whatsapp_opt_out": True,
                "whatsapp_opt_out_date": when,
                "whatsapp_last_inbound_at": when,
            }
        )
        reminders = (
            self.env["dunning.reminder"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", self.commercial_partner_id.ids),
                    ("channel", "=", "whatsapp"),
                    ("state", "in", ("queued", "deferred")),
                    # A notice (a promise's confirmation) goes by the policy's
                    # next channel: the contact gate fails it when it is due.
                    ("kind", "=", "reminder"),
                ]
            )
        )
        reminders.write(
            {
                "state": "cancelled",
                "error_message": _("The customer opted out of WhatsApp."),
            }
        )
        for partner in self.commercial_partner_id.sudo():
            partner._message_log(
                body=_(
                    'The customer opted out of WhatsApp by writing "%(text)s"; '
                    "%(count)s queued WhatsApp reminder(s) cancelled.",
                    text=text,
                    count=len(reminders),
                )
            )

    def _whatsapp_set_opt_in(self, source, text, when=None):
        """Record the customer's consent to WhatsApp reminders; lift an opt-out.

        ``source`` is a ``whatsapp_opt_in_source`` value, ``text`` the wording
        the customer agreed to. Used by the collectors' wizard, and meant for
        the webhook and the customer page. The chatter says who recorded it.
        """
        when = when or fields.Datetime.now()
        partners = self.commercial_partner_id
        was_opted_out = any(partners.mapped("whatsapp_opt_out"))
        # Collectors record consent without the right to edit contacts: the
        # proof (who, when, what) goes to the chatter under their name.
        partners.sudo().write(
            {
                "whatsapp_opt_in": True,
                "whatsapp_opt_in_date": when,
                "whatsapp_opt_in_source": source,
                "whatsapp_opt_in_text": text,
                "whatsapp_opt_out": False,
                "whatsapp_opt_out_date": False,
            }
        )
        labels = dict(
            self._fields["whatsapp_opt_in_source"]._description_selection(self.env)
        )
        for partner in partners:
            body = _(
                'WhatsApp consent recorded by %(user)s (%(how)s, %(date)s): "%(text)s"',
                user=self.env.user.name,
                how=labels.get(source, source),
                date=format_datetime(self.env, when),
                text=text,
            )
            if was_opted_out:
                body = _("%(body)s The earlier opt-out is lifted.", body=body)
            partner.sudo()._message_log(
                body=body, author_id=self.env.user.partner_id.id
            )

    def _dunning_whatsapp_quick_reply(self, payload, message):
        """Hook: the customer tapped a quick-reply button of a WhatsApp template.

        Called on the customer (the commercial partner found from the sender's
        number, in the WhatsApp account's company) for each inbound ``button``
        message and interactive ``button_reply`` / ``list_reply``, once per
        webhook event, after the message is stored and unless its text is an
        opt-out keyword (an opt-out always wins).

        :param str payload: the button's payload as the template sent it (for
            example ``PROMISE_4711``), or the interactive reply's id.
        :param message: the stored inbound ``dunning.whatsapp.message`` (its
            ``body`` is the button's text, ``quick_reply_payload`` the payload,
            ``reply_to_id`` the template message tapped, ``received_at`` when,
            ``wamid`` and ``wa_id``).
        :return: True when the payload was handled. Overrides handle the
            payloads they know and call ``super()`` for the others; this default
            treats the tap as any inbound message (the message, with its payload,
            is in the chatter already): the 24-hour window opened and an
            activity for the collector.
        """
        self.ensure_one()
        self._whatsapp_on_inbound(
            _(
                "%(text)s (quick reply %(payload)s)",
                text=message.body or "",
                payload=payload,
            ),
            message.received_at or fields.Datetime.now(),
        )
        return True

    def _whatsapp_on_inbound(self, text, when):
        """A customer wrote: ask the collector to answer; open the 24-hour window."""
        partner = self.commercial_partner_id.sudo()
        (self | partner).sudo().write({"whatsapp_last_inbound_at": when})
        # The message itself is in the chatter already (dunning.whatsapp.message
        # logs every message, in or out, with its status).
        user = partner.dunning_collector_id or partner.user_id
        if user:
            partner.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=user._dunning_in_my_lang(partner).env._(
                    "Reply to the customer's WhatsApp message"
                ),
                # Typed by whoever holds the number: shown as text, never as
                # markup (a link or an image in the collector's inbox).
                note=text_to_html(text or ""),
                user_id=user.id,
            )
