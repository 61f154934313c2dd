"""Why a terminal or exec socket ended, in words the user can act on.

The platform closes a socket into a sandbox that is not running with 4409 and
a reason (``sandbox … is paused``), one into a sandbox that does not exist with
4404, and an open one with 1001 when its sandbox pauses or goes away. Where the
close frame does not say which, the sandbox itself is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from caged_core.errors import CagedError, CagedNotFoundError
from caged_core.models import SandboxStatus

if TYPE_CHECKING:
    from caged_core.client import AsyncCaged

#: Close codes of the platform's sockets (see the module docstring).
CLOSE_GOING_AWAY = 1001
CLOSE_NOT_FOUND = 4404
CLOSE_NOT_RUNNING = 4409


class EndKind(Enum):
    """What the user can do about it."""

    PAUSED = "paused"  # resume (p), then reconnect
    GONE = "gone"  # nothing: the sandbox was destroyed
    OTHER = "other"  # reconnect may help


@dataclass(frozen=True, slots=True)
class Ending:
    """Why a socket ended: the kind and the platform's own words."""

    kind: EndKind
    reason: str


async def why_ended(
    client: AsyncCaged, sandbox_id: str, code: int | None, reason: str | None
) -> Ending:
    """Classify a socket's end from its close frame, asking the platform if needed."""
    if code == CLOSE_NOT_FOUND:
        return Ending(EndKind.GONE, reason or f"sandbox {sandbox_id} no longer exists")
    if code == CLOSE_NOT_RUNNING and reason and SandboxStatus.PAUSED.value in reason:
        return Ending(EndKind.PAUSED, reason)
    # The platform closes the sockets before the sandbox's new status is stored, so
    # asking it right away could still hear "running": its close reason comes first.
    if code == CLOSE_GOING_AWAY and reason == "sandbox destroyed":
        return Ending(EndKind.GONE, f"sandbox {sandbox_id} was destroyed")
    if code == CLOSE_GOING_AWAY and reason == "sandbox paused":
        return Ending(EndKind.PAUSED, f"sandbox {sandbox_id} is paused")
    try:
        sandbox = await client.sandboxes.get(sandbox_id)
    except CagedNotFoundError:
        return Ending(EndKind.GONE, f"sandbox {sandbox_id} no longer exists")
    except CagedError:
        return Ending(EndKind.OTHER, reason or "the connection ended")
    if sandbox.status is SandboxStatus.PAUSED:
        return Ending(EndKind.PAUSED, f"sandbox {sandbox_id} is paused")
    if sandbox.status is SandboxStatus.DESTROYED:
        return Ending(EndKind.GONE, f"sandbox {sandbox_id} no longer exists")
    return Ending(EndKind.OTHER, reason or "the connection ended")
