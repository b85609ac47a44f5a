import logging
from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .dunning_reminder import OPEN_CUSTOMER_INVOICE_DOMAIN

_logger = logging.getLogger(__name__)

# The records a "Send WhatsApp" action can run on: customers and their invoices.
WHATSAPP_ACTION_MODELS = ("res.partner", "account.move")


class IrActionsServer(models.Model):
    """A "Send WhatsApp" server action, for automation rules and the Action menu.

    It queues one WhatsApp reminder per customer (and currency) with the chosen
    template; the dispatch cron sends it through the outbox, with the same
    consent, contact-window, pacing and retry rules as every reminder.
    """

    _inherit = "ir.actions.server"

    state = fields.Selection(
        selection_add=[("dunning_whatsapp", "Send WhatsApp")],
        ondelete={"dunning_whatsapp": "cascade"},
    )
    dunning_whatsapp_template_id = fields.Many2one(
        "dunning.whatsapp.template",
        string="WhatsApp Template",
        ondelete="restrict",
        domain="[('status', '=', 'approved')]",
        help="The approved template sent to each customer of the records: about "
        "the selected invoices, or about a customer's open invoices.",
    )

    @api.depends("state")
    def _compute_available_model_ids(self):
        whatsapp = self.filtered(lambda action: action.state == "dunning_whatsapp")
        if whatsapp:
            models_ = self.env["ir.model"].search(
                [("model", "in", WHATSAPP_ACTION_MODELS)]
            )
            for action in whatsapp:
                action.available_model_ids = models_.ids
        return super(IrActionsServer, self - whatsapp)._compute_available_model_ids()

    @api.constrains("state", "model_id", "dunning_whatsapp_template_id")
    def _check_dunning_whatsapp(self):
        for action in self.filtered(lambda a: a.state == "dunning_whatsapp"):
            if action.model_id.model not in WHATSAPP_ACTION_MODELS:
                raise ValidationError(
                    _(
                        "A Send WhatsApp action runs on customers or invoices, "
                        "not on %(model)s.",
                        model=action.model_id.name,
                    )
                )
            if not action.dunning_whatsapp_template_id:
                raise ValidationError(
                    _("Choose the WhatsApp template of %(action)s.", action=action.name)
                )

    def _run_action_dunning_whatsapp_multi(self, eval_context=None):
        """Queue the WhatsApp reminders of the action's records; never send here.

        Automation rules run inside the transaction of whoever changed the
        record: a call to Meta (and the outbox's commit) has no place there, so
        the reminders are queued and the dispatch cron is woken up.
        """
        records = eval_context.get("records") or eval_context.get("record")
        if not records or self._is_recompute():
            return False
        queued, refused = self._dunning_whatsapp_queue(records)
        # Shown when run from the Action menu; automation rules ignore it.
        message = _("%(count)s WhatsApp reminder(s) queued.", count=len(queued))
        if refused:
            message = _(
                "%(message)s Not sent: %(reasons)s",
                message=message,
                reasons="; ".join(refused),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning" if refused else "success",
                "title": _("Send WhatsApp"),
                "message": message,
                "sticky": bool(refused),
            },
        }

    # ------------------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------------------

    def _dunning_whatsapp_queue(self, records):
        """Queue one reminder per customer and currency; return them and the
        reasons of the customers left out (also logged in their chatter)."""
        self.ensure_one()
        template = self.dunning_whatsapp_template_id
        company = template.account_id.company_id
        # An automation rule runs as whoever triggered it, who may not be a
        # collector: queueing the reminder is the collection engine's job.
        reminders = self.env["dunning.reminder"].sudo()
        groups = self._dunning_whatsapp_groups(records, company)
        queued = reminders.browse()
        refused = []
        for (partner, currency), moves in groups.items():
            reason = self._dunning_whatsapp_refusal(partner, moves, template)
            if reason:
                refused.append(f"{partner.display_name}: {reason}")
                partner.sudo()._message_log(
                    body=_(
                        "%(action)s: no WhatsApp message sent. %(reason)s",
                        action=self.name,
                        reason=reason,
                    )
                )
                continue
            if reminders.search_count(
                [
                    ("partner_id", "=", partner.id),
                    ("company_id", "=", company.id),
                    ("currency_id", "=", currency.id),
                    ("channel", "=", "whatsapp"),
                    ("whatsapp_template_id", "=", template.id),
                    ("state", "in", ("queued", "deferred", "sending")),
                ],
                limit=1,
            ):
                continue  # already on its way: a rule firing twice sends once
            queued |= reminders.create(
                {
                    "origin": "automation",
                    "company_id": company.id,
                    "partner_id": partner.id,
                    "level_id": self._dunning_whatsapp_level(moves).id,
                    "channel": "whatsapp",
                    "whatsapp_template_id": template.id,
                    "currency_id": currency.id,
                    "move_ids": [fields.Command.set(moves.ids)],
                    "amount_due": sum(moves.mapped("amount_residual")),
                }
            )
        if queued:
            self.env["dunning.reminder"]._trigger_dispatch()
        _logger.info(
            "Server action %s queued %s WhatsApp reminder(s), refused %s",
            self.id,
            len(queued),
            len(refused),
        )
        return queued, refused

    @api.model
    def _dunning_whatsapp_groups(self, records, company):
        """The open invoices of ``company`` per (customer, currency).

        Invoices: the selected ones that are open; customers: all their open
        invoices.
        """
        moves = self.env["account.move"].sudo()
        if records._name == "account.move":
            moves = records.sudo().filtered(
                lambda m: (
                    m.company_id == company
                    and m._is_dunning_open()
                    and not m.dunning_excluded
                )
            )
        else:
            moves = moves.search(
                [
                    ("commercial_partner_id", "in", records.commercial_partner_id.ids),
                    ("company_id", "=", company.id),
                    *OPEN_CUSTOMER_INVOICE_DOMAIN,
                    ("invoice_date_due", "!=", False),
                    ("dunning_excluded", "=", False),
                ]
            )
        groups = defaultdict(lambda: self.env["account.move"].sudo())
        for move in moves.sorted(lambda m: (m.dunning_due_date, m.id)):
            groups[(move.commercial_partner_id, move.currency_id)] |= move
        return groups

    @api.model
    def _dunning_whatsapp_refusal(self, partner, moves, template):
        """Why ``partner`` must not get this WhatsApp message now, or None.

        Dispatch checks again when it sends: consent may change meanwhile.
        """
        policy = moves[:1]._get_dunning_policy()
        if template.status != "approved" or template.needs_review:
            return _(
                "The WhatsApp template %(template)s cannot be sent (%(status)s).",
                template=template.display_name,
                status=dict(
                    template._fields["status"]._description_selection(self.env)
                )[template.status],
            )
        if not policy or not policy.level_ids:
            return _("No collection policy applies to this customer.")
        if partner.dunning_excluded:
            return _("The customer is excluded from collections.")
        if partner.whatsapp_opt_out:
            return _("The customer opted out of WhatsApp.")
        if policy.whatsapp_require_opt_in and not partner.whatsapp_opt_in:
            return _("The customer did not agree to receive WhatsApp messages.")
        if not partner.whatsapp_number:
            return _("The customer has no valid mobile number for WhatsApp.")
        return None

    @api.model
    def _dunning_whatsapp_level(self, moves):
        """The level the reminder belongs to: the highest reached by the
        invoices, else the policy's first (it decides the policy's rules)."""
        reached = moves.dunning_level_id.sorted("offset_days")[-1:]
        return reached or moves[:1]._get_dunning_policy()._get_levels_by_rank()[:1]
