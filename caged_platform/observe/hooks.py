"""What the observe package needs from the platform: :class:`PlatformHooks`.

The server implements this protocol; the observe package never imports the
server. Every method is a coroutine, called on the event loop, so the server
may answer from its own database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["PlatformHooks", "SandboxInfo"]


@dataclass(frozen=True, slots=True)
class SandboxInfo:
    """A sandbox as far as costs, budgets and timeouts are concerned."""

    account_id: str
    #: Compute cost (USD) the sandbox has accrued so far; grows while it runs.
    compute_cost: float
    #: The sandbox's budget in USD, or None when it has none.
    budget: float | None
    #: Seconds without activity before the sandbox auto-pauses (its ``timeout``).
    idle_timeout: float
    #: Whether it is running now (a stopped sandbox is not stopped again).
    running: bool


class PlatformHooks(Protocol):
    """Callbacks into the platform (implemented by the server)."""

    async def sandbox_info(self, sandbox_id: str) -> SandboxInfo | None:
        """The sandbox's costs and settings, or None if the platform does not know it."""

    async def running_sandboxes(self) -> Iterable[str]:
        """Ids of the sandboxes running now (the budget guard checks them on its timer)."""

    async def stop_sandbox(self, sandbox_id: str, reason: str) -> None:
        """Stop the sandbox: kill its processes, keep its workspace (budget exhausted)."""

    async def pause_sandbox(self, sandbox_id: str, reason: str) -> None:
        """Pause the sandbox (trust score fell below the pause threshold)."""

    async def log(self, sandbox_id: str, type: str, message: str) -> None:
        """Append a line to the sandbox's logs (``GET /sandboxes/{id}/logs``)."""
