"""The Aliyun SMS provider: the official SDK against a loopback stand-in of the Dysms endpoint."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.main import create_app
from services.bootstrap import Resources, build_sms
from services.config import Settings
from services.notifications.sms import SmsConfigError, SmsRejected, SmsRetryLater
from services.notifications.sms_aliyun import (
    CHINA_TZ,
    AliyunSmsProvider,
    aliyun_phone_number,
    classify,
    seconds_to_china_midnight,
)
from services.runtime import Runtime
from tests.services.sms_standin import ACCESS_KEY_ID, ACCESS_KEY_SECRET, AliyunSmsStandIn

pytest.importorskip("alibabacloud_dysmsapi20170525", reason="the aliyun extra is not installed")

OK_PHONE = "+8613800138000"
THROTTLED = "+8613800138001"
ILLEGAL = "+8613800138002"
ERROR500 = "+8613800138003"
SLOW = "+8613800138004"
DAY_LIMIT = "+8613800138005"
GARBAGE = "+8613800138006"
SIGN = "邻里"
LOGIN_TEMPLATE = "SMS_LOGIN_001"
NOTICE_TEMPLATE = "SMS_NOTICE_002"
SMS_ENV = (
    "LINLI_SMS_PROVIDER",
    "LINLI_SMS_SIGN_NAME",
    "LINLI_SMS_LOGIN_TEMPLATE",
    "LINLI_SMS_ACCESS_KEY_ID",
    "LINLI_SMS_ACCESS_KEY_SECRET",
    "LINLI_SMS_NOTICE_TEMPLATE",
    "LINLI_SMS_ENDPOINT",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # darabonba sends plain-HTTP requests through $HTTP_PROXY and ignores $NO_PROXY.
    for name in ("HTTP_PROXY", "http_proxy", *SMS_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def standin() -> Iterator[AliyunSmsStandIn]:
    with AliyunSmsStandIn(slow_seconds=3.0) as server:
        yield server


def make_provider(standin: AliyunSmsStandIn, **overrides: object) -> AliyunSmsProvider:
    options: dict[str, object] = {
        "access_key_id": ACCESS_KEY_ID,
        "access_key_secret": ACCESS_KEY_SECRET,
        "sign_name": SIGN,
        "login_template": LOGIN_TEMPLATE,
        "notice_template": NOTICE_TEMPLATE,
        "endpoint": standin.url,
        "timeout_seconds": 1.0,
    }
    options.update(overrides)
    return AliyunSmsProvider(**options)  # type: ignore[arg-type]


@pytest.fixture
def provider(standin: AliyunSmsStandIn) -> AliyunSmsProvider:
    return make_provider(standin)


async def test_login_code_is_sent_with_the_login_template(
    standin: AliyunSmsStandIn, provider: AliyunSmsProvider
) -> None:
    before = len(standin.sent_to("13800138000"))
    await provider.send(OK_PHONE, "【邻里】您的验证码是 123456", code="123456")
    seen = standin.sent_to("13800138000")[before:]
    assert len(seen) == 1
    request = seen[0]
    assert request.signature_ok and request.problem is None
    assert request.access_key_id == ACCESS_KEY_ID
    assert request.headers["x-acs-action"] == "SendSms"
    assert request.headers["x-acs-version"] == "2017-05-25"
    assert request.params["PhoneNumbers"] == "13800138000"  # no +86
    assert request.params["SignName"] == SIGN
    assert request.params["TemplateCode"] == LOGIN_TEMPLATE
    assert request.template_param == {"code": "123456"}


async def test_other_texts_use_the_notice_template(
    standin: AliyunSmsStandIn, provider: AliyunSmsProvider
) -> None:
    before = len(standin.sent_to("13800138000"))
    await provider.send(OK_PHONE, "3号楼今晚停水")
    (request,) = standin.sent_to("13800138000")[before:]
    assert request.signature_ok
    assert request.params["TemplateCode"] == NOTICE_TEMPLATE
    assert request.template_param == {"content": "3号楼今晚停水"}


async def test_catalogue_templates_go_out_with_their_code_and_named_variables(
    standin: AliyunSmsStandIn,
) -> None:
    provider = make_provider(standin, template_codes={"notice_emergency": "SMS_EMERGENCY_003"})
    before = len(standin.sent_to("13800138000"))
    params = {"title": "燃气泄漏", "content": "请立即关闭燃气总阀，到南门集合。"}
    await provider.send(OK_PHONE, "紧急通知：燃气泄漏。内容：请立即关闭燃气总阀，到南门集合。",
                        template="notice_emergency", params=params)  # fmt: skip
    (request,) = standin.sent_to("13800138000")[before:]
    assert request.signature_ok
    assert request.params["TemplateCode"] == "SMS_EMERGENCY_003"
    assert request.template_param == params
    # A catalogue key without an approved code falls back to the notice template, cut to 35 characters.
    await provider.send(OK_PHONE, "一" * 50, template="ticket_update", params={"kind": "报修"})
    last = standin.sent_to("13800138000")[-1]
    assert last.params["TemplateCode"] == NOTICE_TEMPLATE
    assert last.template_param == {"content": "一" * 34 + "…"}


async def test_text_without_notice_template_is_rejected_locally(standin: AliyunSmsStandIn) -> None:
    provider = make_provider(standin, notice_template=None)
    before = len(standin.requests)
    with pytest.raises(SmsRejected) as info:
        await provider.send(OK_PHONE, "hello")
    assert info.value.code == "linli.NO_NOTICE_TEMPLATE"
    assert len(standin.requests) == before


async def test_flow_control_means_retry_later(provider: AliyunSmsProvider) -> None:
    with pytest.raises(SmsRetryLater) as info:
        await provider.send(THROTTLED, "code", code="111111")
    assert "isv.BUSINESS_LIMIT_CONTROL" in str(info.value)
    assert info.value.retry_after == 60  # 分钟级流控


async def test_daily_limit_waits_until_china_midnight(provider: AliyunSmsProvider) -> None:
    with pytest.raises(SmsRetryLater) as info:
        await provider.send(DAY_LIMIT, "code", code="111111")
    assert info.value.retry_after is not None and 60 <= info.value.retry_after <= 86400


async def test_illegal_number_is_rejected_with_aliyun_code(provider: AliyunSmsProvider) -> None:
    with pytest.raises(SmsRejected) as info:
        await provider.send(ILLEGAL, "code", code="111111")
    assert info.value.code == "isv.MOBILE_NUMBER_ILLEGAL"
    assert info.value.message == "非法手机号"


@pytest.mark.parametrize("phone", [ERROR500, GARBAGE], ids=["500-json", "502-html"])
async def test_server_errors_mean_retry_later(provider: AliyunSmsProvider, phone: str) -> None:
    with pytest.raises(SmsRetryLater) as info:
        await provider.send(phone, "code", code="111111")
    assert info.value.retry_after is not None and info.value.retry_after > 0


async def test_slow_provider_times_out_without_blocking_the_loop(standin: AliyunSmsStandIn) -> None:
    provider = make_provider(standin, timeout_seconds=0.5)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    try:
        with pytest.raises(SmsRetryLater):
            await provider.send(SLOW, "code", code="111111")
    finally:
        task.cancel()
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert ticks >= 10  # the loop kept running while the SDK waited


async def test_unreachable_endpoint_means_retry_later() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = AliyunSmsProvider(
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
        sign_name=SIGN,
        login_template=LOGIN_TEMPLATE,
        endpoint=f"http://127.0.0.1:{port}",
        timeout_seconds=1.0,
    )
    with pytest.raises(SmsRetryLater):
        await provider.send(OK_PHONE, "code", code="111111")


async def test_wrong_secret_fails_the_standins_signature_check(standin: AliyunSmsStandIn) -> None:
    provider = make_provider(standin, access_key_secret="not-the-secret")
    with pytest.raises(SmsRejected) as info:
        await provider.send(OK_PHONE, "code", code="111111")
    assert info.value.code == "SignatureDoesNotMatch"
    assert standin.requests[-1].access_key_id == ACCESS_KEY_ID
    assert not standin.requests[-1].signature_ok


async def test_unknown_access_key_is_rejected(standin: AliyunSmsStandIn) -> None:
    provider = make_provider(standin, access_key_id="LTAI-unknown")
    with pytest.raises(SmsRejected) as info:
        await provider.send(OK_PHONE, "code", code="111111")
    assert info.value.code == "InvalidAccessKeyId.NotFound"


async def test_concurrent_sends_share_one_client(
    standin: AliyunSmsStandIn, provider: AliyunSmsProvider
) -> None:
    before = len(standin.sent_to("13800138000"))
    await asyncio.gather(*(provider.send(OK_PHONE, "x", code=f"{n:06d}") for n in range(5)))
    seen = standin.sent_to("13800138000")[before:]
    assert sorted(r.template_param["code"] for r in seen) == [f"{n:06d}" for n in range(5)]
    assert all(r.signature_ok for r in seen)


# --- pure helpers ---


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+8613800138000", "13800138000"),
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+85291234567", "85291234567"),
    ],
)
def test_phone_numbers_drop_the_plus_and_mainland_prefix(phone: str, expected: str) -> None:
    assert aliyun_phone_number(phone) == expected


@pytest.mark.parametrize("phone", ["", "+86", "abc", "+86138００138000"])
def test_non_numbers_are_rejected(phone: str) -> None:
    with pytest.raises(SmsRejected):
        aliyun_phone_number(phone)


def test_classification() -> None:
    hourly = classify("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5")
    assert isinstance(hourly, SmsRetryLater) and hourly.retry_after == 3600
    daily = classify("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10")
    assert isinstance(daily, SmsRetryLater) and daily.retry_after is not None and daily.retry_after > 60
    api = classify("Throttling.User", "Request was denied due to user flow control.", status=400)
    assert isinstance(api, SmsRetryLater)
    assert isinstance(classify("isp.SYSTEM_ERROR", "", status=200), SmsRetryLater)
    assert isinstance(classify(None, "", status=503), SmsRetryLater)
    for code in (
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "InvalidAccessKeyId.NotFound",
        "isv.AMOUNT_NOT_ENOUGH",
    ):
        rejected = classify(code, "msg", status=200)
        assert isinstance(rejected, SmsRejected) and rejected.code == code


def test_china_midnight() -> None:
    assert seconds_to_china_midnight(datetime(2026, 3, 1, 23, 0, tzinfo=CHINA_TZ)) == 3600
    assert seconds_to_china_midnight(datetime(2026, 3, 1, 23, 59, 59, tzinfo=CHINA_TZ)) == 60


# --- building from settings ---


def test_build_sms_names_every_missing_setting(tmp_path: Path) -> None:
    settings = Settings(env="test", var_dir=tmp_path, sms_provider="aliyun")
    with pytest.raises(SmsConfigError) as info:
        build_sms(settings)
    for name in (
        "LINLI_SMS_SIGN_NAME",
        "LINLI_SMS_LOGIN_TEMPLATE",
        "LINLI_SMS_ACCESS_KEY_ID",
        "LINLI_SMS_ACCESS_KEY_SECRET",
    ):
        assert name in str(info.value)


def test_build_sms_names_only_what_is_missing(tmp_path: Path) -> None:
    settings = Settings(
        env="test",
        var_dir=tmp_path,
        sms_provider="aliyun",
        sms_sign_name=SIGN,
        sms_login_template=LOGIN_TEMPLATE,
    )
    with pytest.raises(SmsConfigError) as info:
        build_sms(settings)
    text = str(info.value)
    assert "LINLI_SMS_ACCESS_KEY_ID" in text and "LINLI_SMS_ACCESS_KEY_SECRET" in text
    assert "LINLI_SMS_SIGN_NAME" not in text and "LINLI_SMS_LOGIN_TEMPLATE" not in text


def test_build_sms_without_the_sdk_points_at_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "alibabacloud_dysmsapi20170525", None)
    settings = _aliyun_settings(tmp_path, "https://dysmsapi.aliyuncs.com")
    with pytest.raises(SmsConfigError, match=r"linli\[aliyun\]"):
        build_sms(settings)


def test_build_sms_refuses_a_bad_endpoint(tmp_path: Path) -> None:
    with pytest.raises(SmsConfigError, match="LINLI_SMS_ENDPOINT"):
        build_sms(_aliyun_settings(tmp_path, "ftp://example.com"))


async def test_build_sms_from_settings_sends(standin: AliyunSmsStandIn, tmp_path: Path) -> None:
    sms = build_sms(_aliyun_settings(tmp_path, standin.url))
    assert isinstance(sms, AliyunSmsProvider)
    assert sms.endpoint == standin.url
    before = len(standin.sent_to("13800138000"))
    await sms.send(OK_PHONE, "x", code="654321")
    (request,) = standin.sent_to("13800138000")[before:]
    assert request.signature_ok and request.template_param == {"code": "654321"}


def _aliyun_settings(tmp_path: Path, endpoint: str) -> Settings:
    return Settings(
        env="test",
        var_dir=tmp_path,
        sms_provider="aliyun",
        sms_sign_name=SIGN,
        sms_login_template=LOGIN_TEMPLATE,
        sms_access_key_id=ACCESS_KEY_ID,  # type: ignore[arg-type]
        sms_access_key_secret=ACCESS_KEY_SECRET,  # type: ignore[arg-type]
        sms_endpoint=endpoint,
        sms_timeout_seconds=2.0,
    )


# --- through the API ---


@pytest.fixture
async def aliyun_client(
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis | None,
    provider: AliyunSmsProvider,
) -> AsyncIterator[httpx.AsyncClient]:
    runtime = Runtime(settings=settings, sms=provider, redis=redis)
    application = create_app(settings, Resources(engine=engine, sessionmaker=sessionmaker, runtime=runtime))
    transport = httpx.ASGITransport(app=application, client=("203.0.113.9", 50000))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://linli.test") as client,
    ):
        yield client


async def test_otp_login_end_to_end_through_aliyun(
    aliyun_client: httpx.AsyncClient, standin: AliyunSmsStandIn
) -> None:
    before = len(standin.sent_to("13800138000"))
    r = await aliyun_client.post("/v1/auth/otp", json={"phone": "13800138000"})
    assert r.status_code == 202, r.text
    (request,) = standin.sent_to("13800138000")[before:]
    assert request.signature_ok
    assert request.params["TemplateCode"] == LOGIN_TEMPLATE
    code = request.template_param["code"]
    assert len(code) == 6 and code.isdigit()

    r = await aliyun_client.post("/v1/auth/login", json={"phone": "13800138000", "code": code})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["phone"] == OK_PHONE


async def test_otp_when_provider_throttles_is_503_not_500(aliyun_client: httpx.AsyncClient) -> None:
    r = await aliyun_client.post("/v1/auth/otp", json={"phone": "13800138001"})
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "auth.sms_unavailable"
    assert int(r.headers["Retry-After"]) >= 1
    # No code was delivered, so none may be accepted.
    r = await aliyun_client.post("/v1/auth/login", json={"phone": "13800138001", "code": "123456"})
    assert r.json()["error"]["code"] == "auth.otp_expired"


async def test_otp_to_a_number_the_provider_refuses_is_422(aliyun_client: httpx.AsyncClient) -> None:
    r = await aliyun_client.post("/v1/auth/otp", json={"phone": "13800138002"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "auth.sms_rejected"
    assert r.json()["error"]["details"]["provider_code"] == "isv.MOBILE_NUMBER_ILLEGAL"
