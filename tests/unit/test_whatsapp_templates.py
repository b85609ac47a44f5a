"""Unit tests of services/whatsapp/templates.py: Meta's review rules, and the
shipped templates that must pass them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The add-on root is an Odoo package; import the pure service modules directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.whatsapp.templates import (  # noqa: E402
    REMINDER_TEMPLATE_NAMES,
    SHIPPED_NOTICE_TEMPLATES,
    SHIPPED_REMINDER_TEMPLATES,
    review_problems,
)


@pytest.mark.parametrize(
    "shipped",
    SHIPPED_REMINDER_TEMPLATES + SHIPPED_NOTICE_TEMPLATES,
    ids=lambda t: f"{t['name']}-{t['language']}",
)
def test_shipped_template_passes_the_review_rules(shipped):
    assert review_problems(shipped["body_text"]) == []


def test_one_template_name_per_step():
    assert set(REMINDER_TEMPLATE_NAMES) == {"preventive", "due", "firm", "final"}
    assert len(set(REMINDER_TEMPLATE_NAMES.values())) == 4


@pytest.mark.parametrize(
    ("body", "rules"),
    [
        ("{{1}}, su saldo de {{2}} sigue pendiente de pago hoy.", ["edge"]),
        ("Le recordamos que su saldo pendiente es {{1}} para {{2}}.", ["edge"]),
        ("Le recordamos su saldo {{1}}, {{2}} pendiente de pago hoy.", ["adjacent"]),
        ("Hola {{1}}, le recordamos que su saldo de {{3}} vence hoy.", ["numbering"]),
        ("Hola {{1}}, saldo {{2}} hoy.", ["ratio"]),
        ("Sin variables: siempre aceptable.", []),
    ],
)
def test_each_rule(body, rules):
    assert [rule for rule, _details in review_problems(body)] == rules


def test_a_variable_followed_by_punctuation_still_ends_the_body():
    assert review_problems("Gracias por su pago, atentamente el equipo {{1}}.") == [
        ("edge", {"where": "end"})
    ]
