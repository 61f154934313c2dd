"""An event's wire JSON: the text ``ReplayEvent.model_dump_json()`` gives (the same
JSON value), with no model per event.

Each event's text is written once, when it is stored (``events.json``, by
:func:`event_json` from the parts the write path already holds as text), so a replay
page is a select of stored texts joined into one body; events stored before that
column existed have it NULL and replay writes theirs on the fly, in SQL
(:func:`event_json_sql`). Both write the same value (tests/unit/observe/test_replay_json.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from json.encoder import encode_basestring as json_quote

__all__ = ["event_json", "event_json_sql", "json_quote"]

_EPOCH = datetime(1970, 1, 1)


@lru_cache(maxsize=1024)
def _second(seconds: int) -> str:
    # A batch's events mostly share their second: its text is made once.
    return (_EPOCH + timedelta(seconds=seconds)).isoformat()


def event_json(
    *,
    id_json: str,
    session_json: str,
    sequence: int,
    type: str,
    ts_us: int,
    duration_ms: float | None,
    data: str,
    sandbox_json: str,
    meta: str,
) -> str:
    """An event's JSON text, on the write path: ``*_json`` are JSON-quoted strings
    (:func:`json_quote`), ``data`` and ``meta`` JSON the platform encoded, ``type`` one of
    the known types. The timestamp is written as pydantic writes a UTC datetime (a
    fraction only when non-zero), the duration as ``json.dumps`` writes it (it is finite:
    validated or the platform's own)."""
    seconds, micros = divmod(ts_us, 1_000_000)
    timestamp = f"{_second(seconds)}.{micros:06d}Z" if micros else f"{_second(seconds)}Z"
    duration = "null" if duration_ms is None else repr(duration_ms)
    return (
        f'{{"id":{id_json},"session_id":{session_json},"sequence":{sequence},"type":"{type}",'
        f'"timestamp":"{timestamp}","duration_ms":{duration},"data":{data},'
        f'"sandbox_id":{sandbox_json},"meta":{meta}}}'
    )


def event_json_sql(
    *,
    id: str,
    session_json: str,
    sequence: str,
    type: str,
    ts: str,
    duration_ms: str,
    data: str,
    sandbox_id: str,
    meta: str,
) -> str:
    """The SQL expression of an event's JSON text, from SQL expressions of its parts.

    ``data`` and ``meta`` are JSON the platform encoded, ``type`` is one of the known
    types (no quoting needed) and ``session_json`` is the session id already
    JSON-quoted. Timestamps are integer microseconds, written as pydantic writes a UTC
    datetime (a fraction only when non-zero); a duration keeps SQLite's shorter text
    when it reads back as the same number.
    """
    micros = f"((({ts}) % 1000000) + 1000000) % 1000000"
    return f"""printf(
    '{{"id":%s,"session_id":%s,"sequence":%d,"type":"%s","timestamp":"%s%sZ",'
    || '"duration_ms":%s,"data":%s,"sandbox_id":%s,"meta":%s}}',
    json_quote({id}), {session_json}, {sequence}, {type},
    strftime('%Y-%m-%dT%H:%M:%S', (({ts}) - {micros}) / 1000000, 'unixepoch'),
    CASE WHEN {micros} THEN printf('.%06d', {micros}) ELSE '' END,
    CASE WHEN {duration_ms} IS NULL OR CAST(json_quote({duration_ms}) AS REAL) = {duration_ms}
         THEN json_quote({duration_ms}) ELSE printf('%!.17g', {duration_ms}) END,
    {data}, json_quote({sandbox_id}), {meta}
)"""
