"""The local platform as a plain Starlette ASGI app.

``create_app(config)`` builds it from the route table (:mod:`caged_platform.http.routes`):
each REST path under ``/v1`` gets one route that authenticates the bearer key,
refuses writes by ``read_only`` keys and calls the operation's handler, whose JSON
answers to GETs carry an ``ETag`` (``304`` to a matching ``If-None-Match``:
:mod:`~caged_platform.http.etags`); the two WebSocket routes authenticate with
``?token=`` themselves. The lifespan owns the shared state
(:class:`~caged_platform.platform.Platform`) and the idle ticker. Every error —
raised by a handler, the router, the body limit or validation — goes through the
one problem+json handler. Request bodies are size-limited as they are read
(:meth:`Call.raw_body`), per operation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from caged_platform.changes import Changes
from caged_platform.content.content_errors import ContentError
from caged_platform.errors import Problem
from caged_platform.http import etags, longpoll, mcp_ws, terminal_ws
from caged_platform.http.openapi import openapi_document
from caged_platform.http.problems import handle_exception
from caged_platform.http.ratelimit import RateLimitMiddleware
from caged_platform.http.routes import OPERATIONS
from caged_platform.http.routes.base import Call, Operation
from caged_platform.observe import ObserveError
from caged_platform.platform import Platform, PlatformConfig
from caged_platform.runtime.api import CageError
from caged_platform.services.auth import TICKET_PREFIX, Principal, bearer_token

__all__ = ["create_app"]

_log = logging.getLogger(__name__)

API_VERSION = "0.3-local"


async def _authenticate(request: Request, platform: Platform) -> Principal:
    token = bearer_token(request.headers.get("authorization"))
    challenge = {"WWW-Authenticate": "Bearer"}
    if token is None:
        raise Problem(
            401, "an API key is required: send Authorization: Bearer caged_sk_…", headers=challenge
        )
    if token.startswith(TICKET_PREFIX):
        raise Problem(
            401, "socket tickets are only valid in a WebSocket handshake", headers=challenge
        )
    principal = await platform.keys.verify(token)
    if principal is None:
        raise Problem(401, "the API key is not valid or has been revoked", headers=challenge)
    return principal


def _path_endpoint(operations: dict[str, Operation]) -> Any:
    """One endpoint per path, dispatching on the method."""

    async def endpoint(request: Request) -> Response:
        op = operations["GET" if request.method == "HEAD" else request.method]
        platform: Platform = request.app.state.platform
        principal = await _authenticate(request, platform)
        if op.needs_write and principal.read_only:
            raise Problem(
                403,
                f"this key has the read_only scope, which cannot call {op.method} /v1{op.path}",
            )

        async def answer() -> Response:
            response = await op.handler(
                Call(request, platform, principal, body_limit=op.max_body_size)
            )
            return etags.conditional(request, response)

        if op.method == "GET" and op.path in longpoll.HOLDABLE:
            holds: longpoll.Holds = request.app.state.holds
            return await holds.answer(request, principal.account_id, answer)
        response = await answer()
        if op.method != "GET":
            # A write through the API may change what held requests watch.
            platform.changes.bump(principal.account_id)
        return response

    return endpoint


def _rest_routes(operations: tuple[Operation, ...]) -> list[BaseRoute]:
    by_path: dict[str, dict[str, Operation]] = {}
    for op in operations:
        by_path.setdefault(op.path, {})[op.method] = op
    return [
        Route("/v1" + path, _path_endpoint(ops), methods=list(ops)) for path, ops in by_path.items()
    ]


def _openapi_route(operations: tuple[Operation, ...]) -> Route:
    document = openapi_document(operations, version=API_VERSION)

    async def openapi(request: Request) -> Response:
        await _authenticate(request, request.app.state.platform)
        return JSONResponse(document)

    return Route("/v1/openapi.json", openapi, methods=["GET"])


async def _tick_forever(platform: Platform) -> None:
    while True:
        await asyncio.sleep(platform.config.tick_seconds)
        try:
            await platform.sandboxes.tick()
        except Exception:
            # One bad round must not end idle detection for good.
            _log.exception("the idle check failed")


def create_app(config: PlatformConfig) -> Starlette:
    """The local platform's ASGI app for ``config`` (state is built in its lifespan)."""

    # Held GETs wait on it (longpoll); the server releases them when it stops (service).
    changes = Changes()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        platform = await Platform.open(config, changes=changes)
        app.state.platform = platform
        ticker = asyncio.create_task(_tick_forever(platform), name="idle ticker")
        try:
            yield
        finally:
            changes.close()
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
            await platform.close()

    routes: list[BaseRoute] = [
        *_rest_routes(OPERATIONS),
        _openapi_route(OPERATIONS),
        WebSocketRoute("/v1/sandboxes/{id}/terminal", terminal_ws.terminal_endpoint),
        WebSocketRoute("/v1/sandboxes/{id}/mcp", mcp_ws.mcp_endpoint),
    ]
    handlers: dict[Any, Any] = {
        cls: handle_exception
        for cls in (
            Problem,
            ContentError,
            ObserveError,
            CageError,
            ValidationError,
            HTTPException,
            Exception,
        )
    }
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers=handlers,
        middleware=[Middleware(RateLimitMiddleware, limit=config.rate_limit_per_minute)],
    )
    app.state.holds = longpoll.Holds(changes)
    return app
