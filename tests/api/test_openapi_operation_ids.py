"""operationIds are the method names of every generated client: they change only on purpose.

The pin is tests/api/openapi_operation_ids.txt (`operationId METHOD path`, one a line). A new route adds
a line; a rename is a breaking change for the app team: give the old name in the commit message and
update the pin with `python -m tests.api.test_openapi_operation_ids` (it rewrites the file).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.api.openapi_spec import operations, spec

PIN = Path(__file__).with_name("openapi_operation_ids.txt")
CAMEL = re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$")


def published() -> list[str]:
    return sorted(f"{op['operationId']} {method} {path}" for method, path, op in operations())


def test_operation_ids_match_the_pinned_list() -> None:
    pinned = [line for line in PIN.read_text().splitlines() if line and not line.startswith("#")]
    now = published()
    changed = sorted(set(pinned) ^ set(now))
    assert not changed, (
        "operationIds differ from tests/api/openapi_operation_ids.txt (- pinned, + published):\n"
        + "\n".join(("- " if line in pinned else "+ ") + line for line in changed)
        + "\nA rename breaks every generated client: if it is deliberate, run "
        "`python -m tests.api.test_openapi_operation_ids` and say so in the commit."
    )


def test_operation_ids_are_unique_camel_case_and_tagged_by_area() -> None:
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert [i for i in ids if not CAMEL.match(i)] == []
    untagged = [op["operationId"] for _, _, op in operations() if len(op.get("tags", [])) != 1]
    assert untagged == []


def test_the_main_flows_have_the_names_the_app_team_uses() -> None:
    by_route = {(m, p): op["operationId"] for m, p, op in operations()}
    assert by_route[("POST", "/v1/communities/{cid}/tickets")] == "createTicket"
    assert by_route[("GET", "/v1/tickets")] == "listTickets"
    assert by_route[("POST", "/v1/tickets/{tid}/transitions")] == "transitionTicket"
    assert by_route[("POST", "/v1/auth/login")] == "login"
    tags = {op["tags"][0] for _, _, op in operations()}
    assert {"auth", "tickets", "notices", "polls", "notifications", "alarms"} <= tags
    assert spec()["paths"]["/v1/tickets"]["get"]["tags"] == ["tickets"]


if __name__ == "__main__":
    PIN.write_text(
        "# operationId METHOD path — the names generated clients call; see test_openapi_operation_ids.py\n"
        + "\n".join(published())
        + "\n"
    )
    print(f"wrote {PIN}")
