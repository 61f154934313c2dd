"""An event's wire JSON, written by SQLite: the text ``ReplayEvent.model_dump_json()``
gives, with no Python object per event.

Each event's text is written once, when it is stored (``events.json``), so a replay
page is a select of stored texts joined into one body; events stored before that
column existed have it NULL and replay writes theirs on the fly, with the same
expression.
"""

from __future__ import annotations

__all__ = ["event_json_sql"]


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
