"""Dispatch benchmark: reminders per second per channel, one and two workers.

bench/run.py prepares one database per channel (``setup``, run by ``worker.py
dispatch-setup``), copies it for each run, starts the channel's loopback
provider with its latency (the WhatsApp sandbox, or bench/smtp_sink.py), and
then starts one or two ``worker.py dispatch-run`` processes (``run_worker``)
on the copy; they wait for the same start signal.

Each worker does what a cron worker does: ``dunning.reminder._cron_dispatch()``
as the superuser, committing; for e-mail it then runs Odoo's mail queue
(``mail.mail.process_email_queue()``, the code of
``mail.ir_cron_mail_scheduler_action``) until no reminder is left ``queued`` or
``sending``. Like Odoo's cron runner (``ir.cron._acquire_one_job``), a worker
runs the mail queue only while it holds the row of that cron
(``FOR NO KEY UPDATE SKIP LOCKED``): two workers never send the same mail.

The channels:

* ``whatsapp``: the sandbox's approved template, one invoice per customer;
* ``email``: the shipped "friendly" template, one invoice per customer;
* ``email_pdf``: the same, five invoices per customer, the level attaching the
  invoices' PDFs: each invoice has its PDF already (``invoice_pdf_report_id``,
  as once the invoice was sent), a file of ``pdf_kb`` KiB of incompressible
  content, so that the mail carries five real-sized attachments (rendering
  them is not measured: no wkhtmltopdf here, and a reminder reuses the PDF an
  invoice already has);
* ``activity``: a collector activity per customer, no provider: the baseline
  of the dispatch's own cost.
"""

# Benchmark code: it commits like the crons it measures.
# pylint: disable=invalid-commit

import os
import random
import time

HERE = os.path.dirname(os.path.abspath(__file__))

CHANNELS = ("whatsapp", "email", "email_pdf", "activity")
EMAIL_CHANNELS = ("email", "email_pdf")
PDFS_PER_REMINDER = 5


def fake_pdf(seed, size):
    """A one-page PDF of about ``size`` bytes whose stream does not compress.

    Real invoice PDFs are mostly compressed streams and fonts: base64 and the
    SMTP transfer cost the same for this as for them.
    """
    stream = random.Random(seed).randbytes(size)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _policy(env, level_values):
    """A policy with one level reached by every invoice, always open to contact."""
    from odoo import Command

    policy = env["dunning.policy"].create(
        {
            "name": "Bench dispatch",
            "company_id": env.company.id,
            "compliance_profile": "custom",
            "contact_hour_from": 0.0,
            "contact_hour_to": 24.0,
            "contact_weekdays": [Command.set(env["dunning.weekday"].search([]).ids)],
            "skip_holidays": False,
            "min_days_between_reminders": 0,
            "max_contacts_per_day": 0,
            "max_contacts_per_week": 0,
            "level_ids": [
                Command.create({"name": "Bench", "offset_days": -30, **level_values})
            ],
        }
    )
    env.company.dunning_policy_id = policy
    return policy


def setup(env, channel, count, today, pdf_kb=50):
    """The channel's customers, invoices, provider settings and queued reminders."""
    import whatsapp
    from generate import generate

    company = env.company
    # The e-mail templates' sender: the collector's address, else the company's.
    company.email = "collections@bench.example.com"
    info = {"channel": channel}
    if channel == "whatsapp":
        # The sandbox's port is set on each copy, just before its run.
        info.update(whatsapp.setup(env, count, today, "http://127.0.0.1:9", 1))
    else:
        per_partner = PDFS_PER_REMINDER if channel == "email_pdf" else 1
        generated = generate(
            env, count * per_partner, count, today, per_partner=per_partner
        )
        info.update(invoices=generated["invoices"], customers=generated["partners"])
        if channel == "activity":
            level = {"channel_email": False, "channel_activity": True}
        else:
            level = {
                "channel_email": True,
                "mail_template_id": env.ref(
                    "account_dunning.mail_template_dunning_friendly"
                ).id,
                "attach_invoice_pdf": channel == "email_pdf",
            }
        _policy(env, level)
        if channel in EMAIL_CHANNELS:
            # Every mail goes to the sink; its port is set on each copy.
            env["ir.mail_server"].create(
                {
                    "name": "Bench SMTP sink",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": 25,
                    "smtp_encryption": "none",
                    "sequence": 1,
                }
            )
        if channel == "email_pdf":
            invoices = env["account.move"].search([("move_type", "=", "out_invoice")])
            env["ir.attachment"].create(
                [
                    {
                        "name": f"{invoice.name.replace('/', '_')}.pdf",
                        "raw": fake_pdf(invoice.id, pdf_kb * 1024),
                        "mimetype": "application/pdf",
                        "res_model": "account.move",
                        "res_id": invoice.id,
                        "res_field": "invoice_pdf_report_file",
                    }
                    for invoice in invoices
                ]
            )
            info["pdf_bytes"] = len(fake_pdf(0, pdf_kb * 1024))
        env.flush_all()
        env["dunning.reminder"]._cron_plan()
    # No cron of an Odoo server sharing this PostgreSQL may run on this
    # database: the workers alone dispatch and send.
    env.cr.execute("UPDATE ir_cron SET active = FALSE")
    env.cr.commit()
    env.invalidate_all()
    info["queued_reminders"] = env["dunning.reminder"].search_count(
        [("state", "=", "queued")]
    )
    return info


def _left(cr):
    """Reminders still to send now: queued and due, or waiting for the mail queue."""
    cr.execute(
        """
        SELECT COUNT(*)
          FROM dunning_reminder
         WHERE state = 'sending'
            OR (state = 'queued' AND scheduled_at <= now() at time zone 'UTC')
        """
    )
    return cr.fetchone()[0]


def _mail_queue_turn(registry, cron_id, meter):
    """Run the mail queue if no other worker does; whether it sent anything."""
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as lock_cr:
        lock_cr.execute(
            "SELECT id FROM ir_cron WHERE id = %s FOR NO KEY UPDATE SKIP LOCKED",
            [cron_id],
        )
        if not lock_cr.fetchone():
            return False
        lock_cr.execute("SELECT COUNT(*) FROM mail_mail WHERE state = 'outgoing'")
        if not lock_cr.fetchone()[0]:
            return False
        with registry.cursor() as cr, meter:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["mail.mail"].process_email_queue(batch_size=1000)
            cr.commit()
    return True


def run_worker(registry, channel, ready_path, go_path, timeout, meter_class):
    """One worker: wait for the start signal, dispatch, run the mail queue."""
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        # Warm: the queue read once, the mail cron's id known, before the start.
        env = api.Environment(cr, SUPERUSER_ID, {})
        cron_id = env.ref("mail.ir_cron_mail_scheduler_action").id
        _left(cr)
    with open(ready_path, "w"):
        pass
    while not os.path.exists(go_path):
        time.sleep(0.002)

    dispatch_meter, mail_meter = meter_class(), meter_class()
    started = time.time()
    cpu_start = time.process_time()
    with registry.cursor() as cr, dispatch_meter:
        env = api.Environment(cr, SUPERUSER_ID, {})
        # Run after run, as Odoo's runner does while the run reports work
        # remaining (each run is time-boxed); what the other worker holds is
        # not due, and a run that finds everything locked waits a moment.
        before = None
        while True:
            left = env["dunning.reminder"]._cron_dispatch()
            cr.commit()
            if not left or time.time() - started > timeout:
                break
            if left == before:
                time.sleep(0.02)
            before = left
    dispatched = time.time()
    mail_runs, mail_s, timed_out = 0, 0.0, False
    if channel in EMAIL_CHANNELS:
        while True:
            turn_start = time.perf_counter()
            if _mail_queue_turn(registry, cron_id, mail_meter):
                mail_runs += 1
                mail_s += time.perf_counter() - turn_start
                continue
            with registry.cursor() as cr:
                if not _left(cr):
                    break
            if time.time() - started > timeout:
                timed_out = True
                break
            time.sleep(0.02)
    ended = time.time()
    return {
        "started": started,
        "dispatched": dispatched,
        "ended": ended,
        "dispatch_s": dispatched - started,
        "seconds": ended - started,
        "python_cpu_s": time.process_time() - cpu_start,
        "dispatch_queries": dispatch_meter.count,
        "mail_queries": mail_meter.count,
        "mail_queue_runs": mail_runs,
        "mail_queue_s": mail_s,
        "timed_out": timed_out,
        "load_average_after": os.getloadavg(),
    }
