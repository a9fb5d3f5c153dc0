"""The JPush channel with the real `jpush` SDK against a loopback JPush stand-in (no mocked function)."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from services.config import Settings
from tests.workers.jpush_standin import JPushStandIn
from workers.channels import jpush as jp
from workers.channels.jpush import MAX_REGISTRATION_IDS, JPushChannel, JPushSettings
from workers.channels.push import Push, PushOutcome

KEY, SECRET = "linli-jpush-key", "linli-jpush-secret"
HUAWEI = "1a0018970a9b2fe0a22"
IPHONE = "161a3797c80d0e8a2c4"
HARMONY = "1104a89792b4d7d1e2f"


@pytest.fixture
def jstandin() -> Iterator[JPushStandIn]:
    with JPushStandIn(app_key=KEY, master_secret=SECRET, hang_seconds=3) as server:
        yield server


def channel_for(server: JPushStandIn, **kw: Any) -> JPushChannel:
    settings = Settings(
        env="test",
        jpush_app_key=kw.pop("app_key", KEY),
        jpush_master_secret=kw.pop("secret", SECRET),
        jpush_base_url=server.base_url,
        jpush_timeout_seconds=kw.pop("timeout", 5.0),
        **kw,
    )
    return JPushChannel(settings)  # as the worker builds it


def push(delivery_id: int, token: str, **kw: Any) -> Push:
    fields: dict[str, Any] = {
        "title": "报修已受理",
        "body": "您的报修单 #42 已受理，师傅今天 14:00 上门",
        "data": {"ticket_id": "42", "notification_id": str(100 + delivery_id)},
        "collapse_key": f"ticket:42:accepted:u7:d{delivery_id}",
        "badge": 3,
        "platform": "android",
    }
    fields.update(kw)
    return Push(delivery_id=delivery_id, token=token, **fields)


def test_sdk_contract() -> None:
    jp.check_sdk_contract()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_JPUSH_APP_KEY", "env-key")
    monkeypatch.setenv("LINLI_JPUSH_MASTER_SECRET", "env-secret")
    monkeypatch.setenv("LINLI_JPUSH_BASE_URL", "https://bjapi.push.jiguang.cn")
    cfg = JPushSettings.from_settings(Settings())
    assert (cfg.app_key, cfg.master_secret, cfg.base_url) == (
        "env-key",
        "env-secret",
        "https://bjapi.push.jiguang.cn",
    )
    with pytest.raises(ValueError, match="not configured"):
        JPushSettings.from_settings(Settings(jpush_app_key="k", jpush_master_secret=None))


async def test_android_ios_and_harmonyos_payloads_through_the_sdk(jstandin: JPushStandIn) -> None:
    ch = channel_for(jstandin)
    outcomes = await ch.send(
        [
            push(1, HUAWEI, priority="high", badge=5),
            push(2, IPHONE, platform="ios", collapse_key="notice:7:published:u9:d2"),
            push(3, HARMONY, platform="harmonyos"),
        ]
    )
    assert [o.status for o in outcomes] == ["sent", "sent", "sent"]
    assert all(o.message_id and o.message_id.isdigit() for o in outcomes)
    [android] = jstandin.requests_for(HUAWEI)
    auth = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert android.headers["authorization"] == f"Basic {auth}"
    assert android.body["platform"] == ["android"]
    note = android.body["notification"]["android"]
    assert note["title"] == "报修已受理" and note["alert"].startswith("您的报修单")
    assert note["channel_id"] == "linli_critical" and note["priority"] == 2  # critical → high
    assert note["badge_set_num"] == 5 and note["extras"]["badge"] == "5"
    assert note["extras"]["ticket_id"] == "42"
    assert note["extras"]["collapse_key"] == "ticket:42:accepted:u7"  # same on all the person's devices
    assert android.body["options"]["third_party_channel"]["huawei"] == {"importance": "HIGH"}
    [ios] = jstandin.requests_for(IPHONE)
    assert ios.body["platform"] == ["ios"]
    aps = ios.body["notification"]["ios"]
    assert aps["badge"] == 3 and aps["alert"] == {"title": "报修已受理", "body": push(0, "x").body}
    assert ios.body["options"]["apns_collapse_id"] == "notice:7:published:u9"
    assert ios.body["options"]["apns_production"] is True
    [harmony] = jstandin.requests_for(HARMONY)
    assert harmony.body["platform"] == ["hmos"]
    assert harmony.body["notification"]["hmos"]["title"] == "报修已受理"
    normal = jstandin.requests_for(HUAWEI)[0]
    assert normal is android
    await ch.aclose()


async def test_one_request_per_payload_up_to_the_api_limit(jstandin: JPushStandIn) -> None:
    ch = channel_for(jstandin)
    same = {"data": {"k": "v"}, "collapse_key": "n:1"}
    pushes = [push(i, f"{i:019d}", **same) for i in range(1, MAX_REGISTRATION_IDS + 3)]
    pushes.append(push(9999, HUAWEI, badge=9))  # another payload: its own request
    outcomes = await ch.send(pushes)
    assert [o.delivery_id for o in outcomes] == [p.delivery_id for p in pushes]
    assert {o.status for o in outcomes} == {"sent"}
    sizes = sorted(len(r.registration_ids) for r in jstandin.requests)
    assert sizes == [1, 2, MAX_REGISTRATION_IDS]
    await ch.aclose()


@pytest.mark.parametrize(
    ("mode", "status", "code", "retry_after"),
    [
        ("unregistered", "drop_token", "1011", None),
        ("rate_limited", "retry", "2002", 42.0),  # X-Rate-Limit-Reset
        ("auth", "alert", "UNAUTHORIZED", None),
        ("bad_appkey", "alert", "1008", None),
        ("server_error", "retry", "1000", None),
        # A proxy's HTML 503: the SDK itself trips over the non-JSON body (json.dumps of bytes in its
        # error log) and raises TypeError. Still a retry, never a dropped token.
        ("unavailable", "retry", "TypeError", None),
        ("bad_params", "dead", "1003", None),
    ],
)
async def test_errors_map_to_outcomes(
    jstandin: JPushStandIn, mode: str, status: str, code: str, retry_after: float | None
) -> None:
    ch = channel_for(jstandin)
    jstandin.behave(HUAWEI, mode)
    seen: list[PushOutcome] = []
    [outcome] = await ch.send([push(1, HUAWEI)], on_outcome=seen.append)
    assert (outcome.status, outcome.error_code, outcome.retry_after_seconds) == (status, code, retry_after)
    assert seen == [outcome]
    await ch.aclose()


async def test_wrong_credentials_alert_and_never_drop(jstandin: JPushStandIn) -> None:
    ch = channel_for(jstandin, secret="not-the-secret")
    [outcome] = await ch.send([push(1, HUAWEI)])
    assert outcome.status == "alert"
    await ch.aclose()


async def test_a_dead_id_among_live_ones_is_not_reported(jstandin: JPushStandIn) -> None:
    """JPush's own rule, mirrored by the stand-in: 1011 only when no id of the request is left."""
    ch = channel_for(jstandin)
    jstandin.behave("0000000000000000001", "unregistered")
    same = {"data": {}, "collapse_key": "n:1"}
    outcomes = await ch.send([push(1, "0000000000000000001", **same), push(2, HUAWEI, **same)])
    assert [o.status for o in outcomes] == ["sent", "sent"]
    await ch.aclose()


async def test_hang_times_out_into_a_retry_and_keeps_the_loop_free(jstandin: JPushStandIn) -> None:
    ch = channel_for(jstandin, timeout=0.5)
    jstandin.behave(HUAWEI, "hang")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    [outcome] = await ch.send([push(1, HUAWEI)])
    elapsed = time.monotonic() - started
    ticker.cancel()
    assert outcome.status == "retry" and outcome.error_code == "CONNECTION"
    assert 0.4 < elapsed < 3
    assert ticks > 20  # the event loop ran while the SDK waited (in a thread)
    await ch.aclose()


async def test_sdk_runs_off_the_event_loop_thread(jstandin: JPushStandIn) -> None:
    ch = channel_for(jstandin)
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = ch._post

    def spy(payload: dict[str, Any], ids: list[str]) -> dict[str, Any]:
        seen.append(threading.get_ident())
        return original(payload, ids)

    ch._post = spy  # type: ignore[method-assign,assignment]  # observes only: the real SDK call still runs
    [outcome] = await ch.send([push(1, HUAWEI)])
    assert outcome.status == "sent" and seen and loop_thread not in seen
    await ch.aclose()


async def test_stop_leaves_unstarted_pushes_unsent(jstandin: JPushStandIn) -> None:
    ch = channel_for(jstandin)
    stop = asyncio.Event()
    stop.set()
    outcomes = await ch.send([push(1, HUAWEI), push(2, IPHONE, platform="ios")], stop=stop)
    assert [o.status for o in outcomes] == ["unsent", "unsent"]
    assert jstandin.requests == []
    await ch.aclose()


async def test_a_push_jpush_cannot_carry_is_dead_not_sent(jstandin: JPushStandIn) -> None:
    ch = channel_for(jstandin)
    outcomes = await ch.send([push(1, HUAWEI, platform="windows"), push(2, IPHONE, platform="ios")])
    assert [o.status for o in outcomes] == ["dead", "sent"]
    await ch.aclose()
