"""Does a queue of PDF reminders drain under ``odoo-bin --workers 2``?

    python bench/pdf_drain.py setup   -c CONF -d DB --today D --out F --size N
                                      --smtp-port P [--per-customer K]
    python bench/pdf_drain.py trigger -c CONF -d DB --today D --out F
    python bench/pdf_drain.py limits  -c CONF -d DB --today D --out F

The issue's claim: "under ``--workers 2`` with Odoo's default limits, a queue
of 1,000 PDF reminders drains completely". Before the dispatcher's redesign, a
batch of 200 PDF reminders never finished under the cron limits of the
multi-process server: the run was killed, rolled back and started over.

``setup`` makes N customers with K posted invoices each and no PDF (every
reminder needs a real wkhtmltopdf render of its invoices), a policy whose one
level sends the friendly e-mail with the invoices' PDFs attached, an outgoing
mail server on bench/smtp_sink.py's port, two sending actions
(``_set_dispatch_senders(2)``), and the queued reminders of one planning pass.
Every other scheduled action is switched off, and the senders and the mail
queue wait for a trigger. It also renders a few invoices' PDFs once, outside
any cron and rolled back, for the time of one render on this machine.

``trigger`` wakes the senders as the add-on does (``_trigger_dispatch``).
``limits`` prints the server's effective limits as ``odoo-bin`` parses them.

bench/run.py (``--only pdf_drain``) runs them through ``run_pdf_drain`` below:
the sink answering each mail after ``--latency-ms``, then a real ``odoo-bin
--workers 2 --max-cron-threads 2`` with no limit option (Odoo's defaults), the
trigger, and a read-only poll of the database every few seconds until no
reminder is left to send, or the timeout. It reports the time to drain, the
reminders sent per minute, the PDFs rendered, the cron runs the server killed
(its log), the reminders that failed or were claimed more than once, and what
the sink received (each mail once).
"""

# A stand-alone measurement process: it owns its transactions and commits them.
# pylint: disable=invalid-commit,print-used

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.basename(__file__)
sys.path.insert(0, HERE)

SENDERS = 2
RENDER_SAMPLE = 3
LIMIT_KEYS = (
    "workers",
    "max_cron_threads",
    "limit_time_cpu",
    "limit_time_real",
    "limit_time_real_cron",
    "limit_memory_soft",
    "limit_memory_hard",
    "limit_request",
    "limit_time_worker_cron",
)
# What the multi-process server logs when it stops a worker
# (odoo/service/server.py), each with the worker's pid: the master repeats its
# timeout line at each beat until the worker is gone, so workers are counted.
KILL_PATTERNS = {
    # SIGKILL by the master: limit_time_real (limit_time_real_cron for crons)
    "watchdog timeout (limit_time_real)": re.compile(
        r"Worker\w* \((?P<pid>\d+)\) timeout after \d+s"
    ),
    # SIGXCPU: limit_time_cpu
    "CPU time limit": re.compile(r"Worker \((?P<pid>\d+)\) CPU time limit"),
    # limit_memory_soft: the worker ends after its current work
    "virtual memory limit": re.compile(
        r"Worker \((?P<pid>\d+)\) virtual memory limit", re.IGNORECASE
    ),
    "worker exited on an exception": re.compile(
        r"Worker \w*\s*\((?P<pid>\d+)\) Exception occurred, exiting"
    ),
    "killed": re.compile(r"\bkilled\b(?P<pid>)", re.IGNORECASE),
}
# Stopped in the middle of a job: the others end between jobs.
KILLING = ("watchdog timeout (limit_time_real)", "CPU time limit")
JOB_PROCESSED = re.compile(
    r"Job '(?P<name>[^']+)' \((?P<id>\d+)\) processed (?P<done>\d+) records,"
    r" (?P<remaining>\d+) records remaining"
)
JOB_TIMED_OUT = re.compile(r"Job '(?P<name>[^']+)' \((?P<id>\d+)\) timed out")
WORKER_ALIVE = re.compile(r"Worker WorkerCron \((\d+)\) alive")


# ----------------------------------------------------------------------------------
# In an Odoo process: setup, trigger
# ----------------------------------------------------------------------------------


def setup(env, size, today, smtp_port, port, per_customer=1):
    """The customers, invoices without PDFs, policy, mail server, senders and
    queued reminders; every other scheduled action off. wkhtmltopdf fetches
    the report's assets from the server on ``port``, as from a production
    server's own address."""
    from dispatch import _policy
    from generate import generate

    info = {"customers": size, "invoices_per_customer": per_customer}
    env.company.email = "collections@bench.example.com"
    start = time.perf_counter()
    generated = generate(
        env, size * per_customer, size, today, per_partner=per_customer
    )
    info.update(invoices=generated["invoices"], generate_s=time.perf_counter() - start)
    _policy(
        env,
        {
            "channel_email": True,
            "mail_template_id": env.ref(
                "account_dunning.mail_template_dunning_friendly"
            ).id,
            "attach_invoice_pdf": True,
        },
    )
    env["ir.mail_server"].create(
        {
            "name": "Bench SMTP sink",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_encryption": "none",
            "sequence": 1,
        }
    )
    env["ir.config_parameter"].set_param("report.url", f"http://127.0.0.1:{port}")
    env.flush_all()
    start = time.perf_counter()
    env["dunning.reminder"]._cron_plan()
    info["plan_s"] = time.perf_counter() - start

    # Only the senders and Odoo's mail queue run, and only once triggered.
    reminders = env["dunning.reminder"]
    reminders._set_dispatch_senders(SENDERS)
    senders = reminders._dispatch_crons()
    mail_cron = env.ref("mail.ir_cron_mail_scheduler_action")
    running = senders | mail_cron
    env.flush_all()
    env.cr.execute(
        "UPDATE ir_cron SET active = (id = ANY(%s)),"
        " nextcall = (now() at time zone 'UTC') + interval '1 day'",
        [running.ids],
    )
    env.cr.execute("DELETE FROM ir_cron_trigger")
    env.cr.commit()
    env.invalidate_all()
    info["crons"] = [
        {"id": cron.id, "name": cron.name, "priority": cron.priority}
        for cron in running.sorted("id")
    ]
    invoices = env["account.move"].search([("move_type", "=", "out_invoice")])
    info["invoices_with_pdf"] = len(invoices.filtered("invoice_pdf_report_id"))
    info["queued_reminders"] = reminders.search_count([("state", "=", "queued")])
    return info


def render_sample(env):
    """Seconds of one invoice PDF's render, outside any cron, while the server
    is up and idle; rolled back."""
    invoices = env["account.move"].search(
        [("move_type", "=", "out_invoice")], limit=RENDER_SAMPLE
    )
    seconds = []
    for invoice in invoices:
        start = time.perf_counter()
        cpu = time.process_time()
        content, _kind = (
            env["ir.actions.report"]
            .sudo()
            ._render_qweb_pdf("account.account_invoices", invoice.ids)
        )
        seconds.append(
            {
                "seconds": time.perf_counter() - start,
                "python_cpu_s": time.process_time() - cpu,
                "bytes": len(content),
                "pdf": content.startswith(b"%PDF"),
            }
        )
    env.cr.rollback()
    return {"renders": seconds}


def trigger(env):
    """Wake every sender, as the add-on does; the commit's instant. The
    senders' and the mail queue's next regular calls are one interval away,
    as on a server where they just ran: a job Odoo gives up on (three runs
    killed in a row) runs again then."""
    from dateutil.relativedelta import relativedelta

    from odoo import fields

    now = fields.Datetime.now()
    reminders = env["dunning.reminder"]
    running = reminders._dispatch_crons().filtered("active") | env.ref(
        "mail.ir_cron_mail_scheduler_action"
    )
    for cron in running:
        cron.nextcall = now + relativedelta(
            **{cron.interval_type: cron.interval_number}
        )
    reminders._trigger_dispatch()
    env.cr.commit()
    return {"triggered_at": time.time()}


def effective_limits(config_path, dbname, port):
    """The limits ``odoo-bin`` runs with, parsed from the same command line."""
    from odoo.tools import config

    config.parse_config(server_args(config_path, dbname, port))
    return {key: config.get(key) for key in LIMIT_KEYS}


def server_args(config_path, dbname, port):
    """``odoo-bin``'s options: two workers, two cron workers, no limit option."""
    return [
        "-c",
        config_path,
        "-d",
        dbname,
        f"--db-filter=^{dbname}$",
        "--workers=2",
        "--max-cron-threads=2",
        f"--http-port={port}",
        f"--gevent-port={port + 1}",
        "--http-interface=127.0.0.1",
        "--log-level=info",
    ]


# ----------------------------------------------------------------------------------
# Orchestration, called by bench/run.py (no Odoo import: run.py's process)
# ----------------------------------------------------------------------------------


def _log(message):
    print(f"==> {message}", file=sys.stderr, flush=True)


POLL_SQL = """
SELECT
  (SELECT COUNT(*) FROM dunning_reminder WHERE state IN ('queued', 'deferred')),
  (SELECT COUNT(*) FROM dunning_reminder WHERE state = 'sending'),
  (SELECT COUNT(*) FROM dunning_reminder WHERE state = 'sent'),
  (SELECT COUNT(*) FROM dunning_reminder WHERE state = 'failed'),
  (SELECT COUNT(*) FROM dunning_reminder WHERE state = 'cancelled'),
  (SELECT COUNT(*) FROM ir_attachment
    WHERE res_model = 'account.move' AND res_field = 'invoice_pdf_report_file'),
  (SELECT COUNT(*) FROM mail_mail WHERE state = 'outgoing')
"""
POLL_KEYS = ("queued", "sending", "sent", "failed", "cancelled", "pdfs", "outgoing")

FINAL_SQL = """
SELECT json_build_object(
  'states', (SELECT json_object_agg(state, n) FROM
              (SELECT state, COUNT(*) AS n FROM dunning_reminder GROUP BY state) s),
  'claimed_more_than_once',
    (SELECT COUNT(*) FROM dunning_reminder WHERE attempt_count > 1),
  'max_attempts', (SELECT MAX(attempt_count) FROM dunning_reminder),
  'requeued_after_a_stopped_worker', (SELECT COUNT(*) FROM dunning_reminder
    WHERE error_message LIKE 'Sent again%'),
  'errors', (SELECT json_agg(e) FROM (SELECT state, error_message, COUNT(*) AS n
    FROM dunning_reminder WHERE error_message IS NOT NULL
    GROUP BY state, error_message ORDER BY n DESC LIMIT 10) e),
  'pdf_attachments', (SELECT COUNT(*) FROM ir_attachment
    WHERE res_model = 'account.move' AND res_field = 'invoice_pdf_report_file'),
  'invoices_with_two_pdfs', (SELECT COUNT(*) FROM (SELECT res_id FROM ir_attachment
    WHERE res_model = 'account.move' AND res_field = 'invoice_pdf_report_file'
    GROUP BY res_id HAVING COUNT(*) > 1) d),
  'mail_states', (SELECT json_object_agg(state, n) FROM
              (SELECT state, COUNT(*) AS n FROM mail_mail GROUP BY state) m),
  'cron_progress', (SELECT json_agg(p) FROM (SELECT c.id, c.cron_name AS name,
    COUNT(p.id) AS calls, SUM(p.done) AS done,
    MAX(p.timed_out_counter) AS max_timed_out_counter,
    MAX(c.failure_count) AS failure_count, BOOL_AND(c.active) AS active
    FROM ir_cron c LEFT JOIN ir_cron_progress p ON p.cron_id = c.id
    WHERE c.active GROUP BY c.id, c.cron_name ORDER BY c.id) p)
)
"""


def _poll(pg, dbname):
    values = pg.query(dbname, POLL_SQL).split("|")
    return dict(zip(POLL_KEYS, map(int, values), strict=True))


def parse_server_log(path):
    """What the server's log says: workers stopped by a limit, cron runs."""
    kills = {label: {} for label in KILL_PATTERNS}
    jobs, timed_out, workers = {}, [], set()
    with open(path, errors="replace") as log:
        for line in log:
            for label, pattern in KILL_PATTERNS.items():
                found = pattern.search(line)
                if found:
                    key = found["pid"] or str(len(kills[label]))
                    kills[label].setdefault(key, line.strip()[:300])
            found = JOB_PROCESSED.search(line)
            if found:
                job = jobs.setdefault(
                    f"{found['name']} ({found['id']})", {"calls": 0, "done": 0}
                )
                job["calls"] += 1
                job["done"] += int(found["done"])
            found = JOB_TIMED_OUT.search(line)
            if found:
                timed_out.append(line.strip()[:300])
            found = WORKER_ALIVE.search(line)
            if found:
                workers.add(found.group(1))
    return {
        "kills": {
            label: list(lines.values()) for label, lines in kills.items() if lines
        },
        "kill_count": sum(len(kills[label]) for label in KILLING),
        "jobs": jobs,
        "jobs_timed_out": timed_out,
        "cron_workers_started": len(workers),
    }


def run_pdf_drain(pg, args, today, install_db, worker):
    """The drain measurement on ``<prefix>pdf_drain``; prints the table."""
    from smtp_sink import SmtpSink

    def step(command, **options):
        return worker(args.config, command, dbname, today, script=SCRIPT, **options)

    dbname = f"{args.db_prefix}pdf_drain"
    port = args.drain_port
    smtp_port = args.drain_smtp_port
    results = os.path.join(HERE, "results")
    os.makedirs(results, exist_ok=True)
    log_path = os.path.join(results, "pdf_drain_server.log")
    info = {
        "database": dbname,
        "reminders_wanted": args.drain_count,
        "invoices_per_customer": args.drain_invoices_per_customer,
        "latency_ms": args.latency_ms,
        "timeout_s": args.drain_timeout,
        "server_log": os.path.relpath(log_path),
    }
    info["install_s"] = install_db(pg, args.config, dbname, "account_dunning")
    server = None
    try:
        _log(
            f"{dbname}: {args.drain_count} customers, each with"
            f" {args.drain_invoices_per_customer} invoice(s) without a PDF"
        )
        info["setup"] = step(
            "setup",
            size=args.drain_count,
            port=port,
            **{
                "smtp-port": smtp_port,
                "per-customer": args.drain_invoices_per_customer,
            },
        )
        info["limits"] = step("limits", port=port)
        info["machine_load_before"] = os.getloadavg()
        _log(
            f"{dbname}: {info['setup']['queued_reminders']} reminders queued;"
            f" the server's limits: {info['limits']}"
        )
        env = _server_env(results, pg.env)
        info["environment_fixes"] = env.pop("_fixes")
        import odoo

        odoo_bin = os.path.join(
            os.path.dirname(os.path.dirname(odoo.__file__)), "odoo-bin"
        )
        with SmtpSink(smtp_port, args.latency_ms / 1000) as sink:
            with open(log_path, "w") as server_log:
                server = subprocess.Popen(
                    [
                        sys.executable,
                        odoo_bin,
                        *server_args(args.config, dbname, port),
                    ],
                    stdout=server_log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=env,
                )
            _wait_for_server(port, server, log_path)
            info["server_started"] = datetime.now().isoformat(timespec="seconds")
            info["render_sample"] = step("sample")["renders"]
            alone = [format(s["seconds"], ".2f") for s in info["render_sample"]]
            _log(f"{dbname}: one PDF alone, server idle: {', '.join(alone)} s")
            wall0, mono0 = time.time(), time.monotonic()
            triggered = step("trigger")["triggered_at"]
            t0 = mono0 + (triggered - wall0)
            _log(f"{dbname}: senders triggered; polling every {args.drain_poll} s")
            timeline, drained, last = [], False, None
            while True:
                time.sleep(args.drain_poll)
                now = time.monotonic() - t0
                state = _poll(pg, dbname)
                state["t"] = round(now, 1)
                state["load"] = os.getloadavg()[0]
                state["sink"] = len(sink.received())
                timeline.append(state)
                if (state["queued"], state["sending"], state["sent"]) != last:
                    _log(
                        f"{now:7.0f} s: queued {state['queued']}, sending"
                        f" {state['sending']}, sent {state['sent']}, failed"
                        f" {state['failed']}, PDFs {state['pdfs']}, mails waiting"
                        f" {state['outgoing']}, sink {state['sink']},"
                        f" load {state['load']:.1f}"
                    )
                    last = (state["queued"], state["sending"], state["sent"])
                if not state["queued"] and not state["sending"]:
                    drained = True
                    break
                if now > args.drain_timeout:
                    break
                if server.poll() is not None:
                    _log(f"{dbname}: the server stopped, see {log_path}")
                    break
            received = sink.received()
            summary = sink.summary()
        info["final"] = json.loads(pg.query(dbname, FINAL_SQL))
    finally:
        if server and server.poll() is None:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        if not args.keep_base:
            pg.drop(dbname)
    info["drained"] = drained
    info["timeline"] = timeline
    info["sink"] = {k: v for k, v in summary.items() if k != "instants"}
    instants = sorted(at - t0 for at, *_rest in received)
    info["first_mail_s"] = instants[0] if instants else None
    info["last_mail_s"] = instants[-1] if instants else None
    info["drain_s"] = timeline[-1]["t"] if drained else None
    sent = info["final"]["states"].get("sent", 0)
    span = info["last_mail_s"] if drained and instants else timeline[-1]["t"]
    info["sent_per_minute"] = 60 * sent / span if span else None
    first_pdf = next((s["t"] for s in timeline if s["pdfs"]), None)
    rendered = info["final"]["pdf_attachments"] - info["setup"]["invoices_with_pdf"]
    info["pdfs_rendered"] = rendered
    info["pdfs_per_minute"] = 60 * rendered / span if span else None
    info["server"] = parse_server_log(log_path)
    info["load_average_after"] = os.getloadavg()
    info["first_pdf_poll_s"] = first_pdf
    print(drain_table(info), flush=True)
    return info


def _server_env(folder, base_env):
    """The server's environment; with a work-around if its long-polling
    process cannot start.

    In multi-process mode ``odoo-bin`` runs a gevent process and starts it
    again each time it dies. gevent loads its plug-ins through
    ``pkg_resources``, which, when older than the wheels installed, fails to
    find a distribution whose ``.dist-info`` folder has the new normalised
    name (``zope_interface-8.7.dist-info`` for ``zope.interface``): the
    process dies at once, about three times a second, and takes the CPU the
    cron workers need. For each distribution ``pkg_resources`` misses, a
    folder on ``PYTHONPATH`` holds its metadata under the old name; the code
    imported stays that of the virtualenv. ``_fixes`` says what was done.
    """
    env = dict(base_env)
    fixes = []
    shim = os.path.join(folder, "pkg_resources_names")
    check = "import pkg_resources; pkg_resources.require('gevent')"
    missing = re.compile(r"The '([^']+)' distribution was not found")
    for _attempt in range(5):
        done = subprocess.run(
            [sys.executable, "-c", check], env=env, capture_output=True, text=True
        )
        found = missing.search(done.stderr)
        if done.returncode == 0 or not found:
            break
        import importlib.metadata

        name = found.group(1)
        version = importlib.metadata.version(name)
        dist_info = os.path.join(shim, f"{name}-{version}.dist-info")
        os.makedirs(dist_info, exist_ok=True)
        with open(os.path.join(dist_info, "METADATA"), "w") as metadata:
            metadata.write(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [shim, base_env.get("PYTHONPATH")])
        )
        fixes.append(
            f"pkg_resources could not find {name} {version}: its name listed in"
            f" {os.path.relpath(shim)}"
        )
    env["_fixes"] = fixes
    return env


def _wait_for_server(port, server, log_path):
    import requests

    deadline = time.monotonic() + 180
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/web/health", timeout=30)
            return
        except requests.RequestException:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"the server did not start, see {log_path}") from None
            time.sleep(1)


def drain_table(info):
    final, sink, limits = info["final"], info["sink"], info["limits"]
    sample = info["render_sample"]
    per_pdf = sorted(s["seconds"] for s in sample)
    kills = info["server"]["kills"]
    rows = [
        "\n### PDF reminders drained by `odoo-bin --workers 2 --max-cron-threads 2`"
        f" (Odoo's default limits: limit_time_cpu {limits['limit_time_cpu']} s,"
        f" limit_time_real {limits['limit_time_real']} s, limit_time_real_cron"
        f" {limits['limit_time_real_cron']})\n",
        "| measure | value |",
        "|---|---:|",
        f"| reminders queued | {info['setup']['queued_reminders']:,} |",
        f"| drained | {'yes' if info['drained'] else 'NO'} |",
        f"| time to drain (s) | {_fmt(info['drain_s'], '.0f')} |",
        f"| last mail at (s) | {_fmt(info['last_mail_s'], '.0f')} |",
        f"| reminders sent / minute | {_fmt(info['sent_per_minute'], '.1f')} |",
        f"| PDFs rendered | {info['pdfs_rendered']:,} |",
        f"| PDFs rendered / minute | {_fmt(info['pdfs_per_minute'], '.1f')} |",
        f"| one PDF alone (s) | {', '.join(f'{s:.2f}' for s in per_pdf)} |",
        f"| reminder states | {_states(final['states'])} |",
        f"| claimed more than once | {final['claimed_more_than_once']} |",
        f"| workers stopped by a limit | {info['server']['kill_count']} |",
        f"| cron worker processes started | {info['server']['cron_workers_started']} |",
        f"| mails received by the sink | {sink['messages']:,} |",
        f"| distinct Message-Ids | {sink['distinct_message_ids']:,} |",
        f"| PDF parts received | {sink['pdf_parts']:,} |",
    ]
    for label, lines in kills.items():
        rows.append(f"| log: {label} | {len(lines)} |")
    for name, job in info["server"]["jobs"].items():
        rows.append(
            f"| runner calls of {name} | {job['calls']} (done {job['done']:,}) |"
        )
    return "\n".join(rows)


def _states(states):
    return ", ".join(f"{k} {v:,}" for k, v in sorted((states or {}).items()))


def _fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def drain_verdict(info):
    """Lines of the verdict, and whether they pass."""
    lines, passed = [], True
    queued = info["setup"]["queued_reminders"]
    sink = info["sink"]
    states = info["final"]["states"] or {}
    ok = info["drained"] and states.get("sent", 0) == queued
    passed &= ok
    how = (
        f"drained in {info['drain_s']:.0f} s"
        if info["drained"]
        else f"NOT drained after {info['timeline'][-1]['t']:.0f} s"
    )
    lines.append(
        f"{'PASS' if ok else 'FAIL'} pdf_drain: {states.get('sent', 0):,} of"
        f" {queued:,} PDF reminders sent under --workers 2 with Odoo's default"
        f" limits ({how})"
    )
    ok = sink["messages"] == queued and sink["distinct_message_ids"] == queued
    passed &= ok
    lines.append(
        f"{'PASS' if ok else 'FAIL'} pdf_drain: the sink received"
        f" {sink['messages']:,} mails, {sink['distinct_message_ids']:,} distinct"
        f" Message-Ids (want {queued:,} and {queued:,})"
    )
    kills = info["server"]["kill_count"]
    lines.append(
        f"{'INFO' if not kills else 'WARN'} pdf_drain: {kills} cron worker(s)"
        f" stopped by a limit; {info['final']['claimed_more_than_once']}"
        " reminder(s) claimed more than once"
    )
    return lines, passed


# ----------------------------------------------------------------------------------
# Command line of the Odoo-side steps
# ----------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("setup", "sample", "trigger", "limits"))
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--today", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", type=int, help="setup: customers (reminders)")
    parser.add_argument("--per-customer", type=int, default=1)
    parser.add_argument("--smtp-port", type=int, help="setup: the sink's port")
    parser.add_argument("--port", type=int, help="the server's HTTP port")
    args = parser.parse_args(argv)

    if args.command == "limits":
        result = effective_limits(
            os.path.abspath(args.config), args.database, args.port
        )
    else:
        from worker import _odoo_env

        from odoo import SUPERUSER_ID, api

        registry, _load_s = _odoo_env(args.config, args.database)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            if args.command == "setup":
                start = time.perf_counter()
                result = setup(
                    env,
                    args.size,
                    date.fromisoformat(args.today),
                    args.smtp_port,
                    args.port,
                    args.per_customer,
                )
                cr.commit()
                result["seconds"] = time.perf_counter() - start
            elif args.command == "sample":
                result = render_sample(env)
            else:
                result = trigger(env)
    with open(args.out, "w") as out:
        json.dump(result, out, indent=2, default=str)


if __name__ == "__main__":
    main()
