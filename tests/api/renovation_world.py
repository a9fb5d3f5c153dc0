"""A community with a renovation project, its people and helpers shared by tests/api/test_renovation_*."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from services.models import Building, Community, Household, Role, User
from tests import factories as f


@dataclass
class RenoWorld:
    community: Community
    buildings: list[Building]
    households: list[Household]
    residents: list[User]
    admin: User
    committee: User
    outsider_admin: User
    outsider_resident: User

    @property
    def cid(self) -> int:
        assert self.community.id is not None
        return self.community.id


async def world(db: AsyncSession) -> RenoWorld:
    c = await f.community(db)
    buildings = [await f.building(db, c, "1号楼"), await f.building(db, c, "2号楼")]
    households = [await f.household(db, b, room="101") for b in buildings]
    residents = [await f.resident(db, h, name=f"住户{i + 1}") for i, h in enumerate(households)]
    other = await f.community(db)
    other_home = await f.household(db, await f.building(db, other))
    return RenoWorld(
        community=c,
        buildings=buildings,
        households=households,
        residents=residents,
        admin=await f.community_staff(db, c, Role.community_admin, "居委会"),
        committee=await f.community_staff(db, c, Role.committee_member, "业委会委员"),
        outsider_admin=await f.community_staff(db, other, Role.community_admin, "外小区居委会"),
        outsider_resident=await f.resident(db, other_home, name="外小区住户"),
    )


async def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def project(client: httpx.AsyncClient, w: RenoWorld, **body: object) -> dict[str, Any]:
    data = {"title": "2023年老旧小区改造", "year": 2023, "batch": "第一批", **body}
    r = await client.post(f"/v1/communities/{w.cid}/renovation/projects", json=data, headers=f.auth(w.admin))
    result: dict[str, Any] = await ok(r, 201)
    return result


async def item(client: httpx.AsyncClient, w: RenoWorld, pid: int, **body: object) -> dict[str, Any]:
    data = {
        "item_class": "basic",
        "name": "屋面防水",
        "quantity": "1200.5",
        "unit": "m²",
        "budget_fen": 50_000_000,
        "contractor": "某建设公司",
        **body,
    }
    r = await client.post(f"/v1/renovation/projects/{pid}/items", json=data, headers=f.auth(w.admin))
    result: dict[str, Any] = await ok(r, 201)
    return result


async def upload(client: httpx.AsyncClient, who: User, pid: int, purpose: str = "voucher") -> httpx.Response:
    return await client.post(
        f"/v1/renovation/projects/{pid}/attachments",
        params={"purpose": purpose},
        files={"file": ("v.jpg", f.jpeg_bytes(), "image/jpeg")},
        headers=f.auth(who),
    )
