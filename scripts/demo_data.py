#!/usr/bin/env python3
"""Load the demonstration data into an account_dunning database.

``make demo`` runs it once, right after it created the demo database:

    .venv/bin/python scripts/demo_data.py -c .build/odoo.conf -d dunning_demo

Everything below ``load()`` is plumbing: it opens the database with the given
Odoo configuration, calls ``load(env)`` as superuser, commits when it returns and
rolls back (exit status 1) when it raises.
"""

import argparse
import logging
import os
import sys

import odoo
from odoo.api import Environment
from odoo.modules.registry import Registry
from odoo.tools import config

_logger = logging.getLogger("account_dunning.demo_data")


# ============================================================================
# DEMO DATA
# ============================================================================
DEMO_COMPANY = {
    "name": "Distribuidora del Valle S.A. de C.V.",
    "street": "Av. Insurgentes Sur 1602",
    "city": "Ciudad de México",
    "zip": "03940",
    "phone": "+52 55 5000 1234",
    "email": "cobranza@delvalle.example.com",
}

# name, email, lang, tz (False = derived from the state/country), country, state
DEMO_CUSTOMERS = [
    (
        "Abarrotes La Esperanza",
        "pagos@laesperanza.example.com",
        "es_MX",
        "America/Mexico_City",
        "mx",
        "CMX",
    ),
    (
        "Ferretería El Tornillo",
        "contabilidad@eltornillo.example.com",
        "es_MX",
        "America/Tijuana",
        "mx",
        "BCN",
    ),
    (
        "Hotel Caribe Azul",
        "cuentasporpagar@caribeazul.example.com",
        "es_MX",
        False,
        "mx",
        "ROO",
    ),
    (
        "Comercializadora Regia",
        "tesoreria@regia.example.com",
        "es_MX",
        "America/Monterrey",
        "mx",
        "NLE",
    ),
    ("Papelería Tapatía", "admin@tapatia.example.com", "es_MX", False, "mx", "JAL"),
    (
        "Mariscos Sonora",
        "facturas@mariscossonora.example.com",
        "es_MX",
        "America/Hermosillo",
        "mx",
        "SON",
    ),
    (
        "Distribuciones Andinas SAS",
        "cartera@andinas.example.com",
        "es_CO",
        "America/Bogota",
        "co",
        False,
    ),
    (
        "Importadora Pacífico SAC",
        "pagos@pacifico.example.com",
        "es_PE",
        "America/Lima",
        "pe",
        False,
    ),
    (
        "Viñedos del Sur SpA",
        "finanzas@vinedosdelsur.example.com",
        "es_CL",
        "America/Santiago",
        "cl",
        False,
    ),
    (
        "Suministros Ibéricos S.L.",
        "administracion@ibericos.example.com",
        "es_ES",
        "Europe/Madrid",
        "es",
        False,
    ),
    (
        "Golden Gate Supplies Inc.",
        "ap@goldengate.example.com",
        "en_US",
        "America/Los_Angeles",
        "us",
        "CA",
    ),
    (
        "Hudson Trading LLC",
        "payables@hudson.example.com",
        "en_US",
        "America/New_York",
        "us",
        "NY",
    ),
]

# WhatsApp (customer index, mobile, consent): through the local sandbox account.
# The sandbox (scripts/whatsapp_sandbox.py) answers as Meta would and posts
# signed delivered/read statuses; numbers ending in 0000 are "not on WhatsApp".
DEMO_WHATSAPP_CUSTOMERS = [
    (0, "+52 55 1234 5601", "contract"),
    (1, "+52 664 123 4502", "portal"),
    (2, "+52 998 123 0000", "phone"),  # not on WhatsApp: fails with 131026
    (3, "+52 81 1234 5603", "opt_out"),  # agreed, then answered BAJA
    (4, "+52 33 12", "contract"),  # invalid number: never sent
    (5, "+52 662 123 4505", "whatsapp"),
]
DEMO_WHATSAPP_CONSENT = (
    "Acepto recibir por WhatsApp recordatorios de pago y avisos sobre mis facturas "
    "de Distribuidora del Valle. Puedo darme de baja en cualquier momento "
    "respondiendo BAJA."
)
# Levels of the default policy that also send WhatsApp (days from the due date).
DEMO_WHATSAPP_LEVELS = (0, 1, 7, 30)

# (customer index, days from today to the due date, amount): due dates from 20 days
# ahead to 60 days ago, so that every level of the default policy is reached.
DEMO_INVOICES = [
    (0, 20, 18500.0),
    (0, 3, 4200.0),
    (0, -1, 12750.0),
    (0, -8, 3300.0),
    (1, 0, 9800.0),
    (1, -16, 15600.0),
    (1, -45, 2400.0),
    (2, 3, 56000.0),
    (2, -2, 7100.0),
    (3, -7, 23400.0),
    (3, -31, 41000.0),
    (3, -60, 8600.0),
    (4, 10, 3150.0),
    (4, -1, 2890.0),
    (4, -20, 6400.0),
    (5, -3, 11200.0),
    (5, -30, 9900.0),
    (6, 3, 13400.0),
    (6, -9, 5200.0),
    (7, -1, 7700.0),
    (7, -35, 14900.0),
    (8, 0, 6100.0),
    (8, -15, 3800.0),
    (9, -7, 2750.0),
    (9, 15, 4600.0),
    (10, -2, 8900.0),
    (10, -31, 12000.0),
    (11, 3, 3500.0),
    (11, -50, 19800.0),
]


def load(env, whatsapp_url=None, mail_port=2525):
    """Fill the demo database: a Mexican company, customers in several countries and
    time zones, invoices around their due dates, a collector, then one planning and
    one dispatch pass so that the Collections menu shows planned and sent reminders.
    """
    from datetime import timedelta

    from odoo import Command, fields

    company = env.ref("base.main_company")
    mxn = env.ref("base.MXN")
    mxn.active = True
    if company.currency_id != mxn and not env["account.move.line"].search_count(
        [("company_id", "=", company.id)], limit=1
    ):
        company.currency_id = mxn
    company.write(
        dict(
            DEMO_COMPANY,
            country_id=env.ref("base.mx").id,
            state_id=env.ref("base.state_mx_df").id,
        )
    )
    company.partner_id.tz = "America/Mexico_City"
    # The bank account the reminders and the customer page give for transfers
    # (an 18-digit CLABE, made up).
    env["res.partner.bank"].create(
        {
            "acc_number": "012180001234567897",
            "partner_id": company.partner_id.id,
            "bank_id": env["res.bank"].create({"name": "BBVA México"}).id,
        }
    )
    langs = ["es_MX", "es_CO", "es_PE", "es_CL", "es_ES"]
    for lang in langs:
        env["res.lang"]._activate_lang(lang)
    # Activating a language loads no terms by itself: load every installed
    # module's Spanish, so that the collector's screens and the emails to
    # Spanish-speaking customers are in Spanish.
    env["ir.module.module"].search([("state", "=", "installed")])._update_translations(
        langs
    )
    env.ref("base.user_admin").write(
        {"tz": "America/Mexico_City", "email": "admin@delvalle.example.com"}
    )

    # Emails of the demo leave through a local mail catcher, never to the
    # example.com addresses of the demo customers (scripts/demo.sh starts it).
    env["ir.mail_server"].create(
        {
            "name": f"Demo mail catcher (localhost:{mail_port}, nothing leaves "
            "this machine)",
            "smtp_host": "127.0.0.1",
            "smtp_port": mail_port,
            "smtp_encryption": "none",
            "sequence": 1,
        }
    )

    collector = env["res.users"].create(
        {
            "name": "Lucía Collector",
            "login": "collector",
            "password": "collector",
            "email": "lucia.collector@delvalle.example.com",
            "tz": "America/Mexico_City",
            "lang": "es_MX",
            "groups_id": [
                Command.link(env.ref("account_dunning.group_dunning_collector").id)
            ],
        }
    )

    customers = env["res.partner"]
    for name, email, lang, tz, country, state in DEMO_CUSTOMERS:
        country_rec = env.ref(f"base.{country}")
        state_rec = (
            env["res.country.state"].search(
                [("country_id", "=", country_rec.id), ("code", "=", state)], limit=1
            )
            if state
            else env["res.country.state"]
        )
        customers |= env["res.partner"].create(
            {
                "name": name,
                "is_company": True,
                "email": email,
                "lang": lang,
                "tz": tz,
                "country_id": country_rec.id,
                "state_id": state_rec.id,
                "dunning_collector_id": collector.id,
            }
        )

    today = fields.Date.context_today(env["res.partner"])
    product = env["product.product"].create(
        {"name": "Abarrotes surtidos (lote)", "type": "consu", "list_price": 1000.0}
    )
    # A year of invoices and payments behind today's (scripts/demo_history.py).
    from demo_history import load_history

    load_history(env, customers, collector, product, today)
    invoices = env["account.move"]
    for index, due_in, amount in DEMO_INVOICES:
        due = today + timedelta(days=due_in)
        invoices |= env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": customers[index].id,
                "invoice_date": due - timedelta(days=30),
                "invoice_date_due": due,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "quantity": 1,
                            "price_unit": amount,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ],
            }
        )
    invoices.action_post()
    # The due date is recomputed from the payment terms on posting: keep ours.
    for invoice, (_index, due_in, _amount) in zip(invoices, DEMO_INVOICES, strict=True):
        invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        ).date_maturity = today + timedelta(days=due_in)

    # A credit note for one customer, one invoice paid in part, one excluded.
    refund = env["account.move"].create(
        {
            "move_type": "out_refund",
            "partner_id": customers[3].id,
            "invoice_date": today - timedelta(days=10),
            "invoice_line_ids": [
                Command.create(
                    {
                        "product_id": product.id,
                        "quantity": 1,
                        "price_unit": 2500.0,
                        "tax_ids": [Command.clear()],
                    }
                )
            ],
        }
    )
    refund.action_post()
    partial = invoices.filtered(lambda m: m.partner_id == customers[1])[1]
    env["account.payment.register"].with_context(
        active_model="account.move", active_ids=partial.ids
    ).create({"amount": partial.amount_total / 2}).action_create_payments()
    invoices.filtered(lambda m: m.partner_id == customers[10])[:1].write(
        {
            "dunning_excluded": True,
            "dunning_exclusion_reason": "Disputed quantity, under review",
        }
    )

    if whatsapp_url:
        load_whatsapp(env, whatsapp_url, customers)

    env["dunning.reminder"]._cron_plan()
    env["dunning.reminder"]._cron_dispatch()
    # The mail queue's cron, as dispatch triggers it: an email reminder is sent
    # once the mail server (the demo's mail catcher) took its mail.
    env["mail.mail"].process_email_queue()
    promises = load_promises(env, customers, invoices, collector)
    if whatsapp_url:
        load_whatsapp_promise(env, customers, collector)
    load_calls(env, collector, customers, promises)
    # What the nightly crons would have computed by now: the risk scores and
    # segments, from the year of history.
    env["dunning.risk"]._cron_compute()
    reminders = env["dunning.reminder"].search([])
    print(
        f"Demo data: {len(customers)} customers, {len(invoices)} invoices, "
        f"{len(reminders)} reminders "
        f"({len(reminders.filtered(lambda r: r.state == 'sent'))} sent, "
        f"{len(reminders.filtered(lambda r: r.state == 'deferred'))} deferred; "
        f"{len(reminders.filtered(lambda r: r.channel == 'whatsapp'))} by WhatsApp)"
    )


def load_promises(env, customers, invoices, collector):
    """A kept promise, a broken one, a running payment plan and a dispute."""
    from datetime import timedelta

    from odoo import fields

    today = fields.Date.context_today(env["res.partner"])
    Promise = env["dunning.promise"]

    def invoice_of(index, due_in):
        return invoices.filtered(
            lambda m: (
                m.partner_id == customers[index]
                and m.invoice_date_due == today + timedelta(days=due_in)
            )
        )

    # Kept: promised on the phone for Friday, paid in full two days later.
    kept_invoice = invoice_of(5, -3)
    kept = Promise._dunning_register(
        customers[5],
        kept_invoice,
        kept_invoice.amount_residual,
        today + timedelta(days=4),
        "call",
        note="Pago con transferencia en cuanto reciba el pago de su cliente.",
        user_id=collector.id,
    )
    # Its confirmations (the outbox's dispatcher) leave before the payment
    # (inside the contact hours; else they wait for them, and the kept promise
    # cancels them).
    env["dunning.reminder"]._cron_dispatch()
    env["account.payment.register"].with_context(
        active_model="account.move", active_ids=kept_invoice.ids
    ).create({}).action_create_payments()

    # Broken: promised for a week ago, nothing came. The date is moved back
    # after the registration, which accepts future dates only.
    broken_invoice = invoice_of(7, -35)
    broken = Promise._dunning_register(
        customers[7],
        broken_invoice,
        broken_invoice.amount_residual,
        today + timedelta(days=1),
        "call",
        user_id=collector.id,
    )
    broken.date_promised = today - timedelta(days=7)
    Promise._cron_check()
    # The broken promise escalates its invoice on the next planning run.
    env["dunning.reminder"]._cron_plan()

    # A payment plan: three monthly instalments for a long overdue invoice.
    plan_invoice = invoice_of(11, -50)
    third = round(plan_invoice.amount_residual / 3, 2)
    plan = env["dunning.payment.plan"]._dunning_create(
        customers[11],
        plan_invoice,
        [
            (today + timedelta(days=7), third),
            (today + timedelta(days=37), third),
            (today + timedelta(days=67), plan_invoice.amount_residual - 2 * third),
        ],
        note="Sin recargos mientras se respeten las fechas.",
    )
    plan.user_id = collector
    plan.promise_ids.user_id = collector

    # A dispute: the customer never received one invoice.
    env["dunning.dispute"]._dunning_open(
        invoice_of(9, -7),
        "not_received",
        "El cliente dice que la factura no llegó a su buzón.",
        source="call",
    )
    print(
        f"Demo promises: {kept.state}, {broken.state}; plan of "
        f"{len(plan.promise_ids)} instalments; 1 dispute"
    )
    return {
        "kept": kept,
        "broken": broken,
        "plan": plan.promise_ids.sorted("date_promised")[:1],
    }


def load_whatsapp(env, url, customers):
    """The WhatsApp part of the demo: a sandbox account on the local sandbox at
    ``url``, its approved template, WhatsApp on some levels of the default
    policy, and customers with mobile numbers and recorded consent (one opted
    out, one with an invalid number, one not on WhatsApp).
    """
    from datetime import timedelta

    import whatsapp_sandbox as sandbox

    from odoo import Command, fields

    company = env.ref("base.main_company")
    account = env["dunning.whatsapp.account"].create(
        {
            "name": "WhatsApp SANDBOX (demo: nothing leaves this machine)",
            "company_id": company.id,
            "phone_number_id": sandbox.PHONE_NUMBER_ID,
            "waba_id": sandbox.WABA_ID,
            "access_token": sandbox.ACCESS_TOKEN,
            "app_secret": sandbox.APP_SECRET,
            "verify_token": sandbox.VERIFY_TOKEN,
            "api_base_url": url,
            "rate_per_second": 20,
            "daily_recipient_budget": 250,
        }
    )
    account.action_test_connection()  # fills the display number
    meta = sandbox.TEMPLATES[0]
    body = next(c["text"] for c in meta["components"] if c["type"] == "BODY")
    sources = [
        "partner_name",
        "amount_due",
        "oldest_due_date",
        "invoice_numbers",
        "company_name",
    ]
    template = env["dunning.whatsapp.template"].create(
        {
            "name": meta["name"],
            "language": meta["language"],
            "category": "utility",
            "status": "approved",
            "account_id": account.id,
            "body_text": body,
            "url_button": True,
            "param_ids": [
                Command.create({"sequence": index, "source": source})
                for index, source in enumerate(sources, start=1)
            ],
        }
    )
    policy = company.dunning_policy_id
    policy.level_ids.filtered(
        lambda level: level.offset_days in DEMO_WHATSAPP_LEVELS
    ).write({"channel_whatsapp": True, "whatsapp_template_id": template.id})
    # The shipped templates of the promise confirmation and the thank-you, as
    # the sandbox approved them: both go by email and by WhatsApp.
    notices = env["dunning.whatsapp.template"]._create_shipped_notice_templates(account)
    notices.status = "approved"

    def notice(name):
        return notices.filtered(lambda t: t.name == name and t.language == "es_MX")

    policy.write(
        {
            "promise_confirm_whatsapp": True,
            "promise_whatsapp_template_id": notice("confirmacion_promesa_pago").id,
            "thank_you_whatsapp": True,
            "thank_you_whatsapp_template_id": notice("agradecimiento_pago").id,
        }
    )

    now = fields.Datetime.now()
    for index, mobile, consent in DEMO_WHATSAPP_CUSTOMERS:
        values = {
            "mobile": mobile,
            "whatsapp_opt_in": True,
            "whatsapp_opt_in_date": now - timedelta(days=90),
            "whatsapp_opt_in_source": "contract" if consent == "opt_out" else consent,
            "whatsapp_opt_in_text": DEMO_WHATSAPP_CONSENT,
        }
        if consent == "opt_out":
            values.update(
                whatsapp_opt_out=True, whatsapp_opt_out_date=now - timedelta(days=5)
            )
        customers[index].write(values)
    return account


def load_whatsapp_promise(env, customers, collector=None):
    """A promise the first WhatsApp customer made by WhatsApp, confirmed to them
    by WhatsApp (now, or when their contact hours open)."""
    from datetime import timedelta

    from odoo import fields

    customer = customers[DEMO_WHATSAPP_CUSTOMERS[0][0]]
    today = fields.Date.context_today(customer)
    invoices = env["account.move"].search(
        [
            ("partner_id", "=", customer.id),
            ("move_type", "=", "out_invoice"),
            ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial")),
            ("invoice_date_due", "<", today),
        ],
        order="invoice_date_due, id",
    )
    invoice = invoices.filtered(
        lambda m: not m.dunning_promise_ids.filtered(lambda p: p.state == "open")
    )[:1]
    if not invoice:
        return
    values = {"user_id": collector.id} if collector else {}
    promise = env["dunning.promise"]._dunning_register(
        customer,
        invoice,
        invoice.amount_residual,
        today + timedelta(days=5),
        "whatsapp",
        note="Escribió por WhatsApp: paga el total en cuanto cobre a su cliente.",
        **values,
    )
    env["dunning.reminder"]._cron_dispatch()
    row = env["dunning.reminder"].search(
        [("promise_id", "=", promise.id), ("channel", "=", "whatsapp")], limit=1
    )
    print(
        f"Demo WhatsApp confirmation of a promise: {row.state}"
        + (f" ({row.error_message})" if row.error_message else "")
    )


def load_whatsapp_into_existing(env, url):
    """``make demo`` on a database made before WhatsApp was in the demo.

    Idempotent: an existing sandbox account only gets the sandbox's current
    address; otherwise the WhatsApp part is loaded and the customers with
    consent are sent a WhatsApp reminder now (today's levels were planned
    already, before WhatsApp was on).
    """
    import whatsapp_sandbox as sandbox

    account = (
        env["dunning.whatsapp.account"]
        .with_context(active_test=False)
        .search([("phone_number_id", "=", sandbox.PHONE_NUMBER_ID)])
    )
    if account:
        if account.api_base_url != url:
            account.api_base_url = url
        return
    names = [name for name, *_rest in DEMO_CUSTOMERS]
    customers = env["res.partner"]
    for name in names:
        customers |= env["res.partner"].search(
            [("name", "=", name), ("is_company", "=", True)], limit=1
        )
    if len(customers) != len(names):
        print("Not the demo database: WhatsApp demo data not loaded")
        return
    account = load_whatsapp(env, url, customers)
    level = account.company_id.dunning_policy_id.level_ids.filtered("channel_whatsapp")[
        :1
    ]
    wizard = (
        env["dunning.reminder.send"]
        .with_context(
            active_model="res.partner",
            active_ids=[customers[index].id for index, *_ in DEMO_WHATSAPP_CUSTOMERS],
        )
        .create({"level_id": level.id, "channel": "whatsapp"})
    )
    wizard.action_send()
    env["dunning.reminder"]._cron_dispatch()
    load_whatsapp_promise(env, customers)


# customer index, days ago, hour (UTC), outcome code, minutes, note
DEMO_CALLS = [
    (0, 3, 16, "no_answer", 1, ""),
    (0, 2, 17, "voicemail", 1, "Dejé nombre y teléfono, sin mencionar el adeudo."),
    (1, 4, 18, "refused", 6, "Dice que no pagará hasta recibir la mercancía faltante."),
    (3, 2, 15, "waiting_approval", 4, "El pago está en autorización con dirección."),
    (4, 1, 19, "already_paid", 3, "Dice que pagó por transferencia el viernes."),
    (6, 1, 16, "wrong_number", 1, "Contestó una persona que no conoce a la empresa."),
    (2, 1, 17, "call_back", 1, "Contestó la recepcionista; pide llamar mañana."),
]


def load_calls(env, collector, customers, promises):
    """Calls the collector logged in the last days, with their next steps, and
    the calls the demo promises and plan were agreed on, linked to them."""
    from datetime import datetime, timedelta

    from odoo import Command

    now = datetime.now().replace(minute=0, second=0, microsecond=0)
    outcomes = {o.code: o for o in env["dunning.outcome"].search([])}
    # Not one of the WhatsApp customers: the wrong number would stop their chat.
    customers[6].mobile = "+52 33 5555 0106"
    for index, days_ago, hour, code, minutes, note in DEMO_CALLS:
        outcome = outcomes[code]
        when = (now - timedelta(days=days_ago)).replace(hour=hour)
        interaction = env["dunning.interaction"].create(
            {
                "partner_id": customers[index].id,
                "user_id": collector.id,
                "date": when,
                "outcome_id": outcome.id,
                "duration": minutes,
                "note": note,
                "identity_confirmed": outcome.requires_identity,
                "third_party": code == "call_back",
                "callback_at": (
                    when + timedelta(days=2) if outcome.action == "callback" else False
                ),
            }
        )
        interaction._run_next_step()
    agreed = [
        ("kept", "promise", 0, "Pagará el viernes por transferencia."),
        ("broken", "promise", 8, "Promete pagar la próxima semana sin falta."),
        ("plan", "payment_plan", 0, "Acordamos tres pagos mensuales."),
    ]
    for key, code, days_ago, note in agreed:
        promise = promises[key]
        interaction = env["dunning.interaction"].create(
            {
                "partner_id": promise.partner_id.id,
                "move_ids": [Command.set(promise.move_ids.ids)],
                "user_id": collector.id,
                "date": now - timedelta(days=days_ago, hours=1),
                "outcome_id": outcomes[code].id,
                "duration": 5,
                "note": note,
                "identity_confirmed": True,
            }
        )
        interaction._link_promise(promise)
    print(
        f"Demo data: {len(DEMO_CALLS) + len(agreed)} logged calls for "
        f"{collector.name}, {len(agreed)} with their promise"
    )


# ============================================================================
# Plumbing
# ============================================================================
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration file")
    parser.add_argument("-d", "--database", required=True, help="database to load into")
    parser.add_argument(
        "--whatsapp-sandbox",
        metavar="URL",
        help="base URL of scripts/whatsapp_sandbox.py: adds the WhatsApp demo",
    )
    parser.add_argument(
        "--mail-port",
        type=int,
        default=2525,
        help="port of the demo's mail catcher (scripts/mail_catcher.py)",
    )
    parser.add_argument(
        "--whatsapp-only",
        action="store_true",
        help="only add the WhatsApp demo to an existing demo database (idempotent)",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

    config.parse_config(["-c", args.config, "-d", args.database, "--no-http"])
    registry = Registry(args.database)
    with registry.cursor() as cr:
        env = Environment(cr, odoo.SUPERUSER_ID, {})
        env = env(context=dict(env.context, **env["res.users"].context_get()))
        try:
            if args.whatsapp_only:
                load_whatsapp_into_existing(env, args.whatsapp_sandbox)
            else:
                load(env, args.whatsapp_sandbox, args.mail_port)
            cr.commit()
        except Exception:
            cr.rollback()
            _logger.exception("Loading the demo data into %s failed", args.database)
            return 1
    _logger.info("Demo data loaded into %s", args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
