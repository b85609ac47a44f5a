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


def load(env):
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
            "name": "Demo mail catcher (localhost:2525, nothing leaves this machine)",
            "smtp_host": "127.0.0.1",
            "smtp_port": 2525,
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

    env["dunning.reminder"]._cron_plan()
    env["dunning.reminder"]._cron_dispatch()
    reminders = env["dunning.reminder"].search([])
    print(
        f"Demo data: {len(customers)} customers, {len(invoices)} invoices, "
        f"{len(reminders)} reminders "
        f"({len(reminders.filtered(lambda r: r.state == 'sent'))} sent, "
        f"{len(reminders.filtered(lambda r: r.state == 'deferred'))} deferred)"
    )


# ============================================================================
# Plumbing
# ============================================================================
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration file")
    parser.add_argument("-d", "--database", required=True, help="database to load into")
    args = parser.parse_args(argv)

    config.parse_config(["-c", args.config, "-d", args.database, "--no-http"])
    registry = Registry(args.database)
    with registry.cursor() as cr:
        env = Environment(cr, odoo.SUPERUSER_ID, {})
        env = env(context=dict(env.context, **env["res.users"].context_get()))
        try:
            load(env)
            cr.commit()
        except Exception:
            cr.rollback()
            _logger.exception("Loading the demo data into %s failed", args.database)
            return 1
    _logger.info("Demo data loaded into %s", args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
