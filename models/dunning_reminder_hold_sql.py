"""The hold and the pacing day in SQL, for planning, Next Reminder and the
gate (models/dunning_reminder_plan.py, account_move.py)."""

from odoo.tools import SQL


def promised_sql(move_id, today):
    """SQL: the invoice ``move_id`` is on hold on ``today`` for what the
    customer said: covered by an open payment promise (until its grace date),
    or a payment to verify (until its day), as ``account.move._dunning_held``
    says (disputes are checked apart, on the column); for the set-based
    queries of planning and statements."""
    return SQL(
        """(EXISTS (
            SELECT 1
              FROM dunning_promise_account_move_rel promised
              JOIN dunning_promise promise ON promise.id = promised.promise_id
             WHERE promised.move_id = %(move)s
               AND promise.state = 'open'
               AND promise.date_grace >= %(today)s
        ) OR EXISTS (
            SELECT 1
              FROM account_move to_verify
             WHERE to_verify.id = %(move)s
               AND to_verify.dunning_verify_until >= %(today)s
        ))""",
        move=move_id,
        today=today,
    )


def reminder_day_sql(alias):
    """SQL: the day the reminder ``alias`` counts from for the policy's days
    between reminders: its sending day, or for one still waiting (deferred to
    Monday, say) the day it is due to go out. Planning and the invoices' "Next
    Reminder" count the same way."""
    return SQL(
        """CASE
           WHEN %(state)s IN ('queued', 'deferred', 'sending')
           THEN GREATEST(%(scheduled_at)s::date, %(plan_date)s)
           ELSE COALESCE(%(sent_at)s::date, %(plan_date)s)
           END""",
        state=SQL.identifier(alias, "state"),
        scheduled_at=SQL.identifier(alias, "scheduled_at"),
        plan_date=SQL.identifier(alias, "plan_date"),
        sent_at=SQL.identifier(alias, "sent_at"),
    )
