"""``client.sessions``: agent sessions and their replay timelines."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator

from pydantic import TypeAdapter

from caged_core.client._resource import Resource
from caged_core.client._transport import encode_path
from caged_core.models import AgentSession, ReplayEvent, ReplayPage, ReplaySummary, SessionPage

__all__ = ["Sessions"]

_SESSION = TypeAdapter(AgentSession)
_SESSIONS = TypeAdapter(list[AgentSession])
_SESSION_PAGE = TypeAdapter(SessionPage)
_REPLAY = TypeAdapter(ReplayPage)
_SUMMARY = TypeAdapter(ReplaySummary)


class Sessions(Resource):
    """Agent sessions: what agents did in sandboxes, at what cost and trust."""

    async def list(
        self,
        *,
        page: int | None = None,
        per_page: int | None = None,
        timeout: float | None = None,
    ) -> SessionPage:
        """One page of the account's sessions, newest first."""
        return await self._core.call(
            "GET",
            "/sessions",
            _SESSION_PAGE,
            params={"page": page, "per_page": per_page},
            timeout=timeout,
        )

    async def iter_all(
        self, *, per_page: int = 100, timeout: float | None = None
    ) -> AsyncIterator[AgentSession]:
        """Every session of the account, newest first, across all pages."""
        page_number = 1
        while True:
            page = await self.list(page=page_number, per_page=per_page, timeout=timeout)
            for session in page.data:
                yield session
            if not page.data or page_number >= page.pagination.total_pages:
                return
            page_number += 1

    async def list_by_sandbox(
        self, sandbox_id: str, *, timeout: float | None = None
    ) -> builtins.list[AgentSession]:
        """Every session of one sandbox."""
        return await self._core.call(
            "GET", encode_path("/sandboxes/{}/sessions", sandbox_id), _SESSIONS, timeout=timeout
        )

    async def get(self, session_id: str, *, timeout: float | None = None) -> AgentSession:
        """One session."""
        return await self._core.call(
            "GET", encode_path("/sessions/{}", session_id), _SESSION, timeout=timeout
        )

    async def replay(
        self,
        session_id: str,
        *,
        after_seq: int | None = None,
        limit: int | None = None,
        type: str | None = None,
        timeout: float | None = None,
    ) -> ReplayPage:
        """One page of the session's events (iterable; ``limit`` ≤ 1000).
        Continue with ``after_seq=page.next_seq`` while ``page.has_more``."""
        return await self._core.call(
            "GET",
            encode_path("/sessions/{}/replay", session_id),
            _REPLAY,
            params={"after_seq": after_seq, "limit": limit, "type": type},
            timeout=timeout,
        )

    async def iter_replay(
        self,
        session_id: str,
        *,
        after_seq: int | None = None,
        limit: int | None = None,
        type: str | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[ReplayEvent]:
        """Every event after ``after_seq``, fetching pages of ``limit`` as needed."""
        cursor = after_seq
        while True:
            page = await self.replay(
                session_id, after_seq=cursor, limit=limit, type=type, timeout=timeout
            )
            for event in page.events:
                yield event
            # Stop on a cursor that does not advance: a server bug must not loop us.
            if not page.has_more or page.next_seq is None or page.next_seq == cursor:
                return
            cursor = page.next_seq

    async def replay_summary(
        self, session_id: str, *, timeout: float | None = None
    ) -> ReplaySummary:
        """Event counts per type and the session's time span."""
        return await self._core.call(
            "GET", encode_path("/sessions/{}/replay/summary", session_id), _SUMMARY, timeout=timeout
        )
