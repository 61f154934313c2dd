"""Opening an authenticated WebSocket to the platform.

Each socket gets a fresh single-use ticket from ``POST /auth/socket-ticket``;
only when that endpoint answers 404 (an older deployment) does the API key
travel in the URL instead. Either way the credential is in the URL, so the
URL is never shown: errors are built from a redacted copy, the websockets
logger we hand in redacts every record, and an underlying exception whose
text would reveal the credential is not chained.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlencode

import httpx
from pydantic import TypeAdapter
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.typing import Subprotocol

from caged_core.client._errors import error_from_response
from caged_core.client._transport import API_PREFIX, APICore
from caged_core.client._version import USER_AGENT
from caged_core.errors import (
    CagedConnectionError,
    CagedError,
    CagedNotFoundError,
    CagedTimeoutError,
    RedactingFilter,
    redact,
)
from caged_core.models import SocketTicket

__all__ = ["connect_socket", "request_ticket"]

# The contract's per-message limit is 1 MiB of data; its JSON framing adds a little.
MAX_MESSAGE = 4 * 1024 * 1024

_TICKET = TypeAdapter(SocketTicket)


_ws_log = logging.getLogger("caged_core.client.websocket")
_ws_log.addFilter(RedactingFilter())


async def request_ticket(core: APICore, *, timeout: float | None = None) -> SocketTicket:
    """Ask for a single-use socket ticket (valid one minute)."""
    return await core.call("POST", "/auth/socket-ticket", _TICKET, timeout=timeout)


async def _credential(core: APICore) -> str:
    try:
        return (await request_ticket(core)).ticket
    except CagedNotFoundError:
        return core.api_key.reveal()


def _ws_base(base_url: str) -> str:
    if base_url.startswith("https://"):
        return "wss://" + base_url.removeprefix("https://")
    if base_url.startswith("http://"):
        return "ws://" + base_url.removeprefix("http://")
    return base_url


def _safe_cause(cause: BaseException, credential: str) -> BaseException | None:
    """``cause`` to chain for debugging — unless its own text would print the credential."""
    return None if credential in f"{cause!s}{cause!r}" else cause


async def connect_socket(
    core: APICore,
    path: str,
    *,
    subprotocol: str,
    query: Mapping[str, object] | None = None,
    open_timeout: float | None = None,
) -> ClientConnection:
    """Open ``/v1{path}`` as a WebSocket, each attempt with a fresh credential.

    A handshake is idempotent, so it is retried like a GET (the client's
    :class:`RetryPolicy`: connection failures, 429, 502/503/504). Refusals
    map through the same status → exception rules as HTTP calls; timeouts
    and network failures become :class:`CagedTimeoutError` /
    :class:`CagedConnectionError`. Once open, a socket is never reopened
    behind the caller's back: reconnecting is the caller's choice.
    """
    budget = core.timeout if open_timeout is None else open_timeout
    attempt = 0
    while True:
        try:
            return await _open(core, path, subprotocol, query or {}, budget)
        except CagedError as error:
            wait = core.retry.wait_after(error, "GET", attempt)
            if wait is None:
                raise
            _ws_log.info("WebSocket %s failed (%s); retrying in %.2f s", path, error, wait)
        await core.retry.sleep(wait)
        attempt += 1


async def _open(
    core: APICore,
    path: str,
    subprotocol: str,
    query: Mapping[str, object],
    budget: float,
) -> ClientConnection:
    credential = await _credential(core)
    params = {k: v for k, v in query.items() if v is not None}
    params["token"] = credential
    url = f"{_ws_base(core.base_url)}{API_PREFIX}{path}?{urlencode(params)}"
    shown = redact(url)
    try:
        return await connect(
            url,
            subprotocols=[Subprotocol(subprotocol)],
            user_agent_header=USER_AGENT,
            open_timeout=budget,
            max_size=MAX_MESSAGE,
            logger=_ws_log,
        )
    except InvalidStatus as err:
        answer = err.response
        response = httpx.Response(
            answer.status_code,
            headers=list(answer.headers.raw_items()),
            content=bytes(answer.body or b""),
        )
        raise error_from_response(response) from _safe_cause(err, credential)
    except TimeoutError as err:
        raise CagedTimeoutError(
            f"WebSocket {shown} did not open within {budget:g} s", timeout=budget
        ) from _safe_cause(err, credential)
    except (OSError, WebSocketException) as err:
        raise CagedConnectionError(f"could not open WebSocket {shown}: {err}") from _safe_cause(
            err, credential
        )
