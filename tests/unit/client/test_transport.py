"""Request building, timeouts, transport errors, state and the rate-limit view."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest
from client_fakes import SECRET, FakeAPI, make_client

from caged_core.client import AsyncCaged, _transport
from caged_core.client._transport import _PlainUntilTLS
from caged_core.client._version import USER_AGENT
from caged_core.errors import CagedConnectionError, CagedProtocolError, CagedTimeoutError


async def test_headers_auth_and_prefix(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/sandboxes", [])
    await client.sandboxes.list()
    request = api.last
    assert str(request.url) == "https://api.test/v1/sandboxes"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("caged-tui/")
    assert "content-type" not in request.headers


async def test_content_type_only_with_a_body(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("POST", "/v1/sandboxes/s1/pause", httpx.Response(204))
    api.route("POST", "/v1/sandboxes/s1/exec", {"output": "", "exit_code": 0})
    await client.sandboxes.pause("s1")
    assert "content-type" not in api.last.headers
    await client.sandboxes.exec("s1", "true")
    assert api.last.headers["content-type"] == "application/json"


async def test_path_segments_are_encoded_with_nothing_safe(
    api: FakeAPI, client: AsyncCaged
) -> None:
    api.route("GET", "/v1/sandboxes/a%2F..%2Fb", {"id": "a/../b"})
    sandbox = await client.sandboxes.get("a/../b")
    assert sandbox.id == "a/../b"
    assert api.last.url.raw_path == b"/v1/sandboxes/a%2F..%2Fb"
    api.route("GET", "/v1/snapshots/x%3Fy%23z%20w", {"id": "s"})
    await client.snapshots.get("x?y#z w")
    assert api.last.url.raw_path == b"/v1/snapshots/x%3Fy%23z%20w"


async def test_none_query_params_are_dropped(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/sessions/s/replay", {"events": []})
    await client.sessions.replay("s", after_seq=None, limit=50, type=None)
    assert dict(api.last.url.params) == {"limit": "50"}
    await client.sessions.replay("s")
    assert api.last.url.query == b""


async def test_default_and_per_call_timeouts(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/sandboxes", [])
    api.route("POST", "/v1/sandboxes", {"id": "s", "status": "running"})
    api.route("POST", "/v1/sandboxes/s/exec", {"output": "", "exit_code": 0})

    def budget() -> float:
        return float(api.last.extensions["timeout"]["read"])

    await client.sandboxes.list()
    assert budget() == 30.0
    await client.sandboxes.create(template="minimal")
    assert budget() == 360.0
    await client.sandboxes.exec("s", "true")
    assert budget() == 300.0
    await client.sandboxes.exec("s", "true", timeout=5)
    assert budget() == 5.0
    await client.sandboxes.list(timeout=1.5)
    assert budget() == 1.5


async def test_client_timeout_is_the_default_budget(api: FakeAPI) -> None:
    api.route("GET", "/v1/sandboxes", [])
    async with make_client(api, timeout=12) as caged:
        await caged.sandboxes.list()
    assert api.last.extensions["timeout"]["read"] == 12


async def test_timeout_error_reports_the_budget_in_force(api: FakeAPI) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    api.route("POST", "/v1/sandboxes/s/exec", slow)
    api.route("GET", "/v1/sandboxes", slow)
    async with make_client(api) as caged:
        with pytest.raises(CagedTimeoutError) as info:
            await caged.sandboxes.exec("s", "sleep 999", timeout=7)
        assert info.value.timeout == 7
        assert "7 s" in str(info.value)
        assert isinstance(info.value.__cause__, httpx.ReadTimeout)
        with pytest.raises(CagedTimeoutError) as info:
            await caged.sandboxes.list()
        assert info.value.timeout == 30
    assert api.sleeps == []  # a timeout is never retried


async def test_connection_error_is_wrapped_from_the_cause(api: FakeAPI) -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    api.route("POST", "/v1/sandboxes/s/pause", refused)
    async with make_client(api) as caged:
        with pytest.raises(CagedConnectionError) as info:
            await caged.sandboxes.pause("s")
    assert not isinstance(info.value, CagedTimeoutError)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert "Connection refused" in str(info.value)
    assert "https://api.test/v1/sandboxes/s/pause" in str(info.value)


async def test_unexpected_body_is_a_protocol_error(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/sandboxes/s", httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(CagedProtocolError):
        await client.sandboxes.get("s")
    api.route("GET", "/v1/account", {"email": "no id"})
    with pytest.raises(CagedProtocolError, match="unexpected answer"):
        await client.account.get()


async def test_rate_limit_view_follows_the_last_headers(api: FakeAPI, client: AsyncCaged) -> None:
    assert client.rate_limit.limit is None
    headers = {
        "X-RateLimit-Limit": "60",
        "X-RateLimit-Remaining": "59",
        "X-RateLimit-Reset": "1900000000",
    }
    api.route("GET", "/v1/sandboxes", httpx.Response(200, json=[], headers=headers))
    api.route("GET", "/v1/account", {"id": "acct"})
    await client.sandboxes.list()
    view = client.rate_limit
    assert (view.limit, view.remaining) == (60, 59)
    assert view.reset is not None and int(view.reset.timestamp()) == 1900000000
    await client.account.get()  # no headers: the last view stays
    assert client.rate_limit.remaining == 59


async def test_explicit_state_and_context_manager(api: FakeAPI) -> None:
    api.route("GET", "/v1/sandboxes", [])
    caged = make_client(api)
    assert not caged.is_closed
    async with caged:
        await caged.sandboxes.list()
    assert caged.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        await caged.sandboxes.list()
    await caged.aclose()  # closing twice is harmless


async def test_key_never_in_repr(api: FakeAPI, client: AsyncCaged) -> None:
    texts = [repr(client), str(client), repr(client.sandboxes), repr(vars(client))]
    texts.append(repr(vars(client._core)))
    assert all(SECRET not in text for text in texts)
    assert client.base_url == "https://api.test"


async def test_base_url_trailing_slash(api: FakeAPI) -> None:
    api.route("GET", "/v1/sandboxes", [])
    async with make_client(api, base_url="https://api.test/") as caged:
        await caged.sandboxes.list()
    assert str(api.last.url) == "https://api.test/v1/sandboxes"


async def test_no_ca_bundle_for_a_plain_http_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the CA bundle cost ~36 ms on the way to the TUI's first frame, for a local
    platform on http:// that never needs it; an https:// request still verifies."""
    bundles: list[str | None] = []
    original = ssl.create_default_context

    def counting(*args: object, cafile: str | None = None, **kwargs: object) -> ssl.SSLContext:
        bundles.append(cafile)
        return original(*args, cafile=cafile, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl, "create_default_context", counting)
    local = AsyncCaged(api_key="caged_sk_x", base_url="http://127.0.0.1:9")
    assert bundles == []
    with pytest.raises(CagedConnectionError):  # nothing listens on port 9 (discard)
        await local.sandboxes.get("s", timeout=5)
    assert bundles == []
    transport = local._core._http._transport
    assert isinstance(transport, _PlainUntilTLS)
    request = httpx.Request("GET", "https://127.0.0.1:9/x")
    with pytest.raises(httpx.ConnectError):
        await transport.handle_async_request(request)
    assert len(bundles) == 1 and bundles[0]  # verified, with a bundle, once asked for TLS
    await local.aclose()
    hosted = AsyncCaged(api_key="caged_sk_x", base_url="https://api.test")
    assert len(bundles) == 2
    await hosted.aclose()


async def test_an_unchanged_body_without_etag_is_not_parsed_again(
    api: FakeAPI, client: AsyncCaged, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hosted API sends no ETags: parsing its list of 10,000 sandboxes at every poll
    held the TUI's event loop for ~100 ms. An equal body is now recognised by its digest."""
    sandboxes = [{"id": "cage-1", "status": "running", "template": "minimal"}]
    api.route("GET", "/v1/sandboxes", lambda _req: httpx.Response(200, json=sandboxes))
    parsed: list[bytes] = []
    original = _transport.parse_json

    def counting(response: httpx.Response, into: Any) -> Any:
        parsed.append(response.content)
        return original(response, into)

    monkeypatch.setattr(_transport, "parse_json", counting)
    first = await client.sandboxes.list_if_changed()
    assert first.value is not None and first.etag
    same = await client.sandboxes.list_if_changed(etag=first.etag)
    assert same.value is None and same.etag == first.etag and len(parsed) == 1
    sandboxes[0]["status"] = "paused"
    changed = await client.sandboxes.list_if_changed(etag=first.etag)
    assert changed.value is not None and changed.value[0].status == "paused"
    assert changed.etag != first.etag and len(parsed) == 2
