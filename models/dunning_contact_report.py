"""Which message works: every reminder that reached a customer, with what
came of it.

One row per level reminder sent (whatever its channel), with 0 or 100 in each
result column, so that the average Odoo's pivot and graph show is the rate in
percent: delivered, read (for the channels that report it), replied (the
customer wrote back by e-mail or WhatsApp within 7 days), paid within 7 and
within 30 days (a payment reconciled with an invoice the message listed, dated
from the day it was sent). Grouped by channel, level, template, tone, collector,
policy or month.
"""

from odoo import fields, models, tools
from odoo.tools import SQL

REPLY_DAYS = 7


class DunningContactReport(models.Model):
    _name = "dunning.contact.report"
    _description = "Reminder Results"
    _auto = False
    _order = "date desc"

    date = fields.Datetime(string="Sent", readonly=True)
    reminder_id = fields.Many2one("dunning.reminder", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    user_id = fields.Many2one("res.users", string="Collector", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    policy_id = fields.Many2one("dunning.policy", readonly=True)
    level_id = fields.Many2one("dunning.level", readonly=True)
    channel = fields.Selection(
        selection=lambda self: self.env["dunning.channel"]._dunning_channel_selection(),
        readonly=True,
    )
    tone = fields.Selection(
        related="level_id.tone", readonly=True, help="The level's tone."
    )
    mail_template_id = fields.Many2one(
        "mail.template", string="Email Template", readonly=True
    )
    whatsapp_template_id = fields.Many2one(
        "dunning.whatsapp.template", string="WhatsApp Template", readonly=True
    )
    sms_template_id = fields.Many2one(
        "sms.template", string="SMS Template", readonly=True
    )
    reminder_count = fields.Integer(string="Reminders", readonly=True)
    delivered_rate = fields.Float(
        string="Delivered (%)",
        readonly=True,
        aggregator="avg",
        help="Share of the reminders the provider reported delivered (WhatsApp, "
        "SMS); e-mail reports no delivery.",
    )
    read_rate = fields.Float(
        string="Read (%)",
        readonly=True,
        aggregator="avg",
        help="Share of the reminders the customer read (WhatsApp).",
    )
    replied_rate = fields.Float(
        string="Replied (%)",
        readonly=True,
        aggregator="avg",
        help="Share of the reminders the customer answered, by e-mail or "
        "WhatsApp, within 7 days.",
    )
    paid_7_rate = fields.Float(
        string="Paid within 7 Days (%)",
        readonly=True,
        aggregator="avg",
        help="Share of the reminders followed within 7 days by a payment of an "
        "invoice they listed.",
    )
    paid_30_rate = fields.Float(
        string="Paid within 30 Days (%)",
        readonly=True,
        aggregator="avg",
        help="Share of the reminders followed within 30 days by a payment of an "
        "invoice they listed.",
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                "CREATE OR REPLACE VIEW %s AS (%s)",
                SQL.identifier(self._table),
                self._query(),
            )
        )

    def _query(self):
        return SQL(
            """
            WITH sent AS (
                SELECT reminder.id,
                       reminder.sent_at,
                       reminder.partner_id,
                       reminder.user_id,
                       reminder.company_id,
                       reminder.policy_id,
                       reminder.level_id,
                       reminder.channel,
                       reminder.state,
                       reminder.mail_template_id,
                       reminder.whatsapp_template_id,
                       reminder.sms_template_id
                  FROM dunning_reminder reminder
                 WHERE reminder.kind = 'reminder'
                   AND reminder.state IN ('sent', 'delivered', 'read')
                   AND reminder.sent_at IS NOT NULL
            ),
            -- The first payment of an invoice the reminder listed, made on or
            -- after the day it was sent.
            paid AS (
                SELECT sent.id,
                       MIN(part.max_date) - sent.sent_at::date AS days
                  FROM sent
                  JOIN dunning_reminder_account_move_rel rel
                    ON rel.reminder_id = sent.id
                  JOIN account_move_line line
                    ON line.move_id = rel.move_id
                   AND line.display_type = 'payment_term'
                  JOIN account_partial_reconcile part
                    ON part.debit_move_id = line.id
                   AND part.max_date >= sent.sent_at::date
                 GROUP BY sent.id, sent.sent_at
            )
            SELECT sent.id,
                   sent.id AS reminder_id,
                   sent.sent_at AS date,
                   sent.partner_id,
                   sent.user_id,
                   sent.company_id,
                   sent.policy_id,
                   sent.level_id,
                   sent.channel,
                   sent.mail_template_id,
                   sent.whatsapp_template_id,
                   sent.sms_template_id,
                   1 AS reminder_count,
                   CASE WHEN sent.state IN ('delivered', 'read') THEN 100.0
                        ELSE 0.0 END AS delivered_rate,
                   CASE WHEN sent.state = 'read' THEN 100.0 ELSE 0.0 END AS read_rate,
                   CASE WHEN EXISTS (
                            SELECT 1
                              FROM dunning_whatsapp_message answer
                             WHERE answer.partner_id = sent.partner_id
                               AND answer.direction = 'in'
                               AND answer.received_at >= sent.sent_at
                               AND answer.received_at
                                   < sent.sent_at + %(reply_window)s
                        ) OR EXISTS (
                            SELECT 1
                              FROM mail_message answer
                              JOIN res_partner author ON author.id = answer.author_id
                             WHERE answer.model = 'dunning.reminder'
                               AND answer.res_id = sent.id
                               AND answer.message_type = 'email'
                               AND COALESCE(author.commercial_partner_id, author.id)
                                   = sent.partner_id
                               AND answer.date >= sent.sent_at
                               AND answer.date
                                   < sent.sent_at + %(reply_window)s
                        )
                        THEN 100.0 ELSE 0.0 END AS replied_rate,
                   CASE WHEN paid.days <= 7 THEN 100.0 ELSE 0.0 END AS paid_7_rate,
                   CASE WHEN paid.days <= 30 THEN 100.0 ELSE 0.0 END AS paid_30_rate
              FROM sent
              LEFT JOIN paid ON paid.id = sent.id
            """,
            reply_window=SQL("make_interval(days => %s)", REPLY_DAYS),
        )
