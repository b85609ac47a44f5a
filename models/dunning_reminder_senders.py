"""The scheduled actions that send the outbox: one by default, more on demand.

Odoo runs a scheduled action in one cron worker at a time, on whatever server.
The dispatcher claims its batches with ``FOR UPDATE SKIP LOCKED``, so several
actions running :meth:`~.dunning_reminder_dispatch._cron_dispatch` at once share
the queue without sending anything twice: each extra sender is one more cron
worker (of any Odoo server) on the queue. Settings > Collections sets how many.
"""

from odoo import _, api, models
from odoo.exceptions import ValidationError

DISPATCH_CRON = "account_dunning.ir_cron_dunning_dispatch"
DISPATCH_CODE = "model._cron_dispatch()"
SENDERS_PARAM = "account_dunning.dispatch_senders"
MAX_SENDERS = 8


class DunningReminderSenders(models.Model):
    _inherit = "dunning.reminder"

    @api.model
    def _dispatch_crons(self):
        """The shipped sending action and its extra senders (copies of it)."""
        return (
            self.env["ir.cron"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [("model_id.model", "=", self._name), ("code", "=", DISPATCH_CODE)],
                order="id",
            )
        )

    @api.model
    def _trigger_dispatch(self, at=None):
        """Wake every sender, now or at ``at`` (a datetime or a list of them):
        the one place that asks for the outbox to be sent."""
        for cron in self._dispatch_crons().filtered("active"):
            cron._trigger(at=at)

    @api.model
    def _dispatch_switched_off(self):
        """An extra sender obeys the shipped action: switching that one off
        stops all sending, whatever the copies say."""
        cron_id = self.env.context.get("cron_id")
        shipped = self.env.ref(DISPATCH_CRON, raise_if_not_found=False)
        return bool(
            cron_id and shipped and cron_id != shipped.id and not shipped.sudo().active
        )

    @api.model
    def _set_dispatch_senders(self, count):
        """Keep ``count`` sending actions: the shipped one and ``count - 1``
        copies, created or removed here and nowhere else."""
        if not 1 <= count <= MAX_SENDERS:
            raise ValidationError(
                _(
                    "Between 1 and %(max)s senders: each one takes a cron worker.",
                    max=MAX_SENDERS,
                )
            )
        shipped = self.env.ref(DISPATCH_CRON).sudo()
        extras = self._dispatch_crons() - shipped
        for number in range(len(extras) + 2, count + 1):
            extras |= shipped.copy(
                {
                    "name": _(
                        "%(name)s (sender %(number)s)", name=shipped.name, number=number
                    ),
                    "active": True,
                }
            )
        extras.sorted("id")[count - 1 :].unlink()
        self.env["ir.config_parameter"].sudo().set_param(SENDERS_PARAM, count)
