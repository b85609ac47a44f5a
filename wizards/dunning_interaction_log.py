from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.dunning_interaction import INTERACTION_CHANNELS
from ..models.dunning_reminder import OPEN_CUSTOMER_INVOICE_DOMAIN
from ..services.contact_window import describe, is_open


class DunningInteractionLog(models.TransientModel):
    """Log a call (or another contact) with a debtor, following the call script.

    No disclosure to third parties: the amounts and invoices stay hidden, and
    outcomes about the debt cannot be saved, until the collector confirms they
    speak with the debtor. When someone else answers, the call is logged
    without saying anything about the debt.
    """

    _name = "dunning.interaction.log"
    _description = "Log a Collection Contact"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        domain="[('parent_id', '=', False)]",
    )
    move_ids = fields.Many2many(
        "account.move",
        string="Invoices",
        domain="[('commercial_partner_id', '=', partner_id), "
        "('move_type', '=', 'out_invoice'), ('state', '=', 'posted'), "
        "('payment_state', 'in', ('not_paid', 'partial')), "
        "('company_id', '=', company_id)]",
        help="The invoices the contact was about.",
    )
    channel = fields.Selection(INTERACTION_CHANNELS, required=True, default="call")
    contact_name = fields.Char(
        string="Ask For",
        compute="_compute_contact",
        help="The person the collector must speak with: the customer's invoicing "
        "contact.",
    )
    phone = fields.Char(compute="_compute_contact")
    phone_invalid = fields.Boolean(related="partner_id.dunning_phone_invalid")
    script = fields.Html(string="Call Script", compute="_compute_script")
    window_warning = fields.Char(compute="_compute_window_warning")
    identity_confirmed = fields.Boolean(
        help="Tick once the person confirmed being the debtor (or the person in "
        "charge of its payments). Only then may the debt be mentioned.",
    )
    third_party = fields.Boolean(
        string="Someone Else Answered",
        help="The person on the line is not the debtor: say nothing about the "
        "debt; log the call as no answer, call back later or wrong number.",
    )
    # The amounts are computed only once the identity is confirmed: nothing to
    # read out to a third party even by mistake.
    currency_id = fields.Many2one(related="company_id.currency_id")
    amount_due = fields.Monetary(compute="_compute_disclosure")
    amount_overdue = fields.Monetary(compute="_compute_disclosure")
    due_move_ids = fields.Many2many(
        "account.move", string="Open Invoices", compute="_compute_disclosure"
    )
    allowed_outcome_ids = fields.Many2many(
        "dunning.outcome", compute="_compute_allowed_outcome_ids"
    )
    outcome_id = fields.Many2one(
        "dunning.outcome",
        domain="[('id', 'in', allowed_outcome_ids)]",
    )
    outcome_action = fields.Selection(related="outcome_id.action")
    outcome_description = fields.Text(related="outcome_id.description")
    note = fields.Text()
    duration = fields.Float(string="Duration (minutes)")
    callback_at = fields.Datetime(string="Call Back At")
    dispute_reason = fields.Selection(selection="_selection_dispute_reason")

    @api.model
    def _selection_dispute_reason(self):
        if "dunning.dispute" in self.env:
            return (
                self.env["dunning.dispute"]
                ._fields["reason"]
                ._description_selection(self.env)
            )
        return [("other", _("Other"))]

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        model = self.env.context.get("active_model")
        active_ids = self.env.context.get("active_ids") or []
        if model == "account.move" and active_ids and not values.get("move_ids"):
            moves = self.env["account.move"].browse(active_ids)
            partners = moves.commercial_partner_id
            if len(partners) > 1:
                raise UserError(_("Log a call about the invoices of one customer."))
            values["partner_id"] = partners.id
            values["company_id"] = moves.company_id[:1].id or values.get("company_id")
            values["move_ids"] = [fields.Command.set(moves.ids)]
        elif model == "res.partner" and active_ids and not values.get("partner_id"):
            values["partner_id"] = (
                self.env["res.partner"].browse(active_ids[:1]).commercial_partner_id.id
            )
        return values

    @api.depends("partner_id")
    def _compute_contact(self):
        for wizard in self:
            partner = wizard.partner_id
            invoice_address = partner.address_get(["invoice"]).get("invoice")
            contact = self.env["res.partner"].browse(invoice_address) or partner
            wizard.contact_name = contact.name or partner.name
            wizard.phone = (contact._dunning_call_number() if contact else False) or (
                partner._dunning_call_number() if partner else False
            )

    @api.depends("partner_id", "contact_name")
    def _compute_script(self):
        for wizard in self:
            user = self.env.user
            company = wizard.company_id
            steps = [
                _(
                    "Greet: good morning / good afternoon, speak calmly and "
                    'respectfully (use "usted").'
                ),
                _(
                    'Introduce yourself: "My name is %(user)s, I am calling on '
                    'behalf of %(company)s."',
                    user=escape(user.name),
                    company=escape(company.name),
                ),
                _(
                    "Ask for %(contact)s, the person in charge of %(customer)s's "
                    "payments.",
                    contact=Markup("<strong>%s</strong>") % (wizard.contact_name or ""),
                    customer=escape(wizard.partner_id.name or ""),
                ),
                _(
                    "Confirm the identity before anything else: full name and "
                    "position, and that they handle the payments. Say nothing "
                    "about the debt to anyone else; if someone else answers, "
                    "only ask when to call back."
                ),
                _(
                    "Then, and only then, state the purpose of the call and the "
                    "amount due; listen to the reason for the delay."
                ),
                _(
                    "Offer options: a payment date, partial payments, a payment "
                    "plan. Agree on a date and an amount and tell them they will "
                    "receive it in writing."
                ),
                _("Thank them for their time."),
            ]
            wizard.script = Markup("<ol>%s</ol>") % Markup("").join(
                Markup("<li>%s</li>") % Markup(step) for step in steps
            )

    @api.depends("partner_id", "company_id")
    def _compute_window_warning(self):
        now = fields.Datetime.now()
        for wizard in self:
            wizard.window_warning = False
            partner = wizard.partner_id.with_company(wizard.company_id)
            policy = partner._dunning_policy(wizard.company_id) if partner else False
            if not partner or not policy:
                continue
            window, zones = partner._dunning_contact_window(
                policy, company=wizard.company_id
            )
            if not is_open(window, now, zones):
                wizard.window_warning = _(
                    "Outside the customer's contact hours (%(window)s, in their "
                    "time zone %(zone)s): call another time.",
                    window=describe(window),
                    zone=zones[0],
                )

    @api.depends("partner_id", "company_id", "identity_confirmed", "third_party")
    def _compute_disclosure(self):
        today = fields.Date.context_today(self)
        for wizard in self:
            wizard.amount_due = wizard.amount_overdue = 0.0
            wizard.due_move_ids = False
            if not wizard._may_disclose():
                continue
            moves = self.env["account.move"].search(
                [
                    ("commercial_partner_id", "=", wizard.partner_id.id),
                    ("company_id", "=", wizard.company_id.id),
                    *OPEN_CUSTOMER_INVOICE_DOMAIN,
                ],
                order="dunning_due_date, id",
            )
            wizard.due_move_ids = moves
            wizard.amount_due = sum(moves.mapped("amount_residual_signed"))
            # Of an invoice paid by instalments, the instalments late only
            # (yesterday's due part), in the company's currency.
            yesterday = fields.Date.subtract(today, days=1)
            wizard.amount_overdue = sum(
                move.amount_residual_signed
                * move._dunning_split_due(yesterday)[0]
                / move.amount_residual
                for move in moves
                if move.amount_residual
            )

    @api.depends("identity_confirmed", "third_party")
    def _compute_allowed_outcome_ids(self):
        outcomes = self.env["dunning.outcome"].search([])
        for wizard in self:
            wizard.allowed_outcome_ids = (
                outcomes
                if wizard._may_disclose()
                else outcomes.filtered(lambda o: not o.requires_identity)
            )

    @api.onchange("third_party")
    def _onchange_third_party(self):
        if self.third_party:
            self.identity_confirmed = False

    @api.onchange("allowed_outcome_ids")
    def _onchange_allowed_outcome_ids(self):
        if self.outcome_id and self.outcome_id not in self.allowed_outcome_ids:
            self.outcome_id = False

    def _may_disclose(self):
        self.ensure_one()
        return bool(
            self.partner_id and self.identity_confirmed and not self.third_party
        )

    def action_log(self):
        """Save the log, then take the outcome's next step."""
        self.ensure_one()
        if not self.outcome_id:
            raise UserError(_("Choose the outcome of the contact."))
        if self.outcome_id.requires_identity and not self._may_disclose():
            raise UserError(
                _(
                    "Confirm that you are speaking with the debtor before logging "
                    '"%(outcome)s": nothing about the debt may be said to anyone '
                    "else.",
                    outcome=self.outcome_id.name,
                )
            )
        if self.outcome_action == "callback" and not self.callback_at:
            raise UserError(_("Choose when to call the customer back."))
        if self.outcome_action == "resend_invoice" and not self.move_ids:
            raise UserError(_("Select the open invoices the customer did not receive."))
        if self.outcome_action == "dispute" and not self.move_ids:
            raise UserError(_("Select the invoices the customer disputes."))
        if self.duration < 0:
            raise UserError(_("The duration of a contact cannot be negative."))
        interaction = (
            self.env["dunning.interaction"]
            .with_company(self.company_id)
            .create(
                {
                    "company_id": self.company_id.id,
                    "partner_id": self.partner_id.commercial_partner_id.id,
                    "move_ids": [fields.Command.set(self.move_ids.ids)],
                    "user_id": self.env.user.id,
                    "channel": self.channel,
                    "outcome_id": self.outcome_id.id,
                    "duration": self.duration,
                    "note": self.note,
                    "identity_confirmed": self._may_disclose(),
                    "third_party": self.third_party,
                    "callback_at": self.callback_at,
                }
            )
        )
        action = interaction._run_next_step(dispute_reason=self.dispute_reason)
        return action or {"type": "ir.actions.act_window_close"}
