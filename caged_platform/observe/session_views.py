"""What the API reads about agent sessions: listings, one session, its replay pages and
summary, and the trust scores of a sandbox's sessions — :class:`SessionViews`.

Sessions are written by the :class:`~caged_platform.observe.Observer` (it coordinates
events, terminals and rules); reading them needs only the database and, for costs,
each sandbox's compute so far (asked of the platform once per sandbox).
"""

from __future__ import annotations

from collections.abc import Callable

from caged_core.models import (
    AgentSession,
    Pagination,
    ReplayPage,
    ReplaySummary,
    SessionPage,
    TrustScore,
)

from . import replay, sessions
from .errors import NotFound, int_param
from .events import from_us
from .hooks import PlatformHooks
from .replay import PageJSON
from .store import Database

__all__ = ["SessionViews"]


class SessionViews:
    """``/sessions``, ``/sessions/{sid}/replay…`` and ``/trust/sandboxes/{id}``."""

    def __init__(self, db: Database, hooks: PlatformHooks, *, now_us: Callable[[], int]) -> None:
        self._db = db
        self._hooks = hooks
        self._now_us = now_us

    async def compute_of(self, sandbox_id: str) -> float | None:
        """A sandbox's compute cost so far; None for no sandbox or one the platform lacks."""
        info = await self._hooks.sandbox_info(sandbox_id) if sandbox_id else None
        return info.compute_cost if info else None

    async def models(self, rows: list[sessions.SessionRow]) -> list[AgentSession]:
        """Sessions as wire models, asking the platform once per sandbox for its compute."""
        compute = {sid: await self.compute_of(sid) for sid in {r.sandbox_id for r in rows}}
        now = self._now_us()
        return [r.to_model(compute[r.sandbox_id], now) for r in rows]

    async def row(self, account_id: str, session_id: str) -> sessions.SessionRow:
        """The account's session ``session_id``, or :class:`NotFound`."""
        row = await self._db.run(sessions.get_session, account_id, session_id)
        if row is None:
            raise NotFound(f"no session {session_id!r}")
        return row

    async def page(self, account_id: str, page: int = 1, per_page: int = 20) -> SessionPage:
        """``GET /sessions``: newest first, paginated (``per_page`` 1-100)."""
        page = int_param("page", page, 1)
        per_page = int_param("per_page", per_page, 1, 100)
        rows, total = await self._db.run(
            sessions.list_sessions, account_id, limit=per_page, offset=(page - 1) * per_page
        )
        return SessionPage(
            data=await self.models(rows),
            pagination=Pagination(
                page=page,
                per_page=per_page,
                total=total,
                total_pages=(total + per_page - 1) // per_page,
            ),
        )

    async def of_sandbox(self, account_id: str, sandbox_id: str) -> list[AgentSession]:
        """``GET /sandboxes/{id}/sessions``: the sandbox's sessions, newest first."""
        rows, _ = await self._db.run(sessions.list_sessions, account_id, sandbox_id=sandbox_id)
        return await self.models(rows)

    async def get(self, account_id: str, session_id: str) -> AgentSession:
        """``GET /sessions/{sid}``; :class:`NotFound` for an unknown session."""
        return (await self.models([await self.row(account_id, session_id)]))[0]

    async def replay(
        self,
        account_id: str,
        session_id: str,
        *,
        after_seq: int = 0,
        limit: int = 100,
        type: str | None = None,
    ) -> ReplayPage:
        """Events after ``after_seq`` in sequence order (:meth:`replay_json` as the model)."""
        page = await self.replay_json(
            account_id, session_id, after_seq=after_seq, limit=limit, type=type
        )
        return ReplayPage.model_validate_json(page.body)

    async def replay_json(
        self,
        account_id: str,
        session_id: str,
        *,
        after_seq: int = 0,
        limit: int = 100,
        type: str | None = None,
    ) -> PageJSON:
        """``GET /sessions/{sid}/replay``: events after ``after_seq`` in sequence order, as
        the JSON body of a :class:`ReplayPage` (written by SQLite, see :mod:`.replay`)
        with the version its ``ETag`` is made of."""
        replay.validate_page(after_seq, limit, type)
        page = await self._db.run(
            replay.replay_page_json,
            account_id,
            session_id,
            after_seq=after_seq,
            limit=limit,
            type_=type,
        )
        if page is None:
            raise NotFound(f"no session {session_id!r}")
        return page

    async def replay_summary(self, account_id: str, session_id: str) -> ReplaySummary:
        """``GET /sessions/{sid}/replay/summary``: counts per type and the time span."""
        row = await self.row(account_id, session_id)
        compute = row.compute_share(await self.compute_of(row.sandbox_id))
        return await self._db.run(
            replay.summary,
            session_id,
            first_ts=row.first_ts,
            last_ts=row.last_ts,
            cost_usd=row.llm_cost + compute,
        )

    async def trust_for_sandbox(self, account_id: str, sandbox_id: str) -> list[TrustScore]:
        """``GET /trust/sandboxes/{id}``: each session's score with its deductions."""
        rows, _ = await self._db.run(sessions.list_sessions, account_id, sandbox_id=sandbox_id)
        found = await self._db.run(replay.deductions, [r.id for r in rows])
        scores = []
        for row in rows:
            deductions = found[row.id]
            updated = deductions[-1].timestamp if deductions else from_us(row.started_at)
            scores.append(
                TrustScore(
                    session_id=row.id,
                    score=row.trust_score,
                    updated_at=updated,
                    sandbox_id=sandbox_id,
                    deductions=deductions,
                )
            )
        return scores
