"""RFC 7807 problem details: the one shape every error of the local platform takes.

Handlers raise :class:`Problem`; :func:`handle_exception` (the app's single
exception handler) turns it — and the router's 404/405, the content and
runtime modules' typed errors, validation errors and anything unexpected —
into ``application/problem+json``.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from caged_platform.content.content_errors import ContentError
from caged_platform.errors import Problem
from caged_platform.observe.errors import ObserveError
from caged_platform.runtime.api import CageError, CageNotFound, CagePaused

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "Problem",
    "describe_validation_error",
    "handle_exception",
    "problem_response",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"

_log = logging.getLogger(__name__)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    status: int,
    detail: str,
    *,
    reason: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build an ``application/problem+json`` response."""
    title = _title(status)
    body: dict[str, Any] = {
        "type": "https://caged.dev/errors/" + title.replace(" ", "").replace("-", ""),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if reason is not None:
        body["reason"] = reason
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


def describe_validation_error(error: ValidationError) -> str:
    """One sentence naming the first offending field and what is wrong with it."""
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        return f"unknown field {field!r}"
    if first["type"] == "missing":
        return f"field {field!r} is required"
    if not field:
        return message
    return f"field {field!r}: {message}"


_ROUTER_DETAILS = {
    404: "no such endpoint",
    405: "method not allowed on this endpoint",
}


async def handle_exception(request: Request, exc: Exception) -> Response:
    """The app's single exception handler: everything becomes problem+json."""
    if isinstance(exc, Problem):
        return problem_response(exc.status, exc.detail, reason=exc.reason, headers=exc.headers)
    if isinstance(exc, ContentError):
        # The files, snapshots and MCP modules' own typed refusals.
        return problem_response(exc.status, exc.message, reason=exc.reason())
    if isinstance(exc, ObserveError):
        # The observe package's refusals: an unknown session/alert/rule, a bad parameter.
        return problem_response(exc.status, exc.detail)
    if isinstance(exc, (CageNotFound, CagePaused)):
        # The cage is not in a state to do this (its processes are gone, or it is frozen).
        return problem_response(409, str(exc))
    if isinstance(exc, CageError):
        _log.warning("runtime failure on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(500, str(exc))
    if isinstance(exc, ValidationError):
        return problem_response(400, describe_validation_error(exc))
    if isinstance(exc, HTTPException):
        # Router errors: an unknown path or a method the path does not have.
        detail = _ROUTER_DETAILS.get(exc.status_code) or str(exc.detail)
        return problem_response(exc.status_code, detail, headers=dict(exc.headers or {}))
    _log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "the local platform failed to handle this request")
