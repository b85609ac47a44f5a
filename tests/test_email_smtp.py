import socket
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from unittest.mock import patch

from aiosmtpd.controller import Controller
from freezegun import freeze_time

from odoo.modules import module
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.account_dunning.services.smtp_failure import EMAIL_MAX_ATTEMPTS

from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon

NOON = datetime(2026, 11, 24, 18, 0)
# Odoo logs a mail the server refused as an error, with its trace.
MAIL_LOGGER = "odoo.addons.mail.models.mail_mail"


class _Mailbox:
    """aiosmtpd handler keeping every envelope it receives.

    ``unknown`` addresses are refused for good (550); ``busy`` answers go to
    the next messages first, one each (a 4xx: greylisting, a full queue).
    """

    def __init__(self):
        self.envelopes = []
        self.unknown = set()
        self.busy = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.busy:
            return self.busy.pop(0)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpCommon(DunningCommon):
    """A real SMTP server on loopback (aiosmtpd) as the company's mail server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("es_MX")
        # The language is activated after the add-on was installed: load its
        # Spanish terms as an update of the add-on would.
        cls.env["ir.module.module"]._load_module_terms(
            ["account_dunning"], ["es_MX"], overwrite=True
        )
        cls.customer.lang = "es_MX"
        cls.invoice = cls.create_invoice(due=TUESDAY - timedelta(days=1))
        cls.template = cls.env.ref("account_dunning.mail_template_dunning_friendly")

    def setUp(self):
        super().setUp()
        self.mailbox = _Mailbox()
        self.port = _free_port()
        controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        controller.start()
        self.addCleanup(controller.stop)
        self.mail_server = (
            self.env["ir.mail_server"]
            .sudo()
            .create(
                {
                    "name": "Local test SMTP",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": self.port,
                    "smtp_encryption": "none",
                }
            )
        )

    def run_mail_queue(self):
        """The mail queue's cron, with a real SMTP session."""
        with patch.object(module, "current_test", False):
            self.env["mail.mail"].sudo().process_email_queue()

    def send_reminder(self):
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            self.dispatch()
        reminder = self.reminders(self.customer)
        # Odoo never opens an SMTP session while a test runs; this one must.
        with patch.object(module, "current_test", False):
            self.env["mail.mail"].sudo().process_email_queue(ids=reminder.mail_id.ids)
        return reminder

    def received(self):
        self.assertEqual(len(self.mailbox.envelopes), 1)
        envelope = self.mailbox.envelopes[0]
        return envelope, message_from_bytes(envelope.content, policy=policy.default)


@tagged("post_install", "-at_install")
class TestEmailSmtp(SmtpCommon):
    """A reminder leaves Odoo's mail queue through a real SMTP server."""

    def test_reminder_email_leaves_the_mail_queue(self):
        reminder = self.send_reminder()
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.mail_id.state, "sent")
        self.assertEqual(len(self.mailbox.envelopes), 1)

    def test_smtp_server_receives_the_customer_as_recipient(self):
        self.send_reminder()
        envelope, message = self.received()
        self.assertEqual(envelope.rcpt_tos, [self.customer.email])
        self.assertIn(self.customer.email, message["To"])
        self.assertIn(self.company.email, message["From"])

    def test_smtp_server_receives_the_subject_and_statement(self):
        reminder = self.send_reminder()
        _envelope, message = self.received()
        self.assertEqual(message["Subject"], reminder.mail_id.subject)
        self.assertIn(self.company.name, message["Subject"])
        html = message.get_body(preferencelist=("html",)).get_content()
        self.assertIn(self.invoice.name, html)

    def test_spanish_speaking_customer_gets_the_spanish_subject(self):
        reminder = self.send_reminder()
        _envelope, message = self.received()
        spanish = self.template.with_context(lang="es_MX")._render_field(
            "subject", reminder.ids
        )[reminder.id]
        english = self.template.with_context(lang="en_US")._render_field(
            "subject", reminder.ids
        )[reminder.id]
        self.assertNotEqual(spanish, english)
        self.assertEqual(message["Subject"], spanish)
        self.assertIn("recordatorio amistoso de pago", message["Subject"])
        html = message.get_body(preferencelist=("html",)).get_content()
        self.assertIn("Si ya realizó el pago, le agradecemos", html)
        self.assertIn("Ver y pagar", html)


@tagged("post_install", "-at_install")
class TestEmailDelivery(SmtpCommon):
    """A reminder is sent when the mail server took its email, not before; a
    mail server that is down or refuses loses nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer_tijuana.email = "compras@maquinados.example.com"
        cls.customer_cancun.email = "pagos@hotelcaribe.example.com"
        for partner in (cls.customer_tijuana, cls.customer_cancun):
            cls.create_invoice(partner=partner, due=TUESDAY - timedelta(days=1))

    def planned_and_dispatched(self):
        """Planned and dispatched; the mail queue has not run yet."""
        with freeze_time(TUESDAY_NOON_MX):
            self.plan()
            self._as_cron()._cron_dispatch()
        return self.reminders().filtered(lambda r: r.channel == "email")

    def test_reminder_waits_for_the_mail_server(self):
        reminders = self.planned_and_dispatched()
        self.assertEqual(len(reminders), 3)
        self.assertEqual(set(reminders.mapped("state")), {"sending"})
        self.assertFalse(any(reminders.mapped("sent_at")))
        with freeze_time(TUESDAY_NOON_MX):
            self.run_mail_queue()
        self.assertEqual(set(reminders.mapped("state")), {"sent"})
        self.assertEqual(len(self.mailbox.envelopes), 3)

    def test_smtp_down_then_up_every_email_arrives_once(self):
        reminders = self.planned_and_dispatched()
        # Nothing listens on the server's port: the connection is refused.
        self.mail_server.smtp_port = _free_port()
        with freeze_time(TUESDAY_NOON_MX):
            self.run_mail_queue()
        self.assertEqual(set(reminders.mapped("state")), {"sending"})
        self.assertEqual(reminders.mapped("retry_count"), [1, 1, 1])
        mails = reminders.mail_id
        self.assertEqual(set(mails.mapped("state")), {"outgoing"})
        retry_at = max(mails.mapped("scheduled_date"))
        self.assertGreater(retry_at, NOON)
        self.assertIn("trying again", reminders[0].error_message)
        # Still down at the first retry: tried again later.
        with freeze_time(retry_at):
            self.run_mail_queue()
        self.assertEqual(reminders.mapped("retry_count"), [2, 2, 2])
        self.assertFalse(self.mailbox.envelopes)
        # The server is back.
        self.mail_server.smtp_port = self.port
        later = max(mails.mapped("scheduled_date"))
        with freeze_time(later):
            self.run_mail_queue()
            self.run_mail_queue()
        self.assertEqual(set(reminders.mapped("state")), {"sent"})
        self.assertEqual(
            sorted(e.rcpt_tos[0] for e in self.mailbox.envelopes),
            sorted(reminders.partner_id.mapped("email")),
        )
        self.assertEqual(reminders.mapped("sent_at"), [later] * 3)

    def test_a_busy_server_is_tried_again(self):
        self.mailbox.busy = ["451 4.3.0 Mail server temporarily busy"]
        reminder = self.planned_and_dispatched().filtered(
            lambda r: r.partner_id == self.customer
        )
        with freeze_time(TUESDAY_NOON_MX), mute_logger(MAIL_LOGGER):
            self.run_mail_queue_of(reminder)
        self.assertEqual(reminder.state, "sending")
        self.assertIn("451", reminder.error_message)
        with freeze_time(reminder.mail_id.scheduled_date), mute_logger(MAIL_LOGGER):
            self.run_mail_queue_of(reminder)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(len(self.mailbox.envelopes), 1)

    def test_an_unknown_mailbox_fails_the_reminder_and_tells_the_collector(self):
        self.mailbox.unknown.add(self.customer.email)
        reminder = self.planned_and_dispatched().filtered(
            lambda r: r.partner_id == self.customer
        )
        with freeze_time(TUESDAY_NOON_MX), mute_logger(MAIL_LOGGER):
            self.run_mail_queue_of(reminder)
        self.assertEqual(reminder.state, "failed")
        self.assertIn("User unknown", reminder.error_message)
        self.assertEqual(reminder.fallback_ids.channel, "activity")
        self.assertIn(
            "could not reach the customer",
            "".join(self.customer.message_ids.mapped("body")),
        )

    def test_an_address_without_at_fails_at_once_with_the_reason(self):
        self.customer.email = "pagos.ferreteria.example.com"
        reminder = self.planned_and_dispatched().filtered(
            lambda r: r.partner_id == self.customer
        )
        self.assertEqual(reminder.state, "failed")
        self.assertIn("not valid", reminder.error_message)
        self.assertFalse(reminder.mail_id)
        self.assertEqual(reminder.fallback_ids.channel, "activity")

    def test_an_outage_longer_than_the_retries_fails_with_the_fallback(self):
        reminder = self.planned_and_dispatched().filtered(
            lambda r: r.partner_id == self.customer
        )
        reminder.sudo().retry_count = EMAIL_MAX_ATTEMPTS - 1
        self.mail_server.smtp_port = _free_port()
        with freeze_time(TUESDAY_NOON_MX):
            self.run_mail_queue_of(reminder)
        self.assertEqual(reminder.state, "failed")
        self.assertIn("kept refusing", reminder.error_message)
        self.assertEqual(reminder.fallback_ids.channel, "activity")

    def run_mail_queue_of(self, reminder):
        with patch.object(module, "current_test", False):
            self.env["mail.mail"].sudo().process_email_queue(ids=reminder.mail_id.ids)
