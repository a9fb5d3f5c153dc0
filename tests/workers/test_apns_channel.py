"""The APNs channel (httpx over HTTP/2 + TLS, ES256 provider token) against a loopback APNs stand-in
that verifies the JWT's signature and answers per device token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.config import Settings
from tests.workers.apns_standin import ApnsStandIn, new_signing_key, write_p8
from workers.channels import apns
from workers.channels.apns import ApnsChannel, ApnsSettings
from workers.channels.fcm import collapse_id
from workers.channels.push import Push, PushOutcome

KEY_ID = "ABC123DEFG"
TEAM_ID = "DEF123GHIJ"
TOPIC = "cn.linli.app"
SIGNING_KEY = new_signing_key()


def tok(name: str) -> str:
    """A hex device token that reads back as `name` in the stand-in's log."""
    return name.encode().hex().ljust(64, "0")


def push(delivery_id: int, token: str, **kw: Any) -> Push:
    fields: dict[str, Any] = {
        "title": "报修已受理",
        "body": "您的报修单已受理，师傅今天下午上门",
        "data": {"ticket_id": "42"},
        "collapse_key": f"ticket:42:accepted:{delivery_id}",
        "badge": 3,
        "platform": "ios",
    }
    fields.update(kw)
    return Push(delivery_id=delivery_id, token=token, **fields)


def settings_for(standin: ApnsStandIn, key_file: Path, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "apns_key_id": KEY_ID,
        "apns_team_id": TEAM_ID,
        "apns_key_file": str(key_file),
        "apns_topic": TOPIC,
        "apns_base_url": standin.base_url,
        "apns_ca_file": standin.ca_file,
    }
    values.update(kw)
    return Settings(**values)


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_p8(SIGNING_KEY, tmp_path_factory.mktemp("apns") / f"AuthKey_{KEY_ID}.p8")


@pytest.fixture(scope="module")
def standin() -> Iterator[ApnsStandIn]:
    with ApnsStandIn(public_key=SIGNING_KEY.public_key(), key_id=KEY_ID, team_id=TEAM_ID, topic=TOPIC) as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh(standin: ApnsStandIn) -> None:
    standin.reset()


@pytest.fixture(scope="module")
async def channel(standin: ApnsStandIn, key_file: Path) -> AsyncIterator[ApnsChannel]:
    """One channel for the module, like one per worker process (built as the worker builds it)."""
    ch = ApnsChannel(settings_for(standin, key_file))
    yield ch
    await ch.aclose()


async def test_sent_with_topic_badge_sound_collapse_priority_and_a_verified_jwt(
    channel: ApnsChannel, standin: ApnsStandIn
) -> None:
    [outcome] = await channel.send([push(1, tok("ok"), priority="high", collapse_key="notice:7:published")])
    assert outcome.status == "sent" and outcome.delivery_id == 1
    [req] = standin.requests_for(tok("ok"))
    assert outcome.message_id == req.apns_id  # what APNs answered in apns-id
    assert req.status == 200
    assert req.path == f"/3/device/{tok('ok')}"
    assert req.headers[":scheme"] == "https"  # TLS, HTTP/2 (the stand-in speaks nothing else)
    assert req.headers["apns-topic"] == TOPIC
    assert req.headers["apns-push-type"] == "alert"
    assert req.headers["apns-priority"] == "10"
    assert req.headers["apns-collapse-id"] == "notice:7:published"
    assert req.jwt_claims is not None and req.jwt_claims["iss"] == TEAM_ID  # signature checked there
    assert abs(req.jwt_claims["iat"] - time.time()) < 3600
    assert req.aps == {
        "alert": {"title": "报修已受理", "body": "您的报修单已受理，师傅今天下午上门"},
        "badge": 3,
        "sound": "default",
    }
    assert req.body["ticket_id"] == "42"


async def test_normal_priority_and_long_collapse_key_is_hashed_to_64_bytes(
    channel: ApnsChannel, standin: ApnsStandIn
) -> None:
    long_key = "notice:12345:published:" + "房" * 40
    [outcome] = await channel.send([push(2, tok("long"), collapse_key=long_key, badge=0)])
    assert outcome.status == "sent"
    [req] = standin.requests_for(tok("long"))
    collapse = req.headers["apns-collapse-id"]
    assert len(collapse.encode()) <= 64 and collapse == collapse_id(long_key)
    assert req.headers["apns-priority"] == "5"
    assert req.aps["badge"] == 0


async def test_the_provider_token_is_reused_and_resigned_when_old(
    channel: ApnsChannel, standin: ApnsStandIn
) -> None:
    await channel.send([push(3, tok("jwt-a")), push(4, tok("jwt-b"))])
    a, b = standin.requests_for(tok("jwt-a"))[0], standin.requests_for(tok("jwt-b"))[0]
    assert a.headers["authorization"] == b.headers["authorization"]  # not re-signed per request
    channel._token._sign(time.time() - 2 * 3600)  # a token past Apple's hour is never sent
    [outcome] = await channel.send([push(5, tok("jwt-c"))])
    assert outcome.status == "sent"
    claims = standin.requests_for(tok("jwt-c"))[0].jwt_claims
    assert claims is not None and time.time() - claims["iat"] < 60


@pytest.mark.parametrize(
    ("mode", "status", "error_code", "retry_after"),
    [
        ("unregistered", "drop_token", "Unregistered", None),
        ("bad_token", "drop_token", "BadDeviceToken", None),
        ("too_many", "retry", "TooManyRequests", 7.0),
        ("too_many_bare", "retry", "TooManyRequests", None),
        ("invalid_provider_token", "alert", "InvalidProviderToken", None),
        ("expired_provider_token", "alert", "ExpiredProviderToken", None),
        ("not_for_topic", "alert", "DeviceTokenNotForTopic", None),
        ("internal", "retry", "InternalServerError", None),
        ("unavailable", "retry", "ServiceUnavailable", 3.0),
        ("shutdown", "retry", "Shutdown", None),
    ],
)
async def test_error_mapping(
    channel: ApnsChannel,
    standin: ApnsStandIn,
    mode: str,
    status: str,
    error_code: str,
    retry_after: float | None,
) -> None:
    standin.behave(tok("bad"), mode)
    good, bad = await channel.send([push(10, tok("good")), push(11, tok("bad"))])
    assert (good.delivery_id, good.status) == (10, "sent")
    assert (bad.delivery_id, bad.status, bad.error_code, bad.retry_after_seconds) == (
        11,
        status,
        error_code,
        retry_after,
    )
    assert bad.message_id is None and bad.detail and bad.detail.startswith("HTTP ")
    assert [r.reason for r in standin.requests_for(tok("bad"))] == [error_code]


async def test_expired_provider_token_resigns_the_jwt(channel: ApnsChannel, standin: ApnsStandIn) -> None:
    channel._token._sign(time.time() - 120)
    before = channel._token.issued_at
    standin.behave(tok("expired"), "expired_provider_token")
    [outcome] = await channel.send([push(12, tok("expired"))])
    assert outcome.status == "alert"
    assert channel._token.issued_at > before + 100
    [outcome] = await channel.send([push(13, tok("after"))])
    assert outcome.status == "sent"


async def test_a_key_apple_does_not_know_is_an_alert_never_a_dropped_token(
    standin: ApnsStandIn, key_file: Path
) -> None:
    """The stand-in verifies the signature: a channel with another key gets InvalidProviderToken for
    every push, and that never disables a device."""
    ch = ApnsChannel(settings_for(standin, key_file), key=new_signing_key())
    try:
        outcomes = await ch.send([push(20, tok("x1")), push(21, tok("x2"))])
    finally:
        await ch.aclose()
    assert {(o.status, o.error_code) for o in outcomes} == {("alert", "InvalidProviderToken")}
    assert [r.status for r in standin.requests] == [403, 403]


async def test_tls_is_verified(standin: ApnsStandIn, key_file: Path) -> None:
    """Without the stand-in's CA the certificate is refused: a connection error is a retry."""
    ch = ApnsChannel(settings_for(standin, key_file, apns_ca_file=None))
    try:
        [outcome] = await ch.send([push(22, tok("tls"))])
    finally:
        await ch.aclose()
    assert outcome.status == "retry" and outcome.error_code == "ConnectError"
    assert standin.requests == []


async def test_timeout_and_connection_refused_are_retries(standin: ApnsStandIn, key_file: Path) -> None:
    standin.behave(tok("slow"), "ok", delay_ms=1500)
    ch = ApnsChannel(settings_for(standin, key_file, apns_timeout_seconds=0.3))
    try:
        [outcome] = await ch.send([push(23, tok("slow"))])
    finally:
        await ch.aclose()
    assert (outcome.status, outcome.error_code) == ("retry", "TIMEOUT")

    ch = ApnsChannel(settings_for(standin, key_file, apns_base_url="https://127.0.0.1:9"))
    try:
        [outcome] = await ch.send([push(24, tok("nobody"))])
    finally:
        await ch.aclose()
    assert outcome.status == "retry" and outcome.error_code == "ConnectError"


async def test_a_token_that_is_not_hex_is_dropped_without_a_request(
    channel: ApnsChannel, standin: ApnsStandIn
) -> None:
    outcomes = await channel.send([push(25, "../../etc/passwd"), push(26, ""), push(27, tok("fine"))])
    assert [(o.status, o.error_code) for o in outcomes[:2]] == [("drop_token", "BadDeviceToken")] * 2
    assert outcomes[2].status == "sent"
    assert [r.token for r in standin.requests] == [tok("fine")]


async def test_each_outcome_is_reported_when_its_answer_arrives(
    channel: ApnsChannel, standin: ApnsStandIn
) -> None:
    standin.behave(tok("slow"), "ok", delay_ms=800)
    seen: list[int] = []
    sending = asyncio.create_task(
        channel.send(
            [push(1, tok("slow")), push(2, tok("fast-a"))], on_outcome=lambda o: seen.append(o.delivery_id)
        )
    )
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.02)
    assert seen == [2]
    outcomes = await sending
    assert [o.status for o in outcomes] == ["sent", "sent"] and seen == [2, 1]


async def test_stop_sends_nothing_more_and_finishes_what_is_out(
    channel: ApnsChannel, standin: ApnsStandIn
) -> None:
    """Once `stop` is set, chunks still waiting for a lane come back "unsent" and never reach APNs;
    the chunks already out are answered and reported as usual."""
    n = apns.LANES * apns.IN_FLIGHT + 50
    standin.latency_ms = 300
    stop = asyncio.Event()
    seen: list[str] = []
    try:
        sending = asyncio.create_task(
            channel.send(
                [push(i, tok(f"stop-{i}")) for i in range(n)],
                stop=stop,
                on_outcome=lambda o: seen.append(o.status),
            )
        )
        for _ in range(200):
            if standin.requests or len(seen) > 0:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        stop.set()
        outcomes = await sending
    finally:
        standin.latency_ms = 0
    statuses = [o.status for o in outcomes]
    assert set(statuses) == {"sent", "unsent"} and statuses.count("unsent") >= 50
    assert sorted(seen) == sorted(statuses)
    sent = {tok(f"stop-{o.delivery_id}") for o in outcomes if o.status == "sent"}
    assert {r.token for r in standin.requests} == sent
    assert await channel.send([push(1, tok("after-stop"))], stop=stop) == [PushOutcome(1, "unsent")]


async def test_more_pushes_than_the_lanes_carry_in_one_call(
    channel: ApnsChannel, standin: ApnsStandIn
) -> None:
    n = apns.LANES * apns.IN_FLIGHT + 50  # chunks queue for a free lane
    pushes = [push(i, tok(f"many-{i}")) for i in range(n)]
    outcomes = await channel.send(pushes)
    assert [o.delivery_id for o in outcomes] == list(range(n))
    assert {o.status for o in outcomes} == {"sent"}
    assert sorted(r.token for r in standin.requests) == sorted(p.token for p in pushes)


async def test_channel_refuses_a_second_loop(channel: ApnsChannel) -> None:
    await channel.send([])

    def other_loop() -> None:
        asyncio.run(channel.send([]))

    with pytest.raises(RuntimeError, match="bound to the event loop"):
        await asyncio.to_thread(other_loop)


def test_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LINLI_APNS_KEY_ID, LINLI_APNS_TEAM_ID"):
        ApnsSettings.from_settings(Settings(env="test", apns_key_file="k.p8", apns_topic=TOPIC))
    assert not apns.configured(Settings(env="test"))
    full: dict[str, Any] = {
        "apns_key_id": KEY_ID,
        "apns_team_id": TEAM_ID,
        "apns_key_file": "k.p8",
        "apns_topic": TOPIC,
    }
    assert ApnsSettings.from_settings(Settings(env="test", **full)).base_url == apns.PRODUCTION_URL
    sandbox = Settings(env="test", apns_sandbox=True, **full)
    assert apns.configured(sandbox) and ApnsSettings.from_settings(sandbox).base_url == apns.SANDBOX_URL
    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "rsa.p8").write_bytes(rsa_pem)
    with pytest.raises(ValueError, match=r"not an APNs \.p8 key"):
        apns.load_key(str(tmp_path / "rsa.p8"))


async def test_doctor_says_whether_apns_is_live(standin: ApnsStandIn, key_file: Path, tmp_path: Path) -> None:
    """`linli doctor` builds the channel (reads the .p8, no push sent): live, or broken with the reason."""
    from workers.channels.registry import doctor_report

    live = await doctor_report(settings_for(standin, key_file))
    assert live["apns"]["configured"] is True and live["apns"]["status"] == "live"
    no_topic = await doctor_report(settings_for(standin, key_file, apns_topic=None))
    assert no_topic["apns"]["status"] == "broken" and "LINLI_APNS_TOPIC" in str(no_topic["apns"]["error"])
    (tmp_path / "not-a-key.p8").write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    bad_key = await doctor_report(settings_for(standin, tmp_path / "not-a-key.p8"))
    assert bad_key["apns"]["status"] == "broken"
    assert standin.requests == []
