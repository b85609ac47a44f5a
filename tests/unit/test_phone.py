"""Unit tests of services.phone (pure Python, no Odoo needed).

Numbers follow each country's real numbering plan (libphonenumber metadata):
Mexico City 55, Guadalajara 33, Monterrey 81; Colombian mobiles 3xx and the
2021 landline format 60x; Spanish mobiles 6xx and Madrid 91; Google's Mountain
View number in the US; Buenos Aires 11 and Córdoba 351; São Paulo 11 and Rio 21.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The add-on root is an Odoo package; import the pure service module directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.phone import (  # noqa: E402
    InvalidPhoneError,
    from_wa_id,
    is_valid,
    matches_wa_id,
    normalize,
    wa_id_candidates,
)

# --- normalize ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "region", "expected"),
    [
        # Mexico: the 10-digit national number, however it is written.
        ("55 1234 5678", "MX", "+525512345678"),
        ("(55) 1234-5678", "MX", "+525512345678"),
        ("5512345678", "mx", "+525512345678"),
        ("+52 55 1234 5678", None, "+525512345678"),
        ("+52 (55) 1234-5678", "CO", "+525512345678"),
        ("0052 55 1234 5678", None, "+525512345678"),
        ("00 52 55 1234 5678", "MX", "+525512345678"),
        ("525512345678", "MX", "+525512345678"),
        # Obsolete prefixes: 044/045 mobile, 01 long distance, +52 1 mobile.
        ("044 55 1234 5678", "MX", "+525512345678"),
        ("045 33 1234 5678", "MX", "+523312345678"),
        ("01 81 1234 5678", "MX", "+528112345678"),
        ("01 800 123 4567", "MX", "+528001234567"),
        ("+52 1 55 1234 5678", None, "+525512345678"),
        ("+52 1 55 1234 5678", "MX", "+525512345678"),
        ("+5213312345678", None, "+523312345678"),
        ("5215512345678", "MX", "+525512345678"),
        ("1 55 1234 5678", "MX", "+525512345678"),
        # An extension cannot be messaged: dropped.
        ("+52 55 1234 5678 ext. 12", None, "+525512345678"),
        # Colombia.
        ("300 123 4567", "CO", "+573001234567"),
        ("+57 300 1234567", None, "+573001234567"),
        ("601 234 5678", "CO", "+576012345678"),
        # Spain.
        ("612 34 56 78", "ES", "+34612345678"),
        ("91 123 45 67", "ES", "+34911234567"),
        ("+34 612 34 56 78", "MX", "+34612345678"),
        # United States.
        ("(650) 253-0000", "US", "+16502530000"),
        ("+1 650-253-0000", None, "+16502530000"),
        # Argentina: libphonenumber knows the mobile 9 and the national 0/15.
        ("011 15 2345-6789", "AR", "+5491123456789"),
        ("+54 9 11 2345-6789", None, "+5491123456789"),
        ("0351 15 412-3456", "AR", "+5493514123456"),
        ("+54 11 15 2345 6789", None, "+5491123456789"),
        ("11 2345-6789", "AR", "+541123456789"),
        # Brazil: the ninth digit, added to 8-digit mobiles only.
        ("(11) 98765-4321", "BR", "+5511987654321"),
        ("011 98765 4321", "BR", "+5511987654321"),
        ("+55 11 8765-4321", None, "+5511987654321"),
        ("(11) 8765-4321", "BR", "+5511987654321"),
        ("+55 11 3456-7890", None, "+551134567890"),
        ("(21) 2345-6789", "BR", "+552123456789"),
    ],
)
def test_normalize_to_e164(number, region, expected):
    """Every accepted spelling ends up as the one E.164 string."""
    assert normalize(number, region) == expected
    assert is_valid(number, region)


@pytest.mark.parametrize(
    ("number", "region", "reason"),
    [
        ("12345", "MX", "too short"),
        ("55 1234 567", "MX", "too short"),
        ("55 1234 56789", "MX", "too long"),
        ("hello", "MX", "not a phone number"),
        ("sin teléfono", "MX", "not a phone number"),
        ("+1 555 123 4567", None, "not in use"),  # 555 is not a US area code
        ("5512345678", None, "no country"),
        ("55 1234 5678", "XX", "unknown country 'XX'"),
        ("+999 1234 5678", None, "unknown country code"),
        ("+52 1 55 1234 567", None, "not"),  # one digit short after the old 1
        ("+5511212345678", None, "not in use"),  # 9 before a landline digit
    ],
)
def test_normalize_rejects_invalid_numbers(number, region, reason):
    """Garbage, short, long and unassigned numbers are refused with a reason."""
    with pytest.raises(InvalidPhoneError, match=reason) as info:
        normalize(number, region)
    assert isinstance(info.value, ValueError)
    assert repr(number) in str(info.value)
    assert info.value.number == number
    assert info.value.reason
    assert not is_valid(number, region)


@pytest.mark.parametrize("number", ["", "   ", None, False, 5512345678])
def test_normalize_rejects_missing_numbers(number):
    """Empty values (Odoo gives False for an empty field) are not numbers."""
    with pytest.raises(InvalidPhoneError, match="no phone number"):
        normalize(number, "MX")
    assert not is_valid(number, "MX")


def test_error_message_names_the_region():
    """The message says which country the number was read for."""
    with pytest.raises(InvalidPhoneError) as info:
        normalize("12345", "co")
    assert str(info.value) == (
        "'12345' is not a valid phone number (read as a number of CO): too short"
    )


def test_valid_numbers_are_never_rewritten():
    """The Mexican repair only touches numbers libphonenumber rejects.

    +52 1 ... with 10 digits after the 1 is the only ambiguous shape, and no
    valid 11-digit Mexican number exists; a US number typed with its country
    code in a Mexican record stays invalid rather than becoming Mexican.
    """
    assert normalize("+1 650 253 0000", "MX") == "+16502530000"
    with pytest.raises(InvalidPhoneError):
        normalize("1 650 253 0000", "MX")


# --- wa_id candidates -----------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+525512345678", {"525512345678", "5215512345678"}),
        ("+523312345678", {"523312345678", "5213312345678"}),
        ("+5491123456789", {"5491123456789", "541123456789"}),
        ("+541123456789", {"541123456789", "5491123456789"}),
        ("+5511987654321", {"5511987654321", "551187654321"}),
        ("+551134567890", {"551134567890"}),  # a landline has no old form
        ("+573001234567", {"573001234567"}),
        ("+34612345678", {"34612345678"}),
        ("+16502530000", {"16502530000"}),
    ],
)
def test_wa_id_candidates(e164, expected):
    """Mexico with and without the 1, Argentina with and without the 9, Brazil
    with and without the ninth digit; everyone else as is."""
    assert wa_id_candidates(e164) == expected


@pytest.mark.parametrize(
    "e164",
    ["+525512345678", "+5491123456789", "+541123456789", "+5511987654321"],
)
def test_wa_id_candidates_are_closed(e164):
    """Each candidate, read back, yields the same set: matching is symmetric."""
    candidates = wa_id_candidates(e164)
    for wa_id in candidates:
        assert wa_id_candidates(from_wa_id(wa_id)) == candidates


def test_wa_id_candidates_accepts_any_international_spelling():
    """The stored value is E.164, but a raw international number works too."""
    assert wa_id_candidates("+52 1 55 1234 5678") == {"525512345678", "5215512345678"}
    with pytest.raises(InvalidPhoneError):
        wa_id_candidates("55 1234 5678")  # no country: not an E.164 number


# --- from_wa_id -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wa_id", "expected"),
    [
        ("5215512345678", "+525512345678"),
        ("525512345678", "+525512345678"),
        ("5218112345678", "+528112345678"),
        ("5491123456789", "+5491123456789"),
        ("541123456789", "+541123456789"),
        ("551187654321", "+5511987654321"),
        ("5511987654321", "+5511987654321"),
        ("573001234567", "+573001234567"),
        ("34612345678", "+34612345678"),
        ("16502530000", "+16502530000"),
        (" +5215512345678 ", "+525512345678"),
    ],
)
def test_from_wa_id(wa_id, expected):
    """WhatsApp's digits map to our E.164 (Mexican 521 -> 52, Brazil's 9 added)."""
    assert from_wa_id(wa_id) == expected


@pytest.mark.parametrize(
    "wa_id",
    ["MX.13491208655302741918", "", "52 55 1234 5678", "1234567", "wamid.X", None],
)
def test_from_wa_id_rejects_non_phone_ids(wa_id):
    """A business-scoped user id or anything but 8-15 digits is not a number."""
    with pytest.raises(InvalidPhoneError):
        from_wa_id(wa_id)


def test_from_wa_id_rejects_an_invalid_number():
    """Digits that are no valid number (Mexico, 9 digits) are refused."""
    with pytest.raises(InvalidPhoneError, match="not a valid phone number"):
        from_wa_id("52551234567")


# --- matches_wa_id ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "wa_id", "expected"),
    [
        ("+525512345678", "5215512345678", True),
        ("+525512345678", "525512345678", True),
        ("+525512345678", "5215512345679", False),
        ("+541123456789", "5491123456789", True),
        ("+5511987654321", "551187654321", True),
        ("+551134567890", "5511934567890", False),
        ("+525512345678", "MX.13491208655302741918", False),
        ("not a number", "5215512345678", False),
    ],
)
def test_matches_wa_id(e164, wa_id, expected):
    """An inbound wa_id matches the stored number in any of its forms."""
    assert matches_wa_id(e164, wa_id) is expected
