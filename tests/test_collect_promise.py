from datetime import datetime, time, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .collect_common import CollectCommon
from .common import TUESDAY


def days(n):
    return timedelta(days=n)


def noon(day):
    return datetime.combine(day, time(12))


class CollectPromiseCommon(CollectCommon):
    """An invoice of 1,000 ten days late, promises with two days of grace."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.policy.promise_grace_days = 2
        cls.invoice = cls.create_invoice(due=TUESDAY - days(10), amount=1000.0)

    def promise(self, invoice=None, amount=1000.0, date=None, user=None, **kw):
        """A promise registered on Tuesday, by ``user`` (the collector)."""
        invoice = invoice or self.invoice
        with freeze_time(noon(TUESDAY)):
            return self.env["dunning.promise"]._dunning_register(
                invoice.commercial_partner_id,
                invoice,
                amount,
                date or TUESDAY + days(3),
                "call",
                confirm=False,
                user_id=(user or self.collector).id,
                **kw,
            )

    def check_on(self, day):
        """The promise check, as its scheduled action runs it, at noon of ``day``."""
        cron = self.env.ref("account_dunning.ir_cron_promise_check").sudo()
        with freeze_time(noon(day)):
            cron.method_direct_trigger()

    def pay_on(self, day, invoice=None, amount=None):
        with freeze_time(noon(day)):
            self.register_payment(invoice or self.invoice, amount)


@tagged("post_install", "-at_install")
class TestCallPromise(CollectPromiseCommon):
    """The promise or plan agreed on a call is registered from the call and
    linked to it."""

    def call(self, code="promise", user=None, **values):
        with freeze_time(noon(TUESDAY)):
            return self.log(code, moves=self.invoice, user=user, **values)

    def wizard(self, action, user=None):
        env = self.env(user=user or self.collector)
        return Form(env[action["res_model"]].with_context(**action["context"]))

    def register(self, action, user=None, amount=600.0):
        with freeze_time(noon(TUESDAY)):
            form = self.wizard(action, user)
            form.amount = amount
            form.date_promised = TUESDAY + days(5)
            form.confirm = False
            result = form.save().action_register()
        return self.env["dunning.promise"].browse(result["res_id"])

    def test_promise_outcome_opens_the_promise_wizard_filled_from_the_call(self):
        interaction, action = self.call(note="Paga el viernes con transferencia")
        self.assertEqual(action["res_model"], "dunning.promise.create")
        self.assertEqual(action["target"], "new")
        with freeze_time(noon(TUESDAY)):
            wizard = self.wizard(action).save()
        self.assertEqual(wizard.partner_id, self.customer)
        self.assertEqual(wizard.move_ids, self.invoice)
        self.assertEqual(wizard.amount, 1000.0)
        self.assertEqual(wizard.source, "call")
        self.assertEqual(wizard.channel, "phone")
        self.assertEqual(wizard.note, "Paga el viernes con transferencia")
        self.assertEqual(wizard.interaction_id, interaction)

    def test_the_promise_is_linked_to_the_call(self):
        interaction, action = self.call()
        promise = self.register(action)
        self.assertEqual(interaction.promise_id, promise)
        self.assertEqual(promise.interaction_ids, interaction)
        self.assertEqual(promise.user_id, self.collector)
        self.assertEqual(promise.source, "call")
        self.assertEqual((promise.amount, promise.state), (600.0, "open"))

    def test_plan_outcome_links_the_plans_first_instalment(self):
        interaction, action = self.call("payment_plan")
        self.assertEqual(action["res_model"], "dunning.payment.plan.create")
        with freeze_time(noon(TUESDAY)):
            form = self.wizard(action)
            form.instalment_count = 2
            form.date_first = TUESDAY + days(7)
            form.confirm = False
            wizard = form.save()
            self.assertEqual(wizard.partner_id, self.customer)
            self.assertEqual(wizard.move_ids, self.invoice)
            result = wizard.action_create()
        plan = self.env["dunning.payment.plan"].browse(result["res_id"])
        self.assertEqual(len(plan.promise_ids), 2)
        self.assertEqual(interaction.plan_id, plan)
        self.assertEqual(interaction.promise_id.date_promised, TUESDAY + days(7))

    def test_a_manager_agrees_the_plan_of_a_collectors_call(self):
        interaction, action = self.call("payment_plan")
        with freeze_time(noon(TUESDAY)):
            form = self.wizard(action, user=self.manager)
            form.instalment_count = 2
            form.confirm = False
            result = form.save().action_create()
        plan = self.env["dunning.payment.plan"].browse(result["res_id"])
        self.assertEqual(interaction.plan_id, plan)
        self.assertEqual(plan.user_id, self.collector)
        self.assertEqual(plan.promise_ids.user_id, self.collector)

    def test_a_closed_wizard_is_reopened_from_the_log(self):
        interaction, _action = self.call()
        self.assertFalse(interaction.promise_id)
        action = interaction.with_user(self.collector).action_register_promise()
        self.assertEqual(action["context"]["default_interaction_id"], interaction.id)
        promise = self.register(action)
        self.assertEqual(interaction.promise_id, promise)
        with self.assertRaisesRegex(UserError, "already linked"):
            interaction.with_user(self.collector).action_register_promise()

    def test_only_promise_outcomes_register_a_promise(self):
        interaction, _action = self.call("refused")
        with self.assertRaisesRegex(UserError, "not a payment promise"):
            interaction.with_user(self.collector).action_register_promise()

    def test_another_collector_cannot_attach_a_promise_to_my_call(self):
        interaction, action = self.call()
        with self.assertRaises(AccessError):
            interaction.with_user(self.collector_2).action_register_promise()
        with self.assertRaises(AccessError):
            self.register(action, user=self.collector_2)
        self.assertFalse(interaction.promise_id)
        self.assertFalse(
            self.env["dunning.promise"].search([("partner_id", "=", self.customer.id)])
        )

    def test_a_manager_registers_the_promise_of_a_collectors_call(self):
        interaction, action = self.call()
        promise = self.register(action, user=self.manager)
        self.assertEqual(interaction.promise_id, promise)
        # The follow-up stays with who made the call.
        self.assertEqual(promise.user_id, self.collector)

    def test_collectors_read_the_promise_of_anothers_call_but_not_change_it(self):
        interaction, action = self.call()
        promise = self.register(action)
        self.env.flush_all()
        as_pedro = interaction.with_user(self.collector_2)
        self.assertEqual(as_pedro.promise_id, promise)
        self.assertEqual(
            promise.with_user(self.collector_2).interaction_ids, interaction
        )
        with self.assertRaises(AccessError):
            as_pedro.note = "Cambio ajeno"
        with self.assertRaises(AccessError):
            promise.with_user(self.collector_2).note = "Cambio ajeno"

    def test_another_company_sees_neither_the_call_nor_its_promise(self):
        _interaction, action = self.call()
        self.register(action)
        company_2 = self.setup_other_company(name="Acme Monterrey")["company"]
        boss = new_test_user(
            self.env,
            login="regional",
            groups="account_dunning.group_dunning_manager",
            company_id=company_2.id,
            company_ids=[Command.set(company_2.ids)],
        )
        self.env.flush_all()
        self.assertFalse(self.env["dunning.interaction"].with_user(boss).search([]))
        self.assertFalse(self.env["dunning.promise"].with_user(boss).search([]))


@tagged("post_install", "-at_install")
class TestWorklistPromises(CollectPromiseCommon):
    """My collections with promises and disputes, on frozen days: the list's
    "today" is the collector's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Far more overdue than the customer: first on the list by amount.
        cls.big = cls._create_customer("Abarrotes Grandes")
        cls.big.with_company(cls.company).dunning_collector_id = cls.collector
        cls.create_invoice(cls.big, due=TUESDAY - days(20), amount=50000.0)

    def rows(self, day, at=time(12), tz=None):
        """The collector's list at ``at`` UTC on ``day``."""
        self.env.flush_all()
        worklist = self.env["dunning.worklist"].with_user(self.collector)
        if tz:
            worklist = worklist.with_context(tz=tz)
        # Read at once, on that day: the rows are those of the day they are read.
        columns = [name for name, field in worklist._fields.items() if field.store]
        with freeze_time(datetime.combine(day, at)):
            return worklist.search_fetch(
                [("collector_id", "=", self.collector.id)], columns
            )

    def row(self, day, partner=None, **kw):
        partner = partner or self.customer
        return self.rows(day, **kw).filtered(lambda r: r.partner_id == partner)

    def contact(self, day, code, partner=None):
        return self.env["dunning.interaction"].create(
            {
                "partner_id": (partner or self.customer).id,
                "user_id": self.collector.id,
                "outcome_id": self.outcomes[code].id,
                "date": noon(day),
                "identity_confirmed": self.outcomes[code].requires_identity,
            }
        )

    def break_promise(self):
        """A promise for Friday, broken by the check the next Monday."""
        promise = self.promise(date=TUESDAY + days(3))
        self.check_on(TUESDAY + days(6))
        self.assertEqual(promise.state, "broken")
        return promise

    def test_overdue_customer_is_listed_as_overdue(self):
        row = self.row(TUESDAY)
        self.assertEqual(row.reason, "overdue")
        self.assertEqual(row.amount_overdue, 1000.0)
        self.assertFalse(row.broken_promise)

    def test_promised_invoices_leave_the_list_until_the_grace_date(self):
        self.promise(date=TUESDAY + days(3))  # grace until Sunday
        self.assertFalse(self.row(TUESDAY + days(1)))
        self.assertFalse(self.row(TUESDAY + days(5)))
        # Past the grace date, not yet checked: overdue again.
        self.assertEqual(self.row(TUESDAY + days(6)).reason, "overdue")

    def test_only_the_promised_invoice_leaves(self):
        other = self.create_invoice(due=TUESDAY - days(2), amount=300.0)
        self.promise()
        row = self.row(TUESDAY + days(1))
        self.assertEqual((row.amount_overdue, row.invoice_count), (300.0, 1))
        self.assertEqual(
            row.max_days_late, (TUESDAY + days(1) - other.invoice_date_due).days
        )

    def test_a_disputed_invoice_leaves_the_list(self):
        dispute = self.env["dunning.dispute"]._dunning_open(
            self.invoice, "wrong_amount"
        )
        self.assertFalse(self.row(TUESDAY))
        dispute.action_resolve()
        self.assertEqual(self.row(TUESDAY).reason, "overdue")

    def test_a_broken_promise_comes_first_and_says_why(self):
        promise = self.break_promise()
        rows = self.rows(TUESDAY + days(6))
        self.assertEqual(rows.partner_id[:2], self.customer | self.big)
        self.assertEqual(rows[0].partner_id, self.customer)
        first, second = rows[:2]
        self.assertTrue(first.broken_promise)
        self.assertEqual(first.reason, "broken_promise")
        self.assertEqual(first.next_step, "broken_promise")
        self.assertEqual(first.promise_id, promise)
        self.assertEqual(second.reason, "overdue")
        self.assertFalse(second.promise_id)

    def test_reaching_the_debtor_after_the_broken_promise_clears_it(self):
        self.break_promise()
        self.contact(TUESDAY + days(6), "refused")
        # Handled today; tomorrow an ordinary overdue customer again.
        self.assertFalse(self.row(TUESDAY + days(6)))
        row = self.row(TUESDAY + days(7))
        self.assertFalse(row.broken_promise)
        self.assertEqual(row.reason, "overdue")
        self.assertEqual(row.next_step, "follow_up")

    def test_an_unanswered_call_does_not_clear_the_broken_promise(self):
        self.break_promise()
        self.contact(TUESDAY + days(6), "no_answer")
        self.assertFalse(self.row(TUESDAY + days(6)))
        row = self.row(TUESDAY + days(7))
        self.assertEqual(row.reason, "broken_promise")
        self.assertEqual(row.attempt_count, 1)

    def test_a_contact_before_the_promise_broke_does_not_clear_it(self):
        self.contact(TUESDAY + days(1), "refused")
        self.break_promise()
        self.assertEqual(self.row(TUESDAY + days(6)).reason, "broken_promise")

    def test_a_broken_promise_paid_since_is_not_listed(self):
        self.break_promise()
        self.pay_on(TUESDAY + days(6))
        self.assertFalse(self.row(TUESDAY + days(6)))

    def test_today_is_the_collectors_day_not_utc(self):
        due_today = self._create_customer("Vence Hoy SA")
        due_today.with_company(self.company).dunning_collector_id = self.collector
        self.create_invoice(due_today, due=TUESDAY, amount=100.0)
        # Wednesday 03:00 UTC is still Tuesday 21:00 in Mexico City.
        late_evening = time(3)
        self.assertFalse(
            self.row(TUESDAY + days(1), partner=due_today, at=late_evening)
        )
        self.assertTrue(
            self.row(TUESDAY + days(1), partner=due_today, at=late_evening, tz="UTC")
        )
        self.assertEqual(
            self.row(TUESDAY + days(1), partner=due_today).max_days_late, 1
        )

    def test_a_call_in_the_collectors_evening_counts_for_their_day(self):
        # Tuesday 20:00 in Mexico City, Wednesday 02:00 UTC.
        self.env["dunning.interaction"].create(
            {
                "partner_id": self.customer.id,
                "user_id": self.collector.id,
                "outcome_id": self.outcomes["refused"].id,
                "date": datetime.combine(TUESDAY + days(1), time(2)),
                "identity_confirmed": True,
            }
        )
        self.assertFalse(self.row(TUESDAY + days(1), at=time(4)))
        # Wednesday morning in Mexico City: to follow up again.
        self.assertEqual(self.row(TUESDAY + days(1), at=time(15)).reason, "overdue")


@tagged("post_install", "-at_install")
class TestPromiseResults(CollectPromiseCommon):
    """Promises per collector (supervision) and in the customer's timeline."""

    def results(self):
        self.env.flush_all()
        groups = (
            self.env["dunning.collector.report"]
            .with_user(self.manager)
            ._read_group(
                [("company_id", "=", self.company.id)],
                ["user_id"],
                [
                    "promise_count:sum",
                    "promise_kept_count:sum",
                    "promise_partial_count:sum",
                    "promise_broken_count:sum",
                    "promise_amount:sum",
                ],
            )
        )
        return {user: tuple(values) for user, *values in groups}

    def test_promises_made_kept_and_broken_per_collector(self):
        kept = self.create_invoice(due=TUESDAY - days(5), amount=400.0)
        partial = self.create_invoice(due=TUESDAY - days(5), amount=500.0)
        open_ = self.create_invoice(due=TUESDAY - days(5), amount=700.0)
        withdrawn = self.create_invoice(due=TUESDAY - days(5), amount=800.0)
        self.promise(self.invoice, 1000.0)  # Lucía: broken
        self.promise(kept, 400.0)  # Lucía: kept
        self.promise(partial, 500.0, user=self.collector_2)  # Pedro: partial
        self.promise(open_, 700.0, user=self.collector_2, date=TUESDAY + days(20))
        self.promise(withdrawn, 300.0, user=self.collector_2).action_cancel()
        self.pay_on(TUESDAY + days(2), kept)
        self.pay_on(TUESDAY + days(2), partial, 200.0)
        self.check_on(TUESDAY + days(6))
        self.assertEqual(
            self.results(),
            {
                self.collector: (2, 1, 0, 1, 1400.0),
                self.collector_2: (2, 0, 1, 0, 1200.0),
            },
        )

    def test_a_promise_made_on_a_call_shows_the_calls_outcome(self):
        promise = self.promise()
        interaction = self.env["dunning.interaction"].create(
            {
                "partner_id": self.customer.id,
                "user_id": self.collector.id,
                "outcome_id": self.outcomes["promise"].id,
                "identity_confirmed": True,
            }
        )
        interaction._link_promise(promise)
        self.env.flush_all()
        rows = self.env["dunning.collector.report"].search(
            [("promise_count", "=", 1), ("user_id", "=", self.collector.id)]
        )
        self.assertEqual(rows.outcome_id, self.outcomes["promise"])
        # The contact itself is a row of its own.
        contacts = self.env["dunning.collector.report"].search(
            [("contact_count", "=", 1), ("user_id", "=", self.collector.id)]
        )
        self.assertEqual(len(contacts), 1)

    def timeline(self):
        self.env.flush_all()
        self.customer.invalidate_recordset(["dunning_timeline_ids"])
        return self.customer.with_user(self.collector).dunning_timeline_ids

    def test_timeline_shows_the_promise_made_and_kept(self):
        promise = self.promise(amount=1000.0, date=TUESDAY + days(3))
        self.pay_on(TUESDAY + days(2))
        self.assertEqual(promise.state, "kept")
        rows = self.timeline().filtered(lambda r: r.kind == "promise")
        self.assertEqual(len(rows), 2)
        made = rows.filtered(lambda r: not r.promise_state)
        settled = rows - made
        self.assertEqual((made.amount, made.user_id), (1000.0, self.collector))
        self.assertIn("Promised to pay", made.description)
        self.assertIn("1,000.00", made.description)
        self.assertEqual(settled.promise_state, "kept")
        self.assertEqual(settled.amount, 1000.0)
        self.assertEqual(settled.date.date(), TUESDAY + days(2))
        self.assertIn("Promise kept", settled.description)
        # The settlement right after the payment of the same day.
        dated_by_day = self.timeline().filtered(
            lambda r: r.kind == "payment" or r.promise_state
        )
        self.assertEqual(dated_by_day.mapped("kind"), ["promise", "payment"])

    def test_timeline_shows_a_broken_promise_on_the_day_it_broke(self):
        self.promise(amount=1000.0, date=TUESDAY + days(3))
        self.check_on(TUESDAY + days(6))
        settled = self.timeline().filtered(lambda r: r.promise_state)
        self.assertEqual(settled.promise_state, "broken")
        self.assertEqual(settled.date.date(), TUESDAY + days(6))
        self.assertEqual(settled.amount, 0.0)
        self.assertIn("Promise broken", settled.description)

    def test_timeline_shows_a_partial_promise_with_what_was_paid(self):
        self.promise(amount=1000.0, date=TUESDAY + days(3))
        self.pay_on(TUESDAY + days(1), amount=250.0)
        self.check_on(TUESDAY + days(6))
        settled = self.timeline().filtered(lambda r: r.promise_state)
        self.assertEqual((settled.promise_state, settled.amount), ("partial", 250.0))
        self.assertIn("250.00", settled.description)
