"""What neighbours see of each other: a masked label instead of a name, unless the author signs."""

from __future__ import annotations

import re

from services.i18n import Locale

_NUMBERED = re.compile(r"^(\d+)号楼$")


def resident_label(building_name: str | None, locale: Locale) -> str:
    """'1号楼 住户' / 'Building 1 resident': which building, never which flat or who."""
    if locale == "en":
        if not building_name:
            return "Resident"
        numbered = _NUMBERED.match(building_name)
        return f"Building {numbered.group(1)} resident" if numbered else f"{building_name} resident"
    return f"{building_name} 住户" if building_name else "住户"
