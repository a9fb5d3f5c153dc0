"""The framework's ceiling: a bare FastAPI app with one JSON GET endpoint, no middleware, no database."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, object]:
    return {"status": "ok", "id": 42, "name": "bench"}
