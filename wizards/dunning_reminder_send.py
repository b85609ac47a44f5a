from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.dunning_channel import channel_selection
from ..models.dunning_reminder import OPEN_CUSTOMER_INVOICE_DOMAIN


class DunningReminderSend(models.TransientModel):
    """Send a collection reminder now, about the selected invoices, after a preview.

    One reminder per customer and currency, like the planner; but a manual reminder
    takes no decision (``dunning.reminder.line``), so it never blocks nor advances
    the automatic ladder. It still goes through dispatch, and so through the
    customer's contact window, exclusion and pause.
    """

    _name = "dunning.reminder.send"
    _description = "Send Collection Reminder"

    move_ids = fields.Many2many("account.move", string="Selected Invoices")
    open_move_ids = fields.Many2many(
        "account.move",
        string="Invoices",
        compute="_compute_open_move_ids",
        help="The selected invoices that can be reminded: open customer invoices "
        "not excluded from collections.",
    )
    skipped_count = fields.Integer(compute="_compute_open_move_ids")
    policy_ids = fields.Many2many("dunning.policy", compute="_compute_policy_ids")
    partner_ids = fields.Many2many(
        "res.partner", string="Customers", compute="_compute_partner_ids"
    )
    partner_count = fields.Integer(compute="_compute_partner_ids")
    reachable_level_ids = fields.Many2many(
        "dunning.level",
        string="Levels Reached",
        compute="_compute_reachable_level_ids",
        help="The levels the selected invoices reached, and the preventive ones "
        "of invoices not due yet: a message never says what the invoices' dates "
        'contradict ("due today" of an invoice due next month).',
    )
    level_id = fields.Many2one(
        "dunning.level",
        compute="_compute_level_id",
        store=True,
        readonly=False,
        domain="[('id', 'in', reachable_level_ids)]",
        help="Decides the message. Defaults to the highest level the invoices have "
        "reached.",
    )
    channel = fields.Selection(
        selection=channel_selection,
        compute="_compute_channel",
        store=True,
        readonly=False,
        required=True,
    )
    preview_partner_id = fields.Many2one(
        "res.partner",
        string="Preview for",
        compute="_compute_preview_partner_id",
        store=True,
        readonly=False,
        domain="[('id', 'in', partner_ids)]",
    )
    preview_recipient = fields.Char(string="To", compute="_compute_preview")
    preview_subject = fields.Char(string="Subject", compute="_compute_preview")
    preview_body = fields.Html(
        string="Message", compute="_compute_preview", sanitize=False
    )
    preview_error = fields.Char(compute="_compute_preview")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if "move_ids" not in fields_list or values.get("move_ids"):
            return values
        model = self.env.context.get("active_model")
        active_ids = self.env.context.get("active_ids") or []
        if model == "account.move":
            values["move_ids"] = [fields.Command.set(active_ids)]
        elif model == "res.partner":
            partners = self.env["res.partner"].browse(active_ids)
            moves = self.env["account.move"].search(
                [
                    ("commercial_partner_id", "in", partners.commercial_partner_id.ids),
                    ("company_id", "in", self.env.companies.ids),
                    *OPEN_CUSTOMER_INVOICE_DOMAIN,
                    ("dunning_excluded", "=", False),
                ]
            )
            values["move_ids"] = [fields.Command.set(moves.ids)]
        return values

    @api.depends("move_ids")
    def _compute_open_move_ids(self):
        for wizard in self:
            moves = wizard.move_ids.filtered(
                lambda m: m._is_dunning_open() and not m.dunning_excluded
            )
            wizard.open_move_ids = moves._origin
            wizard.skipped_count = len(wizard.move_ids) - len(moves)

    @api.depends("open_move_ids")
    def _compute_policy_ids(self):
        for wizard in self:
            policies = self.env["dunning.policy"]
            for move in wizard.open_move_ids:
                policies |= move._get_dunning_policy()
            wizard.policy_ids = policies

    @api.depends("open_move_ids")
    def _compute_partner_ids(self):
        for wizard in self:
            wizard.partner_ids = wizard.open_move_ids.commercial_partner_id
            wizard.partner_count = len(wizard.partner_ids)

    @api.depends("open_move_ids")
    def _compute_reachable_level_ids(self):
        today = fields.Date.context_today(self)
        for wizard in self:
            levels = self.env["dunning.level"]
            for move in wizard.open_move_ids:
                days = (today - move._dunning_ladder_date()).days
                ladder = move._get_dunning_policy()._get_levels_by_rank()
                levels |= ladder.filtered(
                    lambda lv, d=days: (
                        lv.offset_days <= d or (d < 0 and lv.offset_days < 0)
                    )
                )
                # A level the invoice was moved to (a broken promise escalates).
                levels |= move.dunning_level_id & ladder
            wizard.reachable_level_ids = levels

    @api.depends("open_move_ids", "reachable_level_ids")
    def _compute_level_id(self):
        today = fields.Date.context_today(self)
        for wizard in self:
            # In the form, relational values are new records wrapping the saved
            # ones: compare their origins.
            policies = wizard.policy_ids._origin
            if wizard.level_id and wizard.level_id._origin.policy_id in policies:
                continue
            reached = self.env["dunning.level"]
            first = wizard.reachable_level_ids.sorted("offset_days")[:1]
            for move in wizard.open_move_ids:
                levels = move._get_dunning_policy()._get_levels_by_rank()
                days = (today - move._dunning_ladder_date()).days
                candidates = levels.filtered(lambda lv, d=days: lv.offset_days <= d)
                if move.dunning_level_id in levels:
                    candidates |= move.dunning_level_id
                top = candidates.sorted("offset_days")[-1:]
                if top and (not reached or top.offset_days > reached.offset_days):
                    reached = top
            wizard.level_id = reached or first

    @api.depends("level_id")
    def _compute_channel(self):
        for wizard in self:
            channels = wizard.level_id._get_channels() if wizard.level_id else []
            if channels and wizard.channel not in channels:
                wizard.channel = channels[0]
            elif not wizard.channel:
                wizard.channel = "email"

    @api.depends("partner_ids")
    def _compute_preview_partner_id(self):
        for wizard in self:
            partners = wizard.partner_ids._origin
            if wizard.preview_partner_id._origin not in partners:
                wizard.preview_partner_id = partners[:1]

    @api.depends("preview_partner_id", "level_id", "channel", "open_move_ids")
    def _compute_preview(self):
        for wizard in self:
            wizard.preview_recipient = False
            wizard.preview_subject = False
            wizard.preview_body = False
            wizard.preview_error = False
            groups = wizard._group_moves()
            partner = wizard.preview_partner_id._origin
            key = next((k for k in groups if k[0] == partner), None)
            if not key or not wizard.level_id:
                continue
            try:
                wizard._render_preview(*key, groups[key])
            except UserError as error:
                wizard.preview_error = error.args[0]

    def action_send(self):
        """Create one reminder per customer and currency and dispatch it now."""
        self.ensure_one()
        if not self.open_move_ids:
            raise UserError(_("None of the selected invoices is open to collect."))
        self._check_level()
        groups = self._group_moves()
        reminders = self.env["dunning.reminder"].create(
            [
                self._prepare_reminder_values(*key, moves)
                for key, moves in groups.items()
            ]
        )
        reminders.sudo()._enqueue_now()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": _("Collection reminders"),
                "message": _(
                    "%(count)s reminder(s) queued: they leave in a moment, inside "
                    "each customer's contact hours and caps. Their status shows "
                    "under Collections > Reminders.",
                    count=len(reminders),
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _check_level(self):
        if not self.level_id:
            raise UserError(_("Choose the level of the reminder."))
        if self.level_id._origin not in self.reachable_level_ids._origin:
            raise UserError(
                _(
                    "The selected invoices have not reached level %(level)s: its "
                    "message would not be true of them. Choose a level they "
                    "reached.",
                    level=self.level_id.display_name,
                )
            )
        plugin = self.env["dunning.channel"]._dunning_channel(self.channel)
        problem = plugin._level_problem(self.level_id)
        if problem:
            raise UserError(
                _(
                    "%(problem)s Or choose another level or another channel.",
                    problem=problem,
                )
            )

    def _group_moves(self):
        """The open selected invoices per (customer, company, currency)."""
        self.ensure_one()
        groups = defaultdict(lambda: self.env["account.move"])
        moves = self.open_move_ids._origin
        for move in moves.sorted(lambda m: (m.dunning_due_date, m.id)):
            key = (move.commercial_partner_id, move.company_id, move.currency_id)
            groups[key] |= move
        return groups

    def _prepare_reminder_values(self, partner, company, currency, moves):
        return {
            "origin": "manual",
            "company_id": company.id,
            "partner_id": partner.id,
            "level_id": self.level_id._origin.id,
            "channel": self.channel,
            "currency_id": currency.id,
            "move_ids": [fields.Command.set(moves.ids)],
            "amount_due": sum(moves.mapped("amount_residual")),
        }

    def _render_preview(self, partner, company, currency, moves):
        """Render the message as dispatch would, on an unsaved reminder.

        Nothing is written: the reminder is a new record living in the cache, and
        the template engines read it like a saved one. It lists the customer's
        whole open statement in that currency, as the sent message will.
        """
        self.ensure_one()
        reminder = self.env["dunning.reminder"].new(
            self._prepare_reminder_values(partner, company, currency, moves)
        )
        statement = reminder._get_statement_moves()
        reminder.move_ids = statement
        reminder.amount_due = sum(
            -m.amount_residual if m.move_type == "out_refund" else m.amount_residual
            for m in statement
        )
        preview = (
            self.env["dunning.channel"]
            ._dunning_channel(self.channel)
            ._preview(reminder)
        )
        self.preview_recipient = preview.get("recipient")
        self.preview_subject = preview.get("subject")
        self.preview_body = preview.get("body")
