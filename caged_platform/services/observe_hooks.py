"""The server's side of the observe package: :class:`ObserveHooks`, a
:class:`~caged_platform.observe.PlatformHooks` on top of the store and the
sandbox service.

The observer is built before the sandbox service (the service records into
it), so the service is bound to the hooks once it exists (:meth:`ObserveHooks.bind`);
the observer only calls the actions (stop, pause) after the platform has started.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from caged_platform.errors import Problem
from caged_platform.observe import SandboxInfo
from caged_platform.services.auth import LOCAL_ACCOUNT
from caged_platform.services.sandboxes import SandboxService, compute_cost
from caged_platform.store import Store, utcnow

__all__ = ["ObserveHooks"]

_log = logging.getLogger(__name__)


class ObserveHooks:
    """Answers the observer's questions from the store and carries out its actions
    (budget stop, trust pause) through the sandbox service."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._sandboxes: SandboxService | None = None

    def bind(self, sandboxes: SandboxService) -> None:
        """Attach the sandbox service the actions go through."""
        self._sandboxes = sandboxes

    def _service(self) -> SandboxService:
        if self._sandboxes is None:
            raise RuntimeError("ObserveHooks used before bind(): the platform is not open")
        return self._sandboxes

    async def sandbox_info(self, sandbox_id: str) -> SandboxInfo | None:
        """The sandbox's compute cost, budget and idle timeout; None for an unknown id."""
        row = await self._store.get("sandboxes", sandbox_id)
        if row is None:
            return None
        return SandboxInfo(
            account_id=LOCAL_ACCOUNT,
            compute_cost=compute_cost(row, utcnow()),
            budget=row["budget"],
            idle_timeout=float(row["timeout"]),
            running=row["status"] == "running",
        )

    async def running_sandboxes(self) -> Iterable[str]:
        """Ids of the running sandboxes (the budget guard's timer checks them)."""
        return [row["id"] for row in await self._store.sandboxes(statuses=("running",))]

    async def stop_sandbox(self, sandbox_id: str, reason: str) -> None:
        """Budget exhausted: kill the sandbox's processes, keep its workspace."""
        try:
            await self._service().stop(sandbox_id, reason=reason)
        except Problem as exc:
            # Destroyed meanwhile: there is nothing left to stop.
            _log.info("stopping %s skipped: %s", sandbox_id, exc.detail)

    async def pause_sandbox(self, sandbox_id: str, reason: str) -> None:
        """Trust score too low: pause the sandbox, saying why in its log."""
        try:
            await self._service().pause(sandbox_id, reason=f"paused: {reason}")
        except Problem as exc:
            # Not running any more (paused by hand, stopped, destroyed): nothing to do.
            _log.info("pausing %s skipped: %s", sandbox_id, exc.detail)

    async def log(self, sandbox_id: str, type: str, message: str) -> None:
        """Append to the sandbox's logs."""
        await self._service().log(sandbox_id, type, message)
