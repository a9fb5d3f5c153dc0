"""Phone numbers: parsed and normalised to E.164 with `phonenumbers`; mainland mobiles only."""

from __future__ import annotations

import re
from typing import Annotated

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType
from pydantic import AfterValidator, Field

from services.errors import InvalidInput

_MASKED = re.compile(r"^\d{3}\*{4}\d{4}$|^\*{4}$")

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


def _ensure_masked(value: str) -> str:
    return value if _MASKED.match(value) else mask(value)


# A response field that is masked by construction: whatever the service puts in, the client gets
# 138****0001. The OpenAPI carries `x-linli-phone: masked`; tests/api/test_privacy_masking.py fails on a
# phone-like response field that is neither this nor on its allow-list with a reason.
MaskedPhone = Annotated[
    str, AfterValidator(_ensure_masked), Field(json_schema_extra={"x-linli-phone": "masked"})
]
