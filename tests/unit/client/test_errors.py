"""Every error form of the contract maps to the right class and message."""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime

import httpx
import pytest
from client_fakes import SECRET, FakeAPI

from caged_core.client import AsyncCaged
from caged_core.client._errors import error_from_response, retry_after_seconds
from caged_core.errors import (
    CagedAPIError,
    CagedAuthError,
    CagedError,
    CagedNotFoundError,
    CagedPlanLimitError,
    CagedRateLimitError,
    CagedServerError,
    CagedValidationError,
    holds_no_secret,
    redact,
)

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str = "", **extra: object) -> httpx.Response:
    body = {"type": f"https://caged.dev/errors/{title}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return httpx.Response(status, content=json.dumps(body), headers={"content-type": PROBLEM})


@pytest.mark.parametrize(
    ("response", "cls", "message"),
    [
        (
            problem(400, "Bad Request", "unknown template 'x'"),
            CagedValidationError,
            "unknown template 'x'",
        ),
        (
            problem(422, "Unprocessable Entity", "cpus out of range"),
            CagedValidationError,
            "cpus out of range",
        ),
        (problem(401, "Unauthorized", "invalid API key"), CagedAuthError, "invalid API key"),
        (
            problem(403, "Forbidden", "key scope read_only cannot write"),
            CagedAuthError,
            "key scope read_only cannot write",
        ),
        (
            problem(404, "Not Found", "sandbox cage-1 not found"),
            CagedNotFoundError,
            "sandbox cage-1 not found",
        ),
        (problem(409, "Conflict", "sandbox is paused"), CagedAPIError, "sandbox is paused"),
        (
            problem(500, "Internal Server Error"),
            CagedServerError,
            "Internal Server Error (HTTP 500)",
        ),
        (
            problem(
                501, "Not Implemented", "billing is only available on the hosted Caged platform"
            ),
            CagedServerError,
            "billing is only available on the hosted Caged platform",
        ),
        (
            httpx.Response(400, json={"error": "template is required"}),
            CagedValidationError,
            "template is required",
        ),
        (httpx.Response(404, json={"error": "not found"}), CagedNotFoundError, "not found"),
        (httpx.Response(404, text="404 page not found"), CagedNotFoundError, "404 page not found"),
        (
            httpx.Response(400, text="invalid after_seq\n"),
            CagedValidationError,
            "invalid after_seq",
        ),
        (
            httpx.Response(502, text="<html><body>Bad gateway</body></html>"),
            CagedServerError,
            "HTTP 502",
        ),
        (httpx.Response(500, text="x" * 500), CagedServerError, "HTTP 500"),
        (httpx.Response(503), CagedServerError, "HTTP 503"),
        (httpx.Response(418), CagedAPIError, "HTTP 418"),
        (httpx.Response(400, json={"message": "unknown shape"}), CagedValidationError, "HTTP 400"),
    ],
)
def test_error_forms(response: httpx.Response, cls: type[CagedAPIError], message: str) -> None:
    error = error_from_response(response)
    assert type(error) is cls
    assert str(error) == message
    assert error.status == response.status_code
    assert isinstance(error, CagedError)


def test_precedence_detail_then_error_then_title() -> None:
    both = httpx.Response(400, json={"detail": "d", "error": "e", "title": "T"})
    assert str(error_from_response(both)) == "d"
    legacy = httpx.Response(400, json={"error": "e", "title": "T"})
    assert str(error_from_response(legacy)) == "e"
    titled = httpx.Response(400, json={"title": "T"})
    assert str(error_from_response(titled)) == "T (HTTP 400)"


def test_plan_limit_by_reason_code_at_any_status() -> None:
    reason = {
        "code": "plan_limit_reached",
        "message": "Free plan allows 2 concurrent sandboxes",
        "action": "upgrade_plan",
        "subject_type": "",
        "subject_id": "",
    }
    error = error_from_response(problem(403, "Forbidden", "sandbox limit reached", reason=reason))
    assert isinstance(error, CagedPlanLimitError) and isinstance(error, CagedAuthError)
    assert error.reason is not None and error.reason.action == "upgrade_plan"
    assert error.title == "Forbidden" and error.type.endswith("/Forbidden")
    other = error_from_response(problem(409, "Conflict", "x", reason=reason))
    assert isinstance(other, CagedPlanLimitError)
    classified = error_from_response(problem(403, "Forbidden", "x", reason={"code": "scope"}))
    assert type(classified) is CagedAuthError and classified.reason is not None


def test_rate_limit_retry_after_forms() -> None:
    seconds = error_from_response(httpx.Response(429, headers={"Retry-After": "7"}))
    assert isinstance(seconds, CagedRateLimitError) and seconds.retry_after == 7
    reset = str(int(time.time()) + 20)
    by_reset = error_from_response(
        httpx.Response(429, json={"error": "slow down"}, headers={"X-RateLimit-Reset": reset})
    )
    assert isinstance(by_reset, CagedRateLimitError)
    assert by_reset.retry_after is not None and 17 <= by_reset.retry_after <= 20
    assert str(by_reset) == "slow down"
    none = error_from_response(httpx.Response(429))
    assert isinstance(none, CagedRateLimitError) and none.retry_after is None


def test_retry_after_http_date_and_garbage() -> None:
    date = "Fri, 15 Jan 2027 08:00:10 GMT"
    when = parsedate_to_datetime(date).timestamp()
    assert retry_after_seconds(httpx.Headers({"Retry-After": date}), now=when - 10) == 10
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"}), now=when) is None
    assert retry_after_seconds(httpx.Headers({"X-RateLimit-Reset": "x"}), now=when) is None
    assert retry_after_seconds(httpx.Headers({"Retry-After": "-3"}), now=when) == 0
    assert retry_after_seconds(httpx.Headers({}), now=when) is None


def test_request_id_and_body_are_kept_but_redacted() -> None:
    response = httpx.Response(
        500, json={"error": f"bad key {SECRET}"}, headers={"X-Request-Id": "req-1"}
    )
    error = error_from_response(response)
    assert error.request_id == "req-1"
    assert SECRET not in str(error) and SECRET not in error.body and SECRET not in repr(error)


async def test_errors_raise_through_the_client(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("DELETE", "/v1/sandboxes/s", problem(404, "Not Found", "sandbox s not found"))
    with pytest.raises(CagedNotFoundError, match="sandbox s not found") as info:
        await client.sandboxes.destroy("s")
    assert info.value.status == 404
    with pytest.raises(CagedNotFoundError, match="404 page not found"):
        await client.sandboxes.get("unrouted")


@pytest.mark.parametrize(
    "text",
    [
        "curl -H 'Authorization: BeArEr abc.def' https://x",
        "export GITHUB_TOKEN=ghp_123",
        "https://h/?key=abc",
        "git clone https://user:hunter2@host/repo",
        "caged_sk_abcdef",
        "caged_wst_abcdef",
    ],
)
def test_every_kind_of_secret_is_seen_past_the_quick_check(text: str) -> None:
    assert not holds_no_secret(text)
    assert redact(text) != text


def test_text_without_the_literals_holds_no_secret() -> None:
    assert holds_no_secret('{"command":"ls -la /workspace","exit_code":0}')
