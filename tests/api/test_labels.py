"""Words, not codes (issue 21 item 8): the label catalogue, labels in the objects, localised 422s.

The coverage checks are generated from the enums themselves: every Enum in services.models and every
group's source (Enum or Literal) must have words in both locales, so a new value without them fails."""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import pkgutil
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

import services
import services.labels
import services.models
from services.i18n import LABELS, enum_values
from services.notices.schemas import NoticeItem
from services.validation_messages import TYPES, VALUE_ERRORS, field_message
from tests import factories as f

EN = {"Accept-Language": "en"}
# Enums in services.models that no user ever sees (none today): name them here with the reason.
INTERNAL_ENUMS: dict[str, str] = {}


def _model_enums() -> list[type[enum.Enum]]:
    found = []
    for info in pkgutil.iter_modules(services.models.__path__):
        module = importlib.import_module(f"services.models.{info.name}")
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, enum.Enum) and obj.__module__ == module.__name__:
                found.append(obj)
    return found


@pytest.mark.parametrize("source", _model_enums(), ids=lambda e: e.__name__)
def test_every_model_enum_has_a_label_group(source: type[enum.Enum]) -> None:
    if source.__name__ in INTERNAL_ENUMS:
        return
    values = set(enum_values(source))
    groups = [g.name for g in LABELS.values() if values <= set(g.labels)]
    assert groups, (
        f"{source.__module__}.{source.__name__} {sorted(values)} has no labels: add a register_labels() in its area's labels.py"
    )


@pytest.mark.parametrize("name", sorted(LABELS))
def test_every_group_covers_its_enum_in_both_locales(name: str) -> None:
    group = LABELS[name]
    assert group.values, name
    assert group.missing() == [], f"{name}: no words for {group.missing()}"
    for value, (zh, en) in group.labels.items():
        assert zh.strip() and en.strip(), (name, value)
        assert re.search(r"[\u4e00-\u9fff]|App", zh), (name, value, zh)  # the Chinese text is Chinese


async def test_catalogue_serves_every_value_with_an_etag(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/labels")  # public: the app caches it before login
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["locale"] == "zh-CN"
    for name, group in LABELS.items():
        assert set(body["groups"][name]) == set(group.values), name
    assert body["groups"]["ticket.status"]["rejected"] == "未受理"
    etag = r.headers["etag"]
    assert r.headers["cache-control"].startswith("public")

    again = await client.get("/v1/labels", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""

    en = await client.get("/v1/labels", headers=EN)
    assert en.json()["locale"] == "en" and en.json()["groups"]["ticket.status"]["rejected"] == "Rejected"
    assert en.headers["etag"] != etag
    assert (await client.get("/v1/labels", headers={**EN, "If-None-Match": etag})).status_code == 200

    both = (await client.get("/v1/labels", params={"locale": "all"})).json()
    assert both["groups"]["duty.category"]["security_watch"] == {
        "zh-CN": "安全值守岗",
        "en": "Security watch",
    }
    assert (await client.get("/v1/labels", params={"locale": "fr"})).status_code == 422


async def test_ticket_responses_carry_labels_in_the_callers_locale(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    t = await f.file_ticket(client, w)
    assert (t["status_label"], t["kind_label"], t["category_label"], t["priority_label"]) == (
        "待受理", "报修", "水管水路", "普通",
    )  # fmt: skip
    r = await f.act(client, w.manager, t, "assign", assignee_id=w.technician.id)
    r = await f.act(client, w.technician, r.json(), "pause", reason_code="resident_not_home")
    assert r.status_code == 200, r.text
    assert (r.json()["status_label"], r.json()["pause_reason_label"]) == ("已挂起", "住户不在家")

    detail = (await client.get(f"/v1/tickets/{t['id']}", headers={**f.auth(w.resident), **EN})).json()
    assert (detail["status_label"], detail["pause_reason_label"]) == ("Paused", "Resident not at home")
    page = (await client.get("/v1/tickets", headers={**f.auth(w.resident), **EN})).json()
    assert page["items"][0]["status_label"] == "Paused" and page["items"][0]["category_label"] == "Plumbing"
    page = (await client.get("/v1/tickets", headers=f.auth(w.resident))).json()
    assert page["items"][0]["status_label"] == "已挂起"
    events = (await client.get(f"/v1/tickets/{t['id']}/events", headers=f.auth(w.resident))).json()
    assert [(e["action_label"], e["to_status_label"]) for e in events] == [
        ("提交", "待受理"), ("派单", "已派单"), ("挂起", "已挂起"),
    ]  # fmt: skip
    assert events[-1]["reason_label"] == "住户不在家"


async def test_notice_and_poll_responses_carry_labels(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.notice_world(db)
    n = await f.post_notice(client, w.committee, w.cid, kind="publicity", title="维修资金使用公示")
    assert (n["kind_label"], n["status_label"], n["author_role_label"], n["audience_type_label"]) == (
        "公示", "已发布", "业委会", "全体居民",
    )  # fmt: skip
    feed = (await client.get("/v1/notices", headers={**f.auth(w.residents[0]), **EN})).json()
    assert (feed["items"][0]["kind_label"], feed["items"][0]["status_label"]) == (
        "Public notice",
        "Published",
    )
    # The feed is rendered from plain dicts: exactly the model's fields, and what the model would say.
    item = feed["items"][0]
    assert set(item) == set(NoticeItem.model_fields)
    instants = {"published_at", "expires_at", "comment_closes_at"}
    as_model = NoticeItem.model_validate(item).model_dump(mode="json", exclude=instants)
    assert as_model == {k: v for k, v in item.items() if k not in instants}
    assert item["author_role_label"] == "Owners' committee" and item["unread"] is True

    pw = await f.poll_world(db)
    poll = await f.create_poll(client, pw.committee, pw.community.id or 0)
    assert poll["kind_label"] in ("问卷", "表决") and poll["status_label"] in ("未开始", "进行中")
    got = (await client.get(f"/v1/polls/{poll['id']}", headers={**f.auth(pw.committee), **EN})).json()
    assert got["status_label"] in ("Scheduled", "Open") and got["eligibility_label"]
    page = (await client.get(f"/v1/communities/{pw.community.id}/polls", headers=f.auth(pw.owner))).json()
    assert page["items"][0]["kind_label"] == poll["kind_label"]


async def test_duty_responses_carry_labels(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.duty_world(db)
    body = {
        "category": "security_watch",
        "description": "夜间巡逻",
        "building_ids": [w.b1.id],
        "headcount": 2,
    }
    r = await client.post(f"/v1/communities/{w.cid}/duty/posts", json=body, headers=f.auth(w.secretary))
    assert r.status_code == 201, r.text
    post = r.json()
    assert post["category_label"] == "安全值守岗"
    custom = {**body, "category": "custom", "custom_category": "楼道堆物劝导"}
    r = await client.post(f"/v1/communities/{w.cid}/duty/posts", json=custom, headers=f.auth(w.secretary))
    assert r.json()["category_label"] == "楼道堆物劝导"
    posts = (
        await client.get(f"/v1/communities/{w.cid}/duty/posts", headers={**f.auth(w.secretary), **EN})
    ).json()
    assert {p["category_label"] for p in posts} == {"Security watch", "楼道堆物劝导"}

    r = await client.post(
        f"/v1/duty/posts/{post['id']}/assignments",
        json={"user_id": w.member1.id, "role": "lead", "starts_on": (datetime.now(UTC).date() - timedelta(days=1)).isoformat()},
        headers=f.auth(w.secretary),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["role_label"] == "岗长"
    roster = (
        await client.get(f"/v1/communities/{w.cid}/duty/roster", headers={**f.auth(w.resident1), **EN})
    ).json()
    first = roster["buildings"][0]["posts"][0]
    assert first["category_label"] == "Security watch" and first["holders"][0]["role_label"] == "Lead"

    starts = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    shift = {
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "assignee_ids": [w.member1.id],
    }
    r = await client.post(
        f"/v1/duty/posts/{post['id']}/shifts", json=shift, headers={**f.auth(w.secretary), **EN}
    )
    assert r.status_code == 201, r.text
    assert r.json()["items"][0]["status_label"] == "Scheduled"


async def test_validation_messages_in_chinese_by_default_and_english_on_request(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await f.ticket_world(db)
    url = f"/v1/communities/{w.cid}/tickets"
    bad = {"kind": "repair", "category": "electric", "title": "x" * 101, "household_id": w.household.id}
    r = await client.post(url, json=bad, headers=f.auth(w.resident))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "request.invalid" and err["message"] == "请求参数有误"
    msgs = {tuple(x["loc"][-1:]): x["msg"] for x in err["details"]["fields"]}
    assert msgs[("title",)] == "最多 100 个字符"
    r = await client.post(
        url, json={**bad, "title": "漏水", "category": "neighbour"}, headers=f.auth(w.resident)
    )
    (field,) = r.json()["error"]["details"]["fields"]
    assert field["msg"].startswith("repair 的类别须为以下之一：plumbing")

    r = await client.post(url, json=bad, headers={**f.auth(w.resident), **EN})
    err = r.json()["error"]
    assert err["message"] == "The request is invalid"
    msgs = {tuple(x["loc"][-1:]): x["msg"] for x in err["details"]["fields"]}
    assert msgs[("title",)] == "String should have at most 100 characters"
    r = await client.post(url, json={"kind": "fly"}, headers=f.auth(w.resident))
    texts = [x["msg"] for x in r.json()["error"]["details"]["fields"]]
    assert "须为以下之一：repair、complaint" in texts and "必填项" in texts


def test_every_pydantic_error_type_has_chinese() -> None:
    from typing import get_args

    from pydantic_core.core_schema import ErrorType

    assert sorted(set(get_args(ErrorType)) - set(TYPES)) == []
    assert (
        field_message({"type": "greater_than_equal", "msg": "x", "ctx": {"ge": 1}}, "zh-CN")
        == "须大于或等于 1"
    )


def _value_error_texts() -> list[str]:
    """Every `raise ValueError(...)` text in the request schemas, f-string parts as {name}."""
    root = Path(services.__file__).parent
    texts = []
    for path in [root / "schemas.py", *root.glob("*/schemas.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            if getattr(node.exc.func, "id", None) != "ValueError" or not node.exc.args:
                continue
            arg = node.exc.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                texts.append(arg.value)
            elif isinstance(arg, ast.JoinedStr):
                texts.append("".join(v.value if isinstance(v, ast.Constant) else "{x}" for v in arg.values))
    return texts


@pytest.mark.parametrize("text", _value_error_texts())
def test_every_schema_value_error_has_chinese(text: str) -> None:
    shape = re.sub(r"\{\w+\}", "{}", text)
    known = {re.sub(r"\{\w+\}", "{}", english) for english in VALUE_ERRORS}
    assert shape in known, f"add {text!r} to services/validation_messages.py VALUE_ERRORS"


async def test_memberships_and_inbox_carry_labels(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await f.ticket_world(db)
    r = await client.get("/v1/me/memberships", headers=f.auth(w.resident))
    assert r.status_code == 200, r.text
    items = r.json() if isinstance(r.json(), list) else r.json()["items"]
    assert {(m["role_label"], m["status_label"]) for m in items} == {("居民", "已认证")}
    await f.file_ticket(client, w)
    inbox = (await client.get("/v1/notifications", headers={**f.auth(w.manager), **EN})).json()
    assert [n["category_label"] for n in inbox["items"]] == ["Tickets"]
