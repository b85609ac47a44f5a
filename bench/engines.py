"""The two engines under test, configured to do the same job on the same invoices.

* ``ours``: ``dunning.reminder._cron_plan()`` with the policy shipped in
  data/dunning_policy_data.xml (levels at -3, 0, 1, 7, 15 and 30 days from the
  due date; the 15-day level is a collector activity, the others email).
* ``oca``: OCA's ``account_credit_control`` 18.0: a ``credit.control.run`` for
  today over one policy whose levels are 1, 7, 15 and 30 days net after the due
  date (``net_days``), the company's default policy, on every receivable account.
  OCA cannot remind before the due date, so our -3 and 0 levels have no
  counterpart; and OCA only escalates from a level that was already *sent*
  (its level n needs a non-draft line of level n-1), so on a first run every
  overdue invoice gets a level-1 line, whereas ours moves each invoice straight
  to its highest reached level.

Each ``run_*`` function is timed by the caller; ``describe_*`` counts what the run
wrote, outside the timing.
"""

from odoo import Command

OCA_LEVELS = [
    (1, 1, "1 day net"),
    (2, 7, "7 days net"),
    (3, 15, "15 days net"),
    (4, 30, "30 days net"),
]
OCA_POLICY_NAME = "Bench: 1/7/15/30 days net"


def setup_oca(env):
    """The OCA policy equivalent to ours, default for the company."""
    company = env.company
    template = env.ref("account_credit_control.email_template_credit_control_base")
    receivable = env["account.account"].search(
        [("company_ids", "in", company.ids), ("account_type", "=", "asset_receivable")]
    )
    policy = env["credit.control.policy"].create(
        {
            "name": OCA_POLICY_NAME,
            "company_id": company.id,
            "account_ids": [Command.set(receivable.ids)],
            "level_ids": [
                Command.create(
                    {
                        "name": name,
                        "level": level,
                        "computation_mode": "net_days",
                        "delay_days": days,
                        "email_template_id": template.id,
                        "channel": "email",
                        "custom_text": f"Reminder: {name}.",
                        "custom_mail_text": f"<p>Reminder: {name}.</p>",
                    }
                )
                for level, days, name in OCA_LEVELS
            ],
        }
    )
    company.credit_policy_id = policy
    env.flush_all()
    return policy


def our_policy_levels(env):
    """(offset_days, name, channels) of the company's default policy, for the report."""
    policy = env.company.dunning_policy_id
    return [
        (level.offset_days, level.name, level._get_channels())
        for level in policy.level_ids.sorted("offset_days")
    ]


def run_ours(env, today):
    env["dunning.reminder"]._cron_plan()


def run_oca(env, today):
    policy = env["credit.control.policy"].search([("name", "=", OCA_POLICY_NAME)])
    assert len(policy) == 1, "the OCA policy is missing: was the database generated?"
    run = env["credit.control.run"].create(
        {"date": today, "policy_ids": [Command.set(policy.ids)]}
    )
    run.generate_credit_lines()


def expected_counts(env, today):
    """What both engines should find, straight from the invoices."""
    cr = env.cr
    cr.execute(
        """
        SELECT COUNT(*) FILTER (WHERE invoice_date_due <= %(today)s::date - 1),
               COUNT(*) FILTER (WHERE invoice_date_due <= %(today)s::date + 3),
               COUNT(DISTINCT commercial_partner_id)
                   FILTER (WHERE invoice_date_due <= %(today)s::date + 3),
               COUNT(*)
          FROM account_move
         WHERE move_type = 'out_invoice' AND state = 'posted' AND amount_residual > 0
        """,
        {"today": today},
    )
    overdue, reached, partners, open_invoices = cr.fetchone()
    return {
        "open_invoices": open_invoices,
        # OCA's first level and our first level after the due date: 1 day late
        "overdue_1_day": overdue,
        # our first level is 3 days before the due date
        "reached_minus_3": reached,
        "partners_reached": partners,
    }


def describe_ours(env):
    cr = env.cr
    cr.execute("SELECT COUNT(*), COUNT(DISTINCT partner_id) FROM dunning_reminder")
    reminders, partners = cr.fetchone()
    cr.execute("SELECT COUNT(*), COUNT(DISTINCT move_id) FROM dunning_reminder_line")
    decisions, moves = cr.fetchone()
    cr.execute(
        """
        SELECT level.offset_days, COUNT(*)
          FROM account_move move
          JOIN dunning_level level ON level.id = move.dunning_level_id
      GROUP BY level.offset_days ORDER BY level.offset_days
        """
    )
    by_level = {str(offset): n for offset, n in cr.fetchall()}
    cr.execute(
        """
        SELECT COUNT(DISTINCT line.move_id)
          FROM dunning_reminder_line line
          JOIN dunning_level level ON level.id = line.level_id
         WHERE level.offset_days >= 1
        """
    )
    overdue = cr.fetchone()[0]
    cr.execute(
        "SELECT channel, COUNT(*) FROM dunning_reminder"
        " GROUP BY channel ORDER BY channel"
    )
    by_channel = dict(cr.fetchall())
    cr.execute("SELECT COUNT(*) FROM dunning_reminder_account_move_rel")
    listed = cr.fetchone()[0]
    return {
        "rows_created": reminders + decisions,
        "reminders": reminders,
        "reminders_by_channel": by_channel,
        "partners": partners,
        "decisions": decisions,
        "invoices_leveled": moves,
        "invoices_by_level_offset": by_level,
        "invoices_overdue_1_day": overdue,
        "statement_links": listed,
    }


def describe_oca(env):
    cr = env.cr
    cr.execute(
        """
        SELECT COUNT(*), COUNT(DISTINCT move_line_id), COUNT(DISTINCT partner_id)
          FROM credit_control_line
        """
    )
    lines, move_lines, partners = cr.fetchone()
    cr.execute(
        "SELECT level, COUNT(*) FROM credit_control_line GROUP BY level ORDER BY level"
    )
    by_level = {str(level): n for level, n in cr.fetchall()}
    cr.execute(
        "SELECT channel, COUNT(*) FROM credit_control_line"
        " GROUP BY channel ORDER BY channel"
    )
    by_channel = dict(cr.fetchall())
    cr.execute("SELECT COUNT(*) FROM mail_message WHERE model = 'credit.control.line'")
    messages = cr.fetchone()[0]
    return {
        "rows_created": lines,
        "credit_lines": lines,
        "lines_by_level": by_level,
        "lines_by_channel": by_channel,
        "partners": partners,
        "invoices_overdue_1_day": move_lines,
        "chatter_messages": messages,
    }


ENGINES = {
    "ours": (run_ours, describe_ours),
    "oca": (run_oca, describe_oca),
}
