from markupsafe import Markup

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import ValidationError

DISPUTE_REASONS = [
    ("not_received", "Invoice not received"),
    ("wrong_amount", "Wrong amount"),
    ("goods_issue", "Problem with the goods or service"),
    ("already_paid", "Already paid"),
    ("other", "Other"),
]
DISPUTE_SOURCES = [
    ("manual", "Registered by hand"),
    ("call", "Phone call"),
    ("portal", "Customer page"),
]


def text_to_html(text):
    """``text`` as HTML showing exactly what was typed: escaped, line breaks kept.

    The comment of a dispute may come from the public customer page: put raw
    into an HTML field (the activity's note, and the email telling the
    collector about it), sanitising would still keep links and images chosen by
    whoever holds the link. Not ``odoo.tools.plaintext2html``: it turns the
    addresses in the text into clickable links, and a link typed by the public
    must stay text in the collector's inbox.
    """
    return Markup("<p>%s</p>") % Markup("<br/>").join(text.splitlines())


class DunningDispute(models.Model):
    """A customer disputes some invoices: they leave the reminder flow until the
    dispute is resolved or rejected.

    While open, the invoices point to it (``account.move.dunning_dispute_id``): the
    planner skips them and their queued reminders are cancelled. Resolving or
    rejecting it puts them back in the flow.
    """

    _name = "dunning.dispute"
    _description = "Invoice Dispute"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "create_date desc, id desc"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        readonly=True,
        default=lambda self: self.env.company,
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="restrict",
        tracking=True,
    )
    move_ids = fields.Many2many(
        "account.move",
        "dunning_dispute_account_move_rel",
        "dispute_id",
        "move_id",
        string="Invoices",
        required=True,
        check_company=True,
        domain="[('commercial_partner_id', '=', partner_id), "
        "('move_type', '=', 'out_invoice'), ('state', '=', 'posted')]",
    )
    reason = fields.Selection(
        DISPUTE_REASONS, required=True, default="other", tracking=True
    )
    comment = fields.Text(help="What the customer says is wrong.")
    attachment_ids = fields.Many2many(
        "ir.attachment",
        "dunning_dispute_ir_attachment_rel",
        "dispute_id",
        "attachment_id",
        string="Attachments",
    )
    state = fields.Selection(
        [("open", "Open"), ("resolved", "Resolved"), ("rejected", "Rejected")],
        default="open",
        required=True,
        readonly=True,
        index=True,
        tracking=True,
        copy=False,
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user if not self.env.user.share else False,
        index=True,
        tracking=True,
        domain="[('share', '=', False)]",
    )
    source = fields.Selection(
        DISPUTE_SOURCES, default="manual", required=True, readonly=True
    )
    resolution = fields.Text(help="How the dispute was settled.")
    date_closed = fields.Date(string="Closed On", readonly=True, copy=False)

    @api.depends("partner_id", "reason")
    def _compute_display_name(self):
        reasons = dict(self._fields["reason"]._description_selection(self.env))
        for dispute in self:
            dispute.display_name = _(
                "%(partner)s: %(reason)s",
                partner=dispute.partner_id.display_name or "",
                reason=reasons.get(dispute.reason, ""),
            )

    @api.constrains("move_ids", "partner_id")
    def _check_moves(self):
        for dispute in self:
            if dispute.move_ids.filtered(lambda m: m.move_type != "out_invoice"):
                raise ValidationError(_("Only customer invoices can be disputed."))
            if dispute.move_ids.commercial_partner_id != dispute.partner_id:
                raise ValidationError(
                    _(
                        "The disputed invoices must all belong to %(partner)s.",
                        partner=dispute.partner_id.display_name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("partner_id"):
                partner = self.env["res.partner"].browse(vals["partner_id"])
                vals["partner_id"] = partner.commercial_partner_id.id
        disputes = super().create(vals_list)
        disputes.filtered(lambda d: d.state == "open")._on_opened()
        return disputes

    # ------------------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------------------

    def action_resolve(self):
        """The dispute is settled: the invoices that are still due are reminded
        again."""
        self._close("resolved")
        return True

    def action_reject(self):
        """The claim does not stand: the invoices go back to the reminder flow."""
        self._close("rejected")
        return True

    def action_view_invoices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action["domain"] = [("id", "in", self.move_ids.ids)]
        action["context"] = {"create": False}
        return action

    # ------------------------------------------------------------------------------
    # API for the other flows (call log, customer page)
    # ------------------------------------------------------------------------------

    @api.model
    def _dunning_open(
        self, moves, reason, comment=None, source="manual", attachments=None
    ):
        """Record a dispute about ``moves``; they leave the reminder flow at once.

        :raise ValidationError: invalid reason or invoices; nothing is recorded
        :return: the new ``dunning.dispute``
        """
        if reason not in dict(DISPUTE_REASONS):
            raise ValidationError(
                _("Unknown dispute reason: %(reason)s", reason=reason)
            )
        if source not in dict(DISPUTE_SOURCES):
            raise ValidationError(_("Unknown dispute source: %(value)s", value=source))
        if not moves:
            raise ValidationError(_("Select at least one invoice to dispute."))
        not_open = moves.filtered(lambda m: not m._is_dunning_open())
        if not_open:
            raise ValidationError(
                _(
                    "Only open customer invoices can be disputed; not %(invoices)s.",
                    invoices=", ".join(not_open.mapped("display_name")),
                )
            )
        if len(moves.commercial_partner_id) > 1 or len(moves.company_id) > 1:
            raise ValidationError(
                _("The disputed invoices must belong to one customer and company.")
            )
        partner = moves.commercial_partner_id
        return self.create(
            {
                "partner_id": partner.id,
                "company_id": moves.company_id.id,
                "move_ids": [fields.Command.set(moves.ids)],
                "reason": reason,
                "comment": comment or False,
                "source": source,
                "user_id": self._default_responsible(partner, moves.company_id).id,
                "attachment_ids": [fields.Command.set(attachments.ids)]
                if attachments
                else [],
            }
        )

    # ------------------------------------------------------------------------------
    # Consequences
    # ------------------------------------------------------------------------------

    def _on_opened(self):
        for dispute in self:
            already = dispute.move_ids.filtered(
                lambda m, d=dispute: m.dunning_dispute_id and m.dunning_dispute_id != d
            )
            if already:
                raise ValidationError(
                    _(
                        "%(invoices)s are already disputed.",
                        invoices=", ".join(already.mapped("display_name")),
                    )
                )
            # The dispute decides the invoices' collection; the user opening it
            # may not edit invoices (a collector on the customer page's behalf).
            dispute.move_ids.sudo().write({"dunning_dispute_id": dispute.id})
            note = _(
                "Disputed by the customer (%(reason)s): no reminders until the "
                "dispute is settled.",
                reason=dict(DISPUTE_REASONS)[dispute.reason],
            )
            dispute.move_ids.sudo()._message_log_batch(
                bodies=dict.fromkeys(dispute.move_ids.ids, note)
            )
            # Opened from the customer page there is no internal user to sign
            # the activities' notifications: the system (OdooBot) does.
            scheduler = (
                dispute.with_user(SUPERUSER_ID) if self.env.user.share else dispute
            )
            for user in dispute._get_users_to_notify():
                scheduler.activity_schedule(
                    "mail.mail_activity_data_todo",
                    summary=user._dunning_in_my_lang(dispute).env._(
                        "Review the customer's dispute"
                    ),
                    note=text_to_html(dispute.comment or note),
                    user_id=user.id,
                )
        self.env["account.move"]._dunning_cancel_pending(
            self.move_ids, _("The customer disputes these invoices.")
        )

    def _close(self, state):
        disputes = self.filtered(lambda d: d.state == "open")
        disputes.write({"state": state, "date_closed": fields.Date.context_today(self)})
        for dispute in disputes:
            moves = dispute.move_ids.filtered(
                lambda m, d=dispute: m.dunning_dispute_id == d
            )
            # Back in the flow; see _on_opened for the sudo.
            moves.sudo().write({"dunning_dispute_id": False})
            dispute.activity_unlink(["mail.mail_activity_data_todo"])

    def _get_users_to_notify(self):
        """The customer's collector, else the collection managers of the company."""
        self.ensure_one()
        partner = self.partner_id.with_company(self.company_id)
        collector = partner.dunning_collector_id or self.user_id or partner.user_id
        if collector:
            return collector
        managers = self.env.ref("account_dunning.group_dunning_manager").users
        return managers.filtered(
            lambda u, c=self.company_id: (
                c in u.company_ids
                and not u.share
                and u.active
                and u.id != self.env.ref("base.user_root").id
            )
        )

    @api.model
    def _default_responsible(self, partner, company):
        if not self.env.user.share:
            return self.env.user
        partner = partner.with_company(company)
        return partner.dunning_collector_id or partner.user_id
