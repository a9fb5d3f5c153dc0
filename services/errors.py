"""One error type for every expected failure: a stable code, an HTTP status, a localised message."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "request.invalid"
    # When True the request's transaction commits before the error is returned, so counters
    # such as failed OTP attempts or a revoked token family survive the failed request.
    keep_changes = False

    def __init__(
        self,
        code: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        keep_changes: bool | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        self.details = details or {}
        self.headers = headers or {}
        if keep_changes is not None:
            self.keep_changes = keep_changes
        super().__init__(self.code)


class InvalidInput(DomainError):
    status = 422


class Unauthorized(DomainError):
    status = 401
    code = "auth.required"


class Forbidden(DomainError):
    status = 403
    code = "access.forbidden"


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Gone(DomainError):
    status = 410


class PayloadTooLarge(DomainError):
    status = 413
    code = "request.too_large"


class RateLimited(DomainError):
    status = 429
    code = "request.rate_limited"

    def __init__(self, retry_after: int, code: str | None = None, **kwargs: Any) -> None:
        retry_after = max(1, int(retry_after))
        super().__init__(
            code,
            details={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
            **kwargs,
        )


class ServiceUnavailable(RateLimited):
    """A dependency (e.g. the SMS provider) is temporarily unavailable; try again after Retry-After."""

    status = 503
    code = "request.unavailable"


class DependencyUnavailable(ServiceUnavailable):
    """The database or Redis cannot be reached (down, restarting, pool exhausted): the request did
    nothing and may be retried after Retry-After."""

    code = "dependency.unavailable"

    def __init__(self, dependency: str, retry_after: int = 2) -> None:
        super().__init__(retry_after)
        self.details["dependency"] = dependency
