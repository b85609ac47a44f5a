"""More than one scheduled action sends the outbox when Settings ask for it:
each is one more cron worker on the queue; the shipped one stays the switch."""

from datetime import timedelta

from freezegun import freeze_time

from odoo import SUPERUSER_ID, fields
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon


@tagged("post_install", "-at_install")
class TestDispatchSenders(DunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shipped = cls.env.ref("account_dunning.ir_cron_dunning_dispatch").sudo()
        cls.admin_env = cls.env(user=cls.env.ref("base.user_admin"), su=False)

    def set_senders(self, count):
        settings = self.admin_env["res.config.settings"].create(
            {"dunning_dispatch_senders": count}
        )
        settings.execute()

    def senders(self):
        return self.env["dunning.reminder"]._dispatch_crons()

    def test_settings_add_and_remove_senders(self):
        self.assertEqual(self.senders(), self.shipped)
        self.set_senders(3)
        senders = self.senders()
        self.assertEqual(len(senders), 3)
        self.assertEqual(senders[0], self.shipped)
        self.assertTrue(all(senders.mapped("active")))
        self.assertIn("(sender 3)", senders[2].name)
        # Settings show what is there.
        settings = self.admin_env["res.config.settings"].create({})
        self.assertEqual(settings.dunning_dispatch_senders, 3)
        self.set_senders(1)
        self.assertEqual(self.senders(), self.shipped)
        with self.assertRaises(ValidationError):
            self.env["dunning.reminder"]._set_dispatch_senders(0)

    def test_every_sender_is_woken(self):
        self.set_senders(2)
        at = fields.Datetime.to_datetime(TUESDAY_NOON_MX)
        self.env["dunning.reminder"]._trigger_dispatch(at=at)
        triggers = (
            self.env["ir.cron.trigger"]
            .sudo()
            .search([("cron_id", "in", self.senders().ids), ("call_at", "=", at)])
        )
        self.assertEqual(triggers.cron_id, self.senders())

    def test_extra_sender_sends_and_obeys_the_shipped_switch(self):
        self.set_senders(2)
        extra = self.senders()[1]
        self.create_invoice(due=TUESDAY - timedelta(days=10))
        Reminder = self.env["dunning.reminder"].with_user(SUPERUSER_ID)
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            queued = self.reminders(self.customer)
            self.assertEqual(queued.mapped("state"), ["queued"])

            self.shipped.active = False
            Reminder.with_context(cron_id=extra.id)._cron_dispatch()
            self.assertEqual(queued.state, "queued", "switched off: nobody sends")

            self.shipped.active = True
            Reminder.with_context(cron_id=extra.id)._cron_dispatch()
            self.run_mail_queue()
        self.assertEqual(queued.state, "sent", "the extra sender sends like the first")
