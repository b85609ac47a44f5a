"""Invoices paid in instalments are collected instalment by instalment, and
each message says of each invoice only what is true of it (18.0.1.5.0).

- The decisions taken so far counted from Odoo's due date (the last
  instalment's): they are noted as such, and the level an invoice stands at as
  reached for that date. An invoice whose earliest unpaid instalment falls due
  sooner climbs the levels again from that instalment's date.
- The shipped reminder emails and SMS are never overwritten on update
  (noupdate): their level sentences and amounts are replaced where nobody
  changed them, in English and in Spanish; a sentence someone edited is left.
- "Next Reminder" now says what planning will do (holds, pause, pacing, never a
  day gone by): computed again for the open invoices.
"""

import json
import logging
import re

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)

# xml id: [(old English, new English, old Spanish, new Spanish)], the level
# sentences as shipped before and now, compared without regard to spacing.
LEVEL_SENTENCES = {
    "mail_template_dunning_preventive": [
        (
            "This is a friendly note to help you plan ahead: the invoices below "
            "come due soon. Nothing is late; we simply want to make paying them "
            "as easy as possible.",
            "This is a friendly note to help you plan ahead: the amounts coming "
            "due below fall due soon. "
            '<t t-if="object._get_due_invoice_names()">The ones listed as due '
            "for payment are already due.</t> "
            '<t t-else="">Nothing is late; we simply want to make paying them as '
            "easy as possible.</t>",
            "Le enviamos este aviso amistoso para ayudarle a planear sus pagos: "
            "las facturas que se muestran a continuación vencen próximamente. No "
            "hay ningún atraso; simplemente queremos que pagarlas le resulte lo "
            "más fácil posible.",
            "Le enviamos este aviso amistoso para ayudarle a planear sus pagos: "
            "los importes por vencer que se muestran a continuación vencen "
            "próximamente. "
            '<t t-if="object._get_due_invoice_names()">Los que aparecen como '
            "exigibles ya vencieron.</t> "
            '<t t-else="">No hay ningún atraso; simplemente queremos que '
            "pagarlos le resulte lo más fácil posible.</t>",
        ),
    ],
    "mail_template_dunning_due": [
        (
            "A quick reminder that the following payment is due today.",
            "A quick reminder that payment of "
            '<t t-out="object._get_due_invoice_names()">INV/2026/00012</t> is '
            "now due.",
            "Le recordamos amablemente que el siguiente pago vence hoy.",
            "Le recordamos amablemente que el pago de "
            '<t t-out="object._get_due_invoice_names()">INV/2026/00012</t> ya es '
            "exigible.",
        ),
    ],
    "mail_template_dunning_friendly": [
        (
            "We have not yet received payment for the invoices below, which have "
            "just passed their due date. It is probably an oversight; when you "
            "have a moment, you can settle them from the links below.",
            "We have not yet received payment of "
            '<t t-out="object._get_late_invoice_names(1)">INV/2026/00012</t>, now '
            "past due. It is probably an oversight; when you have a moment, you "
            "can settle it from the links below.",
            "Aún no hemos recibido el pago de las facturas que se muestran a "
            "continuación, cuya fecha de vencimiento acaba de pasar. Seguramente "
            "se trata de un descuido; cuando tenga un momento, puede liquidarlas "
            "desde los enlaces que aparecen a continuación.",
            "Aún no hemos recibido el pago de "
            '<t t-out="object._get_late_invoice_names(1)">INV/2026/00012</t>, ya '
            "vencido. Seguramente se trata de un descuido; cuando tenga un "
            "momento, puede liquidarlo desde los enlaces que aparecen a "
            "continuación.",
        ),
    ],
    "mail_template_dunning_firm": [
        (
            "Despite our previous reminder, the invoices below are still unpaid. "
            "We kindly ask you to settle them within the next few days,",
            "Despite our previous reminder, payment of "
            '<t t-out="object._get_late_invoice_names(1)">INV/2026/00012</t> is '
            "still pending. We kindly ask you to settle what is due within the "
            "next few days,",
            "A pesar de nuestro recordatorio anterior, las facturas que se "
            "muestran a continuación siguen pendientes de pago. Le solicitamos "
            "atentamente liquidarlas en los próximos días,",
            "A pesar de nuestro recordatorio anterior, sigue pendiente el pago de "
            '<t t-out="object._get_late_invoice_names(1)">INV/2026/00012</t>. Le '
            "solicitamos atentamente liquidar lo vencido en los próximos días,",
        ),
        (
            "Please note that while the balance remains overdue",
            "Please note that while an amount remains overdue",
            "Le informamos que, mientras el saldo permanezca vencido,",
            "Le informamos que, mientras algún importe permanezca vencido,",
        ),
    ],
    "mail_template_dunning_final": [
        (
            "The invoices below are now more than a month overdue, and our "
            "previous messages have remained unanswered.",
            '<t t-if="object._get_late_invoice_names(30)">Payment of '
            '<t t-out="object._get_late_invoice_names(30)">INV/2026/00012</t> is '
            "now more than a month overdue, and our previous messages have "
            "remained unanswered.</t>",
            "Las facturas que se muestran a continuación tienen ya más de un mes "
            "de vencidas, y nuestros mensajes anteriores no han recibido "
            "respuesta.",
            '<t t-if="object._get_late_invoice_names(30)">El pago de '
            '<t t-out="object._get_late_invoice_names(30)">INV/2026/00012</t> '
            "tiene ya más de un mes de atraso, y nuestros mensajes anteriores no "
            "han recibido respuesta.</t>",
        ),
    ],
}

# The SMS that call the amount late say what fell due, not the whole balance.
SMS_LATE = (
    "sms_template_dunning_friendly",
    "sms_template_dunning_firm",
    "sms_template_dunning_final",
)
# As shipped up to 18.0.1.1.0, and as 18.0.1.3.0 wrote them (the reader's
# amount): (old, new).
SMS_AMOUNTS = (
    (
        "format_amount(object.amount_due, object.currency_id)",
        "object._reader_amount(object._get_amount_due_now())",
    ),
    (
        "object._reader_amount(object.amount_due)",
        "object._reader_amount(object._get_amount_due_now())",
    ),
)


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    _note_decided_due_dates(cr)
    _update_level_sentences(env)
    _update_sms(env)
    env["account.move"].search(
        [
            ("move_type", "=", "out_invoice"),
            ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial")),
        ]
    )._dunning_refresh_next_date()


def _note_decided_due_dates(cr):
    cr.execute(
        """
        UPDATE dunning_reminder_line line
           SET due_date = move.invoice_date_due
          FROM account_move move
         WHERE move.id = line.move_id AND line.due_date IS NULL
        """
    )
    cr.execute(
        """
        UPDATE account_move
           SET dunning_level_due_date = invoice_date_due
         WHERE dunning_level_id IS NOT NULL AND dunning_level_due_date IS NULL
        """
    )


def loose(text):
    """A pattern matching ``text`` whatever its spacing."""
    return re.compile(r"\s+".join(re.escape(word) for word in text.split()))


def replace_sentences(value, lang, pairs):
    """``value`` with each old sentence of ``lang`` replaced by the new one."""
    for old_en, new_en, old_es, new_es in pairs:
        old, new = (old_es, new_es) if lang.startswith("es") else (old_en, new_en)
        value = loose(old).sub(lambda _match, new=new: new, value, count=1)
    return value


def _update_level_sentences(env):
    for xmlid, pairs in LEVEL_SENTENCES.items():
        template = env.ref(f"account_dunning.{xmlid}", raise_if_not_found=False)
        if not template:
            continue
        _rewrite(env, "mail_template", "body_html", template.id, pairs)


def _update_sms(env):
    for xmlid in SMS_LATE:
        template = env.ref(f"account_dunning.{xmlid}", raise_if_not_found=False)
        if not template:
            continue
        env.cr.execute("SELECT body FROM sms_template WHERE id = %s", [template.id])
        body = env.cr.fetchone()[0] or {}
        updated = dict(body)
        for lang, text in body.items():
            for old, new in SMS_AMOUNTS:
                text = text.replace(old, new, 1)
            updated[lang] = text
        if updated != body:
            env.cr.execute(
                "UPDATE sms_template SET body = %s::jsonb WHERE id = %s",
                [json.dumps(updated), template.id],
            )
    env["sms.template"].invalidate_model(["body"])


def _rewrite(env, table, column, record_id, pairs):
    """Replace the sentences in every language of a translated column, in
    place: what someone changed elsewhere in the text is kept."""
    env.cr.execute(f"SELECT {column} FROM {table} WHERE id = %s", [record_id])  # noqa: S608
    value = env.cr.fetchone()[0] or {}
    updated = {
        lang: replace_sentences(text, lang, pairs) for lang, text in value.items()
    }
    if updated != value:
        env.cr.execute(
            f"UPDATE {table} SET {column} = %s::jsonb WHERE id = %s",  # noqa: S608
            [json.dumps(updated), record_id],
        )
        _logger.info("%s %s: level sentences updated", table, record_id)
    env[table.replace("_", ".")].invalidate_model([column])
