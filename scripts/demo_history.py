"""A year of history for the demo: what the reports, the risk cards, the
forecast and the back-test read.

Every demo customer, and two dozen more, bought from the company every month of
the last twelve; each pays with its own habit (on time, a little late, very
late, or not at all), so that the aged receivables, DSO and CEI, the risk
scores and the segments, the predicted payment dates and the forecast's error
show real, different numbers. Past promises, kept and broken, and a resolved
dispute complete the picture. The draws are seeded: every demo database gets
the same history.

Loaded by ``scripts/demo_data.py`` (``load_history``) before the demo's own
current invoices.
"""

import random
from datetime import timedelta

# How a customer pays: (share of invoices paid, delay range in days after the
# due date). A negative delay is an early payment.
HABITS = {
    "punctual": (1.0, (-4, 2)),
    "steady": (0.98, (0, 12)),
    "slow": (0.95, (10, 40)),
    "erratic": (0.85, (5, 95)),
}

# The habit of each of the demo's twelve customers (scripts/demo_data.py's
# DEMO_CUSTOMERS, same order).
DEMO_CUSTOMER_HABITS = [
    "steady",
    "slow",
    "punctual",
    "erratic",
    "steady",
    "slow",
    "punctual",
    "erratic",
    "steady",
    "steady",
    "punctual",
    "slow",
]

# More customers, in Mexico: name, state code, habit, typical monthly amount.
HISTORY_CUSTOMERS = [
    ("Cremería Los Altos", "JAL", "punctual", 14000),
    ("Farmacia San Rafael", "PUE", "steady", 9500),
    ("Taller Mecánico Hermanos Ruiz", "NLE", "slow", 6200),
    ("Restaurante El Fogón", "CMX", "erratic", 11800),
    ("Constructora Bajío", "GUA", "slow", 48000),
    ("Tortillería La Guadalupana", "MEX", "punctual", 4300),
    ("Hotel Boutique Casa Oaxaca", "OAX", "steady", 21000),
    ("Panadería Santa Clara", "QUE", "steady", 5600),
    ("Agroinsumos del Norte", "CHH", "erratic", 36000),
    ("Clínica Dental Sonrisa", "YUC", "punctual", 7800),
    ("Lavandería Express Tampico", "TAM", "slow", 3900),
    ("Refaccionaria El Pistón", "SIN", "erratic", 12500),
    ("Escuela Montessori Querétaro", "QUE", "punctual", 16500),
    ("Mueblería Veracruzana", "VER", "steady", 19200),
    ("Cafetería La Parroquia", "VER", "slow", 5100),
    ("Gimnasio Fuerza Total", "AGU", "erratic", 8700),
    ("Florería Las Rosas", "MIC", "steady", 3600),
    ("Óptica Visión Clara", "COA", "punctual", 6900),
    ("Transportes del Golfo", "TAB", "slow", 27500),
    ("Minisúper El Ahorro", "SLP", "erratic", 4800),
    ("Laboratorio Análisis Médicos Sur", "CHP", "steady", 13300),
    ("Purificadora Agua Viva", "ZAC", "slow", 2900),
    ("Imprenta Gráficos Morelos", "MOR", "punctual", 7400),
    ("Viveros Xochimilco", "CMX", "erratic", 5300),
]

MONTHS = 12
TERMS_DAYS = 30


def load_history(env, customers, collector, product, today):
    """Create the year of history; returns the history customers created."""
    from odoo import Command

    rng = random.Random(20261203)
    mexico = env.ref("base.mx")
    extra = env["res.partner"]
    for name, state_code, _habit, _amount in HISTORY_CUSTOMERS:
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:18]
        extra |= env["res.partner"].create(
            {
                "name": name,
                "is_company": True,
                "email": f"pagos@{slug}.example.com",
                "lang": "es_MX",
                "country_id": mexico.id,
                "state_id": env["res.country.state"]
                .search([("country_id", "=", mexico.id), ("code", "=", state_code)])
                .id,
                "dunning_collector_id": collector.id,
            }
        )
    plan = [
        (partner, habit, rng.choice((3, 5, 8, 12, 18, 25)) * 1000)
        for partner, habit in zip(customers, DEMO_CUSTOMER_HABITS, strict=True)
    ] + [
        (partner, habit, amount)
        for partner, (_n, _s, habit, amount) in zip(
            extra, HISTORY_CUSTOMERS, strict=True
        )
    ]

    terms = env.ref("account.account_payment_term_30days")
    values, fates = [], []
    for partner, habit, amount in plan:
        share_paid, (early, late) = HABITS[habit]
        for month in range(MONTHS, 0, -1):
            invoice_date = today - timedelta(days=30 * month + rng.randint(0, 12))
            due = invoice_date + timedelta(days=TERMS_DAYS)
            paid_on = None
            if rng.random() < share_paid:
                paid_on = due + timedelta(days=rng.randint(early, late))
                if paid_on >= today:
                    paid_on = None  # still open: paid "later"
            price = round(amount * rng.uniform(0.6, 1.4), -1)
            values.append(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "invoice_date": invoice_date,
                    # Due 30 days after, as the payment terms say.
                    "invoice_payment_term_id": terms.id,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "quantity": 1,
                                "price_unit": price,
                                "tax_ids": [Command.clear()],
                            }
                        )
                    ],
                }
            )
            fates.append((due, paid_on))
    invoices = env["account.move"].create(values)
    invoices.action_post()
    # One payment per paid invoice, on its day: the reconciliation's date is
    # what every report reads as "paid on". Created, posted and reconciled in
    # batches (three times faster than the payment wizard, one by one).
    paid = [
        (invoice, paid_on)
        for invoice, (_due, paid_on) in zip(invoices, fates, strict=True)
        if paid_on
    ]
    for start in range(0, len(paid), 100):
        batch = paid[start : start + 100]
        payments = env["account.payment"].create(
            [
                {
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": invoice.commercial_partner_id.id,
                    "amount": invoice.amount_residual,
                    "date": paid_on,
                    "memo": invoice.name,
                }
                for invoice, paid_on in batch
            ]
        )
        payments.action_post()
        env["account.move.line"]._reconcile_plan(
            [
                (invoice.line_ids | payment.move_id.line_ids).filtered(
                    lambda line: (
                        line.account_id.account_type == "asset_receivable"
                        and not line.reconciled
                    )
                )
                for (invoice, _paid_on), payment in zip(batch, payments, strict=True)
            ]
        )
    _load_past_promises(env, invoices, fates, collector, rng, today)
    reminders, calls = _load_past_contacts(env, invoices, fates, collector, rng, today)
    print(
        f"Demo history: {len(plan)} customers, {len(invoices)} invoices over "
        f"{MONTHS} months ({len(paid)} paid), {reminders} past reminders and "
        f"{calls} past calls"
    )
    return extra


def _load_past_promises(env, invoices, fates, collector, rng, today):
    """Promises of the past year: most kept on their day, some broken."""
    Promise = env["dunning.promise"]
    late = [
        (invoice, due, paid_on)
        for invoice, (due, paid_on) in zip(invoices, fates, strict=True)
        if paid_on is None or (paid_on - due).days > 15
    ]
    for invoice, due, paid_on in rng.sample(late, min(len(late), 40)):
        promised = due + timedelta(days=rng.randint(10, 20))
        kept = paid_on is not None and paid_on <= promised + timedelta(days=3)
        if paid_on is None and promised >= today:
            continue
        Promise.create(
            {
                "partner_id": invoice.commercial_partner_id.id,
                "company_id": invoice.company_id.id,
                "move_ids": [(6, 0, invoice.ids)],
                "currency_id": invoice.currency_id.id,
                "amount": invoice.amount_total,
                "date_promised": promised,
                "state": "kept" if kept else "broken",
                "date_settled": paid_on if kept else promised + timedelta(days=4),
                "user_id": collector.id,
                "channel": "phone",
            }
        )


# What a past call ended with: (outcome code, weight, note).
PAST_CALL_OUTCOMES = [
    ("promise", 5, "Se compromete a pagar esta semana."),
    ("no_answer", 4, ""),
    ("voicemail", 2, "Dejé mensaje con el monto y la referencia."),
    ("call_back", 2, "Pide que llamemos otro día."),
    ("already_paid", 1, "Dice que ya pagó; se revisa el depósito."),
    ("refused", 1, "No reconoce el saldo; pide el estado de cuenta."),
]


def _load_past_contacts(env, invoices, fates, collector, rng, today):
    """The reminders the company's policy sent over the year, and the calls of
    its call level: what the Reminder Results, the Collector Results and the
    customers' contact history read. One reminder per customer, level and day
    (listing every invoice of that customer that reached the level that day),
    sent at 10:00 in Mexico City; no reminder after an invoice was paid."""
    from collections import defaultdict
    from datetime import datetime, time

    policy = env.company.dunning_policy_id
    levels = policy.level_ids.sorted("offset_days")
    grouped = defaultdict(lambda: env["account.move"])
    calls = []
    for invoice, (due, paid_on) in zip(invoices, fates, strict=True):
        for level in levels:
            day = due + timedelta(days=level.offset_days)
            if day >= today or (paid_on and paid_on <= day):
                continue
            channels = level._get_channels()
            if channels == ["activity"]:
                calls.append((invoice, day))
            elif channels:
                grouped[invoice.commercial_partner_id, level, channels[0], day] |= (
                    invoice
                )
    values = []
    for (partner, level, channel, day), moves in grouped.items():
        sent_at = datetime.combine(day, time(16, 0))  # 10:00 in Mexico City
        state = "sent"
        if channel == "whatsapp":
            state = "read" if rng.random() < 0.7 else "delivered"
        values.append(
            {
                "company_id": env.company.id,
                "partner_id": partner.id,
                "recipient_id": partner.id,
                "level_id": level.id,
                "channel": channel,
                "state": state,
                "plan_date": day,
                "scheduled_at": sent_at,
                "sent_at": sent_at,
                "attempt_count": 1,
                "currency_id": moves[:1].currency_id.id,
                "amount_due": sum(moves.mapped("amount_total")),
                "move_ids": [(6, 0, moves.ids)],
            }
        )
    quiet = {"tracking_disable": True, "mail_create_nolog": True, "mail_notrack": True}
    env["dunning.reminder"].with_context(**quiet).create(values)
    outcomes = {o.code: o for o in env["dunning.outcome"].search([])}
    codes = [code for code, weight, _note in PAST_CALL_OUTCOMES for _ in range(weight)]
    notes = {code: note for code, _weight, note in PAST_CALL_OUTCOMES}
    call_values = []
    for invoice, day in calls:
        code = rng.choice(codes)
        outcome = outcomes[code]
        call_values.append(
            {
                "partner_id": invoice.commercial_partner_id.id,
                "move_ids": [(6, 0, invoice.ids)],
                "user_id": collector.id,
                "date": datetime.combine(day, time(rng.randint(15, 23), 0)),
                "outcome_id": outcome.id,
                "duration": 0 if code == "no_answer" else rng.randint(2, 9),
                "note": notes[code],
                "identity_confirmed": outcome.requires_identity,
            }
        )
    env["dunning.interaction"].with_context(**quiet).create(call_values)
    return len(values), len(call_values)
