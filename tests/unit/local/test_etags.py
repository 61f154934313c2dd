"""Conditional GETs of the local platform (caged_platform/http/etags.py) and the
sandbox list's weak validator, which ignores costs that only grew with the clock."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from caged_platform.http import etags
from caged_platform.http.routes.sandboxes import COST_FRESHNESS, _cost_blind


def _request(method: str = "GET", if_none_match: str | None = None) -> Request:
    headers = [(b"if-none-match", if_none_match.encode())] if if_none_match else []
    return Request({"type": "http", "method": method, "path": "/v1/x", "headers": headers})


def test_if_none_match_uses_weak_comparison_lists_and_star() -> None:
    tag = etags.strong(b"[1]")
    assert etags.matches(tag, tag)
    assert etags.matches(f'"other", W/{tag}', tag)
    assert etags.matches("*", tag)
    assert etags.matches(tag, "W/" + tag)
    assert not etags.matches('"other"', tag)
    assert not etags.matches(None, tag)
    assert not etags.matches("", tag)


def test_json_answer_gets_a_strong_tag_and_304_when_the_client_has_it() -> None:
    first = etags.conditional(_request(), JSONResponse([1, 2]))
    tag = first.headers["etag"]
    assert first.status_code == 200 and tag == etags.strong(b"[1,2]")
    again = etags.conditional(_request(if_none_match=tag), JSONResponse([1, 2]))
    assert again.status_code == 304 and again.body == b"" and again.headers["etag"] == tag
    changed = etags.conditional(_request(if_none_match=tag), JSONResponse([1, 2, 3]))
    assert changed.status_code == 200 and changed.headers["etag"] != tag


def test_a_handlers_own_tag_wins() -> None:
    answer = JSONResponse([1])
    answer.headers["ETag"] = etags.weak(b"state")
    result = etags.conditional(_request(if_none_match=etags.weak(b"state")), answer)
    assert result.status_code == 304 and result.headers["etag"] == etags.weak(b"state")


def test_writes_errors_and_streams_pass_unchanged() -> None:
    created = JSONResponse({"id": 1}, status_code=201)
    assert etags.conditional(_request("POST"), created) is created
    assert "etag" not in created.headers
    problem = JSONResponse({"detail": "no"}, status_code=404)
    assert etags.conditional(_request(), problem) is problem
    stream = StreamingResponse(iter([b"x"]), media_type="application/json")
    assert etags.conditional(_request(), stream) is stream
    text = Response("plain", media_type="text/plain")
    assert etags.conditional(_request(), text) is text


def _sandbox(status: str, cost: float, **fields: Any) -> dict[str, Any]:
    return {
        "id": "cage-1",
        "status": status,
        "cost": cost,
        "llm_cost": 0.0,
        "total_cost": cost,
        **fields,
    }


def test_running_costs_do_not_change_the_list_validator_within_a_period() -> None:
    now = 10 * COST_FRESHNESS + 1
    one = _cost_blind([_sandbox("running", 0.001)], now)
    assert _cost_blind([_sandbox("running", 0.002)], now + 5) == one
    # Anything else is a change, and so is the next period (costs at most that old).
    assert _cost_blind([_sandbox("running", 0.002, template="python")], now) != one
    assert _cost_blind([_sandbox("running", 0.002, llm_cost=0.5)], now) != one
    assert _cost_blind([_sandbox("running", 0.002)], now + COST_FRESHNESS) != one


def test_without_running_sandboxes_the_validator_covers_every_field() -> None:
    paused = _cost_blind([_sandbox("paused", 0.001)], 0)
    assert _cost_blind([_sandbox("paused", 0.002)], 0) != paused
    # Nothing drifts, so the period does not matter.
    assert _cost_blind([_sandbox("paused", 0.001)], 10 * COST_FRESHNESS) == paused
