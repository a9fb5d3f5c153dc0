"""The framework's ceiling: a bare FastAPI app, no middleware, no database.

GET /ping answers a small JSON object; POST /v1/communities/{cid}/tickets takes the same request
body as Linli's ticket create (the same pydantic model, so validation is priced in) and answers
201 with a body of the same shape, without touching a database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from fastapi import FastAPI

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
