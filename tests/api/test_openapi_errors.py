"""Every operation publishes the errors it can answer, in the one body the server really sends."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlmodel.ext.asyncio.session import AsyncSession

from tests import factories as f
from tests.api.openapi_spec import operation, operations, spec

ERROR_REF = "#/components/schemas/ErrorBody"


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    s = spec()
    registry: Registry[Any] = Registry().with_resource(
        "urn:spec", Resource.from_contents(s, default_specification=DRAFT202012)
    )

    def rebase(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: "urn:spec" + v if k == "$ref" else rebase(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rebase(v) for v in node]
        return node

    return jsonschema.Draft202012Validator(rebase(schema), registry=registry)


def _error_response(operation_id: str, status: int) -> dict[str, Any]:
    response: dict[str, Any] = operation(operation_id)["responses"][str(status)]
    return response


def test_every_error_response_has_the_shared_body_and_its_codes() -> None:
    wrong = []
    for method, path, op in operations():
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        for status, response in errors.items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema != {"$ref": ERROR_REF} or not response.get("x-error-codes"):
                wrong.append(f"{method} {path} {status}")
        listed = sorted({c for r in errors.values() for c in r.get("x-error-codes", [])})
        if op.get("x-error-codes") != listed:
            wrong.append(f"{method} {path}: x-error-codes {op.get('x-error-codes')} != {listed}")
    assert wrong == []
    # FastAPI's default 422 body ({"detail": [...]}) is never sent, so it is not published either.
    assert "HTTPValidationError" not in spec()["components"]["schemas"]


def test_known_operations_list_known_codes() -> None:
    """Generated from the code (api/error_codes.py): raises in services, helpers, dependencies."""
    transition = operation("transitionTicket")
    assert "ticket.already_taken" in _error_response("transitionTicket", 409)["x-error-codes"]
    assert "ticket.not_found" in _error_response("transitionTicket", 404)["x-error-codes"]
    assert "ticket.invalid_transition" in transition["x-error-codes"]
    # The bearer dependency's codes on every protected operation.
    assert {"auth.required", "auth.invalid_token"} <= set(
        _error_response("transitionTicket", 401)["x-error-codes"]
    )
    # A code handed through a helper's parameter (services.auth.service._limit).
    assert "auth.otp_throttled" in _error_response("sendOtp", 429)["x-error-codes"]
    assert "auth.otp_too_many_attempts" in _error_response("login", 429)["x-error-codes"]
    assert "community.not_found" in _error_response("createTicket", 404)["x-error-codes"]
    # A dependency's own codes (the Idempotency-Key check), and what every body can meet.
    assert "idempotency.invalid_key" in _error_response("createTicket", 422)["x-error-codes"]
    assert _error_response("createTicket", 413)["x-error-codes"] == ["request.too_large"]
    assert "dependency.unavailable" in _error_response("listTickets", 503)["x-error-codes"]
    assert "Retry-After" in _error_response("listTickets", 503)["headers"]
    # A method of a typed parameter (Idempotent.run via `idem: IdempotentDep`), a handler picked from a
    # dispatch table (services.tickets.transitions.HANDLERS[action]), a function-local import.
    assert "idempotency.key_reused" in _error_response("createTicket", 422)["x-error-codes"]
    assert "idempotency.in_progress" in _error_response("createTicket", 409)["x-error-codes"]
    assert "ticket.reason_required" in _error_response("transitionTicket", 422)["x-error-codes"]
    # A device door: no bearer token, its own 401 codes.
    assert "auth.required" not in operation("ingestIsapiAlarm")["x-error-codes"]
    assert "alarm.ingest_unknown_device" in _error_response("ingestIsapiAlarm", 401)["x-error-codes"]
    assert "401" not in operation("checkLiveness")["responses"]


def test_every_listed_code_has_words_in_both_languages() -> None:
    from services.i18n import MESSAGES

    listed = {code for _, _, op in operations() for code in op["x-error-codes"]}
    assert len(listed) > 150  # the walk really reaches the services
    assert sorted(listed - MESSAGES.keys()) == []


async def test_what_the_server_sends_matches_the_published_error_body(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    ticket = await f.file_ticket(client, w)

    # 422 from request validation: the published schema, and the code is listed.
    r = await client.post(
        f"/v1/communities/{w.cid}/tickets", json={"kind": "nope"}, headers=f.auth(w.resident)
    )
    assert r.status_code == 422, r.text
    _validator(_error_response("createTicket", 422)["content"]["application/json"]["schema"]).validate(
        r.json()
    )
    assert r.json()["error"]["details"]["fields"][0]["loc"][0] == "body"
    assert r.json()["error"]["code"] in _error_response("createTicket", 422)["x-error-codes"]

    # 401 without a token, 404 for a ticket that is not there, 422 for a domain rule.
    r = await client.post(f"/v1/tickets/{ticket['id']}/transitions", json={"action": "accept", "version": 1})
    assert r.status_code == 401
    _validator(_error_response("transitionTicket", 401)["content"]["application/json"]["schema"]).validate(
        r.json()
    )
    assert r.json()["error"]["code"] in _error_response("transitionTicket", 401)["x-error-codes"]

    r = await f.act(client, w.resident, {**ticket, "id": 999999}, "cancel")
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] in _error_response("transitionTicket", 404)["x-error-codes"]

    r = await f.act(client, w.resident, ticket, "resolve")
    assert r.status_code in (403, 422), r.text
    assert r.json()["error"]["code"] in _error_response("transitionTicket", r.status_code)["x-error-codes"]
    _validator(
        _error_response("transitionTicket", r.status_code)["content"]["application/json"]["schema"]
    ).validate(r.json())
