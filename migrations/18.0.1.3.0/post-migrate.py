"""The texts a debtor reads (18.0.1.3.0).

The shipped email and SMS templates now format amounts and dates as their
reader reads them (``_reader_amount``, ``_reader_date``: the customer's
separators and date format, the currency's ISO code where "$" could mislead),
open with ``_dunning_salutation()`` ("Estimado(a) ...:" for a person, "A la
atención de ...:" for a company) and lose the calques of their Spanish. Their
data is never overwritten on update: a database gets the new texts for every
template field that nobody changed, i.e. whose English and Spanish are still
the shipped ones (fingerprints below, whitespace aside).

The shipped WhatsApp notice templates broke Meta's review rules (they ended
with a variable, said "Estimado(a)" to companies): those still to submit (Not
Submitted) with the shipped body get the new one.
"""

import hashlib
import logging
from pathlib import Path

from lxml import etree

from odoo import SUPERUSER_ID, api
from odoo.tools.translate import PoFileReader

from odoo.addons.account_dunning.services.whatsapp.templates import (
    SHIPPED_NOTICE_TEMPLATES,
)

_logger = logging.getLogger(__name__)

ADDON = Path(__file__).parents[2]
DATA_FILES = (
    "data/mail_template_data.xml",
    "data/mail_template_promise_data.xml",
    "data/sms_template_data.xml",
)
# (English, Spanish) fingerprints of each template field as shipped before.
SHIPPED_BEFORE = {
    "mail_template_dunning_due": {
        "body_html": ("1153fdbfbdb436be", "b5dd0371ea22eb6f"),
        "subject": ("0979beba62eb2ae6", "f28004514d7701be"),
    },
    "mail_template_dunning_final": {
        "body_html": ("735e9a0c0965da38", "d060cb74fedd94e3"),
        "subject": ("f871e5404d2f5cd8", "d537766b5b33070f"),
    },
    "mail_template_dunning_firm": {
        "body_html": ("c1942d8862787e34", "aeea99f2757be387"),
        "subject": ("c61825a78cbec412", "a8a1ffb1483aa799"),
    },
    "mail_template_dunning_friendly": {
        "body_html": ("41969598aca47b25", "3c8db800054f3241"),
        "subject": ("9d2901ca77696d6a", "ad79d1025527f0c0"),
    },
    "mail_template_dunning_payment_plan": {
        "body_html": ("03d8d16b124101cc", "302478269f84e48c"),
        "subject": ("ee5e057aed370a1a", "c31d5b10cc5366c4"),
    },
    "mail_template_dunning_plan_instalment": {
        "body_html": ("9e590fca802f9b8f", "28118a6ca6158237"),
        "subject": ("f4a4ff879b976582", "06b196801700cd97"),
    },
    "mail_template_dunning_preventive": {
        "body_html": ("b93ed4333c1439f8", "d0c7f74293201c4d"),
        "subject": ("eeda7a86ac5b422d", "9cd21c46e5350483"),
    },
    "mail_template_dunning_promise_confirm": {
        "body_html": ("41a4df5139ec3af5", "87f9cf11c1d0c99c"),
        "subject": ("8347c3f3d1769417", "5093ff12ce0e7aa4"),
    },
    "mail_template_dunning_thank_you": {
        "body_html": ("0a5baf8f4dbf5bb0", "14c56b5da68e98e9"),
        "subject": ("70d443c4bddb3e74", "76bf909ff33ef124"),
    },
    "sms_template_dunning_final": {
        "body": ("8f5abf4ea90570a1", "14999ec3941ed6ca"),
    },
    "sms_template_dunning_firm": {
        "body": ("c5fa65043438cf17", "886e125c95cbdfa2"),
    },
    "sms_template_dunning_friendly": {
        "body": ("d3297b5152b5be66", "b7f5003f2aeed08e"),
    },
    "sms_template_dunning_preventive": {
        "body": ("ce3e7bb17e1b744a", "2d0ff7621c9d771e"),
    },
}


# The notice templates' bodies as shipped before, by (name, language).
OLD_NOTICE_BODIES = {
    ("confirmacion_promesa_pago", "es_MX"): "Estimado(a) {{1}}: le confirmamos por "
    "escrito el acuerdo de pago de {{2}} a más tardar el {{3}}, por las facturas "
    "{{4}}. Si algún dato no es correcto, por favor responda a este mensaje. "
    "Atentamente, {{5}}.",
    ("confirmacion_promesa_pago", "en"): "Dear {{1}}, this confirms in writing your "
    "agreement to pay {{2}} by {{3}} for invoices {{4}}. If anything is not "
    "correct, please reply to this message. Kind regards, {{5}}.",
    ("agradecimiento_pago", "es_MX"): "Estimado(a) {{1}}: recibimos su pago de "
    "{{2}}. Muchas gracias. Atentamente, {{3}}.",
    ("agradecimiento_pago", "en"): "Dear {{1}}, we have received your payment of "
    "{{2}}. Thank you very much. Kind regards, {{3}}.",
}


def fingerprint(value):
    return hashlib.sha256(" ".join((value or "").split()).encode()).hexdigest()[:16]


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    shipped = _shipped_values()
    spanish = _spanish_values()
    langs = [
        code
        for code, _name in env["res.lang"].get_installed()
        if code.split("_")[0] == "es"
    ]
    updated = []
    for xmlid, fields in SHIPPED_BEFORE.items():
        template = env.ref(f"account_dunning.{xmlid}", raise_if_not_found=False)
        if not template:
            continue
        for name, (english, es) in fields.items():
            if not _unchanged(template, name, english, es, langs):
                continue
            template.with_context(lang="en_US").write({name: shipped[xmlid][name]})
            translation = spanish.get((xmlid, name))
            for code in langs:
                if translation:
                    template.with_context(lang=code).write({name: translation})
            updated.append(f"{xmlid}.{name}")
    if updated:
        _logger.info("Template texts updated: %s", ", ".join(updated))
    _update_draft_notice_templates(env)


def _update_draft_notice_templates(env):
    new_bodies = {
        (shipped["name"], shipped["language"]): shipped["body_text"]
        for shipped in SHIPPED_NOTICE_TEMPLATES
    }
    templates = env["dunning.whatsapp.template"].search(
        [("status", "=", "draft"), ("name", "in", list({n for n, _l in new_bodies}))]
    )
    for template in templates:
        key = (template.name, template.language)
        if key in OLD_NOTICE_BODIES and template.body_text == OLD_NOTICE_BODIES[key]:
            template.body_text = new_bodies[key]


def _unchanged(template, name, english, es, langs):
    if fingerprint(template.with_context(lang="en_US")[name]) != english:
        return False
    # A language the terms were never loaded in reads the English.
    return all(
        fingerprint(template.with_context(lang=code)[name]) in (english, es)
        for code in langs
    )


def _shipped_values():
    """The English of every template field, as the data files ship it now."""
    values = {}
    for data in DATA_FILES:
        for record in etree.parse(str(ADDON / data)).iter("record"):
            for field in record.iter("field"):
                if field.get("type") == "html":
                    value = "".join(
                        etree.tostring(child, encoding="unicode") for child in field
                    )
                else:
                    value = field.text
                values.setdefault(record.get("id"), {})[field.get("name")] = value
    return values


def _spanish_values():
    """The Spanish of every template field, as i18n/es.po ships it now."""
    with open(ADDON / "i18n" / "es.po", "rb") as po:
        return {
            (entry["imd_name"], entry["name"].split(",")[1]): entry["value"]
            for entry in PoFileReader(po)
            if entry["type"] == "model"
            and entry["imd_model"] in ("mail.template", "sms.template")
            and entry["value"]
        }
