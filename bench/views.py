"""Collector views and the customer page at 100,000 invoices, as a person feels them.

    python bench/views.py generate -c CONF -d DB --today D --out F --size N
    python bench/views.py seed     -c CONF -d DB --today D --out F
    python bench/views.py measure  -c CONF -d DB --today D --out F [--runs R]
                                   [--port P] [--requests N] [--parts views page]

``generate`` makes N invoices over N/5 customers (bench/generate.py, without
the OCA policy of the planning benchmark). ``seed`` turns them into a collections
team's database: four collectors sharing the customers, a contact log, promises
(open, broken, kept), open disputes, the reminders of one planning pass, and one
customer with 200 open invoices for the customer page.

``measure`` opens each collector view as the web client does (the action's
default filters, the list's or kanban's ``web_search_read`` with its count, the
customer form's ``web_read``), as one collector, several times: median and p95
of the wall time, queries per opening. Then it serves the database over real
HTTP (odoo-bin on ``--port``) and GETs the 200-invoice customer's page
``--requests`` times: median and p95 of the client's time, and the queries the
server counted for each request (its werkzeug log line).

bench/run.py runs them (``--only views``) through ``run_views`` below, each in
a process of its own like worker.py; the targets are the issue's (13, items 19
and 20): every collector view opens in under 0.5 s (median), the customer page
in under 250 ms at p95.
"""

# A stand-alone measurement process: it owns its transactions and commits them.
# pylint: disable=invalid-commit,print-used

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from datetime import date, datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.basename(__file__)
sys.path.insert(0, HERE)

TARGET_VIEW_MS = 500.0
TARGET_PAGE_P95_MS = 250.0
SEEDED_KEY = "account_dunning.bench_views_seeded"

COLLECTORS = 4
BIG_CUSTOMER_INVOICES = 200
INTERACTIONS = 12000
PROMISES = 800
DISPUTES = 300
QUIET = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
    "mail_notify_force_send": False,
}
BIG_CUSTOMER_REF = "BENCH-VIEWS-200"
TZ = "America/Mexico_City"

# The collector's screens: (label, action xml id, view type). The first view of
# each action is the one that opens; the worklist's kanban is the phone's.
VIEWS = [
    ("My Collections (list, Mine)", "account_dunning.dunning_worklist_action", "list"),
    (
        "My Collections (kanban, Mine)",
        "account_dunning.dunning_worklist_action",
        "kanban",
    ),
    ("Invoices to Collect", "account_dunning.account_move_action_dunning", "list"),
    ("Reminders", "account_dunning.dunning_reminder_action", "list"),
    ("Payment Promises (Open)", "account_dunning.dunning_promise_action", "list"),
    ("Disputes (Open)", "account_dunning.dunning_dispute_action", "list"),
    ("Contact Log", "account_dunning.dunning_interaction_action", "list"),
]


def percentile(values, fraction):
    """Nearest-rank percentile: the smallest value with ``fraction`` of the
    values at or below it."""
    values = sorted(values)
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]


def summary(seconds, queries):
    return {
        "runs": len(seconds),
        "median_ms": round(percentile(seconds, 0.5) * 1000, 1),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
        "queries": sorted(set(queries)) if queries else None,
    }


# ----------------------------------------------------------------------------------
# Seed
# ----------------------------------------------------------------------------------


def seed(env, today, size=None):
    """A collections team's data over the generated invoices (see the docstring)."""
    from odoo import Command

    result = {}
    cr = env.cr
    company = env.company
    start = time.perf_counter()
    collector_group = env.ref("account_dunning.group_dunning_collector")
    users = env["res.users"].with_context(**QUIET)
    collectors = users.browse()
    for index in range(COLLECTORS):
        collectors |= users.create(
            {
                "name": f"Bench Collector {index + 1}",
                "login": f"bench_collector_{index + 1}",
                "password": f"bench_collector_{index + 1}",
                "tz": TZ,
                "company_id": company.id,
                "company_ids": [Command.set(company.ids)],
                "groups_id": [
                    Command.set([env.ref("base.group_user").id, collector_group.id])
                ],
            }
        )
    # The customers of the invoices, shared round-robin (a company-dependent
    # many2one: a JSON object keyed by company id).
    cr.execute(
        """
        WITH customer AS (
            SELECT DISTINCT commercial_partner_id AS id
              FROM account_move WHERE move_type = 'out_invoice'
        ), numbered AS (
            SELECT id, row_number() OVER (ORDER BY id) AS n FROM customer
        )
        UPDATE res_partner partner
           SET dunning_collector_id = jsonb_build_object(
                   %s::text, (%s::int[])[1 + numbered.n %% %s])
          FROM numbered
         WHERE numbered.id = partner.id
        """,
        [company.id, collectors.ids, len(collectors)],
    )
    result["customers_assigned"] = cr.rowcount

    # One customer gets 200 open invoices (the customer page's case): the
    # invoices of other customers are moved to it, with their lines.
    cr.execute(
        """
        SELECT id FROM res_partner
         WHERE id IN (SELECT commercial_partner_id FROM account_move
                       WHERE move_type = 'out_invoice')
         ORDER BY id LIMIT 1
        """
    )
    big = env["res.partner"].browse(cr.fetchone()[0])
    big.write({"ref": BIG_CUSTOMER_REF})
    cr.execute(
        """
        WITH chosen AS (
            SELECT id FROM account_move
             WHERE move_type = 'out_invoice' AND state = 'posted'
               AND payment_state IN ('not_paid', 'partial') AND amount_residual > 0
               AND commercial_partner_id != %s
             ORDER BY id DESC
             LIMIT %s - (SELECT COUNT(*) FROM account_move
                          WHERE commercial_partner_id = %s
                            AND move_type = 'out_invoice'
                            AND payment_state IN ('not_paid', 'partial'))
        ), moves AS (
            UPDATE account_move move
               SET partner_id = %s, commercial_partner_id = %s
              FROM chosen WHERE chosen.id = move.id
            RETURNING move.id
        )
        UPDATE account_move_line line SET partner_id = %s
          FROM moves WHERE moves.id = line.move_id
        """,
        [big.id, BIG_CUSTOMER_INVOICES, big.id] + [big.id] * 3,
    )
    env.invalidate_all()
    result["big_customer_id"] = big.id

    # The contact log: calls over the last 20 days, the collector of the customer,
    # each outcome in turn, some agreeing to call back (due, today or later).
    outcomes = env["dunning.outcome"].search([])
    cr.execute(
        """
        SELECT partner.id, (partner.dunning_collector_id ->> %s::text)::int
          FROM res_partner partner
         WHERE partner.dunning_collector_id IS NOT NULL
         ORDER BY partner.id
        """,
        [company.id],
    )
    customers = cr.fetchall()
    now = datetime.combine(today, datetime.min.time()) + timedelta(hours=17)
    vals = []
    for index in range(INTERACTIONS):
        partner_id, user_id = customers[(index * 7) % len(customers)]
        when = now - timedelta(days=index % 20, hours=index % 7, minutes=index % 53)
        callback = when + timedelta(days=(index % 5) + 1) if index % 9 == 0 else False
        vals.append(
            {
                "partner_id": partner_id,
                "company_id": company.id,
                "user_id": user_id,
                "date": when,
                "channel": "call",
                "outcome_id": outcomes[index % len(outcomes)].id,
                "identity_confirmed": outcomes[index % len(outcomes)].requires_identity,
                "callback_at": callback,
            }
        )
    interactions = env["dunning.interaction"].with_context(**QUIET)
    for batch in range(0, len(vals), 1000):
        interactions.create(vals[batch : batch + 1000])
        env.invalidate_all()
    result["interactions"] = len(vals)

    # Promises on one or two overdue invoices each; a third broken, some kept.
    cr.execute(
        """
        SELECT move.commercial_partner_id, array_agg(move.id ORDER BY move.id),
               array_agg(move.amount_residual ORDER BY move.id)
          FROM account_move move
         WHERE move.move_type = 'out_invoice' AND move.state = 'posted'
           AND move.payment_state IN ('not_paid', 'partial')
           AND move.invoice_date_due < %s
           AND move.commercial_partner_id != %s
         GROUP BY move.commercial_partner_id
         ORDER BY move.commercial_partner_id
         LIMIT %s
        """,
        [today, big.id, PROMISES + DISPUTES],
    )
    rows = cr.fetchall()
    promises = env["dunning.promise"].with_context(**QUIET)
    promise_vals = [
        {
            "partner_id": partner_id,
            "company_id": company.id,
            "move_ids": [Command.set(move_ids[:2])],
            "amount": sum(residuals[:2]),
            "date_promised": today + timedelta(days=(index % 15) - 7),
            "currency_id": company.currency_id.id,
        }
        for index, (partner_id, move_ids, residuals) in enumerate(rows[:PROMISES])
    ]
    created = promises.create(promise_vals)
    cr.execute(
        """
        UPDATE dunning_promise
           SET state = CASE WHEN id %% 3 = 0 THEN 'broken' WHEN id %% 7 = 0
                            THEN 'kept' ELSE state END,
               date_settled = CASE WHEN id %% 3 = 0 OR id %% 7 = 0
                                   THEN %s::date - (id %% 10) END
         WHERE id = ANY(%s)
        """,
        [today, created.ids],
    )
    result["promises"] = len(created)
    disputes = env["dunning.dispute"].with_context(**QUIET)
    created = disputes.create(
        [
            {
                "partner_id": partner_id,
                "company_id": company.id,
                "move_ids": [Command.set(move_ids[:1])],
                "reason": "other",
            }
            for partner_id, move_ids, _residuals in rows[PROMISES:]
        ]
    )
    result["disputes"] = len(created)
    env.invalidate_all()
    env.flush_all()
    cr.commit()

    # The reminders of one planning pass (it commits between its batches).
    plan_start = time.perf_counter()
    env["dunning.reminder"]._cron_plan()
    env.flush_all()
    cr.commit()
    result["plan_s"] = round(time.perf_counter() - plan_start, 1)
    cr.execute("SELECT COUNT(*) FROM dunning_reminder")
    result["reminders"] = cr.fetchone()[0]
    env["ir.config_parameter"].sudo().set_param(
        SEEDED_KEY,
        json.dumps({"today": today.isoformat(), "size": size, "result": result}),
    )
    # The customer page's rate limits would answer 429 to a benchmark.
    for kind in ("ip", "token"):
        env["ir.config_parameter"].sudo().set_param(
            f"account_dunning.portal_rate_{kind}", "100000"
        )
    cr.commit()
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


# ----------------------------------------------------------------------------------
# What the web client asks
# ----------------------------------------------------------------------------------


def _field_spec(node, fields_info, models_info):
    """The specification the web client sends for one <field> node."""
    name = node.get("name")
    field = fields_info.get(name)
    if not field:
        return None
    if field["type"] == "many2one":
        return {"fields": {"display_name": {}}}
    if field["type"] in ("one2many", "many2many"):
        subviews = [child for child in node if child.tag in ("list", "kanban")]
        if not subviews:
            return {"fields": {"display_name": {}}}
        sub_model = field["relation"]
        sub_fields = models_info.get(sub_model, {}).get("fields", {})
        spec = _arch_spec(subviews[0], sub_fields, models_info)
        return {"fields": spec, "limit": int(subviews[0].get("limit") or 40)}
    return {}


def _arch_spec(root, fields_info, models_info):
    spec = {}
    stack = list(root)
    while stack:
        node = stack.pop(0)
        if node.tag == "field":
            value = _field_spec(node, fields_info, models_info)
            if value is not None:
                spec[node.get("name")] = value
            continue  # its subviews belong to the relation
        stack.extend(node)
    return spec


def view_request(env, action_xmlid, view_type):
    """What opening ``action_xmlid``'s ``view_type`` view as ``env.user`` asks:
    the action's domain and its ``search_default_*`` filters' domains, ANDed,
    the fields of the view, and the default group-by if any."""
    from lxml import etree

    from odoo.osv import expression
    from odoo.tools.safe_eval import datetime as safe_datetime
    from odoo.tools.safe_eval import dateutil, safe_eval
    from odoo.tools.safe_eval import time as safe_time

    action = env.ref(action_xmlid).sudo()
    model = env[action.res_model]
    eval_context = {
        "uid": env.uid,
        "user": env.user,
        "context_today": lambda: datetime.now(),
        "datetime": safe_datetime,
        "dateutil": dateutil,
        "relativedelta": dateutil.relativedelta.relativedelta,
        "time": safe_time,
        "allowed_company_ids": env.companies.ids,
        "current_company_id": env.company.id,
    }
    context = safe_eval(action.context or "{}", dict(eval_context))
    domains = [safe_eval(action.domain or "[]", dict(eval_context))]
    views = model.get_views(
        [(False, view_type), (action.search_view_id.id, "search")],
        {"load_filters": False},
    )
    search = etree.fromstring(views["views"]["search"]["arch"])
    groupby = []
    for key, value in context.items():
        if not key.startswith("search_default_") or not value:
            continue
        name = key[len("search_default_") :]
        for node in search.iter("filter"):
            if node.get("name") != name:
                continue
            if node.get("domain"):
                domains.append(safe_eval(node.get("domain"), dict(eval_context)))
            if node.get("context"):
                group = safe_eval(node.get("context"), dict(eval_context))
                groupby += [group["group_by"]] if group.get("group_by") else []
    arch = etree.fromstring(views["views"][view_type]["arch"])
    models_info = views["models"]
    fields_info = models_info[model._name]["fields"]
    spec = _arch_spec(arch, fields_info, models_info)
    default_limit = 40 if view_type == "kanban" else 80
    aggregates = [
        f"{name}:{fields_info[name]['aggregator']}"
        for name in spec
        if fields_info[name].get("aggregator") and name not in groupby[:1]
    ]
    return {
        "model": model._name,
        "specification": spec,
        "domain": expression.AND(domains),
        "order": arch.get("default_order") or None,
        "limit": int(arch.get("limit") or default_limit),
        "groupby": groupby[:1],
        "aggregates": aggregates,
    }


def form_request(env, model_name, view_xmlid=None):
    from lxml import etree

    views = env[model_name].get_views([(False, "form")])
    arch = etree.fromstring(views["views"]["form"]["arch"])
    models_info = views["models"]
    return _arch_spec(arch, models_info[model_name]["fields"], models_info)


def measure_views(registry, today, runs):
    """Each collector view opened ``runs`` times (after one warm-up) as a collector."""
    from worker import QueryMeter

    from odoo import api

    results = {}
    with registry.cursor() as cr:
        env = api.Environment(cr, 1, {})
        user = env["res.users"].search([("login", "=", "bench_collector_1")])
        big = env["res.partner"].search([("ref", "=", "BENCH-VIEWS-200")], limit=1)
        uid, partner_id, company_id = user.id, big.id, user.company_id.id
    context = {
        "lang": "en_US",
        "tz": TZ,
        "uid": uid,
        "allowed_company_ids": [company_id],
        "bin_size": True,
    }

    def opening(label, call):
        seconds, queries, length = [], [], None
        for attempt in range(runs + 1):
            with registry.cursor() as cr, QueryMeter() as meter:
                env = api.Environment(cr, uid, context)
                start = time.perf_counter()
                length = call(env)
                elapsed = time.perf_counter() - start
                cr.rollback()
            if attempt:  # the first opening warms the registry's caches
                seconds.append(elapsed)
                queries.append(meter.count)
        results[label] = {**summary(seconds, queries), "rows": length}
        print(
            f"  {label}: median {results[label]['median_ms']} ms, p95"
            f" {results[label]['p95_ms']} ms, queries {results[label]['queries']},"
            f" rows {length}",
            file=sys.stderr,
            flush=True,
        )

    for label, xmlid, view_type in VIEWS:
        with registry.cursor() as cr:
            env = api.Environment(cr, uid, context)
            request = view_request(env, xmlid, view_type)

        def open_list(env, request=request):
            model = env[request["model"]]
            if request["groupby"]:
                # Grouped: the groups, folded (web_read_group).
                answer = model.web_read_group(
                    request["domain"],
                    request["aggregates"],
                    request["groupby"],
                    limit=request["limit"],
                    lazy=True,
                )
                return answer["length"]
            answer = model.web_search_read(
                request["domain"],
                request["specification"],
                offset=0,
                limit=request["limit"],
                order=request["order"],
                count_limit=10001,
            )
            return answer["length"]

        opening(label, open_list)

    with registry.cursor() as cr:
        env = api.Environment(cr, uid, context)
        spec = form_request(env, "res.partner")

    def open_form(env):
        env["res.partner"].browse(partner_id).web_read(spec)
        return 1

    opening("Customer form (Collections tab)", open_form)
    return results


# ----------------------------------------------------------------------------------
# The customer page over HTTP
# ----------------------------------------------------------------------------------

LOG_COUNTS = re.compile(
    r'"GET /cobranza/\S+ HTTP/[\d.]+" (\d+) - (\d+) ([\d.]+) ([\d.]+)'
)


def measure_page(registry, config, dbname, port, requests_count, save=None):
    """GET the 200-invoice customer's page over HTTP, ``requests_count`` times."""
    import requests

    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        big = env["res.partner"].search([("ref", "=", BIG_CUSTOMER_REF)], limit=1)
        invoices = len(
            env["account.move"].search(
                [
                    ("commercial_partner_id", "=", big.id),
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("payment_state", "in", ("not_paid", "partial")),
                    ("amount_residual", ">", 0),
                ]
            )
        )
        token = env["dunning.portal.token"]._mint(big, env.company)
        cr.commit()
    log_path = os.path.join(HERE, "results", "views_server.log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    odoo_bin = os.path.join(
        os.path.dirname(os.path.dirname(sys.modules["odoo"].__file__)), "odoo-bin"
    )
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                odoo_bin,
                "-c",
                config,
                "-d",
                dbname,
                f"--db-filter=^{dbname}$",
                "--http-port",
                str(port),
                "--http-interface=127.0.0.1",
                "--max-cron-threads=0",
                "--workers=0",
                "--log-level=warn",
                "--log-handler=werkzeug:INFO",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/cobranza/{token}"
    seconds, statuses = [], []
    try:
        session = requests.Session()
        deadline = time.monotonic() + 120
        while True:
            try:
                session.get(f"http://127.0.0.1:{port}/web/health", timeout=120)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(
                        f"the server did not start, see {log_path}"
                    ) from None
                time.sleep(0.5)
        for attempt in range(requests_count + 3):
            start = time.perf_counter()
            response = session.get(url, timeout=60)
            body = response.content
            elapsed = time.perf_counter() - start
            statuses.append(response.status_code)
            if attempt >= 3:  # three to warm the server (templates, assets)
                seconds.append(elapsed)
        rows = body.count(b"o_dunning_invoice_name")
        if save:
            with open(save, "wb") as page:
                page.write(body)
    finally:
        server.terminate()
        server.wait(timeout=30)
    with open(log_path) as log:
        counts = [LOG_COUNTS.search(line) for line in log]
    queries = [int(match.group(2)) for match in counts if match][3:]
    if set(statuses) != {200}:
        raise SystemExit(f"the customer page answered {sorted(set(statuses))}")
    return {
        **summary(seconds, queries),
        "open_invoices": invoices,
        "invoice_rows_on_page": rows,
        "bytes": len(body),
    }


# ----------------------------------------------------------------------------------
# Orchestration, called by bench/run.py (no Odoo import: run.py's process)
# ----------------------------------------------------------------------------------


def _log(message):
    print(f"==> {message}", file=sys.stderr, flush=True)


def _seeded_marker(pg, dbname):
    try:
        raw = pg.query(
            dbname, f"SELECT value FROM ir_config_parameter WHERE key = '{SEEDED_KEY}'"
        )
    except subprocess.CalledProcessError:
        return None
    return json.loads(raw) if raw else None


def run_views(pg, args, today, install_db, worker):
    """The collector views and the customer page on ``<prefix>views``: a database
    of ``args.views_size`` invoices, seeded, then measured; prints the table.
    ``install_db`` and ``worker`` are run.py's."""

    def step(command, **options):
        return worker(args.config, command, dbname, today, script=SCRIPT, **options)

    dbname = f"{args.db_prefix}views"
    info = {"database": dbname, "invoices": args.views_size}
    marker = _seeded_marker(pg, dbname) if args.reuse and pg.exists(dbname) else None
    if (
        marker
        and marker.get("today") == today
        and marker.get("size") == args.views_size
    ):
        _log(f"{dbname}: reusing the seeded database (--reuse)")
        info["seed"] = marker.get("result")
    else:
        info["install_s"] = install_db(pg, args.config, dbname, "account_dunning")
        partners = max(1, args.views_size // args.invoices_per_partner)
        _log(
            f"{dbname}: generating {args.views_size} invoices over {partners} customers"
        )
        info["generation"] = step("generate", size=args.views_size, partners=partners)
        pg.run("psql", "-d", dbname, "-XAtqc", "VACUUM (FREEZE, ANALYZE)")
        _log(f"{dbname}: seeding collectors, contacts, promises, disputes, reminders")
        info["seed"] = step("seed", size=args.views_size)
        pg.run("psql", "-d", dbname, "-XAtqc", "VACUUM (ANALYZE)")
    try:
        _log(f"{dbname}: opening the collector views, then the customer page")
        info.update(
            step(
                "measure",
                runs=args.views_runs,
                requests=args.views_requests,
                port=args.views_port,
            )
        )
    finally:
        if not args.keep_base:
            pg.drop(dbname)
    print(views_table(info), flush=True)
    return info


def views_table(info):
    lines = [
        f"\n### Collector views and customer page ({info['invoices']:,} invoices)\n",
        "| screen | median (ms) | p95 (ms) | queries | rows |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, view in info.get("views", {}).items():
        queries = ", ".join(map(str, view["queries"] or []))
        lines.append(
            f"| {label} | {view['median_ms']:.0f} | {view['p95_ms']:.0f} "
            f"| {queries} | {view['rows']:,} |"
        )
    page = info.get("page")
    if page:
        queries = ", ".join(map(str, page["queries"] or []))
        lines.append(
            f"| customer page, {page['open_invoices']} open invoices (HTTP GET) "
            f"| {page['median_ms']:.0f} | {page['p95_ms']:.0f} | {queries} "
            f"| {page['invoice_rows_on_page']} |"
        )
    load = info.get("load_average_after")
    if load:
        lines.append(f"\nLoad average after: {', '.join(f'{x:.1f}' for x in load)}")
    return "\n".join(lines)


def views_verdict(info):
    """(lines, passed) against the issue's targets."""
    lines, passed = [], True
    for label, view in info.get("views", {}).items():
        ok = view["median_ms"] < TARGET_VIEW_MS
        passed &= ok
        lines.append(
            f"{'PASS' if ok else 'FAIL'} views: {label} opens in"
            f" {view['median_ms']:.0f} ms (median; p95 {view['p95_ms']:.0f};"
            f" target < {TARGET_VIEW_MS:.0f})"
        )
    page = info.get("page")
    if page:
        ok = page["p95_ms"] < TARGET_PAGE_P95_MS
        passed &= ok
        lines.append(
            f"{'PASS' if ok else 'FAIL'} views: customer page with"
            f" {page['open_invoices']} invoices in {page['p95_ms']:.0f} ms at p95"
            f" (median {page['median_ms']:.0f}; target < {TARGET_PAGE_P95_MS:.0f})"
        )
    return lines, passed


# ----------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("generate", "seed", "measure"))
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--today", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", type=int, help="generate: invoices")
    parser.add_argument("--partners", type=int, help="generate: customers")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--port", type=int, default=8679)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--save-page", help="write the customer page's HTML here")
    parser.add_argument(
        "--parts", nargs="+", choices=("views", "page"), default=["views", "page"]
    )
    args = parser.parse_args(argv)

    from worker import _odoo_env

    from odoo import SUPERUSER_ID, api

    registry, _load_s = _odoo_env(args.config, args.database)
    today = date.fromisoformat(args.today)
    if args.command == "generate":
        from generate import generate

        with registry.cursor() as cr:
            start = time.perf_counter()
            result = generate(
                api.Environment(cr, SUPERUSER_ID, {}), args.size, args.partners, today
            )
            cr.commit()
            result["seconds"] = time.perf_counter() - start
    elif args.command == "seed":
        with registry.cursor() as cr:
            result = seed(api.Environment(cr, SUPERUSER_ID, {}), today, args.size)
    else:
        result = {}
        if "views" in args.parts:
            result["views"] = measure_views(registry, today, args.runs)
        if "page" in args.parts:
            result["page"] = measure_page(
                registry,
                args.config,
                args.database,
                args.port,
                args.requests,
                save=args.save_page,
            )
        result["load_average_after"] = os.getloadavg()
    with open(args.out, "w") as out:
        json.dump(result, out, indent=2, default=str)


if __name__ == "__main__":
    main()
