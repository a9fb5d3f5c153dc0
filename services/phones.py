"""Phone numbers: parsed and normalised to E.164 with `phonenumbers`; mainland mobiles only."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from services.errors import InvalidInput

_MOBILE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalise_mobile(raw: str, region: str = "CN") -> str:
    """'138 0000 0001', '+86 13800000001' → '+8613800000001'. Other countries are refused."""
    text = raw.strip()
    if not text or len(text) > 32:
        raise InvalidInput("auth.invalid_phone")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidInput("auth.invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("auth.invalid_phone")
    if phonenumbers.region_code_for_number(number) != region:
        raise InvalidInput("auth.unsupported_phone")
    if phonenumbers.number_type(number) not in _MOBILE:
        raise InvalidInput("auth.unsupported_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(phone: str) -> str:
    """+8613800000001 → 138****0001, for showing to other people."""
    national = phone[3:] if phone.startswith("+86") else phone
    return national[:3] + "****" + national[-4:] if len(national) >= 7 else "****"
