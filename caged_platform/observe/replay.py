"""Replay: a session's events paged by sequence, its summary and its trust deductions.

Pages are read through the ``(session_id, sequence)`` index (or
``(session_id, type, sequence)`` with a type filter), so a page costs the same
at the start or the end of a 100k-event session. ``next_seq`` is the last
sequence returned — or ``after_seq`` itself on an empty page — so a client
following a live session keeps asking with ``after_seq = next_seq`` and sees new
events as they are written.
"""

from __future__ import annotations

import json
import sqlite3
from typing import NamedTuple

from caged_core.models import ReplaySummary, TrustDeduction

from .errors import Invalid
from .event_json import event_json_sql
from .events import KNOWN_TYPES, from_us
from .sessions import get_session

__all__ = [
    "MAX_PAGE",
    "PageJSON",
    "deductions",
    "replay_page_json",
    "summary",
    "validate_page",
]

#: The largest replay page (the contract's limit).
MAX_PAGE = 1000

# A page is mostly its events' JSON, which SQLite wrote when each event was stored
# (:mod:`.event_json`); for events stored before ``events.json`` existed it writes it now.
_EVENT_JSON = (
    "COALESCE(json, "
    + event_json_sql(
        id="id",
        session_json=":session_json",
        sequence="sequence",
        type="type",
        ts="ts",
        duration_ms="duration_ms",
        data="data",
        sandbox_id="sandbox_id",
        meta="meta",
    )
    + ")"
)


def validate_page(after_seq: int, limit: int, type_: str | None) -> None:
    """Refuse out-of-range paging parameters with a message naming the parameter."""
    if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
        raise Invalid("after_seq must be a non-negative integer")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit must be an integer from 1 to {MAX_PAGE}")
    if type_ is not None and type_ not in KNOWN_TYPES:
        valid = ", ".join(sorted(KNOWN_TYPES))
        raise Invalid(f"unknown event type {type_!r}; valid types: {valid}")


class PageJSON(NamedTuple):
    """A replay page's JSON body, and what identifies it for a weak ``ETag``."""

    body: bytes
    #: The ``after_seq`` of the next page; None on the last (for the ``Link`` header).
    next_after: int | None
    #: The query and what the answer says of the session (``next_seq``, ``has_more``,
    #: ``total``): events are never changed once stored, so equal versions mean equal
    #: bodies, and the body (~200 KiB for 1000 events) need not be hashed.
    version: str


def replay_page_json(
    conn: sqlite3.Connection,
    account_id: str,
    session_id: str,
    *,
    after_seq: int,
    limit: int,
    type_: str | None,
) -> PageJSON | None:
    """One page of a session's events after ``after_seq``, in sequence order, as the JSON
    text of a :class:`~caged_core.models.ReplayPage`; None for a session the account does
    not have (one trip to the database thread for both)."""
    session = get_session(conn, account_id, session_id)
    if session is None:
        return None
    params = {
        "session_id": session_id,
        "session_json": json.dumps(session_id),
        "after": after_seq,
        "rows": limit + 1,
        "type": type_,
    }
    # Each event's text comes as bytes (CAST AS BLOB) in plain tuples: no str decoded
    # and encoded again, no sqlite3.Row per event; the page is the rows joined.
    cursor = conn.cursor()
    cursor.row_factory = None
    by_type = "" if type_ is None else " AND type = :type"
    select = (
        "SELECT CAST({} AS BLOB), sequence FROM events WHERE session_id = :session_id"
        + by_type
        + " AND sequence > :after ORDER BY sequence LIMIT :rows"
    )
    rows = cursor.execute(select.format("json"), params).fetchall()
    if any(row[0] is None for row in rows):
        # Events stored before ``events.json`` existed: the page again, their text
        # written now. Not in the one select: naming the other columns there, even in
        # a COALESCE branch never taken, costs every page ~0.2 ms.
        rows = cursor.execute(select.format(_EVENT_JSON), params).fetchall()
    if type_ is None:
        total = session.event_count
    else:
        found = cursor.execute(
            "SELECT count FROM session_types WHERE session_id = ? AND type = ?",
            (session_id, type_),
        ).fetchone()
        total = found[0] if found else 0
    has_more = len(rows) > limit
    rows = rows[:limit]
    rest = {
        "has_more": has_more,
        "next_seq": rows[-1][1] if rows else after_seq,
        "total": int(total),
    }
    head, tail = b'{"events":[', b"]," + json.dumps(rest, separators=(",", ":"))[1:].encode()
    # One join makes the body: the brackets go onto the first and last events, since
    # each ``+`` of a ~240 KiB body is another copy of it (0.3-0.5 ms a page here).
    events = [row[0] for row in rows]
    if events:
        events[0] = head + events[0]
        events[-1] += tail
        body = b",".join(events)
    else:
        body = head + tail
    version = f"{after_seq}:{limit}:{type_ or ''}:{rest['next_seq']}:{has_more:d}:{total}"
    return PageJSON(body, rest["next_seq"] if has_more else None, version)


def summary(
    conn: sqlite3.Connection,
    session_id: str,
    *,
    first_ts: int | None,
    last_ts: int,
    cost_usd: float,
) -> ReplaySummary:
    """Counts per type and the time span of a session's events (kept as they are written)."""
    types = {
        row["type"]: int(row["count"])
        for row in conn.execute(
            "SELECT type, count FROM session_types WHERE session_id = ? ORDER BY type",
            (session_id,),
        )
    }
    return ReplaySummary(
        session_id=session_id,
        event_count=sum(types.values()),
        start_time=from_us(first_ts) if first_ts is not None else None,
        end_time=from_us(last_ts) if first_ts is not None else None,
        duration_ms=(last_ts - first_ts) / 1000 if first_ts is not None else 0.0,
        types=types,
        cost_usd=round(cost_usd, 6),
    )


def deductions(conn: sqlite3.Connection, session_ids: list[str]) -> dict[str, list[TrustDeduction]]:
    """Each session's trust deductions, oldest first, with the event that caused each."""
    found: dict[str, list[TrustDeduction]] = {sid: [] for sid in session_ids}
    for start in range(0, len(session_ids), 500):  # stay under SQLite's parameter limit
        chunk = session_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT * FROM deductions WHERE session_id IN ({marks}) ORDER BY pk", chunk
        ):
            found[row["session_id"]].append(
                TrustDeduction(
                    rule=row["rule"],
                    points=row["points"],
                    reason=row["reason"],
                    event_id=row["event_id"],
                    sequence=row["sequence"],
                    timestamp=from_us(row["ts"]),
                )
            )
    return found
