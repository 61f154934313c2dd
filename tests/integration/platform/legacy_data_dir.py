"""A data dir as the platform wrote it before its one SQLite layer (and the fixture's
rows), for the test that the current code opens it and finds everything.

The DDL below is frozen: it is what ``caged_platform/store.py`` (``platform.db``,
versions 1-2 in a ``schema_version`` table, ISO 8601 text timestamps) and
``caged_platform/observe/store.py`` (``observe.db``, version 1 in ``PRAGMA
user_version``, integer-microsecond timestamps) created until the layer replaced
them. Never edit it to follow the current schema: it is the past.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

PLATFORM_V2 = """
CREATE TABLE keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used TEXT,
    revoked_at TEXT
);
CREATE TABLE tickets (
    ticket_hash TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES keys(id),
    expires_at TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sandboxes (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    template TEXT NOT NULL,
    cpus INTEGER NOT NULL,
    memory_mb INTEGER NOT NULL,
    disk_gb INTEGER NOT NULL,
    network_mode TEXT NOT NULL,
    allowlist TEXT NOT NULL DEFAULT '[]',
    repo_url TEXT,
    budget REAL,
    init_script TEXT,
    timeout INTEGER NOT NULL,
    config TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    stopped_at TEXT,
    compute_seconds REAL NOT NULL DEFAULT 0,
    running_since TEXT,
    last_activity_at TEXT,
    last_error TEXT
);
CREATE TABLE logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sandbox_id TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    type TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX logs_by_sandbox ON logs (sandbox_id, id);
CREATE TABLE snapshots (
    id TEXT PRIMARY KEY,
    sandbox_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    trigger TEXT NOT NULL,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    completed_at TEXT
);
CREATE INDEX snapshots_by_sandbox ON snapshots (sandbox_id, created_at);


CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

"""

OBSERVE_V1 = """
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

#: The key the legacy data dir knows (stored hashed, as the platform stores keys).
LEGACY_KEY = "caged_sk_legacy_" + "k" * 32
SANDBOX = "sbx-legacy0001"
SESSION = "sess-legacy0001"
ALERT = "alert-legacy0001"
NOTIFICATION = "ntf-legacy0001"
CREATED = "2026-03-01T10:00:00.123456+00:00"
STARTED = "2026-03-01T10:00:01+00:00"
STOPPED = "2026-03-01T10:05:00.5+00:00"
LOGS = (("2026-03-01T10:00:01.250000+00:00", "lifecycle", "started"),
        ("2026-03-01T10:05:00.500000+00:00", "lifecycle", "stopped: by the user"))  # fmt: skip
LINK_SECRET = "ab" * 32
#: 2026-03-01T10:01:00Z in microseconds, and the three events after it, a second apart.
T0 = 1_772_359_260_000_000
EVENTS = (
    ("evt-legacy-1", "command", '{"command":"ls","exit_code":0}'),
    ("evt-legacy-2", "llm_call", '{"model":"claude-sonnet-4","tokens_in":10,"tokens_out":5}'),
    ("evt-legacy-3", "command", '{"command":"pytest","exit_code":1}'),
)


def _platform_db(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(
            f"BEGIN;\n{PLATFORM_V2}\n"
            "CREATE TABLE schema_version (version INTEGER NOT NULL);\n"
            "INSERT INTO schema_version (version) VALUES (1), (2);\nCOMMIT;"
        )
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO keys (id, name, prefix, secret_hash, scope, created_at, last_used)"
            " VALUES ('key-legacy', 'from before', ?, ?, 'full', ?, ?)",
            (LEGACY_KEY[:15], hashlib.sha256(LEGACY_KEY.encode()).hexdigest(), CREATED, STOPPED),
        )
        conn.execute(
            "INSERT INTO tickets (ticket_hash, key_id, expires_at)"
            " VALUES ('t-hash', 'key-legacy', ?)",
            (STARTED,),
        )
        conn.execute(
            "INSERT INTO sandboxes (id, status, template, cpus, memory_mb, disk_gb, network_mode,"
            " timeout, created_at, started_at, stopped_at, compute_seconds, last_activity_at)"
            " VALUES (?, 'stopped', 'python-311', 1, 512, 5, 'none', 600, ?, ?, ?, 299.5, ?)",
            (SANDBOX, CREATED, STARTED, STOPPED, STOPPED),
        )
        conn.executemany(
            "INSERT INTO logs (sandbox_id, timestamp, type, message) VALUES (?, ?, ?, ?)",
            [(SANDBOX, *entry) for entry in LOGS],
        )
        conn.execute(
            "INSERT INTO snapshots (id, sandbox_id, name, description, status, trigger,"
            " size_bytes, created_at, completed_at)"
            " VALUES ('snap-legacy', ?, 'before', '', 'completed', 'manual', 1234, ?, ?)",
            (SANDBOX, STARTED, STOPPED),
        )
        conn.execute(
            "INSERT INTO settings (name, value) VALUES ('download_link_secret', ?)",
            (LINK_SECRET,),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def _observe_db(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(f"BEGIN;\n{OBSERVE_V1}\nPRAGMA user_version = 1;\nCOMMIT;")
        conn.execute("BEGIN")
        last = T0 + 2_000_000
        conn.execute(
            "INSERT INTO sessions (id, account_id, sandbox_id, status, origin, tokens_in,"
            " tokens_out, llm_cost, trust_score, event_count, last_seq, started_at,"
            " last_activity, first_ts, last_ts, ended_at, end_reason)"
            " VALUES (?, 'local', ?, 'completed', 'ingest', 10, 5, 0.000105, 90, 3, 3, ?, ?, ?,"
            " ?, ?, 'idle timeout')",
            (SESSION, SANDBOX, T0, last, T0, last, last),
        )
        conn.executemany(
            "INSERT INTO events (id, account_id, session_id, sequence, sandbox_id, type, ts,"
            " received_at, data) VALUES (?, 'local', ?, ?, ?, ?, ?, ?, ?)",
            [
                (event_id, SESSION, seq, SANDBOX, type_, T0 + (seq - 1) * 1_000_000, T0 + seq, data)
                for seq, (event_id, type_, data) in enumerate(EVENTS, start=1)
            ],
        )
        conn.executemany(
            "INSERT INTO session_types (session_id, type, count) VALUES (?, ?, ?)",
            [(SESSION, "command", 2), (SESSION, "llm_call", 1)],
        )
        conn.execute(
            "INSERT INTO deductions (session_id, rule, points, reason, event_id, sequence, ts)"
            " VALUES (?, 'failing_commands', 10, 'legacy deduction', 'evt-legacy-3', 3, ?)",
            (SESSION, last),
        )
        conn.execute(
            "INSERT INTO sandbox_usage (sandbox_id, account_id, llm_cost, tokens_in, tokens_out)"
            " VALUES (?, 'local', 0.000105, 10, 5)",
            (SANDBOX,),
        )
        conn.execute(
            "INSERT INTO alerts (id, account_id, rule_id, rule_type, severity, state, title,"
            " message, sandbox_id, session_id, dedupe_key, created_at)"
            " VALUES (?, 'local', 'rule-legacy', 'trust_score_low', 'warning', 'open',"
            " 'Trust score low', 'from before', ?, ?, 'legacy', ?)",
            (ALERT, SANDBOX, SESSION, last),
        )
        conn.execute(
            "INSERT INTO notifications (id, account_id, alert_id, channel, title, message,"
            " created_at, delivered, attempts)"
            " VALUES (?, 'local', ?, 'in_app', 'Trust score low', 'from before', ?, 1, 1)",
            (NOTIFICATION, ALERT, last),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def build_legacy_data_dir(data_dir: Path) -> None:
    """``platform.db`` and ``observe.db`` in ``data_dir`` as the old code left them."""
    data_dir.mkdir(parents=True, exist_ok=True)
    _platform_db(data_dir / "platform.db")
    _observe_db(data_dir / "observe.db")
