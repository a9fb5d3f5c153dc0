"""One time format in every response: RFC 3339, UTC with `Z`, always six fraction digits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from api.timestamps import RFC3339_UTC, format_instant, normalise
from tests import factories as f

# Anything a client would try to parse as an instant: a date, `T`, a time of day.
LOOKS_LIKE_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def assert_one_format(r: httpx.Response) -> int:
    instants = [s for s in strings(r.json()) if LOOKS_LIKE_INSTANT.match(s)]
    assert [s for s in instants if not RFC3339_UTC.match(s)] == [], r.request.url
    return len(instants)


def test_the_rule() -> None:
    assert format_instant(datetime(2026, 12, 3, 8, 30, tzinfo=UTC)) == "2026-12-03T08:30:00.000000Z"
    beijing = timezone(timedelta(hours=8))
    assert format_instant(datetime(2026, 12, 3, 8, 30, 0, 5, tzinfo=beijing)) == "2026-12-03T00:30:00.000005Z"
    utc_zone = ZoneInfo("UTC")  # UTC by another object: converted, same text
    assert (
        format_instant(datetime(2026, 12, 3, 8, 30, 0, 999999, tzinfo=utc_zone))
        == "2026-12-03T08:30:00.999999Z"
    )
    assert format_instant(datetime(999, 1, 2, tzinfo=UTC)) == "0999-01-02T00:00:00.000000Z"  # four-digit year
    body = (
        b'{"a":"2026-12-03T10:00:00Z","b":"2026-12-03T10:00:00.123+08:00","c":"2026-12-03T10:00:00+00:00",'
        b'"d":"2026-12-03T10:00:00.123456789Z","e":"2026-12-03T10:00:00.000001Z",'
        b'"wall":"2026-12-03T10:00:00","day":"2026-12-03","text":"at 2026-12-03T10:00:00Z"}'
    )
    assert normalise(body) == (
        b'{"a":"2026-12-03T10:00:00.000000Z","b":"2026-12-03T02:00:00.123000Z","c":"2026-12-03T10:00:00.000000Z",'
        b'"d":"2026-12-03T10:00:00.123456Z","e":"2026-12-03T10:00:00.000001Z",'
        b'"wall":"2026-12-03T10:00:00","day":"2026-12-03","text":"at 2026-12-03T10:00:00Z"}'
    )


async def test_every_road_out_uses_the_one_format(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    # A pydantic response model, created through an Idempotency-Key (stored, then replayed).
    key = {**f.auth(w.resident), "Idempotency-Key": "times-1"}
    body = f.ticket_body(w.household.id)
    first = await client.post(f"/v1/communities/{w.cid}/tickets", json=body, headers=key)
    assert first.status_code == 201, first.text
    assert assert_one_format(first) >= 2
    again = await client.post(f"/v1/communities/{w.cid}/tickets", json=body, headers=key)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    tid = first.json()["id"]
    # orjson (the hot list), a list of models, the inbox.
    r = await client.get("/v1/tickets", headers=f.auth(w.manager))
    assert r.status_code == 200 and assert_one_format(r) >= 2
    for url in (f"/v1/tickets/{tid}", f"/v1/tickets/{tid}/events", "/v1/notifications"):
        r = await client.get(url, headers=f.auth(w.manager))
        assert r.status_code == 200, r.text
        assert_one_format(r)
    # The ETag is that of the bytes sent: a second GET revalidates to 304.
    r = await client.get(f"/v1/tickets/{tid}", headers=f.auth(w.manager))
    r2 = await client.get(
        f"/v1/tickets/{tid}", headers={**f.auth(w.manager), "If-None-Match": r.headers["etag"]}
    )
    assert r2.status_code == 304


async def test_instants_inside_error_details_too(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.poll_world(db)
    poll = await f.create_poll(client, w.committee, w.cid)
    assert RFC3339_UTC.match(str(poll["closes_at"]))
    r = await client.post(f"/v1/polls/{poll['id']}/close", headers=f.auth(w.committee))
    assert r.status_code == 422 and r.json()["error"]["code"] == "poll.not_due"
    assert assert_one_format(r) == 1
    assert r.json()["error"]["details"]["closes_at"] == poll["closes_at"]


def test_the_spec_says_date_time() -> None:
    from tests.api.openapi_spec import spec

    created = spec()["components"]["schemas"]["TicketOut"]["properties"]["created_at"]
    assert created.get("format") == "date-time"
