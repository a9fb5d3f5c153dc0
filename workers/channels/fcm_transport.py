"""A lean HTTP client under firebase-admin's messaging service: aiohttp keep-alive instead of httpx.

firebase-admin still builds and encodes every message (`send_each_async` → `_message_data`), asks
the credential for its headers (`before_request`, `refresh` after a 401) and maps every error to its
FirebaseError subclasses (`_handle_fcm_httpx_error`). Only the object it calls for the bytes on the
wire — `_MessagingService._async_client`, whose sole use there is
`await request("post", url=…, headers=…, json=…)` returning something with `.json()` and raising
`httpx.HTTPError` — is replaced by `AiohttpSdkClient`, which keeps the SDK client's contract:

- auth: the credential's `before_request()` on every attempt, `refresh()` and a re-send after a 401,
  at most twice (the SDK's GoogleAuthCredentialFlow);
- retries: the SDK's own `HttpxRetry` policy object (500/503, 4 retries, 0.5 s exponential backoff),
  consulted with an httpx.Response built from the error answer;
- errors: a ≥ 400 answer raises `httpx.HTTPStatusError` carrying an `httpx.Response` (status, headers
  — Retry-After — and body), a timeout `httpx.ReadTimeout`, a refused/lost connection
  `httpx.ConnectError` / `httpx.RemoteProtocolError`: the SDK turns them into the same exceptions it
  does today, and `fcm.classify` reads them unchanged.

Why (docs/benchmarks.md, S6): per message the httpx path costs the worker ~1 ms of CPU in httpx's
request/response models, the auth-flow generator, httpcore's pool bookkeeping, and h2/hpack state
machines in pure Python. aiohttp's HTTP/1.1 parser (llhttp) and connection pool are C/Cython and
FCM v1 accepts HTTP/1.1, so one keep-alive connection per message in flight (`limit`) replaces one
HTTP/2 stream. aiohttp never re-sends a POST by itself, so a lost connection is one `retry`
outcome, never a silent duplicate.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx
import orjson
from firebase_admin import _http_client
from google.auth import credentials as ga_credentials
from google.auth.transport import requests as ga_requests

_MAX_REFRESH_ATTEMPTS = 2  # firebase_admin._http_client.GoogleAuthCredentialFlow
_REFRESH_STATUS = 401


class _Answer:
    """A 2xx answer: all `send_each_async` reads of it is `.json()`."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        self._body = body

    def json(self) -> Any:
        return orjson.loads(self._body)


class AiohttpSdkClient:
    """Drop-in for firebase_admin._http_client.HttpxAsyncClient as used by `_MessagingService`."""

    def __init__(
        self,
        credential: ga_credentials.Credentials,
        *,
        timeout: float,
        retry_config: Any,
        limit: int,
    ) -> None:
        self._credential = credential
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retry_config = retry_config  # firebase_admin._retry.HttpxRetry
        self._limit = limit
        self._headers = {**_http_client.METRICS_HEADERS, "Content-Type": "application/json"}
        self._auth_request = ga_requests.Request()
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop (aiohttp binds the session to it).
        session = self._session
        if session is None:
            connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=self._limit, ttl_dns_cache=300)
            session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, skip_auto_headers=("User-Agent",)
            )
            self._session = session
        return session

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        json: Any = None,
        timeout: Any = None,  # noqa: ASYNC109 - the SDK's keyword; the session's timeout applies
    ) -> _Answer:
        body = orjson.dumps(json)
        base = {**self._headers, **headers} if headers else dict(self._headers)
        attempt = 0
        while True:
            request_headers = dict(base)
            self._credential.before_request(self._auth_request, method, url, request_headers)  # type: ignore[no-untyped-call]
            answer = await self._with_retries(method, url, request_headers, body)
            if isinstance(answer, _Answer):
                return answer
            if answer.status_code != _REFRESH_STATUS or attempt >= _MAX_REFRESH_ATTEMPTS:
                raise httpx.HTTPStatusError(
                    f"HTTP {answer.status_code} from {url}", request=answer.request, response=answer
                )
            attempt += 1
            self._credential.refresh(self._auth_request)  # type: ignore[no-untyped-call]

    async def _with_retries(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> _Answer | httpx.Response:
        retry = None
        while True:
            status, answer_headers, content = await self._send_once(method, url, headers, body)
            if status < 400:
                return _Answer(content)
            response = httpx.Response(
                status, headers=answer_headers, content=content, request=httpx.Request(method, url)
            )
            if retry is None:
                retry = self._retry_config.copy()
            if not retry.is_retryable_response(response):
                return response
            retry.increment(response.request, response, None)
            if retry.is_exhausted():
                return response
            await retry.sleep(response)

    async def _send_once(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        session = self._open()
        try:
            async with session.request(method, url, data=body, headers=headers) as resp:
                content = await resp.read()
                return resp.status, list(resp.headers.items()), content
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"FCM did not answer in time: {exc!r}") from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        except aiohttp.ClientError as exc:  # lost mid-request, bad framing: the request may have landed
            raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


__all__ = ["AiohttpSdkClient"]
