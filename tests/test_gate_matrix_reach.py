"""The contact gate, for every kind of message on every channel that carries
it: the invoices on hold, a debtor the channel cannot reach, and the cells of
the matrix no channel carries (the engine refuses or routes them).

Table-driven: one subTest per kind x channel, each on a customer of its own.
"""

from datetime import timedelta

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import TUESDAY
from .gate_matrix_common import (
    CARRIERS,
    DEBTOR_CELLS,
    EARLY,
    NOON,
    NOTICE_KINDS,
    OPENING,
    GateMatrixCommon,
)

# What makes each channel unable to reach a debtor, and the words of its reason.
UNREACHABLE = {
    "email": "has no email address",
    "whatsapp": "opted out",
    "sms": "opted out of SMS",
    "letter": "postal address",
}
# The channel taking over for each kind (None: nobody, and why), by the
# policy's fallbacks: email -> activity, WhatsApp -> email, SMS -> email,
# letter -> activity. A thank-you is not worth a collector's call, a
# collector's chat goes nowhere else.
FALLBACK = {
    ("reminder", "email"): "activity",
    ("reminder", "whatsapp"): "email",
    ("reminder", "sms"): "email",
    ("reminder", "letter"): "activity",
    ("promise_confirmation", "email"): "activity",
    ("promise_confirmation", "whatsapp"): "email",
    ("instalment_reminder", "email"): "activity",
    ("instalment_reminder", "whatsapp"): "email",
    ("plan_agreement", "email"): "activity",
    ("thank_you", "email"): None,
    ("thank_you", "whatsapp"): "email",
    ("chat", "whatsapp"): None,
}
NO_FALLBACK = {
    "thank_you": "A thank-you is not worth a collector's call",
    "chat": "A collector's message is not sent on another channel",
}
# The kinds whose message shows the debtor's open statement (the amount due,
# the invoices): a level reminder, and a collector's chat from a template.
# The other notices are about their own invoices: a promise's, a plan's, the
# ones just paid.
STATEMENT_KINDS = ("reminder", "chat")


@tagged("post_install", "-at_install")
class TestGateMatrixHold(GateMatrixCommon):
    """Invoices under an open promise or in dispute are neither listed nor
    counted in what goes out."""

    def held_invoices(self, partner, amounts=(1000.0, 2000.0, 4000.0)):
        """Invoices of ``partner`` of ``amounts``: an open one of 1,000, one of
        2,000 to promise and one of 4,000 to dispute."""
        due = TUESDAY - timedelta(days=10)
        return [
            self.create_invoice(partner, due=due, amount=amount) for amount in amounts
        ]

    def hold(self, promised, disputed):
        """Promise ``promised`` and dispute ``disputed`` (at the frozen time)."""
        self.promise(promised.partner_id, promised)
        self.env["dunning.dispute"]._dunning_open(disputed, "wrong_amount", "Twice")

    def test_an_invoice_put_on_hold_after_queueing_is_not_listed(self):
        cells = [(kind, channel) for kind, channel in DEBTOR_CELLS]
        cells.append(("reminder", "activity"))
        for kind, channel in cells:
            if kind not in STATEMENT_KINDS:
                continue
            with self.subTest(kind=kind, channel=channel):
                partner = self.debtor(f"hold {kind} {channel}")
                open_, promised, disputed = self.held_invoices(partner)
                # Queued before the opening with the whole statement; the
                # promise and the dispute come before it goes.
                with freeze_time(EARLY):
                    row = self.queue(
                        kind, channel, partner, open_ | promised | disputed
                    )
                    self.hold(promised, disputed)
                self.dispatch_at(OPENING)
                self.assertGone(row)
                self.assertEqual(row.move_ids, open_)
                self.assertEqual(row.amount_due, 1000.0)
                text = self.rendered(row)
                if channel in ("email", "letter", "activity"):
                    self.assertIn(open_.name, text)
                    self.assertNotIn(promised.name, text)
                    self.assertNotIn(disputed.name, text)
                else:
                    self.assertIn("1,000.00", text)
                    self.assertNotIn("7,000.00", text)

    def test_nothing_goes_when_every_invoice_is_on_hold(self):
        cells = [(kind, channel) for kind, channel in DEBTOR_CELLS]
        cells.append(("reminder", "activity"))
        for kind, channel in cells:
            if kind not in STATEMENT_KINDS:
                continue
            with self.subTest(kind=kind, channel=channel):
                partner = self.debtor(f"all held {kind} {channel}")
                promised, disputed = self.held_invoices(partner, (2000.0, 4000.0))
                with freeze_time(EARLY):
                    row = self.queue(kind, channel, partner, promised | disputed)
                    self.hold(promised, disputed)
                self.dispatch_at(OPENING)
                self.assertEqual(row.state, "cancelled")
                self.assertFalse(self.handed(row))

    def test_a_notice_lists_its_own_invoices_never_others_on_hold(self):
        for kind, channel in DEBTOR_CELLS:
            if kind in STATEMENT_KINDS:
                continue
            with self.subTest(kind=kind, channel=channel):
                partner = self.debtor(f"notice hold {kind} {channel}")
                own, promised, disputed = self.held_invoices(partner)
                with freeze_time(NOON):
                    self.hold(promised, disputed)
                    row = self.queue(kind, channel, partner, own)
                    self.dispatch()
                self.assertGone(row)
                self.assertEqual(row.move_ids, own)
                text = self.rendered(row)
                self.assertNotIn(promised.name, text)
                self.assertNotIn(disputed.name, text)


@tagged("post_install", "-at_install")
class TestGateMatrixReach(GateMatrixCommon):
    """A debtor the channel cannot reach (no address, opted out): the row
    fails with the reason and the policy's next channel takes over, or none
    does and the reason says why."""

    def make_unreachable(self, partner, channel):
        if channel == "email":
            partner.email = False
        elif channel == "whatsapp":
            partner._whatsapp_set_opt_out("BAJA", NOON - timedelta(days=1))
        elif channel == "sms":
            number = partner._dunning_sms_recipient()._dunning_sms_number()[1]
            self.env["phone.blacklist"].sudo()._add([number])
        elif channel == "letter":
            partner.street = False

    def test_unreachable_falls_back_or_is_skipped_with_the_reason(self):
        for kind, channel in DEBTOR_CELLS:
            with self.subTest(kind=kind, channel=channel):
                partner = self.debtor(f"unreachable {kind} {channel}")
                self.make_unreachable(partner, channel)
                with freeze_time(NOON):
                    row = self.queue(kind, channel, partner)
                    self.dispatch()
                self.assertEqual(row.state, "failed")
                self.assertFalse(self.handed(row))
                self.assertIn(UNREACHABLE[channel], row.error_message)
                expected = FALLBACK[(kind, channel)]
                fallback = row.fallback_ids
                if expected is None:
                    self.assertFalse(fallback)
                    self.assertIn("No fallback", row.error_message)
                    self.assertIn(NO_FALLBACK[kind], row.error_message)
                    continue
                self.assertEqual(fallback.channel, expected)
                self.assertEqual(fallback.kind, kind)
                self.assertIn("was queued instead", row.error_message)
                # Sent by the same run, through the same gate.
                self.assertGone(fallback)

    def test_a_collector_activity_reaches_an_unreachable_debtors_collector(self):
        # Not applicable: the activity reaches the collector, never the debtor.
        partner = self.debtor("unreachable activity")
        partner.email = False
        partner._whatsapp_set_opt_out("BAJA", NOON - timedelta(days=1))
        with freeze_time(NOON):
            row = self.queue("reminder", "activity", partner)
            self.dispatch()
        self.assertGone(row)


@tagged("post_install", "-at_install")
class TestGateMatrixNotCarried(GateMatrixCommon):
    """The cells of the matrix no channel carries: refused when queued, or
    routed by the gate to the policy's next channel."""

    def test_a_notice_is_refused_on_a_channel_that_does_not_carry_it(self):
        channels = ("email", "whatsapp", "sms", "letter", "activity")
        for kind in NOTICE_KINDS:
            for channel in channels:
                if channel in CARRIERS[kind] or (kind, channel) == (
                    "plan_agreement",
                    "whatsapp",
                ):
                    continue
                with self.subTest(kind=kind, channel=channel):
                    partner = self.debtor(f"refused {kind} {channel}")
                    invoice = self.create_invoice(partner, due=TUESDAY)
                    with freeze_time(NOON), self.assertRaises(UserError):
                        self.queue(kind, channel, partner, invoice)
                    self.assertFalse(
                        self.Reminder.sudo().search(
                            [("partner_id", "=", partner.id), ("kind", "=", kind)]
                        )
                    )

    def test_a_plan_agreement_on_whatsapp_goes_by_email(self):
        # No WhatsApp template says a plan's terms: the gate routes it to the
        # policy's next channel, which carries its PDF.
        partner = self.debtor("agreement whatsapp")
        with freeze_time(NOON):
            row = self.queue("plan_agreement", "whatsapp", partner)
            self.dispatch()
        self.assertEqual(row.state, "failed")
        self.assertIn("no WhatsApp template for this message", row.error_message)
        self.assertFalse(self.handed(row))
        fallback = row.fallback_ids
        self.assertEqual(fallback.channel, "email")
        self.assertEqual(fallback.plan_id, row.plan_id)
        self.assertGone(fallback)
