"""WhatsApp dispatch benchmark: the real dispatch cron against a loopback Graph API.

``bench/worker.py whatsapp`` runs it in a process of its own (``bench/run.py
--only whatsapp``). The database gets a company, a WhatsApp account whose API
base URL is scripts/whatsapp_sandbox.py started on loopback (``--no-webhooks
--no-save``: it answers like Meta and records when each message arrived), an
approved template with five body parameters and a URL button, a policy with
one WhatsApp level and an always-open contact window, and ``count`` customers
with a Mexican mobile and recorded consent, each with one invoice due: the
planning pass queues one WhatsApp reminder per customer.

Two measurements, each ``dunning.reminder._cron_dispatch()`` as the cron runs it
(one worker, committing, the outbox committed before each call):

* **throughput**: the account's rate set far above what one worker can send;
  messages per second = messages the server received / wall time of the cron;
* **pacing**: the account's rate set to N per second; the largest number of
  messages the server received in any sliding one-second window, from its own
  receive instants (``time.monotonic()`` of the server process), must be <= N.
"""

# Benchmark code: it commits like the cron it measures.
# pylint: disable=invalid-commit

import cProfile
import json
import os
import subprocess
import sys
import time
import urllib.request
from bisect import bisect_left

from odoo import Command

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX = os.path.join(os.path.dirname(HERE), "scripts", "whatsapp_sandbox.py")
sys.path.insert(0, os.path.dirname(SANDBOX))

import whatsapp_sandbox  # noqa: E402

# The sandbox's approved template (the demo's): five body parameters.
TEMPLATE = whatsapp_sandbox.TEMPLATES[0]
TEMPLATE_BODY = next(c["text"] for c in TEMPLATE["components"] if c["type"] == "BODY")
SOURCES = (
    "partner_name",
    "amount_due",
    "oldest_due_date",
    "invoice_numbers",
    "company_name",
)


class LoopbackServer:
    """scripts/whatsapp_sandbox.py in benchmark mode, in a process of its own."""

    def __init__(self, port, latency_ms=0):
        self.port = port
        self.latency_ms = latency_ms
        self.url = f"http://127.0.0.1:{port}"
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(
            [
                sys.executable,
                SANDBOX,
                "--port",
                str(self.port),
                "--no-webhooks",
                "--no-save",
                "--fail-suffix",
                "",
                "--latency-ms",
                str(self.latency_ms),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                self.received()
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("the loopback server did not start") from None
                time.sleep(0.1)
        raise RuntimeError("the loopback server did not answer")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)

    def received(self):
        with urllib.request.urlopen(f"{self.url}/_sandbox/received", timeout=10) as r:
            return json.load(r)["received"]


def max_in_window(instants, window=1.0):
    """The largest number of instants in any half-open window [t, t + window)."""
    instants = sorted(instants)
    best = 0
    for i, start in enumerate(instants):
        best = max(best, bisect_left(instants, start + window, lo=i) - i)
    return best


def setup(env, count, today, base_url, per_partner=None):
    """Customers, invoices, the account, template and policy; plan the reminders.

    ``per_partner``: invoices per customer exactly (generate.py), instead of
    ``count`` invoices drawn over ``count`` customers.
    """
    from generate import generate

    generated = generate(
        env, count * (per_partner or 1), count, today, per_partner=per_partner
    )
    company = env.company
    account = env["dunning.whatsapp.account"].create(
        {
            "name": "Bench loopback",
            "company_id": company.id,
            "phone_number_id": whatsapp_sandbox.PHONE_NUMBER_ID,
            "waba_id": whatsapp_sandbox.WABA_ID,
            "access_token": whatsapp_sandbox.ACCESS_TOKEN,
            "app_secret": whatsapp_sandbox.APP_SECRET,
            "api_base_url": base_url,
            "rate_per_second": 1000,
            "daily_recipient_budget": 0,
        }
    )
    template = env["dunning.whatsapp.template"].create(
        {
            "name": TEMPLATE["name"],
            "language": TEMPLATE["language"],
            "account_id": account.id,
            "body_text": TEMPLATE_BODY,
            "url_button": True,
            "param_ids": [
                Command.create({"sequence": sequence, "source": source})
                for sequence, source in enumerate(SOURCES, start=1)
            ],
        }
    )
    policy = env["dunning.policy"].create(
        {
            "name": "Bench WhatsApp",
            "company_id": company.id,
            "compliance_profile": "custom",
            "contact_hour_from": 0.0,
            "contact_hour_to": 24.0,
            "contact_weekdays": [Command.set(env["dunning.weekday"].search([]).ids)],
            "skip_holidays": False,
            "min_days_between_reminders": 0,
            "level_ids": [
                Command.create(
                    {
                        "name": "WhatsApp",
                        "offset_days": -30,
                        "channel_email": False,
                        "channel_whatsapp": True,
                        "whatsapp_template_id": template.id,
                    }
                )
            ],
        }
    )
    company.dunning_policy_id = policy
    env.flush_all()
    # Mexican mobiles +52 55 XXXX XXXX and consent, in one statement.
    env.cr.execute(
        """
        UPDATE res_partner
           SET mobile = '+52 55 ' || lpad(id::text, 8, '0'),
               whatsapp_number = '+5255' || lpad(id::text, 8, '0'),
               whatsapp_number_invalid = FALSE,
               whatsapp_opt_in = TRUE,
               whatsapp_opt_in_source = 'contract',
               whatsapp_opt_in_date = now() at time zone 'UTC',
               country_id = %s,
               tz = 'America/Mexico_City'
         WHERE name LIKE 'Bench Customer %%'
        """,
        [env.ref("base.mx").id],
    )
    env.invalidate_all()
    start = time.perf_counter()
    env["dunning.reminder"]._cron_plan()
    plan_s = time.perf_counter() - start
    env.cr.commit()
    queued = env["dunning.reminder"].search_count(
        [("channel", "=", "whatsapp"), ("state", "=", "queued")]
    )
    return {
        "invoices": generated["invoices"],
        "customers": generated["partners"],
        "queued_reminders": queued,
        "plan_s": plan_s,
        "account_id": account.id,
    }


def dispatch(env, account_id, rate, limit, profile=None):
    """Dispatch at most ``limit`` queued reminders with the account at ``rate``/s."""
    Reminder = env["dunning.reminder"]
    env["dunning.whatsapp.account"].browse(account_id).rate_per_second = rate
    queued = Reminder.search(
        [("channel", "=", "whatsapp"), ("state", "=", "queued")], order="id"
    )
    later = queued[limit:]
    if later:
        # Not due yet: this pass leaves them for the next one.
        later.write({"scheduled_at": "2999-01-01 00:00:00"})
    mine = queued[:limit]
    mine.write({"scheduled_at": "2000-01-01 00:00:00"})
    env.cr.commit()
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    start = time.perf_counter()
    cpu_start = time.process_time()
    Reminder._cron_dispatch()
    env.cr.commit()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    if later:
        later.write({"scheduled_at": "2000-01-01 00:00:00"})
        env.cr.commit()
    mine.invalidate_recordset()
    states = {}
    for reminder in mine:
        states[reminder.state] = states.get(reminder.state, 0) + 1
    return {"seconds": seconds, "python_cpu_s": cpu, "states": states}


def run(env, today, count, rate, rate_count, port, profile=None):
    """Set up, then measure pacing at ``rate``/s and throughput; returns the figures."""
    result = {"count": count, "rate": rate}
    with LoopbackServer(port) as server:
        result["setup"] = setup(env, count, today, server.url)
    account_id = result["setup"]["account_id"]
    queued = result["setup"]["queued_reminders"]
    rate_count = min(rate_count, queued // 4)

    with LoopbackServer(port) as server:
        paced = dispatch(env, account_id, rate, rate_count)
        received = server.received()
    paced["messages"] = len(received)
    paced["max_in_any_1s"] = max_in_window(received)
    paced["server_span_s"] = (received[-1] - received[0]) if received else 0.0
    paced["per_second"] = len(received) / paced["seconds"] if paced["seconds"] else 0
    result["pacing"] = paced

    with LoopbackServer(port) as server:
        fast = dispatch(env, account_id, 100000, queued - rate_count, profile)
        received = server.received()
    fast["messages"] = len(received)
    fast["per_second"] = len(received) / fast["seconds"] if fast["seconds"] else 0
    fast["max_in_any_1s"] = max_in_window(received)
    result["throughput"] = fast
    return result
