"""Notices join the one outbox (18.0.1.1.0).

Promise confirmations, instalment reminders and thank-yous waiting in the
WhatsApp notices queue become rows of the outbox (``dunning.reminder``); the
queue's cron goes. The shipped thank-you email, which rendered on the customer,
now renders on its outbox row and names every invoice paid: a database that
still has the old one (its data is never overwritten on update) gets the new
one when nobody changed its model.
"""

import logging
from pathlib import Path

from lxml import etree

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)

THANK_YOU_FIELDS = ("description", "subject", "email_from", "lang", "body_html")
# The promise confirmation's subject read like a receipt of a payment.
OLD_PROMISE_SUBJECT = (
    "{{ object.company_id.name }}: confirmation of your payment of "
    "{{ format_amount(object.amount, object.currency_id) }} on "
    "{{ format_date(object.date_promised) }}"
)
NEW_PROMISE_SUBJECT = (
    "{{ object.company_id.name }}: your promise to pay "
    "{{ format_amount(object.amount, object.currency_id) }} by "
    "{{ format_date(object.date_promised) }}"
)


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    cron = env.ref("account_dunning.ir_cron_whatsapp_notices", raise_if_not_found=False)
    if cron:
        cron.unlink()
    _move_queued_notices(env)
    _update_thank_you_template(env)
    _update_promise_subject(env)


def _move_queued_notices(env):
    messages = env["dunning.whatsapp.message"].search(
        [("notice_type", "!=", False), ("state", "=", "queued")]
    )
    for message in messages:
        env["dunning.reminder"]._enqueue_notice(
            message.notice_type,
            message.partner_id,
            message.company_id,
            ["whatsapp"],
            promise=message.promise_id or None,
            moves=message.notice_move_ids or None,
        )
    if messages:
        _logger.info("%s queued WhatsApp notices moved to the outbox", len(messages))
        messages.unlink()


def _update_thank_you_template(env):
    template = env.ref(
        "account_dunning.mail_template_dunning_thank_you", raise_if_not_found=False
    )
    if not template or template.model != "res.partner":
        return
    data = Path(__file__).parents[2] / "data" / "mail_template_data.xml"
    record = etree.parse(str(data)).find(
        ".//record[@id='mail_template_dunning_thank_you']"
    )
    values = {"model_id": env.ref("account_dunning.model_dunning_reminder").id}
    for field in record.iter("field"):
        name = field.get("name")
        if name not in THANK_YOU_FIELDS:
            continue
        if field.get("type") == "html":
            values[name] = "".join(
                etree.tostring(child, encoding="unicode") for child in field
            )
        else:
            values[name] = field.text
    values["partner_to"] = False
    template.write(values)
    _logger.info("The thank-you email template now names every invoice paid")


def _update_promise_subject(env):
    template = env.ref(
        "account_dunning.mail_template_dunning_promise_confirm",
        raise_if_not_found=False,
    )
    english = template and template.with_context(lang="en_US")
    if english and english.subject == OLD_PROMISE_SUBJECT:
        english.subject = NEW_PROMISE_SUBJECT
