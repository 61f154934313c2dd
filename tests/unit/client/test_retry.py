"""Retry policy: which methods and statuses repeat, how long they wait."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from client_fakes import FakeAPI, make_client

from caged_core.client import RetryPolicy
from caged_core.errors import (
    CagedConnectionError,
    CagedRateLimitError,
    CagedServerError,
)


def sequence(
    *responses: httpx.Response | type[Exception],
) -> Callable[[httpx.Request], httpx.Response]:
    """A handler answering with ``responses`` in turn (an exception class is raised)."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0)
        if isinstance(item, httpx.Response):
            return item
        raise item("boom", request=request)  # type: ignore[call-arg]

    return handler


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_get_retries_gateway_errors_with_backoff(api: FakeAPI, status: int) -> None:
    api.route(
        "GET",
        "/v1/sandboxes",
        sequence(httpx.Response(status), httpx.Response(status), httpx.Response(200, json=[])),
    )
    async with make_client(api) as caged:
        assert (await caged.sandboxes.list()).items == []
    assert len(api.requests) == 3
    assert api.sleeps == [0.5, 1.0]  # jitter pinned to 0 → the plain backoff


async def test_retries_give_up_after_max_retries(api: FakeAPI) -> None:
    api.route("GET", "/v1/sandboxes", httpx.Response(503))
    async with make_client(api) as caged:
        with pytest.raises(CagedServerError):
            await caged.sandboxes.list()
    assert len(api.requests) == 3


async def test_max_retries_configurable(api: FakeAPI) -> None:
    api.route("GET", "/v1/sandboxes", httpx.Response(503))
    async with make_client(api, retries=0) as caged:
        with pytest.raises(CagedServerError):
            await caged.sandboxes.list()
    assert len(api.requests) == 1 and api.sleeps == []


async def test_500_is_not_retried(api: FakeAPI) -> None:
    api.route("GET", "/v1/sandboxes", httpx.Response(500))
    async with make_client(api) as caged:
        with pytest.raises(CagedServerError):
            await caged.sandboxes.list()
    assert len(api.requests) == 1


async def test_put_and_delete_retry_too(api: FakeAPI) -> None:
    api.route(
        "PUT",
        "/v1/alerts/rules/r",
        sequence(httpx.Response(502), httpx.Response(200, json={"id": "r"})),
    )
    api.route("DELETE", "/v1/snapshots/s", sequence(httpx.Response(504), httpx.Response(204)))
    async with make_client(api) as caged:
        await caged.alerts.update_rule("r", enabled=False)
        await caged.snapshots.delete("s")
    assert [r.method for r in api.requests] == ["PUT", "PUT", "DELETE", "DELETE"]


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_post_is_never_retried(api: FakeAPI, status: int) -> None:
    api.route("POST", "/v1/sandboxes", httpx.Response(status, headers={"Retry-After": "1"}))
    api.route("POST", "/v1/sandboxes/s/exec", httpx.Response(status))
    async with make_client(api) as caged:
        with pytest.raises((CagedServerError, CagedRateLimitError)):
            await caged.sandboxes.create(template="minimal")
        with pytest.raises((CagedServerError, CagedRateLimitError)):
            await caged.sandboxes.exec("s", "true")
    assert len(api.requests) == 2 and api.sleeps == []


async def test_post_connection_error_is_not_retried(api: FakeAPI) -> None:
    api.route(
        "POST", "/v1/sandboxes/s/exec", sequence(httpx.ConnectError, httpx.Response(200, json={}))
    )
    async with make_client(api) as caged:
        with pytest.raises(CagedConnectionError):
            await caged.sandboxes.exec("s", "true")
    assert len(api.requests) == 1


async def test_get_connection_error_is_retried(api: FakeAPI) -> None:
    api.route(
        "GET",
        "/v1/account",
        sequence(httpx.ConnectError, httpx.ReadError, httpx.Response(200, json={"id": "a"})),
    )
    async with make_client(api) as caged:
        assert (await caged.account.get()).id == "a"
    assert len(api.requests) == 3 and len(api.sleeps) == 2


async def test_429_honours_retry_after(api: FakeAPI) -> None:
    api.route(
        "GET",
        "/v1/alerts",
        sequence(httpx.Response(429, headers={"Retry-After": "12"}), httpx.Response(200, json=[])),
    )
    async with make_client(api) as caged:
        await caged.alerts.list()
    assert api.sleeps == [12.0]


async def test_429_honours_ratelimit_reset(api: FakeAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("caged_core.client._errors.time.time", lambda: 1_000.0)
    api.route(
        "GET",
        "/v1/alerts",
        sequence(
            httpx.Response(429, headers={"X-RateLimit-Reset": "1030"}), httpx.Response(200, json=[])
        ),
    )
    async with make_client(api) as caged:
        await caged.alerts.list()
    assert api.sleeps == [30.0]


async def test_429_beyond_the_cap_raises_at_once(api: FakeAPI) -> None:
    api.route(
        "GET",
        "/v1/alerts",
        httpx.Response(429, headers={"Retry-After": "61"}, json={"error": "slow down"}),
    )
    async with make_client(api) as caged:
        with pytest.raises(CagedRateLimitError) as info:
            await caged.alerts.list()
    assert info.value.retry_after == 61 and str(info.value) == "slow down"
    assert api.sleeps == [] and len(api.requests) == 1


async def test_429_without_a_hint_backs_off(api: FakeAPI) -> None:
    api.route("GET", "/v1/alerts", sequence(httpx.Response(429), httpx.Response(200, json=[])))
    async with make_client(api) as caged:
        await caged.alerts.list()
    assert api.sleeps == [0.5]


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=8, jitter=lambda: 1.0)
    assert [policy.delay(n) for n in range(6)] == [0.5, 1, 2, 4, 4, 4]
    plain = RetryPolicy(base_delay=1, max_delay=8, jitter=lambda: 0.0)
    assert [plain.delay(n) for n in range(6)] == [1, 2, 4, 8, 8, 8]
    assert plain.delay(0, server_wait=60) == 60
    assert plain.delay(0, server_wait=60.5) is None
    assert plain.should_retry("get", 1) and not plain.should_retry("GET", 2)
    assert not plain.should_retry("POST", 0) and not plain.should_retry("PATCH", 0)


async def test_default_jitter_stays_in_range() -> None:
    policy = RetryPolicy()
    delays = [policy.delay(1) for _ in range(50)]
    assert all(0.5 <= d <= 1.0 for d in delays)
