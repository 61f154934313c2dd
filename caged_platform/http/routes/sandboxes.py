"""REST endpoints of sandboxes: lifecycle, exec, logs, ports, terminal sessions."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from starlette.responses import JSONResponse, Response

from caged_core.models import (
    ExecResult,
    LogEntry,
    Port,
    Sandbox,
    SandboxCreate,
    TemplateInfo,
    TerminalSessionInfo,
)
from caged_platform.http import etags
from caged_platform.http.bodies import ExecRequest
from caged_platform.http.routes.base import (
    Call,
    Operation,
    Query,
    json_response,
    no_content,
    not_available,
)

__all__ = ["OPERATIONS"]

MAX_LOG_TAIL = 10_000
#: Seconds a polled list's running costs may lag (see :func:`_cost_blind`).
COST_FRESHNESS = 60
#: The fields that accrue with the clock while a sandbox runs.
_ACCRUING = frozenset({"cost", "total_cost"})
TAIL = Query(
    "tail", "integer", "How many of the newest entries", default=100, low=1, high=MAX_LOG_TAIL
)


async def create_sandbox(call: Call) -> Response:
    body = await call.body(SandboxCreate)
    return json_response(await call.platform.sandboxes.create(body), 201)


async def list_templates(call: Call) -> Response:
    entries = call.platform.runtime.template_catalogue()
    return json_response([TemplateInfo.model_validate(asdict(e)) for e in entries])


async def list_sandboxes(call: Call) -> Response:
    rows = [sandbox.model_dump(mode="json") for sandbox in await call.platform.sandboxes.listing()]
    response = JSONResponse(rows)
    response.headers["ETag"] = etags.weak(_cost_blind(rows, time.time()))
    return response


def _cost_blind(rows: list[dict[str, Any]], now: float) -> bytes:
    """What the list's weak validator covers: everything but the compute costs of
    running sandboxes, which grow every second, plus the current period of
    :data:`COST_FRESHNESS` while any runs — a cached list is the same answer until
    anything else changes, and its costs are at most that old."""
    if not any(row["status"] == "running" for row in rows):
        return json.dumps([None, rows]).encode()
    steady = [{k: v for k, v in row.items() if k not in _ACCRUING} for row in rows]
    return json.dumps([int(now // COST_FRESHNESS), steady]).encode()


async def get_sandbox(call: Call) -> Response:
    service = call.platform.sandboxes
    return json_response(service.model(await service.row(call.param("id"))))


async def destroy_sandbox(call: Call) -> Response:
    await call.platform.sandboxes.destroy(call.param("id"))
    return no_content()


async def pause_sandbox(call: Call) -> Response:
    await call.platform.sandboxes.pause(call.param("id"))
    return no_content()


async def resume_sandbox(call: Call) -> Response:
    await call.platform.sandboxes.resume(call.param("id"))
    return no_content()


async def exec_command(call: Call) -> Response:
    # Validate the body before looking the sandbox up: a bad body is a 400 either way.
    body = await call.body(ExecRequest)
    result = await call.platform.sandboxes.exec(call.param("id"), body.command, body.timeout)
    return json_response(result)


async def sandbox_logs(call: Call) -> Response:
    tail = TAIL.integer(call)
    row = await call.platform.sandboxes.row(call.param("id"))
    rows = await call.platform.store.tail_logs(row["id"], tail)
    return json_response([LogEntry.model_validate(r) for r in rows])


async def sandbox_ports(call: Call) -> Response:
    return json_response(await call.platform.sandboxes.ports(call.param("id")))


async def terminal_sessions(call: Call) -> Response:
    row = await call.platform.sandboxes.row(call.param("id"))
    sessions = [
        TerminalSessionInfo(
            id=c.id,
            rows=c.rows,
            cols=c.cols,
            created_at=c.created_at,
            client=c.user_agent or c.address,
        )
        for c in call.platform.connections.all(kind="terminal", sandbox_id=row["id"])
    ]
    return json_response(sessions)


OPERATIONS = (
    Operation(
        "POST",
        "/sandboxes",
        create_sandbox,
        "Create a sandbox",
        status=201,
        request=SandboxCreate,
        response=Sandbox,
        tag="sandboxes",
    ),
    Operation(
        "GET",
        "/templates",
        list_templates,
        "Templates: which are offered here and whether their image is built",
        response=TemplateInfo,
        response_many=True,
        tag="sandboxes",
    ),
    Operation(
        "GET",
        "/sandboxes",
        list_sandboxes,
        "List sandboxes that are not destroyed",
        response=Sandbox,
        response_many=True,
        tag="sandboxes",
    ),
    Operation(
        "GET", "/sandboxes/{id}", get_sandbox, "Get a sandbox", response=Sandbox, tag="sandboxes"
    ),
    Operation(
        "DELETE",
        "/sandboxes/{id}",
        destroy_sandbox,
        "Destroy a sandbox (irreversible)",
        status=204,
        tag="sandboxes",
    ),
    Operation(
        "POST",
        "/sandboxes/{id}/pause",
        pause_sandbox,
        "Pause a sandbox (takes an auto-pause snapshot first)",
        status=204,
        tag="sandboxes",
    ),
    Operation(
        "POST",
        "/sandboxes/{id}/resume",
        resume_sandbox,
        "Resume a paused sandbox",
        status=204,
        tag="sandboxes",
    ),
    Operation(
        "POST",
        "/sandboxes/{id}/exec",
        exec_command,
        "Run a shell command",
        request=ExecRequest,
        response=ExecResult,
        tag="sandboxes",
    ),
    Operation(
        "GET",
        "/sandboxes/{id}/logs",
        sandbox_logs,
        "Lifecycle, init and exec log",
        response=LogEntry,
        response_many=True,
        tag="sandboxes",
        query=(TAIL,),
    ),
    Operation(
        "GET",
        "/sandboxes/{id}/ports",
        sandbox_ports,
        "Ports listening in the sandbox",
        response=Port,
        response_many=True,
        tag="sandboxes",
    ),
    Operation(
        "POST",
        "/sandboxes/{id}/ports/{port}/protect",
        not_available(
            "password-protected previews",
            "are not available on the local platform (previews are loopback-only)",
        ),
        "Password-protect a preview port (hosted platform only)",
        tag="sandboxes",
        hosted_only=True,
    ),
    Operation(
        "GET",
        "/sandboxes/{id}/terminal/sessions",
        terminal_sessions,
        "Terminal sockets open now",
        response=TerminalSessionInfo,
        response_many=True,
        tag="terminal",
    ),
)
