"""The observe package's schema: ``observe.db`` in the data dir.

A file of its own, so that ingest never contends with the sandbox bookkeeping
of ``platform.db``; opened through the platform's one SQLite layer
(:mod:`caged_platform.store`: WAL, ``synchronous=FULL``, one thread, the
migration ledger, integer-microsecond timestamps). :func:`observe_database`
is that file.
"""

from __future__ import annotations

from pathlib import Path

from caged_platform.store import Database, Migration, transaction

# Database and transaction are re-exported: the observe modules reach the layer here.
__all__ = ["DB_NAME", "EVENTS_SCHEMA", "MIGRATIONS", "Database", "observe_database", "transaction"]

#: The database file, in the platform's data dir.
DB_NAME = "observe.db"

EVENTS_SCHEMA = """
    CREATE TABLE events (
        pk          INTEGER PRIMARY KEY,
        id          TEXT NOT NULL,
        account_id  TEXT NOT NULL,
        session_id  TEXT,                       -- NULL: an event outside any session
        sequence    INTEGER,
        sandbox_id  TEXT NOT NULL DEFAULT '',
        type        TEXT NOT NULL,
        ts          INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        duration_ms REAL,
        process_id  TEXT,
        meta        TEXT NOT NULL DEFAULT '{}',
        data        TEXT NOT NULL
    );
    CREATE UNIQUE INDEX events_id ON events(account_id, id);
    CREATE UNIQUE INDEX events_replay ON events(session_id, sequence);
    CREATE INDEX events_by_type ON events(session_id, type, sequence);
    CREATE INDEX events_recent ON events(account_id, type, received_at);
"""
"""The ``events`` table and its indexes (migration 1); the replay benchmark's SQLite
reference uses it too, so that both pay for the same index maintenance."""

# 1 — the initial schema. Timestamps are integer microseconds since the epoch (UTC).
_INITIAL = (
    """
    CREATE TABLE sessions (
        id            TEXT PRIMARY KEY,
        account_id    TEXT NOT NULL,
        sandbox_id    TEXT NOT NULL DEFAULT '',
        status        TEXT NOT NULL,            -- active | completed | failed
        origin        TEXT NOT NULL,            -- socket | ingest
        agent_type    TEXT,
        client        TEXT,
        model         TEXT,
        tokens_in     INTEGER NOT NULL DEFAULT 0,
        tokens_out    INTEGER NOT NULL DEFAULT 0,
        llm_cost      REAL NOT NULL DEFAULT 0,
        compute_base  REAL,                     -- sandbox compute cost when the session began
        compute_cost  REAL NOT NULL DEFAULT 0,  -- frozen when the session ends
        trust_score   INTEGER NOT NULL DEFAULT 100,
        trust_state   TEXT NOT NULL DEFAULT '{}',
        event_count   INTEGER NOT NULL DEFAULT 0,
        last_seq      INTEGER NOT NULL DEFAULT 0,
        started_at    INTEGER NOT NULL,
        last_activity INTEGER NOT NULL,         -- server clock, for idle timeouts
        first_ts      INTEGER,                  -- earliest event timestamp (client clock)
        last_ts       INTEGER NOT NULL DEFAULT 0,  -- latest event timestamp (client clock)
        ended_at      INTEGER,
        end_reason    TEXT,
        auto_paused   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_account ON sessions(account_id, started_at);
    CREATE INDEX sessions_sandbox ON sessions(sandbox_id, started_at);
    CREATE INDEX sessions_status ON sessions(status);

"""
    + EVENTS_SCHEMA
    + """

    -- Events per (session, type), kept with the events: replay totals and summaries
    -- then cost a lookup instead of a count over a 100k-event session.
    CREATE TABLE session_types (
        session_id TEXT NOT NULL,
        type       TEXT NOT NULL,
        count      INTEGER NOT NULL,
        PRIMARY KEY (session_id, type)
    ) WITHOUT ROWID;

    CREATE TABLE deductions (
        pk         INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL,
        rule       TEXT NOT NULL,
        points     INTEGER NOT NULL,
        reason     TEXT NOT NULL,
        event_id   TEXT NOT NULL,
        sequence   INTEGER NOT NULL,
        ts         INTEGER NOT NULL
    );
    CREATE INDEX deductions_session ON deductions(session_id, pk);

    CREATE TABLE sandbox_usage (
        sandbox_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        llm_cost   REAL NOT NULL DEFAULT 0,
        tokens_in  INTEGER NOT NULL DEFAULT 0,
        tokens_out INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE alert_rules (
        id         TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        type       TEXT NOT NULL,
        enabled    INTEGER NOT NULL,
        config     TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (account_id, type)
    );

    CREATE TABLE alerts (
        pk          INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        account_id  TEXT NOT NULL,
        rule_id     TEXT NOT NULL,
        rule_type   TEXT NOT NULL,
        severity    TEXT NOT NULL,
        state       TEXT NOT NULL,
        title       TEXT NOT NULL,
        message     TEXT NOT NULL,
        sandbox_id  TEXT NOT NULL DEFAULT '',
        session_id  TEXT NOT NULL DEFAULT '',
        meta        TEXT NOT NULL DEFAULT '{}',
        dedupe_key  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        resolved_at INTEGER
    );
    CREATE INDEX alerts_account ON alerts(account_id, pk);
    CREATE INDEX alerts_dedupe ON alerts(account_id, dedupe_key, state);

    CREATE TABLE notifications (
        pk             INTEGER PRIMARY KEY,
        id             TEXT NOT NULL UNIQUE,
        account_id     TEXT NOT NULL,
        alert_id       TEXT,
        channel        TEXT NOT NULL,
        title          TEXT NOT NULL,
        message        TEXT NOT NULL,
        read           INTEGER NOT NULL DEFAULT 0,
        created_at     INTEGER NOT NULL,
        delivered      INTEGER,                 -- NULL while a delivery is in flight
        delivery_error TEXT,
        attempts       INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX notifications_account ON notifications(account_id, pk);

    CREATE TABLE notification_config (
        account_id          TEXT PRIMARY KEY,
        enabled_channels    TEXT NOT NULL,
        slack_channel_id    TEXT NOT NULL DEFAULT '',
        email_address       TEXT NOT NULL DEFAULT '',
        slack_webhook_url   TEXT NOT NULL DEFAULT '',
        discord_webhook_url TEXT NOT NULL DEFAULT '',
        slack_bot_token     TEXT NOT NULL DEFAULT ''
    );
    """
)

#: Schema migrations, in order. Never edit one that has shipped; append a new one.
MIGRATIONS: tuple[Migration, ...] = (
    Migration("sessions, events, trust, alerts, notifications", _INITIAL),
    # 2 — each event's replay JSON, written as it is stored (NULL for events stored
    # before: replay writes theirs on the fly).
    Migration("events keep their replay JSON", "ALTER TABLE events ADD COLUMN json TEXT;"),
)


def observe_database(data_dir: Path) -> Database:
    """``observe.db`` of ``data_dir`` (not yet open)."""
    return Database(data_dir / DB_NAME, MIGRATIONS)
