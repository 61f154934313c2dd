"""The one place where an HTTP error response becomes an exception.

Every non-2xx answer passes through :func:`error_from_response`, whatever its
body looks like: RFC 7807 ``application/problem+json``, the legacy
``{"error": "…"}``, plain text (the router's ``404 page not found``) or
nothing at all. The message follows the contract's precedence:
``detail`` > ``error`` > ``"<title> (HTTP n)"`` > short plain text > ``"HTTP n"``.
"""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import ValidationError

from caged_core.errors import (
    CagedAPIError,
    CagedAuthError,
    CagedNotFoundError,
    CagedPlanLimitError,
    CagedRateLimitError,
    CagedServerError,
    CagedValidationError,
    ErrorReason,
)

__all__ = ["error_from_response", "invalid_request", "retry_after_seconds"]

PLAN_LIMIT_CODE = "plan_limit_reached"
# Longer plain-text bodies are pages (HTML from a proxy, stack traces), not messages.
_SHORT_TEXT = 200


def _class_for(status: int, reason: ErrorReason | None) -> type[CagedAPIError]:
    if reason is not None and reason.code == PLAN_LIMIT_CODE:
        return CagedPlanLimitError
    if status in (400, 422):
        return CagedValidationError
    if status in (401, 403):
        return CagedAuthError
    if status == 404:
        return CagedNotFoundError
    if status == 429:
        return CagedRateLimitError
    if status >= 500:
        return CagedServerError
    return CagedAPIError


def _json_body(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _str_field(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value.strip() if isinstance(value, str) else ""


def _short_text(text: str) -> str:
    text = text.strip()
    if not text or len(text) > _SHORT_TEXT or "\n" in text or text.startswith("<"):
        return ""
    return text


def retry_after_seconds(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """How long the server asks us to wait: ``Retry-After`` (seconds or an
    HTTP date), else ``X-RateLimit-Reset`` (unix seconds); ``None`` if neither."""
    current = time.time() if now is None else now
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - current)
        except (TypeError, ValueError):
            pass
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - current)
        except ValueError:
            return None
    return None


def error_from_response(response: httpx.Response) -> CagedAPIError:
    """Build the exception for an error ``response`` (its body must be read)."""
    status = response.status_code
    text = response.text
    body = _json_body(text) or {}
    reason = ErrorReason.from_json(body.get("reason"))
    title = _str_field(body, "title")
    message = (
        _str_field(body, "detail")
        or _str_field(body, "error")
        or (f"{title} (HTTP {status})" if title else "")
        or ("" if body else _short_text(text))
        or f"HTTP {status}"
    )
    cls = _class_for(status, reason)
    common: dict[str, Any] = {
        "status": status,
        "title": title,
        "type": _str_field(body, "type"),
        "reason": reason,
        "body": text,
        "request_id": response.headers.get("x-request-id"),
    }
    if cls is CagedRateLimitError:
        return CagedRateLimitError(
            message, retry_after=retry_after_seconds(response.headers), **common
        )
    return cls(message, **common)


def invalid_request(what: str, err: ValidationError) -> CagedValidationError:
    """A request body that failed validation before it was sent.

    Raised as the 400 the server would have answered, so callers handle one
    class; raise it ``from None`` — pydantic's text quotes the (maybe secret)
    input.
    """
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors()
    )
    return CagedValidationError(f"invalid {what}: {problems}", status=400, title="Bad Request")
