"""Benchmark data: N posted customer invoices over P customers, in bulk.

Creating 100,000 invoices through the ORM takes hours, so only a handful of
*template* invoices go through it (``action_post`` does all the accounting:
receivable line with its maturity, taxes, residual amounts, payment state);
every benchmark invoice is then a clone of a template made by two
``INSERT ... SELECT`` statements over ``generate_series``:

* one ``account_move`` row per invoice, with its own id, name (unique per
  journal: ``account_move_unique_name``), customer, dates, and every monetary
  column of its template multiplied by an integer factor (1 to 20, so that the
  amounts stay exact to the cent and every entry stays balanced);
* the template's ``account_move_line`` rows, with the same factor, the new
  move, customer, dates and the due date as ``date_maturity`` of the receivable
  line, plus their taxes and tax tags (many2many tables).

Every other column is copied from the template as the ORM wrote it, so columns
added by other modules are carried over without this file knowing them. The
templates are deleted afterwards: the database holds exactly N invoices.

Due dates are spread uniformly from 15 days ahead to 90 days ago (106 distinct
days); customers, templates and factors are assigned by ``hashint4`` of the
invoice number, so the data is the same at every run and for every engine.
"""

import time
from datetime import timedelta

from odoo import Command, fields
from odoo.tools import SQL

DUE_AHEAD_DAYS = 15  # latest due date: today + 15
DUE_BACK_DAYS = 90  # earliest due date: today - 90
INVOICE_TERM_DAYS = 30  # invoice date = due date - 30
MAX_FACTOR = 20
PARTNER_BATCH = 1000
NAME_PREFIX = "INV/BENCH/"

# Context for bulk ORM creation: no chatter messages, no tracking, no followers.
QUIET = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
}

# Monetary columns that are floats, not ``monetary`` fields, yet scale with the amount.
EXTRA_SCALED = {"account_move_line": {"price_unit"}}

# Many2many tables of account.move.line that describe the line itself.
LINE_M2M = {
    "account_move_line_account_tax_rel": ("account_move_line_id", "account_tax_id"),
    "account_account_tag_account_move_line_rel": (
        "account_move_line_id",
        "account_account_tag_id",
    ),
}


def _columns(cr, table):
    cr.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = %s"
        " ORDER BY ordinal_position",
        [table],
    )
    return [row[0] for row in cr.fetchall()]


def _scaled_columns(env, model):
    """Stored monetary fields of ``model``: the columns multiplied by the factor."""
    records = env[model]
    names = {
        name
        for name, field in records._fields.items()
        if field.type == "monetary" and field.store and field.column_type
    }
    return names | EXTRA_SCALED.get(records._table, set())


def _reserve_ids(cr, table, count):
    """Move the id sequence of ``table`` ``count`` ahead; return the base id.

    The new rows take ids base + 1 .. base + count, so no RETURNING round trip is
    needed to map clones to their lines.
    """
    cr.execute(SQL("LOCK TABLE %s IN EXCLUSIVE MODE", SQL.identifier(table)))
    cr.execute(
        SQL(
            "SELECT GREATEST((SELECT last_value FROM %s),"
            " (SELECT COALESCE(MAX(id), 0) FROM %s))",
            SQL.identifier(f"{table}_id_seq"),
            SQL.identifier(table),
        )
    )
    base = cr.fetchone()[0]
    cr.execute("SELECT setval(%s, %s, true)", [f"{table}_id_seq", base + count])
    return base


def create_partners(env, count):
    """``count`` customer companies, through the ORM in batches of 1,000."""
    Partner = env["res.partner"].with_context(**QUIET)
    ids = []
    for start in range(0, count, PARTNER_BATCH):
        vals = [
            {
                "name": f"Bench Customer {i:06d}",
                "is_company": True,
                "email": f"customer{i:06d}@bench.example.com",
                "customer_rank": 1,
            }
            for i in range(start + 1, min(start + PARTNER_BATCH, count) + 1)
        ]
        ids.extend(Partner.create(vals).ids)
        env.flush_all()
        env.invalidate_all()
    return ids


def create_templates(env, partner_id, today):
    """A few posted invoices of different shapes, the models of every clone."""
    company = env.company
    income = env["account.account"].search(
        [
            ("company_ids", "in", company.ids),
            ("account_type", "=", "income"),
        ],
        limit=1,
    )
    tax = company.account_sale_tax_id
    taxes = [Command.set(tax.ids)] if tax else [Command.clear()]
    shapes = [
        # (lines: [(label, quantity, price_unit, taxed)])
        [("Consulting", 1, 100.00, True)],
        [("Licence", 3, 41.70, True), ("Support", 1, 25.00, False)],
        [("Training", 2, 250.00, False)],
        [
            ("Hardware", 1, 999.99, True),
            ("Shipping", 1, 12.50, True),
            ("Setup", 4, 30.00, False),
        ],
    ]
    moves = env["account.move"]
    for lines in shapes:
        moves |= (
            env["account.move"]
            .with_context(**QUIET)
            .create(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner_id,
                    "invoice_date": today - timedelta(days=INVOICE_TERM_DAYS),
                    "invoice_date_due": today,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": label,
                                "quantity": quantity,
                                "price_unit": price,
                                "account_id": income.id,
                                "tax_ids": taxes if taxed else [Command.clear()],
                            }
                        )
                        for label, quantity, price, taxed in lines
                    ],
                }
            )
        )
    moves.action_post()
    env.flush_all()
    bad = moves.filtered(
        lambda m: (
            m.state != "posted"
            or m.payment_state != "not_paid"
            or m.amount_residual <= 0
            or len(
                m.line_ids.filtered(lambda line: line.display_type == "payment_term")
            )
            != 1
        )
    )
    assert not bad, f"template invoices not as expected: {bad}"
    return moves


def clone_invoices(env, templates, partner_ids, count, today, per_partner=None):
    """Insert ``count`` clones of ``templates`` in bulk; return the new move ids.

    Customers are drawn by a hash of the invoice number, or, with
    ``per_partner``, given exactly that many consecutive invoices each.
    """
    cr = env.cr
    env.flush_all()
    move_base = _reserve_ids(cr, "account_move", count)

    cr.execute("DROP TABLE IF EXISTS bench_plan")
    cr.execute(
        SQL(
            """
            CREATE TEMP TABLE bench_plan AS
            SELECT g AS n,
                   %(move_base)s + g AS move_id,
                   (%(templates)s::int[])[1 + mod(g, %(k)s)] AS template_id,
                   1 + mod(abs(hashint4(g * 3 + 1)), %(max_factor)s) AS factor,
                   (%(partners)s::int[])[%(partner_index)s] AS partner_id,
                   %(today)s::date + %(ahead)s
                       - mod(abs(hashint4(g * 7 + 3)), %(span)s) AS date_due,
                   %(prefix)s || lpad(g::text, 7, '0') AS name
              FROM generate_series(1, %(count)s) g
            """,
            move_base=move_base,
            templates=templates.ids,
            k=len(templates),
            max_factor=MAX_FACTOR,
            partners=partner_ids,
            partner_index=SQL("1 + mod(abs(hashint4(g)), %s)", len(partner_ids))
            if not per_partner
            else SQL("1 + mod((g - 1) / %s, %s)", per_partner, len(partner_ids)),
            today=today,
            ahead=DUE_AHEAD_DAYS,
            span=DUE_AHEAD_DAYS + DUE_BACK_DAYS + 1,
            prefix=NAME_PREFIX,
            count=count,
        )
    )
    cr.execute("ALTER TABLE bench_plan ADD PRIMARY KEY (n)")
    cr.execute(
        "SELECT COUNT(*) FROM bench_plan p"
        " JOIN account_move_line l ON l.move_id = p.template_id"
    )
    line_count = cr.fetchone()[0]
    line_base = _reserve_ids(cr, "account_move_line", line_count)
    cr.execute("DROP TABLE IF EXISTS bench_line_plan")
    cr.execute(
        SQL(
            """
            CREATE TEMP TABLE bench_line_plan AS
            SELECT %(line_base)s + ROW_NUMBER() OVER (ORDER BY p.n, l.id) AS line_id,
                   p.n,
                   l.id AS template_line_id
              FROM bench_plan p
              JOIN account_move_line l ON l.move_id = p.template_id
            """,
            line_base=line_base,
        )
    )

    now = fields.Datetime.now()
    # account_move: copy every column of the template, except these.
    move_overrides = {
        "id": "p.move_id",
        "name": "p.name",
        "sequence_prefix": f"'{NAME_PREFIX}'",
        "sequence_number": "p.n",
        "partner_id": "p.partner_id",
        "commercial_partner_id": "p.partner_id",
        "partner_shipping_id": "p.partner_id",
        "invoice_partner_display_name": "rp.name",
        "date": f"p.date_due - {INVOICE_TERM_DAYS}",
        "invoice_date": f"p.date_due - {INVOICE_TERM_DAYS}",
        "invoice_date_due": "p.date_due",
        # one instalment: collection counts from the invoice's due date
        "dunning_due_date": "p.date_due",
        "payment_reference": "p.name",
        "access_token": "NULL",
        "message_main_attachment_id": "NULL",
        "inalterable_hash": "NULL",
        "secure_sequence_number": "NULL",
        "sending_data": "NULL",
        # a stored computed date relative to the due date keeps its offset
        "dunning_next_date": "p.date_due + (t.dunning_next_date - t.invoice_date_due)",
        "create_date": "%(now)s",
        "write_date": "%(now)s",
    }
    line_overrides = {
        "id": "lp.line_id",
        "move_id": "p.move_id",
        "move_name": "p.name",
        "partner_id": "p.partner_id",
        "date": f"p.date_due - {INVOICE_TERM_DAYS}",
        "invoice_date": f"p.date_due - {INVOICE_TERM_DAYS}",
        "date_maturity": "CASE WHEN t.date_maturity IS NULL THEN NULL"
        " ELSE p.date_due END",
        "discount_date": "NULL",
        "name": "CASE WHEN t.display_type = 'payment_term' THEN p.name ELSE t.name END",
        "reconciled": "false",
        "full_reconcile_id": "NULL",
        "matching_number": "NULL",
        "create_date": "%(now)s",
        "write_date": "%(now)s",
    }
    for table, overrides, scaled, source in (
        (
            "account_move",
            move_overrides,
            _scaled_columns(env, "account.move"),
            """FROM bench_plan p
               JOIN account_move t ON t.id = p.template_id
               JOIN res_partner rp ON rp.id = p.partner_id""",
        ),
        (
            "account_move_line",
            line_overrides,
            _scaled_columns(env, "account.move.line"),
            """FROM bench_line_plan lp
               JOIN bench_plan p ON p.n = lp.n
               JOIN account_move_line t ON t.id = lp.template_line_id""",
        ),
    ):
        columns = _columns(cr, table)
        exprs = []
        for column in columns:
            if column in overrides:
                exprs.append(overrides[column])
            elif column in scaled:
                exprs.append(f't."{column}" * p.factor')
            else:
                exprs.append(f't."{column}"')
        column_list = ", ".join(f'"{column}"' for column in columns)
        query = (
            f"INSERT INTO {table} ({column_list}) SELECT {', '.join(exprs)} {source}"
        )

        cr.execute(query, {"now": now})

    for rel, (line_col, other_col) in LINE_M2M.items():
        cr.execute(
            SQL(
                "INSERT INTO %(rel)s (%(line_col)s, %(other_col)s)"
                " SELECT lp.line_id, r.%(other_col)s"
                "   FROM bench_line_plan lp JOIN %(rel)s r"
                "     ON r.%(line_col)s = lp.template_line_id",
                rel=SQL.identifier(rel),
                line_col=SQL.identifier(line_col),
                other_col=SQL.identifier(other_col),
            )
        )
    cr.execute("SELECT move_id FROM bench_plan ORDER BY n")
    move_ids = [row[0] for row in cr.fetchall()]
    cr.execute("DROP TABLE bench_line_plan")
    cr.execute("DROP TABLE bench_plan")
    env.invalidate_all()
    return move_ids


def delete_templates(env, templates):
    """The templates were scaffolding: remove them so that exactly N invoices remain."""
    cr = env.cr
    env.flush_all()
    cr.execute(
        "DELETE FROM mail_message WHERE model = 'account.move' AND res_id = ANY(%s)",
        [templates.ids],
    )
    cr.execute(
        "DELETE FROM mail_followers"
        " WHERE res_model = 'account.move' AND res_id = ANY(%s)",
        [templates.ids],
    )
    cr.execute("DELETE FROM account_move WHERE id = ANY(%s)", [templates.ids])
    env.invalidate_all()


def check_consistency(env, move_ids, sample=60):
    """Raise when the clones are not what the ORM would have written.

    Whole-table checks in SQL (balanced entries, residual = receivable residual,
    one open receivable line per invoice with its maturity), then the ORM
    recomputes the amounts and payment state of a sample and must find the
    stored values.
    """
    cr = env.cr
    env.flush_all()
    checks = {
        "unbalanced entries": """
            SELECT COUNT(*) FROM (
                SELECT move_id FROM account_move_line WHERE move_id = ANY(%(ids)s)
                 GROUP BY move_id HAVING SUM(balance) != 0 OR SUM(debit) != SUM(credit)
            ) x""",
        "residual != receivable residual": """
            SELECT COUNT(*) FROM account_move m
              JOIN (SELECT l.move_id, SUM(l.amount_residual) AS residual,
                           COUNT(*) AS n, MIN(l.date_maturity) AS maturity
                      FROM account_move_line l
                      JOIN account_account a ON a.id = l.account_id
                     WHERE l.move_id = ANY(%(ids)s)
                       AND a.account_type = 'asset_receivable'
                  GROUP BY l.move_id) r ON r.move_id = m.id
             WHERE r.residual != m.amount_residual OR r.n != 1
                OR r.maturity != m.invoice_date_due""",
        "not open receivable": """
            SELECT %(n)s - COUNT(*) FROM account_move_line l
              JOIN account_account a ON a.id = l.account_id
             WHERE l.move_id = ANY(%(ids)s) AND a.account_type = 'asset_receivable'
               AND l.reconciled IS NOT TRUE AND l.amount_residual > 0
               AND l.parent_state = 'posted' AND l.partner_id IS NOT NULL
               AND l.debit > 0""",
        "duplicate names": """
            SELECT COUNT(*) - COUNT(DISTINCT (name, journal_id)) FROM account_move
             WHERE id = ANY(%(ids)s)""",
    }
    for label, query in checks.items():
        cr.execute(query, {"ids": move_ids, "n": len(move_ids)})
        bad = cr.fetchone()[0]
        assert not bad, f"generated data: {bad} {label}"

    step = max(1, len(move_ids) // sample)
    moves = env["account.move"].browse(move_ids[::step])
    stored = {
        m.id: (
            m.amount_untaxed,
            m.amount_tax,
            m.amount_total,
            m.amount_residual,
            m.payment_state,
        )
        for m in moves
    }
    env.invalidate_all()
    recomputed_fields = [
        moves._fields[name]
        for name in (
            "amount_untaxed",
            "amount_tax",
            "amount_total",
            "amount_residual",
            "amount_untaxed_signed",
            "amount_untaxed_in_currency_signed",
            "amount_tax_signed",
            "amount_total_signed",
            "amount_residual_signed",
            "amount_total_in_currency_signed",
            "payment_state",
        )
    ]
    # protected: the computation lands in the cache only, never in the database
    with env.protecting(recomputed_fields, moves):
        moves._compute_amount()
        moves._compute_payment_state()
        recomputed = {
            m.id: (
                m.amount_untaxed,
                m.amount_tax,
                m.amount_total,
                m.amount_residual,
                m.payment_state,
            )
            for m in moves
        }
    env.invalidate_all()
    diff = {k: (stored[k], recomputed[k]) for k in stored if stored[k] != recomputed[k]}
    assert not diff, f"generated data differs from the ORM's own computation: {diff}"


def generate(env, count, partner_count, today, per_partner=None):
    """Create the partners and ``count`` invoices; return timings and counts.

    ``per_partner``: each customer gets exactly that many invoices (the
    dispatch benchmark's reminders listing N invoices), instead of a hash's draw.
    """
    timings = {}
    start = time.perf_counter()
    partner_ids = create_partners(env, partner_count)
    timings["partners_s"] = time.perf_counter() - start

    start = time.perf_counter()
    templates = create_templates(env, partner_ids[0], today)
    timings["templates_s"] = time.perf_counter() - start

    start = time.perf_counter()
    move_ids = clone_invoices(env, templates, partner_ids, count, today, per_partner)
    delete_templates(env, templates)
    timings["clone_s"] = time.perf_counter() - start

    start = time.perf_counter()
    check_consistency(env, move_ids)
    timings["check_s"] = time.perf_counter() - start

    env.cr.execute(
        "SELECT COUNT(*) FROM account_move_line WHERE move_id = ANY(%s)", [move_ids]
    )
    return {
        "invoices": len(move_ids),
        "partners": len(partner_ids),
        "move_lines": env.cr.fetchone()[0],
        "timings": timings,
    }
