"""One benchmark step in a process of its own; bench/run.py starts it.

    python bench/worker.py generate -c CONF -d DB --size N --partners P --today D \
        --out F
    python bench/worker.py measure  -c CONF -d DB --engine ours|oca --today D --out F
                                    [--tracemalloc] [--profile PATH]
    python bench/worker.py whatsapp -c CONF -d DB --size N --rate R --rate-count M \
        --port P --today D --out F
    python bench/worker.py dispatch-setup -c CONF -d DB --channel C --size N \
        [--pdf-kb K] --today D --out F
    python bench/worker.py dispatch-run -c CONF -d DB --channel C --ready R --go G \
        [--timeout S] --today D --out F

A process per measurement gives each engine the same start (a fresh registry, no
cache left by the other engine) and a clean resident-memory high-water mark.
The result is written as JSON to ``--out``.
"""

# A stand-alone measurement process: it owns its transactions and commits them,
# as the cron it measures does.
# pylint: disable=invalid-commit

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import resource
import sys
import threading
import time
import tracemalloc
from collections import defaultdict
from datetime import date

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _odoo_env(config, dbname):
    import odoo
    from odoo.tools import config as odoo_config

    odoo_config.parse_config(["-c", config, "--log-level=warn", f"--database={dbname}"])
    odoo.netsvc.init_logger()
    start = time.perf_counter()
    registry = odoo.modules.registry.Registry(dbname)
    return registry, time.perf_counter() - start


def _status_kib(field):
    """A ``/proc/self/status`` field in KiB (VmRSS, VmHWM), or None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _code_fingerprint():
    """A hash of our add-on's engine code on disk: models/, data/, services/.

    Other people may edit the add-on while a long benchmark runs; run.py compares
    the fingerprints of the runs of an engine and warns when they differ.
    """
    import hashlib

    from odoo.modules.module import get_module_path

    digest = hashlib.sha256()
    root = get_module_path("account_dunning")
    for folder in ("models", "data", "services"):
        path = os.path.join(root, folder)
        for name in sorted(os.listdir(path)) if os.path.isdir(path) else ():
            if name.endswith((".py", ".xml")):
                with open(os.path.join(path, name), "rb") as source:
                    digest.update(name.encode() + b"\0" + source.read())
    return digest.hexdigest()[:12]


def _backend_cpu_s(pid):
    """CPU seconds (user + system) of the PostgreSQL backend ``pid`` so far.

    Read from ``/proc/<pid>/stat`` (fields 14 and 15): this works when PostgreSQL
    runs on this machine and we may read its processes; otherwise None.
    """
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _reset_rss_peak():
    """Reset the kernel's resident-set high-water mark (VmHWM) of this process."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


class QueryMeter:
    """Counts queries and their time through Odoo's per-thread query hooks.

    Odoo's ``Cursor.execute`` calls every ``threading.current_thread().query_hooks``
    entry after each query (``odoo/sql_db.py``), whichever cursor runs it; the
    count is cross-checked against the global ``odoo.sql_db.sql_counter``.
    With ``attribute``, each query is charged to the innermost frame of the
    engine's own code (or the ORM method called from it), for the profile.
    """

    def __init__(self, attribute_to=None):
        self.count = 0
        self.seconds = 0.0
        self.attribute_to = attribute_to
        self.by_caller = defaultdict(lambda: [0, 0.0])

    def __call__(self, cr, query, params, start, delay):
        self.count += 1
        self.seconds += delay
        if self.attribute_to:
            frame = sys._getframe(1)
            key = "?"
            while frame is not None:
                filename = frame.f_code.co_filename
                if any(marker in filename for marker in self.attribute_to):
                    key = f"{os.path.basename(filename)}:{frame.f_code.co_name}"
                    break
                frame = frame.f_back
            entry = self.by_caller[key]
            entry[0] += 1
            entry[1] += delay

    def __enter__(self):
        thread = threading.current_thread()
        self._previous = getattr(thread, "query_hooks", ())
        thread.query_hooks = (*self._previous, self)
        return self

    def __exit__(self, *exc):
        threading.current_thread().query_hooks = self._previous


def cmd_generate(args):
    from engines import expected_counts, our_policy_levels, setup_oca
    from generate import generate

    from odoo import SUPERUSER_ID, api

    registry, load_s = _odoo_env(args.config, args.database)
    today = date.fromisoformat(args.today)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        start = time.perf_counter()
        result = generate(env, args.size, args.partners, today)
        setup_oca(env)
        result["seconds"] = time.perf_counter() - start
        result["expected"] = expected_counts(env, today)
        result["our_levels"] = our_policy_levels(env)
        result["registry_load_s"] = load_s
        env["ir.config_parameter"].set_param(
            "account_dunning.bench_generated",
            json.dumps(
                {"size": args.size, "today": args.today, "result": result}, default=str
            ),
        )
        cr.commit()
    return result


def cmd_measure(args):
    from engines import ENGINES

    import odoo
    from odoo import SUPERUSER_ID, api, fields
    from odoo.tools import SQL

    run, describe = ENGINES[args.engine]
    registry, load_s = _odoo_env(args.config, args.database)
    fingerprint = _code_fingerprint()
    today = date.fromisoformat(args.today)

    # Warm-up, the same for both engines: read the big tables once so that neither
    # pays for the first read from disk, then start from a fresh transaction.
    with registry.cursor() as cr:
        for table in ("account_move", "account_move_line", "res_partner"):
            cr.execute(SQL("SELECT COUNT(*) FROM %s", SQL.identifier(table)))
        env = api.Environment(cr, SUPERUSER_ID, {})
        assert fields.Date.context_today(env["res.partner"]) == today, (
            "the date changed since the data was generated; run again"
        )

    attribute_to = None
    if args.profile:
        attribute_to = (
            ("account_dunning/models/", "account_dunning/services/")
            if args.engine == "ours"
            else ("account_credit_control/models/",)
        )
    profiler = cProfile.Profile() if args.profile else None

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        # outside the measurement: the backend serving this cursor, and the WAL
        # position, to report the database's own CPU time and write volume
        cr.execute("SELECT pg_backend_pid(), pg_current_wal_lsn()")
        backend_pid, wal_before = cr.fetchone()
        cr.commit()
        backend_cpu_before = _backend_cpu_s(backend_pid)
        gc.collect()
        rss_before = _status_kib("VmRSS")
        hwm_reset = _reset_rss_peak()
        maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        counter_before = odoo.sql_db.sql_counter
        if args.tracemalloc:
            tracemalloc.start()
        with QueryMeter(attribute_to) as meter:
            if profiler:
                profiler.enable()
            cpu_start = time.process_time()
            start = time.perf_counter()
            run(env, today)
            env.flush_all()
            cr.commit()
            seconds = time.perf_counter() - start
            python_cpu = time.process_time() - cpu_start
            if profiler:
                profiler.disable()
        backend_cpu_after = _backend_cpu_s(backend_pid)
        traced_peak = None
        if args.tracemalloc:
            traced_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        queries_global = odoo.sql_db.sql_counter - counter_before
        hwm_after = _status_kib("VmHWM")
        maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        cr.execute(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::bigint", [wal_before]
        )
        wal_bytes = cr.fetchone()[0]

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        described = describe(env)

    result = {
        "engine": args.engine,
        "load_average_before": os.getloadavg(),
        "code_fingerprint": fingerprint,
        "seconds": seconds,
        "queries": meter.count,
        "queries_global_counter": queries_global,
        "sql_seconds": meter.seconds,
        # CPU time, far less sensitive than wall time to other load on the machine
        "python_cpu_s": python_cpu,
        "postgres_cpu_s": backend_cpu_after - backend_cpu_before
        if backend_cpu_before is not None and backend_cpu_after is not None
        else None,
        "wal_bytes": wal_bytes,
        "rss_before_kib": rss_before,
        # peak resident set during the run, above what the process held before it
        "rss_peak_delta_kib": (hwm_after - rss_before)
        if hwm_reset and hwm_after and rss_before
        else maxrss_after - maxrss_before,
        "rss_peak_method": "VmHWM reset via /proc/self/clear_refs"
        if hwm_reset
        else "ru_maxrss delta",
        "ru_maxrss_kib": maxrss_after,
        "tracemalloc_peak_bytes": traced_peak,
        "registry_load_s": load_s,
        **described,
    }
    if profiler:
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(25)
        stats.dump_stats(args.profile)
        result["profile_text"] = stream.getvalue()
        result["queries_by_caller"] = {
            key: {"queries": n, "sql_s": round(s, 4)}
            for key, (n, s) in sorted(meter.by_caller.items(), key=lambda kv: -kv[1][0])
        }
    return result


def cmd_whatsapp(args):
    from whatsapp import run

    registry, load_s = _odoo_env(args.config, args.database)
    today = date.fromisoformat(args.today)
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        result = run(
            env,
            today,
            args.size,
            args.rate,
            args.rate_count,
            args.port,
            profile=args.profile,
        )
        cr.commit()
    result["registry_load_s"] = load_s
    result["code_fingerprint"] = _code_fingerprint()
    result["load_average_after"] = os.getloadavg()
    return result


def cmd_dispatch_setup(args):
    from dispatch import setup

    from odoo import SUPERUSER_ID, api

    registry, load_s = _odoo_env(args.config, args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        start = time.perf_counter()
        result = setup(
            env, args.channel, args.size, date.fromisoformat(args.today), args.pdf_kb
        )
        result["seconds"] = time.perf_counter() - start
        cr.commit()
    result["registry_load_s"] = load_s
    return result


def cmd_dispatch_run(args):
    from dispatch import run_worker

    registry, load_s = _odoo_env(args.config, args.database)
    result = run_worker(
        registry, args.channel, args.ready, args.go, args.timeout, QueryMeter
    )
    result["registry_load_s"] = load_s
    result["code_fingerprint"] = _code_fingerprint()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "command",
        choices=("generate", "measure", "whatsapp", "dispatch-setup", "dispatch-run"),
    )
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--today", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", type=int)
    parser.add_argument("--partners", type=int)
    parser.add_argument("--engine", choices=("ours", "oca"))
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--profile", help="write cProfile stats to this path")
    parser.add_argument("--rate", type=int, help="whatsapp: the paced rate (N/s)")
    parser.add_argument("--rate-count", type=int, help="whatsapp: messages paced")
    parser.add_argument("--port", type=int, help="whatsapp: loopback server port")
    parser.add_argument("--channel", help="dispatch: whatsapp, email, email_pdf...")
    parser.add_argument("--pdf-kb", type=int, default=50, help="dispatch: PDF size")
    parser.add_argument("--ready", help="dispatch-run: file to create when ready")
    parser.add_argument("--go", help="dispatch-run: start when this file exists")
    parser.add_argument(
        "--timeout", type=float, default=600, help="dispatch-run: give up after (s)"
    )
    args = parser.parse_args(argv)
    commands = {
        "generate": cmd_generate,
        "measure": cmd_measure,
        "whatsapp": cmd_whatsapp,
        "dispatch-setup": cmd_dispatch_setup,
        "dispatch-run": cmd_dispatch_run,
    }
    result = commands[args.command](args)
    with open(args.out, "w") as out:
        json.dump(result, out, indent=2, default=str)


if __name__ == "__main__":
    main()
