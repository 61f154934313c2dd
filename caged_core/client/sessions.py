"""``client.sessions``: agent sessions and their replay timelines."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import TypeAdapter

from caged_core.client._pages import (
    AsyncPaginator,
    Listing,
    Params,
    follow_cursor,
    follow_page_number,
    list_of,
)
from caged_core.client._resource import Resource
from caged_core.client._transport import encode_path
from caged_core.models import AgentSession, ReplayEvent, ReplayPage, ReplaySummary, SessionPage

__all__ = ["Sessions"]

_SESSION = TypeAdapter(AgentSession)
_SUMMARY = TypeAdapter(ReplaySummary)
_BY_SANDBOX = Listing.array(list_of(AgentSession))


def _next_session_page(
    page: SessionPage, items: Sequence[AgentSession], params: Params
) -> Params | None:
    # The page number asked for, not the one echoed: a server that omits it must not loop us.
    per_page = page.pagination.per_page or params.get("per_page") or 0
    number = params.get("page") or 1
    return follow_page_number(number, per_page, page.pagination.total_pages, items, params)


_SESSIONS = Listing(
    TypeAdapter(SessionPage),
    lambda page: page.data,
    _next_session_page,
    lambda page: page.pagination.total,
)


def _next_replay_page(
    page: ReplayPage, items: Sequence[ReplayEvent], params: Params
) -> Params | None:
    return follow_cursor("after_seq", page.next_seq, page.has_more, params)


_REPLAY = Listing(
    TypeAdapter(ReplayPage), lambda page: page.events, _next_replay_page, lambda p: p.total
)


class Sessions(Resource):
    """Agent sessions: what agents did in sandboxes, at what cost and trust."""

    def list(
        self,
        *,
        page: int | None = None,
        per_page: int | None = None,
        timeout: float | None = None,
    ) -> AsyncPaginator[AgentSession]:
        """The account's sessions, newest first: ``await`` for page ``page`` (``total``
        counts all), ``async for`` for every session from there on."""
        return AsyncPaginator(
            self._core,
            "/sessions",
            _SESSIONS,
            params={"page": page, "per_page": per_page},
            timeout=timeout,
        )

    def list_by_sandbox(
        self, sandbox_id: str, *, timeout: float | None = None
    ) -> AsyncPaginator[AgentSession]:
        """Every session of one sandbox (one page)."""
        return AsyncPaginator(
            self._core,
            encode_path("/sandboxes/{}/sessions", sandbox_id),
            _BY_SANDBOX,
            timeout=timeout,
        )

    async def get(self, session_id: str, *, timeout: float | None = None) -> AgentSession:
        """One session."""
        return await self._core.call(
            "GET", encode_path("/sessions/{}", session_id), _SESSION, timeout=timeout
        )

    def replay(
        self,
        session_id: str,
        *,
        after_seq: int | None = None,
        limit: int | None = None,
        type: str | None = None,
        timeout: float | None = None,
    ) -> AsyncPaginator[ReplayEvent]:
        """The session's events after ``after_seq``: ``await`` for one page of ``limit``
        (≤ 1000; ``page.response.next_seq`` is where a live tail resumes), ``async for``
        for every event, fetching pages as needed."""
        return AsyncPaginator(
            self._core,
            encode_path("/sessions/{}/replay", session_id),
            _REPLAY,
            params={"after_seq": after_seq, "limit": limit, "type": type},
            timeout=timeout,
        )

    async def replay_summary(
        self, session_id: str, *, timeout: float | None = None
    ) -> ReplaySummary:
        """Event counts per type and the session's time span."""
        return await self._core.call(
            "GET", encode_path("/sessions/{}/replay/summary", session_id), _SUMMARY, timeout=timeout
        )
