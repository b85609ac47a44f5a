"""Phone numbers for WhatsApp: E.164 normalisation and WhatsApp id matching.

Partners' numbers are typed by people, in national formats and old dialing
habits; WhatsApp identifies users by a digit string (``wa_id``) that is not
always the E.164 form of their number.  Both directions are handled here, on
top of :mod:`phonenumbers` (Google's libphonenumber metadata), with the Latin
American quirks that libphonenumber does not cover:

Mexico (52)
    Since August 2019 every Mexican number is 10 digits dialed the same way
    from anywhere; the ``044``/``045`` (mobile) and ``01`` (long distance)
    national prefixes and the mobile ``1`` after ``+52`` are obsolete, and
    libphonenumber now rejects them.  People still write them, so
    :func:`normalize` strips them (``044 55 1234 5678``, ``+52 1 55 1234 5678``
    -> ``+525512345678``).  WhatsApp, however, still reports Mexican users as
    ``521`` + 10 digits: :func:`from_wa_id` maps that back, and
    :func:`wa_id_candidates` gives both forms to match inbound messages on.
Argentina (54)
    Mobile numbers carry a ``9`` after the country code in international form
    (``+54 9 11 2345 6789``), which libphonenumber handles, including the
    national ``0`` and ``15`` (``011 15 2345-6789``).  A mobile written without
    the 9 is a valid number for libphonenumber (the landline form of the same
    line: in Argentina a line is either fixed or mobile, never both), so it is
    kept as typed; WhatsApp reports ``549...``, and :func:`wa_id_candidates`
    gives the forms with and without the 9 so that either matches.
Brazil (55)
    Mobile numbers gained a ninth digit (a leading ``9``) between 2012 and
    2016.  An 8-digit mobile number (first digit 6-9; landlines start with 2-5)
    is no longer valid, so :func:`normalize` adds the 9, as the operators did.
    WhatsApp accounts registered before the change may still be reported with
    the 8-digit form (``55 11 8765 4321``): :func:`from_wa_id` adds the 9 and
    :func:`wa_id_candidates` gives both forms.

Every other country is what libphonenumber says.  Numbers are stored in E.164
(``+525512345678``); the WhatsApp API takes the same digits without the plus.
An extension (``ext. 12``) is dropped: it cannot be messaged.

This module is pure Python (no Odoo import) so that it can be unit-tested alone.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, ValidationResult

__all__ = [
    "InvalidPhoneError",
    "from_wa_id",
    "is_valid",
    "matches_wa_id",
    "normalize",
    "wa_id_candidates",
]

_MX, _AR, _BR = 52, 54, 55
# Obsolete Mexican prefixes in front of the 10-digit national number: 044/045
# (mobile, national dialing), 01 (long distance) and 1 (mobile, from abroad).
_MX_OBSOLETE_PREFIX = re.compile(r"(?:044|045|01|1)(\d{10})")
# Brazilian 8-digit mobile numbers from before the ninth digit: a 2-digit area
# code then a subscriber number starting with 6-9 (landlines start with 2-5).
_BR_OLD_MOBILE = re.compile(r"(\d\d)([6-9]\d{7})")
_BR_NEW_MOBILE = re.compile(r"(\d\d)9([6-9]\d{7})")
_WA_ID = re.compile(r"\+?(\d{8,15})")
# Characters people put in numbers that say nothing about the digits.
_SEPARATORS = re.compile(r"[\s().\-/]")

_REASONS = {
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "of a length no number of that country has",
    ValidationResult.INVALID_COUNTRY_CODE: "of an unknown country code",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number without its area code",
    ValidationResult.IS_POSSIBLE: "not in use in that country's numbering plan",
}
_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: (
        "no country: write it with + and the country code, or set the partner's country"
    ),
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}


class InvalidPhoneError(ValueError):
    """A number that cannot be messaged; ``str()`` says why, for the user."""

    def __init__(
        self, message: str, number: object = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.number = number
        self.reason = reason


def _region(default_region: str | None) -> str | None:
    """Upper-case ISO 3166 alpha-2 code, or None for "international only"."""
    if not default_region:
        return None
    if not isinstance(default_region, str):
        raise InvalidPhoneError(f"invalid country {default_region!r}")
    return default_region.strip().upper() or None


def _valid_e164(digits: str) -> PhoneNumber | None:
    """Parsed number from international digits when it is valid, else None."""
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


def _fix_latin_american(parsed: PhoneNumber) -> PhoneNumber:
    """Repair an invalid Mexican or Brazilian number written the old way.

    Only applied to numbers libphonenumber rejects, and only kept when the
    repaired number is valid, so a valid number is never rewritten.
    """
    national = phonenumbers.national_significant_number(parsed)
    code = parsed.country_code
    if code == _MX:
        match = _MX_OBSOLETE_PREFIX.fullmatch(national)
        if match:
            return _valid_e164(f"{_MX}{match.group(1)}") or parsed
    elif code == _BR:
        match = _BR_OLD_MOBILE.fullmatch(national)
        if match:
            area, subscriber = match.groups()
            return _valid_e164(f"{_BR}{area}9{subscriber}") or parsed
    return parsed


def _invalid(number: str, region: str | None, reason: str) -> InvalidPhoneError:
    """The error for ``number``, naming the region it was read for."""
    where = f" (read as a number of {region})" if region else ""
    return InvalidPhoneError(
        f"{number!r} is not a valid phone number{where}: {reason}",
        number=number,
        reason=reason,
    )


def _parse(number: str, default_region: str | None) -> PhoneNumber:
    """Valid parsed number or InvalidPhoneError (the core of :func:`normalize`)."""
    if not isinstance(number, str) or not number.strip():
        raise InvalidPhoneError(
            "no phone number given", number=number, reason="missing"
        )
    region = _region(default_region)
    text = number.strip()
    compact = _SEPARATORS.sub("", text)
    if region is None and compact.startswith("00"):
        # Without a region, libphonenumber does not know the international call
        # prefix; "00" is the ITU-recommended one (Mexico, Latin America, Europe).
        text = "+" + compact[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        reason = _PARSE_ERRORS.get(exc.error_type, str(exc))
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            if text.startswith("+"):
                reason = "unknown country code"
            elif region and region not in phonenumbers.SUPPORTED_REGIONS:
                reason = f"unknown country {region!r}: write it with + and the code"
        raise _invalid(number, region, reason) from None
    if not phonenumbers.is_valid_number(parsed):
        parsed = _fix_latin_american(parsed)
    if not phonenumbers.is_valid_number(parsed):
        result = phonenumbers.is_possible_number_with_reason(parsed)
        raise _invalid(number, region, _REASONS.get(result, "not a valid number"))
    parsed.extension = None
    return parsed


def _e164(parsed: PhoneNumber) -> str:
    """E.164 string of a parsed number (``+525512345678``)."""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize(number: str, default_region: str | None) -> str:
    """E.164 form of ``number`` (``+525512345678``) or InvalidPhoneError.

    ``default_region`` (the partner's country, ISO code such as ``"MX"``) reads
    national formats; None accepts international ones only (``+52 ...`` or
    ``00 52 ...``).  A number written with ``+`` keeps its own country whatever
    the region.  Obsolete Mexican prefixes and Brazilian 8-digit mobiles are
    repaired (see the module docstring); anything libphonenumber finds invalid
    (too short, too long, not assigned in the numbering plan) is refused,
    because WhatsApp must never be sent to a number that is not valid.
    """
    return _e164(_parse(number, default_region))


def is_valid(number: str, default_region: str | None = None) -> bool:
    """Whether :func:`normalize` accepts ``number`` for ``default_region``."""
    try:
        _parse(number, default_region)
    except InvalidPhoneError:
        return False
    return True


def wa_id_candidates(e164: str) -> set[str]:
    """Digit strings WhatsApp may report (``wa_id``, ``from``) for a number.

    Always the number's own digits; plus, for Mexico, the ``521`` form WhatsApp
    uses for every Mexican user; for Argentina, the form with or without the
    mobile ``9``; for a Brazilian mobile, the pre-2012 form without the ninth
    digit.  The set is the same for every number in it (after
    :func:`from_wa_id`), so matching an inbound ``wa_id`` against a partner's
    stored number works from either side.  Raises InvalidPhoneError when
    ``e164`` is not a valid international number.
    """
    parsed = _parse(e164, None)
    national = phonenumbers.national_significant_number(parsed)
    code = parsed.country_code
    candidates = {f"{code}{national}"}
    if code == _MX:
        candidates.add(f"{_MX}1{national}")
    elif code == _AR:
        if national.startswith("9"):
            other = f"{_AR}{national[1:]}"
        else:
            other = f"{_AR}9{national}"
        if _valid_e164(other):
            candidates.add(other)
    elif code == _BR:
        match = _BR_NEW_MOBILE.fullmatch(national)
        if match:
            candidates.add(f"{_BR}{match.group(1)}{match.group(2)}")
    return candidates


def from_wa_id(wa_id: str) -> str:
    """Our E.164 form of a WhatsApp id: ``5215512345678`` -> ``+525512345678``.

    A ``wa_id`` is the user's number as international digits without the plus,
    possibly in a form WhatsApp kept from an older numbering plan (Mexican
    ``521``, Brazilian 8-digit mobiles), mapped here to the valid E.164 number.
    Raises InvalidPhoneError for anything else, such as a business-scoped user
    id (``MX.1234...``), which is not a phone number.
    """
    if not isinstance(wa_id, str):
        raise InvalidPhoneError(f"{wa_id!r} is not a WhatsApp id", number=wa_id)
    match = _WA_ID.fullmatch(wa_id.strip())
    if not match:
        raise InvalidPhoneError(
            f"{wa_id!r} is not a WhatsApp phone id (8 to 15 digits)",
            number=wa_id,
            reason="not digits",
        )
    return normalize("+" + match.group(1), None)


def matches_wa_id(e164: str, wa_id: str) -> bool:
    """Whether an inbound ``wa_id`` belongs to the stored number ``e164``.

    False (never an exception) when either side is not a valid number, so it
    can be used as a filter over partners.
    """
    try:
        return bool(wa_id_candidates(e164) & wa_id_candidates(from_wa_id(wa_id)))
    except InvalidPhoneError:
        return False
