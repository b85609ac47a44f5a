import re
from datetime import timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.tests import tagged

from .common import TUESDAY, TUESDAY_NOON_MX, DunningCommon
from .test_portal import PortalCommon


def days(n):
    return timedelta(days=n)


def text_of(html):
    """The words of an HTML body, tags and repeated spaces left out."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", str(html)))


class InstalmentCommon(DunningCommon):
    @classmethod
    def _payment_term(cls, *instalments):
        """A payment term of ``(percent, days)`` instalments."""
        return cls.env["account.payment.term"].create(
            {
                "name": " / ".join(f"{p}% at {d} days" for p, d in instalments),
                "line_ids": [
                    Command.create(
                        {
                            "value": "percent",
                            "value_amount": percent,
                            "delay_type": "days_after",
                            "nb_days": delay,
                        }
                    )
                    for percent, delay in instalments
                ],
            }
        )

    @classmethod
    def create_instalment_invoice(cls, term, invoice_date, amount=1000.0, partner=None):
        move = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": (partner or cls.customer).id,
                "invoice_date": invoice_date,
                "invoice_payment_term_id": term.id,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Consulting",
                            "quantity": 1,
                            "price_unit": amount,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ],
            }
        )
        move.action_post()
        return move

    def send_mail_on(self, day):
        """Dispatch at noon in Mexico City on ``day``; the email sent."""
        with freeze_time(f"{day.isoformat()} 18:00:00"):
            self.dispatch()
        return self.mails(self.customer).sorted("id")[-1:]


@tagged("post_install", "-at_install")
class TestInstalments(InstalmentCommon):
    """An invoice paid in instalments is collected instalment by instalment."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.lang = "en_US"
        cls.term_30_70 = cls._payment_term((30, 0), (70, 30))
        cls.term_30_60_90 = cls._payment_term((33.33, 30), (33.33, 60), (33.34, 90))

    def test_first_instalment_ten_days_late_is_planned_at_its_level(self):
        invoice = self.create_instalment_invoice(self.term_30_70, TUESDAY - days(10))
        # Odoo's due date is the last instalment's, still 20 days ahead.
        self.assertEqual(invoice.invoice_date_due, TUESDAY + days(20))
        self.assertEqual(invoice.dunning_due_date, TUESDAY - days(10))
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.level_id, self.levels[7])
        self.assertEqual(invoice.dunning_level_id, self.levels[7])
        self.assertEqual(reminder.line_ids.due_date, TUESDAY - days(10))

    def test_email_shows_the_late_instalment_as_due_and_the_rest_as_coming(self):
        invoice = self.create_instalment_invoice(self.term_30_70, TUESDAY - days(10))
        self.plan_on(TUESDAY)
        body = text_of(self.send_mail_on(TUESDAY).body_html)
        due_part, _sep, coming_part = body.partition("Coming due")
        self.assertIn("Due for payment", due_part)
        self.assertIn(f"{invoice.name} (instalment 1 of 2) 11/14/2026 10", due_part)
        self.assertIn("300.00", due_part)
        self.assertNotIn("700.00", due_part)
        self.assertIn(f"{invoice.name} (instalment 2 of 2) 12/14/2026", coming_part)
        self.assertIn("700.00", coming_part)
        self.assertIn("Not due yet", coming_part)
        self.assertIn("Whole balance : $ 1,000.00", body)

    def test_after_paying_the_first_instalment_the_second_climbs_on_its_own(self):
        self.policy.min_days_between_reminders = 0
        invoice = self.create_instalment_invoice(self.term_30_70, TUESDAY - days(10))
        self.plan_on(TUESDAY)
        self.send_mail_on(TUESDAY)
        with freeze_time(TUESDAY_NOON_MX):
            self.register_payment(invoice, amount=300.0)
        self.assertEqual(invoice.payment_state, "partial")
        self.assertEqual(invoice.dunning_due_date, TUESDAY + days(20))
        # The level reached for the paid instalment is not the second one's.
        self.assertEqual(invoice.dunning_next_date, TUESDAY + days(17))
        for offset in range(1, 17):
            self.plan_on(TUESDAY + days(offset))
        self.assertEqual(len(self.reminders(self.customer)), 1)
        # Its own preventive reminder, three days before it falls due.
        self.plan_on(TUESDAY + days(17))
        reminder = self.reminders(self.customer)[-1]
        self.assertEqual(reminder.level_id, self.levels[-3])
        self.assertEqual(reminder.line_ids.due_date, TUESDAY + days(20))
        body = text_of(self.send_mail_on(TUESDAY + days(17)).body_html)
        self.assertNotIn("Due for payment", body)
        self.assertIn(f"{invoice.name} (instalment 2 of 2) 12/14/2026", body)
        self.assertIn("700.00", body)
        # Then the due level and the +7 level again, for the second instalment.
        self.plan_on(TUESDAY + days(20))
        self.plan_on(TUESDAY + days(27))
        self.assertEqual(
            [r.level_id.offset_days for r in self.reminders(self.customer)],
            [7, -3, 0, 7],
        )

    def test_thirty_sixty_ninety_two_instalments_late(self):
        invoice = self.create_instalment_invoice(
            self.term_30_60_90, TUESDAY - days(65), amount=3000.0
        )
        self.assertEqual(invoice.dunning_due_date, TUESDAY - days(35))
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        self.assertEqual(reminder.level_id, self.levels[30])
        with freeze_time(TUESDAY_NOON_MX):
            self.assertEqual(invoice._dunning_split_due(TUESDAY), (1999.8, 1000.2))
            self.assertEqual(reminder._get_amount_due_now(), 1999.8)
        body = text_of(self.send_mail_on(TUESDAY).body_html)
        due_part, _sep, coming_part = body.partition("Coming due")
        self.assertIn("(instalment 1 of 3) 10/20/2026 35", due_part)
        self.assertIn("(instalment 2 of 3) 11/19/2026 5", due_part)
        self.assertIn("Total due $ 1,999.80", due_part)
        self.assertIn("(instalment 3 of 3) 12/19/2026", coming_part)
        self.assertIn("1,000.20", coming_part)

    def test_sms_and_whatsapp_call_late_only_the_instalment_due(self):
        self.create_instalment_invoice(self.term_30_70, TUESDAY - days(10))
        self.plan_on(TUESDAY)
        reminder = self.reminders(self.customer)
        account = self.env["dunning.whatsapp.account"].create(
            {
                "name": "Cobranza",
                "company_id": self.company.id,
                "phone_number_id": "1234",
                "waba_id": "WABA1",
                "access_token": "token",
                "app_secret": "secret",
                "verify_token": "verify",
                "api_base_url": "http://127.0.0.1:9",
            }
        )
        template = self.env["dunning.whatsapp.template"].create(
            {
                "name": "pago_vencido",
                "language": "en",
                "account_id": account.id,
                "body_text": "Your payment of {{1}} was due on {{2}}; total {{3}}.",
                "param_ids": [
                    Command.create({"sequence": 1, "source": "amount_due_now"}),
                    Command.create({"sequence": 2, "source": "oldest_due_date"}),
                    Command.create({"sequence": 3, "source": "amount_due"}),
                ],
            }
        )
        sms = self.env.ref("account_dunning.sms_template_dunning_friendly")
        with freeze_time(TUESDAY_NOON_MX):
            params = [param._render(reminder) for param in template.param_ids]
            body = sms._render_field("body", reminder.ids)[reminder.id]
        params = [param.replace("\xa0", " ") for param in params]
        self.assertEqual(params, ["$ 300.00 USD", "11/14/2026", "$ 1,000.00 USD"])
        self.assertIn("$ 300.00 USD is past due", body.replace("\xa0", " "))

    def test_worklist_counts_days_and_amount_late_from_the_instalment(self):
        invoice = self.create_instalment_invoice(self.term_30_70, TUESDAY - days(10))
        self.env.flush_all()
        with freeze_time(TUESDAY_NOON_MX):
            row = self.env["dunning.worklist"].search(
                [("partner_id", "=", self.customer.id)]
            )
            self.assertEqual(row.max_days_late, 10)
            self.assertEqual(row.amount_overdue, 300.0)
            self.assertEqual(row.invoice_count, 1)
        self.assertEqual(invoice._dunning_days_late(TUESDAY), 10)


@tagged("post_install", "-at_install")
class TestInstalmentPortal(PortalCommon, InstalmentCommon):
    def test_customer_page_shows_days_late_and_amount_due_of_the_instalment(self):
        term = self._payment_term((30, 0), (70, 30))
        customer = self._create_customer("Instalments SA", lang="en_US")
        today = TUESDAY + days(9)
        invoice = self.create_instalment_invoice(
            term, today - days(10), partner=customer
        )
        _token, path = self.link(customer)
        with freeze_time(f"{today.isoformat()} 18:00:00"):
            page = text_of(self.url_open(path).text)
        self.assertIn(invoice.name, page)
        self.assertIn("10 days late", page)
        self.assertIn("Due now $ 300.00 USD · not due yet $ 700.00 USD", page)


@tagged("post_install", "-at_install")
class TestNextReminder(InstalmentCommon):
    """ "Next Reminder" says what planning will do, and when."""

    def test_a_reached_level_not_yet_planned_is_due_today_not_in_the_past(self):
        with freeze_time(TUESDAY_NOON_MX):
            invoice = self.create_invoice(due=TUESDAY - days(10))
            self.assertEqual(invoice.dunning_next_date, TUESDAY)

    def test_promised_invoice_waits_for_the_day_after_the_grace_date(self):
        with freeze_time(TUESDAY_NOON_MX):
            invoice = self.create_invoice(due=TUESDAY - days(10))
            promise = self.env["dunning.promise"].create(
                {
                    "partner_id": self.customer.id,
                    "currency_id": invoice.currency_id.id,
                    "move_ids": [Command.set(invoice.ids)],
                    "amount": invoice.amount_residual,
                    "date_promised": TUESDAY + days(16),
                }
            )
            self.assertGreater(promise.date_grace, TUESDAY + days(15))
            self.assertEqual(invoice.dunning_next_date, promise.date_grace + days(1))
            promise.action_cancel()
            self.assertEqual(invoice.dunning_next_date, TUESDAY)

    def test_paused_customer_waits_for_the_end_of_the_pause(self):
        with freeze_time(TUESDAY_NOON_MX):
            invoice = self.create_invoice(due=TUESDAY - days(10))
            self.customer.dunning_paused_until = TUESDAY + days(12)
            self.assertEqual(invoice.dunning_next_date, TUESDAY + days(13))
            self.customer.dunning_paused_until = False
            self.assertEqual(invoice.dunning_next_date, TUESDAY)

    def test_next_reminder_keeps_the_days_between_reminders(self):
        self.policy.min_days_between_reminders = 10
        invoice = self.create_invoice(due=TUESDAY)
        self.plan_on(TUESDAY + days(1))
        self.assertEqual(invoice.dunning_level_id, self.levels[1])
        # The +7 level is reached on the 7th, but the customer was reminded on
        # the 1st: not before the 11th.
        self.assertEqual(invoice.dunning_next_date, TUESDAY + days(11))
        self.plan_on(TUESDAY + days(7))
        self.assertEqual(invoice.dunning_level_id, self.levels[1])
        self.plan_on(TUESDAY + days(11))
        self.assertEqual(invoice.dunning_level_id, self.levels[7])

    def test_a_day_gone_by_is_refreshed_by_the_daily_planning(self):
        self.policy.min_days_between_reminders = 10
        invoice = self.create_invoice(due=TUESDAY - days(1))
        self.plan_on(TUESDAY)
        self.assertEqual(invoice.dunning_next_date, TUESDAY + days(10))
        # The reminder waited five days for the contact window (a deferral):
        # the days between reminders count from the day it goes out.
        reminder = self.reminders(self.customer)
        reminder.write({"state": "deferred", "scheduled_at": TUESDAY + days(5)})
        self.plan_on(TUESDAY + days(11))
        self.assertEqual(len(self.reminders(self.customer)), 1)
        self.assertEqual(invoice.dunning_next_date, TUESDAY + days(15))


@tagged("post_install", "-at_install")
class TestStatementWording(InstalmentCommon):
    """A message says of each invoice only what is true of it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("es_MX")
        cls.env["ir.module.module"]._load_module_terms(
            ["account_dunning"], ["es_MX"], overwrite=True
        )

    def _final_notice(self, lang):
        customer = self._create_customer(f"Final {lang}", lang=lang)
        late = self.create_invoice(customer, due=TUESDAY - days(40), amount=400.0)
        coming = self.create_invoice(customer, due=TUESDAY + days(10), amount=900.0)
        self.plan_on(TUESDAY)
        reminder = self.reminders(customer)
        self.assertEqual(reminder.level_id, self.levels[30])
        self.assertEqual(reminder.move_ids, late | coming)
        with freeze_time(f"{TUESDAY.isoformat()} 18:00:00"):
            self.dispatch()
        return late, coming, text_of(self.mails(customer).body_html)

    def test_final_notice_is_firm_only_about_the_late_invoice_in_english(self):
        late, coming, body = self._final_notice("en_US")
        self.assertIn(f"Payment of {late.name} is now more than a month overdue", body)
        firm = body[: body.index("Due for payment")]
        self.assertNotIn(coming.name, firm)
        due_part, _sep, coming_part = body.partition("Coming due")
        self.assertIn(late.name, due_part)
        self.assertNotIn(coming.name, due_part)
        self.assertIn(coming.name, coming_part)
        self.assertIn("Not due yet", coming_part)

    def test_final_notice_is_firm_only_about_the_late_invoice_in_spanish(self):
        late, coming, body = self._final_notice("es_MX")
        self.assertIn(f"El pago de {late.name} tiene ya más de un mes de atraso", body)
        firm = body[: body.index("Exigible")]
        self.assertNotIn(coming.name, firm)
        due_part, _sep, coming_part = body.partition("Por vencer")
        self.assertIn(late.name, due_part)
        self.assertNotIn(coming.name, due_part)
        self.assertIn(coming.name, coming_part)
        self.assertIn("Aún no vence", coming_part)
