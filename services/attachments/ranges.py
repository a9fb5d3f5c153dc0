"""`Range: bytes=...` on files (RFC 9110 §14): a photo interrupted on 4G resumes where it stopped.

One range only; a multi-range request gets the whole file (200), which the RFC allows. A range that
starts past the end answers 416 with `Content-Range: bytes */size`.
"""

from __future__ import annotations

import re

from services.errors import DomainError

_SINGLE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(DomainError):
    status = 416
    code = "attachment.range_not_satisfiable"


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a satisfiable single range; None to send the whole file."""
    if not header:
        return None
    match = _SINGLE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # not a single byte range (multi-range, other unit, garbage): ignore it
    first_s, last_s = match.groups()
    if not first_s and not last_s:
        return None
    if not first_s:  # suffix: the last N bytes
        length = int(last_s)
        if length == 0:
            raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
        return max(0, size - length), size - 1
    first = int(first_s)
    last = min(int(last_s), size - 1) if last_s else size - 1
    if last_s and int(last_s) < first:
        return None  # invalid range: ignored (RFC 9110 §14.1.1)
    if first >= size:
        raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
    return first, last
