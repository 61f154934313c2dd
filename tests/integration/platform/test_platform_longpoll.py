"""Long-polled conditional GETs on the real local platform (caged_platform/http/longpoll.py):
a GET whose ``If-None-Match`` matches and which says ``Prefer: wait=N`` is held until
its answer changes or N seconds pass, answers with ``Preference-Applied``, is capped
per account, clamped to 60 s and released at once when the platform stops.

Held requests are known to be held without timing them: a probe with ``wait=0`` is
answered with ``Preference-Applied`` while the account may hold one more request,
and without it once the cap is reached."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from eventually import eventually_async

from caged_platform.http.longpoll import MAX_HELD, MAX_WAIT
from caged_platform.observe.alerts import RULE_DEFAULTS

pytestmark = pytest.mark.integration


@pytest.fixture
def own_platform(platform_runner: Any, tmp_path: Path) -> Any:
    with platform_runner(tmp_path) as running:
        yield running


@pytest.fixture
async def api(own_platform: Any) -> AsyncIterator[httpx.AsyncClient]:
    # One connection per held request: the pool must fit them all and a probe.
    limits = httpx.Limits(max_connections=MAX_HELD + 4)
    async with httpx.AsyncClient(
        base_url=f"{own_platform.url}/v1",
        headers=own_platform.headers,
        timeout=120,
        limits=limits,
    ) as client:
        yield client


async def _tag(api: httpx.AsyncClient, path: str) -> str:
    first = await api.get(path)
    assert first.status_code == 200, first.text
    return first.headers["etag"]


def _held_get(api: httpx.AsyncClient, path: str, tag: str, wait: int) -> Any:
    return asyncio.ensure_future(
        api.get(path, headers={"If-None-Match": tag, "Prefer": f"wait={wait}"})
    )


async def _fill(api: httpx.AsyncClient, path: str, tag: str) -> list[asyncio.Future[Any]]:
    """Hold as many requests as an account may (asking for more than the clamp) and
    return once the platform says the cap is reached."""
    held = [_held_get(api, path, tag, 999) for _ in range(MAX_HELD)]

    async def full() -> bool:
        probe = await api.get(path, headers={"If-None-Match": tag, "Prefer": "wait=0"})
        assert probe.status_code == 304
        return "preference-applied" not in probe.headers

    await eventually_async(full, what=f"{MAX_HELD} held requests")
    assert not any(request.done() for request in held)
    return held


async def _raise_alert(api: httpx.AsyncClient, session_id: str) -> None:
    spike = int(RULE_DEFAULTS["error_spike"]["error_count_threshold"])
    now = datetime.now(UTC).isoformat()
    events = [
        {"type": "error", "timestamp": now, "session_id": session_id, "payload": {}}
        for _ in range(spike)
    ]
    answer = await api.post("/events/ingest", json={"events": events})
    assert answer.is_success and not answer.json()["errors"], answer.text


async def test_held_gets_answer_when_an_alert_is_raised(api: httpx.AsyncClient) -> None:
    tag = await _tag(api, "/alerts?limit=20")
    held = await _fill(api, "/alerts?limit=20", tag)

    await _raise_alert(api, "longpoll-raise")

    for answer in await asyncio.gather(*held):
        assert answer.status_code == 200, answer.text
        assert answer.headers["preference-applied"] == f"wait={MAX_WAIT}"  # clamped
        assert answer.headers["etag"] != tag
        assert "longpoll-raise" in answer.text
    # The cap counts held requests only: with them answered, one may be held again.
    probe = await api.get("/alerts?limit=20", headers={"If-None-Match": "*", "Prefer": "wait=0"})
    assert probe.headers["preference-applied"] == "wait=0"


async def test_a_held_get_answers_304_when_its_wait_runs_out(api: httpx.AsyncClient) -> None:
    tag = await _tag(api, "/sandboxes")
    answer = await _held_get(api, "/sandboxes", tag, 1)
    assert answer.status_code == 304 and answer.headers["etag"] == tag
    assert answer.headers["preference-applied"] == "wait=1"


async def test_prefer_is_ignored_without_a_matching_etag_and_on_other_routes(
    api: httpx.AsyncClient,
) -> None:
    fresh = await api.get("/alerts", headers={"If-None-Match": '"old"', "Prefer": "wait=30"})
    assert fresh.status_code == 200 and "preference-applied" not in fresh.headers
    tag = await _tag(api, "/account/keys")
    other = await api.get("/account/keys", headers={"If-None-Match": tag, "Prefer": "wait=30"})
    assert other.status_code == 304 and "preference-applied" not in other.headers


async def test_a_client_that_goes_away_frees_its_places(
    own_platform: Any, api: httpx.AsyncClient
) -> None:
    tag = await _tag(api, "/sandboxes")
    held = await _fill(api, "/sandboxes", tag)
    for request in held:  # an app closed: its connections go, its requests unanswered
        request.cancel()
    await asyncio.gather(*held, return_exceptions=True)

    async def free() -> bool:
        probe = await api.get("/sandboxes", headers={"If-None-Match": tag, "Prefer": "wait=0"})
        return probe.headers.get("preference-applied") == "wait=0"

    # Kept until their 60 s ran out, the places would come back only after this gives up.
    await eventually_async(free, MAX_WAIT / 2, what="the cap's places back")


async def test_stopping_the_platform_answers_held_requests(
    own_platform: Any, api: httpx.AsyncClient
) -> None:
    tag = await _tag(api, "/notifications/unread-count")
    held = await _fill(api, "/notifications/unread-count", tag)

    # SIGTERM as `caged-platform stop` sends. Without the release, uvicorn waits for
    # requests in flight: they would answer only when their 60 s run out, so half of
    # that is a bound no loaded machine comes near, not a timing.
    own_platform.process.send_signal(signal.SIGTERM)
    answers = await asyncio.wait_for(asyncio.gather(*held), MAX_WAIT / 2)
    assert all(a.status_code == 304 and "preference-applied" in a.headers for a in answers)
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    exit_code = await asyncio.to_thread(own_platform.process.wait, MAX_WAIT / 2)
    assert exit_code in (0, -signal.SIGTERM)


def test_the_wait_preference_is_parsed_and_clamped() -> None:
    from caged_platform.http.longpoll import requested_wait

    assert requested_wait("wait=25") == 25
    assert requested_wait('respond-async, WAIT = "7"') == 7
    assert requested_wait("wait=100000") == MAX_WAIT
    assert requested_wait("return=minimal") is None
    assert requested_wait("wait=-1") is None
    assert requested_wait(None) is None
