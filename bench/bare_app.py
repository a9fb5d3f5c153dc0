"""The framework's ceiling: a bare FastAPI app, no middleware, no database.

POST /v1/alarm-ingest/isapi parses a camera event as the alarms door does (XML with defusedxml, JSON,
or the multipart form) and answers as it does, without a database (bench/alarms_bench.py).

GET /ping answers a small JSON object; POST /v1/communities/{cid}/tickets takes the same request
body as Linli's ticket create (the same pydantic model, so validation is priced in) and answers
201 with a body of the same shape, without touching a database.

With BENCH_CANNED (a JSON file {path?query: answer}, written by bench/floor_bench.py from Linli's own
answers), every GET under /v1/ answers the canned object for its path and query, serialised with
orjson on every request: the framework's ceiling for a response of the very size Linli sends.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import orjson
from defusedxml.ElementTree import fromstring
from fastapi import FastAPI, Request, Response

from services.tickets.schemas import TicketCreate

app = FastAPI()
_ids = count(1)


@app.get("/ping")
async def ping() -> dict[str, object]:
    return {"status": "ok", "id": 42, "name": "bench"}


@app.post("/v1/communities/{cid}/tickets", status_code=201)
async def create_ticket(cid: int, body: TicketCreate) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        **body.model_dump(mode="json"),
        "id": next(_ids),
        "community_id": cid,
        "status": "submitted",
        "created_at": now.isoformat(),
        "updated_at": now.isoformat(),
    }


@app.post("/v1/alarm-ingest/isapi")
async def isapi(request: Request) -> dict[str, object]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/"):
        form = await request.form()
        for value in form.values():
            if not isinstance(value, str) and (value.content_type or "").endswith("xml"):
                fromstring(await value.read())
            elif not isinstance(value, str):
                await value.read()
    elif "json" in content_type:
        orjson.loads(await request.body())
    else:
        fromstring(await request.body())
    return {"status": "created", "alarm_id": next(_ids)}


if os.environ.get("BENCH_CANNED"):
    _canned: dict[str, Any] = orjson.loads(Path(os.environ["BENCH_CANNED"]).read_bytes())

    @app.get("/v1/{rest:path}")
    async def canned(rest: str, request: Request) -> Response:
        query = request.url.query
        body = _canned.get(request.url.path + (f"?{query}" if query else ""))
        if body is None:
            return Response(b'{"error": "not canned"}', status_code=404, media_type="application/json")
        return Response(orjson.dumps(body), media_type="application/json")
