import socket
from datetime import timedelta
from email import message_from_bytes, policy
from unittest.mock import patch

from aiosmtpd.controller import Controller
from freezegun import freeze_time

from odoo.modules import module
from odoo.tests import tagged

from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon


class _Mailbox:
    """aiosmtpd handler keeping every envelope it receives."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@tagged("post_install", "-at_install")
class TestEmailSmtp(DunningCommon):
    """A reminder leaves Odoo's mail queue through a real SMTP server."""

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
        port = _free_port()
        controller = Controller(self.mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        self.addCleanup(controller.stop)
        self.env["ir.mail_server"].sudo().create(
            {
                "name": "Local test SMTP",
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_encryption": "none",
            }
        )

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
        self.assertIn("Si ya realizó su pago", html)
        self.assertIn("Ver y pagar", html)
