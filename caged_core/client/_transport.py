"""The HTTP core every resource goes through.

It owns what must be identical for every call — URL and header building,
percent-encoding of caller-supplied path segments, dropping ``None`` query
parameters, per-call timeouts, retries, the rate-limit view and the single
status → exception choke point (:func:`~caged_core.client._errors.error_from_response`).
Transport failures are wrapped ``from err`` into :class:`CagedTimeoutError`
(carrying the budget that was in force) or :class:`CagedConnectionError`.

Like ``httpx.AsyncClient`` it has an explicit state (unopened → open →
closed), works as an async context manager, and takes a swappable
``transport=`` (e.g. ``httpx.MockTransport``) for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter, ValidationError

from caged_core.client._errors import error_from_response
from caged_core.client._retry import RetryPolicy
from caged_core.client._version import USER_AGENT
from caged_core.errors import (
    CagedConnectionError,
    CagedError,
    CagedProtocolError,
    CagedTimeoutError,
)
from caged_core.models import RateLimit

__all__ = [
    "API_PREFIX",
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "APICore",
    "Conditional",
    "EncodedJSON",
    "Secret",
    "encode_path",
    "parse_json",
    "transport_error",
]

log = logging.getLogger("caged_core.client")

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.caged.dev"
DEFAULT_TIMEOUT = 30.0
API_PREFIX = "/v1"


class EncodedJSON(bytes):
    """A request body already encoded as JSON (by pydantic, say): passed as ``json=`` it
    is sent as it is instead of being encoded again."""


class Secret:
    """A credential that never shows itself in a repr, a str or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself — only for the Authorization header and socket URLs."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def encode_path(template: str, *segments: object) -> str:
    """Fill ``{}`` placeholders in ``template`` with percent-encoded segments.

    Nothing is safe, so ``a/../b`` stays one segment (``a%2F..%2Fb``) and can
    never walk the route tree.
    """
    return template.format(*(quote(str(s), safe="") for s in segments))


@dataclass(frozen=True, slots=True)
class Conditional(Generic[T]):
    """The answer to a conditional GET.

    Attributes:
        value: the parsed body; None when it did not change (``304``).
        etag: the validator to send next time (None when the server sends none).
        held: whether the server held the request as ``Prefer: wait`` asked
            (``Preference-Applied``: a local-platform extension; hosted ignores it).
    """

    value: T | None
    etag: str | None
    held: bool = False


class _PlainUntilTLS(httpx.AsyncBaseTransport):
    """The transport of a client whose platform answers on plain ``http://`` (the local one).

    A verifying transport loads the CA bundle when it is made (~36 ms, on the way to
    the TUI's first frame); here it is made only if a request ever goes to an
    ``https://`` URL (a presigned download elsewhere), and verifies as usual then.
    """

    def __init__(self) -> None:
        # Handed only http:// requests, so it never makes a TLS connection.
        self._plain = httpx.AsyncHTTPTransport(verify=False)
        self._tls: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "https":
            return await self._plain.handle_async_request(request)
        if self._tls is None:
            self._tls = httpx.AsyncHTTPTransport()
        return await self._tls.handle_async_request(request)

    async def aclose(self) -> None:
        await self._plain.aclose()
        if self._tls is not None:
            await self._tls.aclose()


class _State(Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class APICore:
    """Builds, sends, retries and checks requests; shared by every resource."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._key = Secret(api_key)
        if transport is None and self.base_url.startswith("http://"):
            transport = _PlainUntilTLS()
        self._http = httpx.AsyncClient(transport=transport, follow_redirects=False)
        self._state = _State.UNOPENED
        self._rate_limit = RateLimit()
        # Set by the sync facade: requests started from any other loop are run
        # there, because an httpx connection pool belongs to one event loop.
        self._home_loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ state

    @property
    def api_key(self) -> Secret:
        """The key, wrapped so that it never prints."""
        return self._key

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` was called (no further requests possible)."""
        return self._state is _State.CLOSED

    @property
    def rate_limit(self) -> RateLimit:
        """The rate-limit headers of the last response that had them."""
        return self._rate_limit

    def bind_home_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run every request on ``loop``, whichever loop awaits it (sync facade)."""
        self._home_loop = loop

    async def aclose(self) -> None:
        """Close the connection pool (idempotent)."""
        if self._state is not _State.CLOSED:
            self._state = _State.CLOSED
            await self._http.aclose()

    # ------------------------------------------------------------------ building

    def url(self, path: str) -> str:
        """The absolute URL of an API ``path`` (already encoded, starting with ``/``)."""
        return f"{self.base_url}{API_PREFIX}{path}"

    def build_request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        timeout: float,
        authenticated: bool = True,
        extra_headers: Mapping[str, str] | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> httpx.Request:
        """One request with the contract's headers; ``None`` query values dropped;
        ``on_sent`` is called once the request is on the wire."""
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **(extra_headers or {})}
        if authenticated:
            headers["Authorization"] = f"Bearer {self._key.reveal()}"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        content = None
        if isinstance(json, EncodedJSON):
            content, json = bytes(json), None
            headers["Content-Type"] = "application/json"
        return self._http.build_request(
            method,
            url,
            params=query or None,
            json=json,
            content=content,
            headers=headers,
            timeout=httpx.Timeout(timeout),
            extensions=None if on_sent is None else {"trace": _trace_sent(on_sent)},
        )

    # ------------------------------------------------------------------ sending

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        timeout: float | None = None,
        stream: bool = False,
        absolute_url: str | None = None,
        etag: str | None = None,
        prefer: str | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> httpx.Response:
        """Send one API call (with retries) and return its successful response.

        ``path`` is relative to ``/v1``; ``absolute_url`` instead targets a URL
        outside the API (a presigned download) and is sent **without** the key.
        With ``stream=True`` the body is not read; the caller must close it.
        With ``etag`` the request is conditional (``If-None-Match``) and a
        ``304 Not Modified`` counts as a success; ``prefer`` is sent as ``Prefer``.
        ``on_sent`` is called (on the caller's loop) once the request is on the wire,
        before its answer has come.
        """
        home = self._home_loop
        if home is not None and asyncio.get_running_loop() is not home:
            if on_sent is not None:
                on_sent = _on_loop(asyncio.get_running_loop(), on_sent)
            future = asyncio.run_coroutine_threadsafe(
                self.request(
                    method,
                    path,
                    params=params,
                    json=json,
                    timeout=timeout,
                    stream=stream,
                    absolute_url=absolute_url,
                    etag=etag,
                    prefer=prefer,
                    on_sent=on_sent,
                ),
                home,
            )
            return await asyncio.wrap_future(future)
        if self._state is _State.CLOSED:
            raise RuntimeError("this Caged client has been closed")
        self._state = _State.OPEN
        budget = self.timeout if timeout is None else timeout
        request = self.build_request(
            method,
            absolute_url or self.url(path),
            params=params,
            json=json,
            timeout=budget,
            authenticated=absolute_url is None,
            extra_headers=_conditional_headers(etag, prefer),
            on_sent=on_sent,
        )
        return await self._send_with_retries(request, budget=budget, stream=stream)

    async def _send_with_retries(
        self, request: httpx.Request, *, budget: float, stream: bool
    ) -> httpx.Response:
        attempt = 0
        while True:
            try:
                return await self._send_once(request, budget=budget, stream=stream)
            except CagedError as error:
                wait = self.retry.wait_after(error, request.method, attempt)
                if wait is None:
                    raise
                log.info("%s failed (%s); retrying in %.2f s", describe(request), error, wait)
            await self.retry.sleep(wait)
            attempt += 1

    async def _send_once(
        self, request: httpx.Request, *, budget: float, stream: bool
    ) -> httpx.Response:
        what = describe(request)
        started = time.monotonic()
        # Only keyless requests (presigned downloads) follow redirects: storage
        # may redirect, and the API key must never travel to another URL.
        follow = "authorization" not in request.headers
        try:
            response = await self._http.send(request, stream=stream, follow_redirects=follow)
        except httpx.TransportError as err:
            raise transport_error(err, what, budget) from err
        elapsed_ms = (time.monotonic() - started) * 1000
        log.debug("%s -> %d (%.0f ms)", what, response.status_code, elapsed_ms)
        self._note_rate_limit(response.headers)
        if response.is_success or (
            response.status_code == 304 and "if-none-match" in request.headers
        ):
            return response
        await response.aread()
        await response.aclose()
        raise error_from_response(response)

    def _note_rate_limit(self, headers: httpx.Headers) -> None:
        limit = _int_header(headers, "x-ratelimit-limit")
        remaining = _int_header(headers, "x-ratelimit-remaining")
        reset = _int_header(headers, "x-ratelimit-reset")
        if limit is None and remaining is None and reset is None:
            return
        self._rate_limit = RateLimit(
            limit=limit,
            remaining=remaining,
            reset=datetime.fromtimestamp(reset, UTC) if reset is not None else None,
        )

    # ------------------------------------------------------------------ parsing

    async def call(
        self,
        method: str,
        path: str,
        into: TypeAdapter[T],
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> T:
        """Send a call and parse its JSON body with ``into``."""
        response = await self.request(method, path, params=params, json=json, timeout=timeout)
        return parse_json(response, into)

    async def call_if_changed(
        self,
        path: str,
        into: TypeAdapter[T],
        *,
        etag: str | None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        wait: int | None = None,
    ) -> Conditional[T]:
        """A conditional GET: the parsed body and its ``ETag``, or no value when the
        server answers ``304`` to ``etag``.

        A server without ETags always sends the body; then a digest of it stands in for
        the tag, and a body equal to the last one is not parsed again (parsing 10,000
        sandboxes held the event loop for ~100 ms at every poll). Such a server ignores
        the stand-in it is sent back.

        With ``wait`` (and an ``etag``) the server is asked to hold the request until
        the answer changes or ``wait`` seconds pass (``Prefer: wait``, RFC 7240); the
        answer's ``held`` says whether it did. The timeout grows by the wait.
        """
        prefer = None
        if wait is not None and etag is not None:
            prefer = f"wait={wait}"
            timeout = (self.timeout if timeout is None else timeout) + wait
        response = await self.request(
            "GET", path, params=params, timeout=timeout, etag=etag, prefer=prefer
        )
        new_etag = response.headers.get("etag")
        held = prefer is not None and "wait" in response.headers.get("preference-applied", "")
        if response.status_code == 304:
            return Conditional(None, new_etag or etag, held)
        if new_etag is None:
            digest = hashlib.blake2b(response.content, digest_size=16).hexdigest()
            new_etag = f'W/"caged-body-{digest}"'
            if new_etag == etag:
                return Conditional(None, etag)
        return Conditional(parse_json(response, into), new_etag, held)

    async def act(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> None:
        """Send a call whose answer carries nothing we need (204 actions, deletes)."""
        await self.request(method, path, params=params, json=json, timeout=timeout)


def _conditional_headers(etag: str | None, prefer: str | None) -> dict[str, str] | None:
    if not etag:
        return None
    return {"If-None-Match": etag, **({"Prefer": prefer} if prefer else {})}


def _on_loop(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> Callable[[], None]:
    """``callback``, called from any thread, run on ``loop``."""

    def call() -> None:
        loop.call_soon_threadsafe(callback)

    return call


def _trace_sent(on_sent: Callable[[], None]) -> Callable[[str, Any], Awaitable[None]]:
    """An httpcore ``trace`` extension calling ``on_sent`` when a request's body has been
    written (once per attempt: a retried request is sent again)."""

    async def trace(event: str, info: Any) -> None:
        if event.endswith(".send_request_body.complete"):
            on_sent()

    return trace


def transport_error(err: httpx.TransportError, what: str, budget: float) -> CagedConnectionError:
    """The error for a failed exchange: a timeout reports the budget in force."""
    if isinstance(err, httpx.TimeoutException):
        return CagedTimeoutError(f"{what} got no answer within {budget:g} s", timeout=budget)
    return CagedConnectionError(f"could not complete {what}: {str(err) or type(err).__name__}")


def describe(request: httpx.Request) -> str:
    """``METHOD scheme://host/path`` — the query is left out (it may be signed)."""
    url = request.url
    return f"{request.method} {url.scheme}://{url.netloc.decode()}{url.path}"


#: Answers this large are parsed with the cyclic garbage collector paused (see below).
GC_PAUSE_FROM = 64 * 1024


@contextlib.contextmanager
def _collector_paused(body: bytes) -> Iterator[None]:
    """Pause the cyclic garbage collector while a large answer becomes objects.

    A replay page of 1000 events is ~7000 new containers, alive until the page is
    built: they trigger collections that can free nothing (parsed JSON has no cycles)
    and, promoted, the full ones that walk the whole heap — 12-30 % of the parse in
    measurements (more in the TUI, whose heap is large). Left as it is when something
    else has paused it already.
    """
    if len(body) < GC_PAUSE_FROM or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def parse_json(response: httpx.Response, into: TypeAdapter[T]) -> T:
    """Parse ``response`` with ``into``; a body that does not fit is a protocol error."""
    what = describe(response.request)
    try:
        with _collector_paused(response.content):
            return into.validate_json(response.content)
    except ValidationError as err:
        # ``from None``: pydantic's message quotes the input, which may hold a
        # freshly created key.
        raise CagedProtocolError(
            f"unexpected answer to {what} (HTTP {response.status_code}): "
            f"{err.error_count()} problem(s), first: {err.errors()[0]['msg']}"
        ) from None


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
