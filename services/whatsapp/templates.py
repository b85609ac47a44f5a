"""Message templates: Meta's review rules, and the templates the add-on ships.

Meta reviews every template before it may be sent and rejects bodies that
look like a bare container for variables. :func:`review_problems` checks a
body against the rules below before it is submitted; the safer reading is
taken where Meta's wording leaves room:

* ``numbering`` - the variables are ``{{1}}`` to ``{{n}}``, none missing;
* ``edge`` - the body neither starts nor ends with a variable (punctuation
  and spaces around it do not count as text: ``"... Regards, {{3}}."`` ends
  with one);
* ``adjacent`` - two variables are never separated by spaces or punctuation
  alone (``"{{1}} {{2}}"``);
* ``ratio`` - at least :data:`MIN_WORDS_PER_VARIABLE` words of fixed text per
  variable (Meta rejects templates with "too many variables for their length";
  three words each is the margin commonly advised).

The shipped templates are *utility* templates (informational: the balance,
the invoices, the due date; never promotional), one name per purpose with its
Mexican Spanish and English versions under that name, as Meta keeps them.
A manager adds them to an account, submits them to Meta with these exact
bodies, and the template sync marks them approved.
"""

import re

PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
MIN_WORDS_PER_VARIABLE = 3
_WORD = re.compile(r"[^\W_]+")
_STARTS_WITH_VARIABLE = re.compile(r"^[\W_]*?\{\{\d+\}\}")
_ENDS_WITH_VARIABLE = re.compile(r"\{\{\d+\}\}[\W_]*$")
_ADJACENT = re.compile(r"(\{\{\d+\}\})([^\w{]*)(\{\{\d+\}\})")


def review_problems(body):
    """The rules of Meta's review that ``body`` breaks, as ``(rule, details)``
    pairs in the order of the module's docstring; empty when it passes."""
    body = body or ""
    numbers = [int(n) for n in PLACEHOLDER.findall(body)]
    if not numbers:
        return []
    problems = []
    distinct = sorted(set(numbers))
    if distinct != list(range(1, len(distinct) + 1)):
        problems.append(("numbering", {"found": ", ".join(map(str, distinct))}))
    if _STARTS_WITH_VARIABLE.search(body):
        problems.append(("edge", {"where": "start"}))
    if _ENDS_WITH_VARIABLE.search(body):
        problems.append(("edge", {"where": "end"}))
    adjacent = _ADJACENT.search(body)
    if adjacent:
        problems.append(("adjacent", {"pair": adjacent.group(0)}))
    words = len(_WORD.findall(PLACEHOLDER.sub(" ", body)))
    minimum = MIN_WORDS_PER_VARIABLE * len(numbers)
    if words < minimum:
        problems.append(
            ("ratio", {"words": words, "variables": len(numbers), "minimum": minimum})
        )
    return problems


# Reminder sources, in the order of every shipped reminder's variables.
_REMINDER_SOURCES = [
    "partner_name",
    "company_name",
    "amount_due",
    "invoice_numbers",
    "oldest_due_date",
]

# The reminder of each step of the ladder, firmer from one to the next; a
# level sends the one of its step (see ``dunning.level._whatsapp_step``).
SHIPPED_REMINDER_TEMPLATES = [
    {
        "step": "preventive",
        "name": "recordatorio_preventivo",
        "language": "es_MX",
        "body_text": "Hola, {{1}}: en {{2}} le recordamos que el saldo de {{3}} de "
        "las facturas {{4}} vence el {{5}}. Si ya realizó el pago, le "
        "agradecemos y le pedimos hacer caso omiso de este mensaje. Si tiene "
        "alguna duda, responda a este mensaje.",
        "sources": _REMINDER_SOURCES,
    },
    {
        "step": "preventive",
        "name": "recordatorio_preventivo",
        "language": "en",
        "body_text": "Dear {{1}}, this is {{2}} with a reminder that the balance "
        "of {{3}} for invoices {{4}} falls due on {{5}}. If you have already "
        "paid, thank you, and please disregard this message. For any question, "
        "just reply to this message.",
        "sources": _REMINDER_SOURCES,
    },
    {
        "step": "due",
        "name": "recordatorio_vencimiento",
        "language": "es_MX",
        "body_text": "Hola, {{1}}: en {{2}} le recordamos que el saldo de {{3}} de "
        "las facturas {{4}}, con vencimiento el {{5}}, está pendiente de pago. "
        "Si ya realizó el pago, le agradecemos y le pedimos hacer caso omiso de "
        "este mensaje. Si tiene alguna duda, responda a este mensaje.",
        "sources": _REMINDER_SOURCES,
    },
    {
        "step": "due",
        "name": "recordatorio_vencimiento",
        "language": "en",
        "body_text": "Dear {{1}}, this is {{2}} with a reminder that the balance "
        "of {{3}} for invoices {{4}}, due on {{5}}, is still open. If you have "
        "already paid, thank you, and please disregard this message. For any "
        "question, just reply to this message.",
        "sources": _REMINDER_SOURCES,
    },
    {
        "step": "firm",
        "name": "recordatorio_firme",
        "language": "es_MX",
        "body_text": "Hola, {{1}}: en {{2}} aún no recibimos el pago del saldo de "
        "{{3}} de las facturas {{4}}, vencido desde el {{5}}, a pesar de "
        "nuestros recordatorios. Le pedimos liquidarlo en los próximos días o "
        "responder a este mensaje para acordar una fecha de pago.",
        "sources": _REMINDER_SOURCES,
    },
    {
        "step": "firm",
        "name": "recordatorio_firme",
        "language": "en",
        "body_text": "Dear {{1}}, this is {{2}}: despite our reminders, the "
        "balance of {{3}} for invoices {{4}}, overdue since {{5}}, is still "
        "unpaid. Please settle it within the next few days, or reply to this "
        "message to agree on a payment date.",
        "sources": _REMINDER_SOURCES,
    },
    {
        "step": "final",
        "name": "aviso_final",
        "language": "es_MX",
        "body_text": "Hola, {{1}}: este es un aviso final de {{2}}. El saldo de "
        "{{3}} de las facturas {{4}}, vencido desde el {{5}}, sigue sin pagarse. "
        "Si en 10 días no recibimos su pago o una propuesta, suspenderemos el "
        "crédito para nuevos pedidos. Responda a este mensaje para acordar una "
        "solución.",
        "sources": _REMINDER_SOURCES,
    },
    {
        "step": "final",
        "name": "aviso_final",
        "language": "en",
        "body_text": "Dear {{1}}, this is a final notice from {{2}}. The balance "
        "of {{3}} for invoices {{4}}, overdue since {{5}}, remains unpaid. "
        "Without a payment or a proposal within 10 days, we will suspend credit "
        "on new orders. Reply to this message to agree on a solution.",
        "sources": _REMINDER_SOURCES,
    },
]
REMINDER_TEMPLATE_NAMES = {
    shipped["step"]: shipped["name"] for shipped in SHIPPED_REMINDER_TEMPLATES
}

# The promise confirmation and the thank-you after a payment.
SHIPPED_NOTICE_TEMPLATES = [
    {
        "name": "confirmacion_promesa_pago",
        "language": "es_MX",
        "body_text": "Hola, {{1}}: en {{5}} le confirmamos por escrito el acuerdo "
        "de pago de {{2}} a más tardar el {{3}}, por las facturas {{4}}. Si algún "
        "dato no es correcto, por favor responda a este mensaje.",
        "sources": [
            "partner_name",
            "promised_amount",
            "promised_date",
            "invoice_numbers",
            "company_name",
        ],
    },
    {
        "name": "confirmacion_promesa_pago",
        "language": "en",
        "body_text": "Dear {{1}}, this is {{5}} confirming in writing your "
        "agreement to pay {{2}} by {{3}} for invoices {{4}}. If anything is not "
        "correct, please reply to this message.",
        "sources": [
            "partner_name",
            "promised_amount",
            "promised_date",
            "invoice_numbers",
            "company_name",
        ],
    },
    {
        "name": "agradecimiento_pago",
        "language": "es_MX",
        "body_text": "Hola, {{1}}: en {{3}} confirmamos la recepción de su pago "
        "por {{2}}. Muchas gracias por su preferencia.",
        "sources": ["partner_name", "amount_paid", "company_name"],
    },
    {
        "name": "agradecimiento_pago",
        "language": "en",
        "body_text": "Dear {{1}}, this is {{3}} confirming that we have received "
        "your payment of {{2}}. Thank you very much for your business.",
        "sources": ["partner_name", "amount_paid", "company_name"],
    },
]
