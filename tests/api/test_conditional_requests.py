"""ETag / If-None-Match → 304 on the feeds an app polls, and brotli/gzip for JSON over a threshold."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from api.conditional import etag_for, none_match
from tests import factories as f

pytestmark = pytest.mark.calendar


async def test_polled_feeds_answer_304_when_unchanged(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    await f.file_ticket(client, w)
    headers = f.auth(w.resident)
    for path in ("/v1/tickets", "/v1/notices", "/v1/notifications", f"/v1/communities/{w.cid}/duty/roster"):
        first = await client.get(path, headers=headers)
        assert first.status_code == 200, (path, first.text)
        etag = first.headers["ETag"]
        assert etag == etag_for(first.content) and not etag.startswith("W/")
        assert first.headers["Cache-Control"] == "private, no-cache"
        assert {"Authorization", "Accept-Language"} <= {v.strip() for v in first.headers["Vary"].split(",")}
        for sent in (etag, f"W/{etag}", f'"other", {etag}'):
            again = await client.get(path, headers={**headers, "If-None-Match": sent})
            assert again.status_code == 304, (path, sent)
            assert again.content == b""
            assert again.headers["ETag"] == etag
            assert "content-type" not in again.headers
        stale = await client.get(path, headers={**headers, "If-None-Match": '"not-it"'})
        assert stale.status_code == 200 and stale.json() == first.json()


async def test_a_change_gives_a_new_etag(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    await f.file_ticket(client, w)
    headers = f.auth(w.resident)
    before = await client.get("/v1/tickets", headers=headers)
    await f.file_ticket(client, w)
    after = await client.get("/v1/tickets", headers={**headers, "If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert len(after.json()["items"]) == len(before.json()["items"]) + 1


async def test_errors_and_writes_carry_no_etag(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    r = await client.get("/v1/tickets/999999", headers=f.auth(w.resident))
    assert r.status_code == 404 and "etag" not in r.headers
    r = await client.post(
        f"/v1/communities/{w.cid}/tickets",
        json=f.ticket_body(w.household.id or 0),
        headers={**f.auth(w.resident), "If-None-Match": "*"},
    )
    assert r.status_code == 201 and "etag" not in r.headers


async def test_large_json_is_compressed_as_accepted(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    for _ in range(3):
        await f.file_ticket(client, w)
    headers = f.auth(w.resident)
    plain = await client.get("/v1/tickets", headers={**headers, "Accept-Encoding": "identity"})
    assert len(plain.content) >= 1024 and "content-encoding" not in plain.headers
    for accepted, used in (("gzip", "gzip"), ("gzip, deflate, br", "br")):
        r = await client.get("/v1/tickets", headers={**headers, "Accept-Encoding": accepted})
        assert r.headers["Content-Encoding"] == used
        assert int(r.headers["Content-Length"]) < len(plain.content)
        assert "Accept-Encoding" in r.headers["Vary"]
        assert r.json() == plain.json()  # httpx decoded it
        assert r.headers["ETag"] == plain.headers["ETag"]
        revalidated = await client.get(
            "/v1/tickets",
            headers={**headers, "Accept-Encoding": accepted, "If-None-Match": r.headers["ETag"]},
        )
        assert revalidated.status_code == 304
    small = await client.get("/v1/notifications", headers={**headers, "Accept-Encoding": "gzip, br"})
    assert len(small.content) < 1024 and "content-encoding" not in small.headers


async def test_photos_are_not_recompressed(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    big = f.jpeg_bytes(size=(800, 600))
    r = await f.upload_photo(client, w.resident, t["id"], data=big)
    assert r.status_code == 201, r.text
    got = await client.get(r.json()["url"], headers={"Accept-Encoding": "gzip, br"})
    assert got.status_code == 200 and "content-encoding" not in got.headers


def test_weak_comparison() -> None:
    assert none_match('W/"abc"', '"abc"') and none_match('"abc"', '"abc"') and none_match("*", '"abc"')
    assert not none_match('"abcd"', '"abc"') and not none_match(None, '"abc"') and not none_match("", '"x"')


async def test_files_answer_head_and_ranges(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    r = await f.upload_photo(client, w.resident, t["id"], data=f.jpeg_bytes(size=(400, 300)))
    url = r.json()["url"]
    whole = await client.get(url)
    size = len(whole.content)
    assert whole.status_code == 200 and whole.headers["Accept-Ranges"] == "bytes"
    assert int(whole.headers["Content-Length"]) == size
    head = await client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(size) and head.headers["Content-Type"] == "image/jpeg"
    assert head.headers["ETag"] == whole.headers["ETag"]
    part = await client.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == whole.content[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{size}"
    tail = await client.get(url, headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == whole.content[-5:]
    rest = await client.get(url, headers={"Range": f"bytes={size - 3}-"})
    assert rest.content == whole.content[-3:]
    assert (await client.get(url, headers={"Range": f"bytes=0-{size * 2}"})).content == whole.content
    past = await client.get(url, headers={"Range": f"bytes={size}-"})
    assert past.status_code == 416 and past.headers["Content-Range"] == f"bytes */{size}"
    assert past.json()["error"]["code"] == "attachment.range_not_satisfiable"
    for ignored in ("bytes=0-1,5-6", "lines=1-2", "bytes=9-3", "garbage"):
        r = await client.get(url, headers={"Range": ignored})
        assert r.status_code == 200 and r.content == whole.content, ignored
    changed = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert changed.status_code == 200 and changed.content == whole.content
    same = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": whole.headers["ETag"]})
    assert same.status_code == 206
    # A bad signature answers the same to HEAD as to GET.
    assert (await client.head(url.replace("sig=", "sig=x"))).status_code == 403
