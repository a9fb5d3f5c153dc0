"""The aiohttp client under firebase-admin (workers.channels.fcm_transport) against the loopback stand-in:
what the httpx client did and the existing channel tests do not reach (lost connections, token
rotation, which client carries what)."""

from __future__ import annotations

from typing import Any

from firebase_admin import messaging

from tests.workers.fcm_standin import FcmStandIn
from tests.workers.test_fcm_channel import PROJECT, TOKEN, push
from workers.channels.fcm import FcmChannel, FcmSettings, StaticTokenCredentials
from workers.channels.fcm_transport import AiohttpSdkClient


class RotatingToken(StaticTokenCredentials):
    """Starts expired; every refresh hands out the next token."""

    def __init__(self) -> None:
        super().__init__("unused")
        self.token = None
        self.refreshes = 0

    @property
    def valid(self) -> bool:  # type: ignore[override]
        return self.token is not None

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = f"rotated-{self.refreshes}"


def _clients(ch: FcmChannel) -> list[Any]:
    return [messaging._get_messaging_service(app)._async_client for app in ch.apps]


async def test_http_urls_go_through_aiohttp_and_h2c_keeps_the_sdk_client(standin: FcmStandIn) -> None:
    ch = FcmChannel(FcmSettings(standin.base_url, PROJECT, f"static:{TOKEN}"))
    h2c = FcmChannel(FcmSettings("h2c://127.0.0.1:9", PROJECT, f"static:{TOKEN}"))
    try:
        assert all(isinstance(c, AiohttpSdkClient) for c in _clients(ch))
        assert not any(isinstance(c, AiohttpSdkClient) for c in _clients(h2c))
        [ok] = await ch.send([push(1, "tok-a")])
        assert ok.status == "sent"
        [received] = standin.requests_for("tok-a")
        # The SDK's own headers still go out, beside the bearer token.
        assert received.headers["x-goog-api-format-version"] == "2"
        assert received.headers["x-firebase-client"].startswith("fire-admin-python/")
        assert "gl-python/" in received.headers["x-goog-api-client"]
        assert received.headers["content-type"] == "application/json"
        assert received.body["message"]["token"] == "tok-a"
    finally:
        await ch.aclose()
        await h2c.aclose()


async def test_an_expired_token_is_refreshed_once_before_the_batch(standin: FcmStandIn) -> None:
    credential = RotatingToken()
    ch = FcmChannel(FcmSettings(standin.base_url, PROJECT), credential=credential)
    try:
        outcomes = await ch.send([push(i, f"rot-{i}") for i in range(20)])
        assert {o.status for o in outcomes} == {"sent"}
        assert credential.refreshes == 1
        assert {standin.requests_for(f"rot-{i}")[0].headers["authorization"] for i in range(20)} == {
            "Bearer rotated-1"
        }
    finally:
        await ch.aclose()


async def test_a_connection_lost_mid_request_is_one_retry_never_a_silent_resend(standin: FcmStandIn) -> None:
    ch = FcmChannel(FcmSettings(standin.base_url, PROJECT, f"static:{TOKEN}"))
    try:
        standin.behave("tok-drop", "drop_once")
        pushes = [push(100 + i, f"tok-{i}") for i in range(30)] + [push(99, "tok-drop")]
        outcomes = await ch.send(pushes)
        by_id = {o.delivery_id: o for o in outcomes}
        assert by_id[99].status == "retry" and by_id[99].message_id is None
        assert all(by_id[100 + i].status == "sent" for i in range(30))
        # The lost request went out once; neither aiohttp nor the SDK re-sent it on its own.
        assert len(standin.requests_for("tok-drop")) == 1
        # The delivery row's retry sends it again: accepted exactly once, on a fresh connection.
        [again] = await ch.send([push(99, "tok-drop")])
        assert again.status == "sent" and again.message_id
        answers = [r.status for r in standin.requests_for("tok-drop")]
        assert answers.count(200) == 1 and len(answers) == 2
        assert len({o.message_id for o in outcomes if o.status == "sent"} | {again.message_id}) == 31
    finally:
        await ch.aclose()
