"""Shared by the observe tests: a real PlatformHooks that records what it is asked to do,
a clock the tests move, and event builders. (Imported by module name: pytest puts this
directory on sys.path; the integration tests add it explicitly.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from caged_platform.observe import SandboxInfo

ACCOUNT = "acct-1"
OTHER_ACCOUNT = "acct-2"


@dataclass
class FakeSandbox:
    account_id: str = ACCOUNT
    compute_cost: float = 0.0
    budget: float | None = None
    idle_timeout: float = 900.0
    running: bool = True


@dataclass
class RecordingHooks:
    """The platform side, in memory: sandboxes it knows, and every action it was asked for."""

    sandboxes: dict[str, FakeSandbox] = field(default_factory=dict)
    stopped: list[tuple[str, str]] = field(default_factory=list)
    paused: list[tuple[str, str]] = field(default_factory=list)
    logs: list[tuple[str, str, str]] = field(default_factory=list)
    #: What the platform does besides recording a pause (e.g. closing the sandbox's sockets).
    on_pause: Callable[[str], Awaitable[object]] | None = None

    def add(self, sandbox_id: str, **fields: Any) -> FakeSandbox:
        self.sandboxes[sandbox_id] = FakeSandbox(**fields)
        return self.sandboxes[sandbox_id]

    async def sandbox_info(self, sandbox_id: str) -> SandboxInfo | None:
        box = self.sandboxes.get(sandbox_id)
        if box is None:
            return None
        return SandboxInfo(
            account_id=box.account_id,
            compute_cost=box.compute_cost,
            budget=box.budget,
            idle_timeout=box.idle_timeout,
            running=box.running,
        )

    async def running_sandboxes(self) -> Iterable[str]:
        return [sid for sid, box in self.sandboxes.items() if box.running]

    async def stop_sandbox(self, sandbox_id: str, reason: str) -> None:
        self.stopped.append((sandbox_id, reason))
        self.sandboxes[sandbox_id].running = False

    async def pause_sandbox(self, sandbox_id: str, reason: str) -> None:
        self.paused.append((sandbox_id, reason))
        self.sandboxes[sandbox_id].running = False
        if self.on_pause is not None:
            await self.on_pause(sandbox_id)

    async def log(self, sandbox_id: str, type: str, message: str) -> None:
        self.logs.append((sandbox_id, type, message))


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def stamp(second: float = 0.0) -> str:
    """An RFC 3339 timestamp ``second`` seconds after a fixed origin."""
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=second)
    return moment.isoformat().replace("+00:00", "Z")


def event(type: str = "command", second: float = 0.0, **fields: Any) -> dict[str, Any]:
    """A wire event with a timestamp; ``payload`` and ids via keyword arguments."""
    return {"type": type, "timestamp": stamp(second), **fields}


def llm(cost: float, *, session_id: str, sandbox_id: str, second: float = 0.0) -> dict[str, Any]:
    payload = {"model": "claude-4", "tokens_in": 100, "tokens_out": 50, "cost_usd": cost}
    return event("llm_call", second, session_id=session_id, sandbox_id=sandbox_id, payload=payload)
