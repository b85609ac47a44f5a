from odoo import _, api, fields, models
from odoo.exceptions import UserError


class DunningWhatsappConsentRecord(models.TransientModel):
    """Record that a customer agreed to WhatsApp reminders: how and to what.

    Meta requires an opt-in before any business-initiated message, and the
    proof is the wording the customer accepted, word for word. Recording a new
    consent after an opt-out lifts the opt-out: the customer asked again.
    """

    _name = "dunning.whatsapp.consent.record"
    _description = "Record WhatsApp Consent"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True
    )
    opted_out = fields.Boolean(related="partner_id.whatsapp_opt_out")
    source = fields.Selection(
        selection=lambda self: (
            self.env["res.partner"]
            ._fields["whatsapp_opt_in_source"]
            ._description_selection(self.env)
        ),
        string="How the Customer Agreed",
        required=True,
    )
    consent_text = fields.Text(
        string="Consent Wording",
        required=True,
        help="What the customer agreed to, word for word.",
    )
    consent_date = fields.Datetime(
        string="Agreed On", required=True, default=fields.Datetime.now
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if (
            "partner_id" in fields_list
            and not values.get("partner_id")
            and self.env.context.get("active_model") == "res.partner"
        ):
            partner = self.env["res.partner"].browse(self.env.context.get("active_id"))
            values["partner_id"] = partner.commercial_partner_id.id
        return values

    def action_record(self):
        self.ensure_one()
        text = (self.consent_text or "").strip()
        if not text:
            raise UserError(_("Write the exact wording the customer agreed to."))
        if self.consent_date > fields.Datetime.now():
            raise UserError(_("The consent cannot be dated in the future."))
        self.partner_id._whatsapp_set_opt_in(self.source, text, self.consent_date)
        return {"type": "ir.actions.act_window_close"}
