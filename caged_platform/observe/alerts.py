"""Alert rules, alerts, and their evaluation (including the budget guard).

Every account has one rule of each type, created with these defaults on first
use (a config value of 0 also means "the default"):

=====================  ======================================  ==================================
rule type              config (default)                        raises
=====================  ======================================  ==================================
``budget_exceeded``    ``threshold_percent`` (80)              warning at the threshold, critical
                                                               at 95 %, critical at 100 % — and at
                                                               100 % the sandbox is stopped
``cost_anomaly``       ``multiplier_threshold`` (3)            a session costing more than 3x the
                                                               account's median session of its
                                                               kind (with LLM cost or compute
                                                               only; needs 5 earlier ones; a
                                                               median under $0.05 counts as $0.05)
``agent_stuck``        ``idle_minutes`` (10)                   an active session with no events
                                                               for that long (checked on the timer)
``error_spike``        ``error_count_threshold`` (5),          that many ``error`` events from one
                       ``window_minutes`` (5)                  sandbox within the window, and 3x
                                                               its usual rate (over the 12
                                                               windows before)
``trust_score_low``    ``score_threshold`` (70)                a session's score below it; below 30
                                                               the sandbox is paused (critical)
=====================  ======================================  ==================================

Both statistical rules need a baseline before they fire, so ordinary use raises
nothing: a new account's first sessions cost fractions of a cent (an exec's
few seconds of compute), and "222x the median ($0.0000)" is noise, not an
anomaly. The cost rule waits for :data:`ANOMALY_MIN_SESSIONS` earlier sessions of the
same kind and measures against at least :data:`ANOMALY_MIN_BASELINE`. The
error rule needs its threshold's count of errors (the sample) and compares the
window with the subject's own recent rate (the baseline), so an agent that is
steadily noisy is alerted once, not again each time the alert is resolved,
while a sudden burst over its usual rate still alerts.

The budget guard compares a sandbox's total cost (compute + LLM) with its
``budget`` whenever LLM cost is added and on the timer (compute cost grows
while it runs). Stopping at 100 % is enforced even when the rule is disabled:
the budget is a limit, the rule only governs the early warnings.

No duplicates: an alert has a dedupe key (rule, subject and level). Crossings
— budget levels (per budget amount, so raising a budget re-arms them), trust
bands and cost anomalies — alert once per subject; recurring conditions (a
stuck agent, an error spike) alert again only once the previous alert for the
same subject is resolved.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import statistics
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from caged_core.alert_rules import RULE_SETTINGS
from caged_core.models import (
    Alert,
    AlertPage,
    AlertRule,
    AlertRuleType,
    AlertSeverity,
    AlertState,
)

from .errors import Invalid, NotFound, int_param
from .events import from_us, new_id
from .hooks import PlatformHooks
from .sessions import SessionRow, completed_costs, mark_auto_paused
from .store import Database, transaction

__all__ = [
    "ANOMALY_MIN_BASELINE",
    "ANOMALY_MIN_SESSIONS",
    "BUDGET_CRITICAL_PERCENT",
    "BUDGET_STOP_PERCENT",
    "RULE_DEFAULTS",
    "SPIKE_BASELINE_WINDOWS",
    "SPIKE_FACTOR",
    "TRUST_PAUSE_SCORE",
    "AlertEngine",
    "NewAlert",
    "alert_from_row",
    "ensure_rules",
    "get_alert",
    "insert_alert",
    "list_alerts",
    "resolve_alert",
    "update_rule",
]

_log = logging.getLogger(__name__)

#: Each rule type's config keys and their defaults.
RULE_DEFAULTS: dict[str, dict[str, float]] = {
    rule_type: {setting.key: setting.default for setting in settings}
    for rule_type, settings in RULE_SETTINGS.items()
}
# Accepted ranges (0 = default is always accepted) and whether a value must be whole.
_LIMITS: dict[str, tuple[float, float, bool]] = {
    setting.key: (setting.low, setting.high, setting.whole)
    for settings in RULE_SETTINGS.values()
    for setting in settings
}
BUDGET_CRITICAL_PERCENT = 95.0
BUDGET_STOP_PERCENT = 100.0
#: Below this trust score the sandbox is paused.
TRUST_PAUSE_SCORE = 30
#: An anomaly needs a sample: at least this many earlier sessions that cost anything.
ANOMALY_MIN_SESSIONS = 5
#: The least median (USD) a session is compared with: below it, costs are noise.
ANOMALY_MIN_BASELINE = 0.05
#: An error spike is measured against the subject's rate over this many windows before it.
SPIKE_BASELINE_WINDOWS = 12
#: ... and must be at least this many times that rate.
SPIKE_FACTOR = 3.0


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class _Rule:
    id: str
    account_id: str
    type: str
    enabled: bool
    config: dict[str, float]
    created_at: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> _Rule:
        return cls(
            row["id"], row["account_id"], row["type"], bool(row["enabled"]),
            json.loads(row["config"]), row["created_at"],
        )  # fmt: skip

    def value(self, key: str) -> float:
        """A config value, with 0 (or absent) meaning the default."""
        configured = self.config.get(key) or 0
        return float(configured) if configured else float(RULE_DEFAULTS[self.type][key])

    def to_model(self) -> AlertRule:
        return AlertRule(
            id=self.id, account_id=self.account_id, type=AlertRuleType(self.type),
            enabled=self.enabled, config=dict(self.config), created_at=from_us(self.created_at),
        )  # fmt: skip


def ensure_rules(conn: sqlite3.Connection, account_id: str, now_us: int) -> list[_Rule]:
    """The account's rules, creating the missing ones with their defaults."""
    rows = conn.execute(
        "SELECT * FROM alert_rules WHERE account_id = ? ORDER BY created_at, id", (account_id,)
    ).fetchall()
    have = {row["type"] for row in rows}
    missing = [t for t in RULE_DEFAULTS if t not in have]
    if missing:
        with transaction(conn):
            for rule_type in missing:
                conn.execute(
                    "INSERT OR IGNORE INTO alert_rules (id, account_id, type, enabled, config,"
                    " created_at) VALUES (?,?,?,1,?,?)",
                    (new_id("rule"), account_id, rule_type,
                     json.dumps(RULE_DEFAULTS[rule_type]), now_us),
                )  # fmt: skip
        rows = conn.execute(
            "SELECT * FROM alert_rules WHERE account_id = ? ORDER BY created_at, id", (account_id,)
        ).fetchall()
    order = list(RULE_DEFAULTS)
    rules = [_Rule.from_row(row) for row in rows]
    return sorted(rules, key=lambda r: order.index(r.type) if r.type in order else len(order))


def _rule_of(conn: sqlite3.Connection, account_id: str, rule_type: str, now_us: int) -> _Rule:
    return next(r for r in ensure_rules(conn, account_id, now_us) if r.type == rule_type)


def _validate_update(rule: _Rule, body: Any) -> tuple[bool, dict[str, float]]:
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object with 'enabled' and/or 'config'")
    unknown = sorted(set(body) - {"enabled", "config"})
    if unknown:
        raise Invalid(f"unknown field {unknown[0]!r}; only 'enabled' and 'config' can be changed")
    enabled = body.get("enabled", rule.enabled)
    if not isinstance(enabled, bool):
        raise Invalid("field 'enabled' must be true or false")
    config = dict(rule.config)
    changes = body.get("config", {})
    if changes is None:
        changes = {}
    if not isinstance(changes, dict):
        raise Invalid("field 'config' must be an object")
    allowed = RULE_DEFAULTS[rule.type]
    for key, value in changes.items():
        if key not in allowed:
            raise Invalid(
                f"config.{key} is not a setting of {rule.type} rules; "
                f"valid settings: {', '.join(allowed)}"
            )
        low, high, whole = _LIMITS[key]
        kind = "an integer" if whole else "a number"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"config.{key} must be {kind}, not {type(value).__name__}")
        if whole and isinstance(value, float) and not value.is_integer():
            raise Invalid(f"config.{key} must be an integer")
        if value != 0 and not low <= value <= high:
            raise Invalid(f"config.{key} must be from {low:g} to {high:g} (0 means the default)")
        config[key] = int(value) if whole or float(value).is_integer() else float(value)
    return enabled, config


def update_rule(
    conn: sqlite3.Connection, account_id: str, rule_id: str, body: Any, now_us: int
) -> AlertRule:
    """Apply ``{"enabled"?, "config"?}`` to a rule after validating every value."""
    ensure_rules(conn, account_id, now_us)
    row = conn.execute(
        "SELECT * FROM alert_rules WHERE id = ? AND account_id = ?", (rule_id, account_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"no alert rule {rule_id!r}")
    rule = _Rule.from_row(row)
    enabled, config = _validate_update(rule, body)
    with transaction(conn):
        conn.execute(
            "UPDATE alert_rules SET enabled = ?, config = ? WHERE id = ?",
            (int(enabled), json.dumps(config), rule_id),
        )
    return _Rule(rule.id, account_id, rule.type, enabled, config, rule.created_at).to_model()


# --------------------------------------------------------------------------- alerts


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert the engine wants to raise (unless an equivalent one exists)."""

    account_id: str
    rule_type: str
    severity: AlertSeverity
    title: str
    message: str
    dedupe_key: str
    #: True: alert once per key ever; False: again once the previous one is resolved.
    once: bool
    sandbox_id: str = ""
    session_id: str = ""
    meta: dict[str, str] | None = None


def alert_from_row(row: sqlite3.Row) -> Alert:
    return Alert(
        id=row["id"],
        account_id=row["account_id"],
        rule_id=row["rule_id"],
        rule_type=row["rule_type"],
        severity=row["severity"],
        state=row["state"],
        title=row["title"],
        message=row["message"],
        sandbox_id=row["sandbox_id"],
        session_id=row["session_id"],
        meta=json.loads(row["meta"]),
        created_at=from_us(row["created_at"]),
        resolved_at=from_us(row["resolved_at"]) if row["resolved_at"] is not None else None,
    )


def insert_alert(conn: sqlite3.Connection, new: NewAlert, now_us: int) -> Alert | None:
    """Store the alert, or return None if an equivalent one already exists."""
    rule = _rule_of(conn, new.account_id, new.rule_type, now_us)
    with transaction(conn):
        query = "SELECT 1 FROM alerts WHERE account_id = ? AND dedupe_key = ?"
        if not new.once:
            query += " AND state = 'open'"
        if conn.execute(query, (new.account_id, new.dedupe_key)).fetchone():
            return None
        alert_id = new_id("alert")
        conn.execute(
            "INSERT INTO alerts (id, account_id, rule_id, rule_type, severity, state, title,"
            " message, sandbox_id, session_id, meta, dedupe_key, created_at)"
            " VALUES (?,?,?,?,?,'open',?,?,?,?,?,?,?)",
            (alert_id, new.account_id, rule.id, new.rule_type, new.severity.value, new.title,
             new.message, new.sandbox_id, new.session_id, json.dumps(new.meta or {}),
             new.dedupe_key, now_us),
        )  # fmt: skip
        row = conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    return alert_from_row(row)


def list_alerts(
    conn: sqlite3.Connection, account_id: str, limit: int, offset: int
) -> tuple[list[Alert], int]:
    """Alerts newest first, and how many there are in all."""
    total = conn.execute("SELECT COUNT(*) FROM alerts WHERE account_id = ?", (account_id,))
    rows = conn.execute(
        "SELECT * FROM alerts WHERE account_id = ? ORDER BY pk DESC LIMIT ? OFFSET ?",
        (account_id, limit, offset),
    ).fetchall()
    return [alert_from_row(r) for r in rows], int(total.fetchone()[0])


def get_alert(conn: sqlite3.Connection, account_id: str, alert_id: str) -> Alert:
    """One alert of the account, or :class:`NotFound`."""
    row = conn.execute(
        "SELECT * FROM alerts WHERE id = ? AND account_id = ?", (alert_id, account_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"no alert {alert_id!r}")
    return alert_from_row(row)


def resolve_alert(conn: sqlite3.Connection, account_id: str, alert_id: str, now_us: int) -> None:
    """Mark an alert resolved (resolving a resolved alert changes nothing)."""
    get_alert(conn, account_id, alert_id)
    with transaction(conn):
        conn.execute(
            "UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE id = ? AND state != ?",
            (now_us, alert_id, AlertState.RESOLVED.value),
        )


def _count_errors(
    conn: sqlite3.Connection,
    account_id: str,
    sandbox_id: str,
    session_id: str,
    since_us: int,
    until_us: int,
) -> tuple[int, int | None]:
    """How many errors one subject sent in ``[since_us, until_us)``, and when the first
    of them was received (None without any)."""
    query = (
        "SELECT COUNT(*), MIN(received_at) FROM events WHERE account_id = ? AND type = 'error'"
        " AND received_at >= ? AND received_at < ? AND "
    )
    subject: str | None
    # An error outside any sandbox is counted with its session's errors instead.
    if sandbox_id:
        query += "sandbox_id = ?"
        subject = sandbox_id
    else:
        query += "sandbox_id = '' AND session_id IS ?"
        subject = session_id or None
    count, first = conn.execute(query, (account_id, since_us, until_us, subject)).fetchone()
    return int(count), first


# --------------------------------------------------------------------------- engine


def _money(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


class AlertEngine:
    """Evaluates the rules as events arrive and on the timer, and acts on them.

    ``raised`` is called with every alert actually created (the notifier);
    ``llm_cost`` answers a sandbox's LLM cost so far.
    """

    def __init__(
        self,
        db: Database,
        hooks: PlatformHooks,
        *,
        raised: Callable[[Alert], Awaitable[None]],
        llm_cost: Callable[[str], float],
        now_us: Callable[[], int],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self._db = db
        self._hooks = hooks
        self._raised = raised
        self._llm_cost = llm_cost
        self._now_us = now_us
        self._spawn = spawn
        # Sandboxes with a budget stop in flight (their "running" may not have changed yet).
        self._stopping: set[str] = set()

    async def _rule(self, account_id: str, rule_type: str) -> _Rule:
        return await self._db.run(_rule_of, account_id, rule_type, self._now_us())

    async def _raise(self, new: NewAlert) -> Alert | None:
        alert = await self._db.run(insert_alert, new, self._now_us())
        if alert is not None:
            await self._raised(alert)
        return alert

    async def check_budget(self, sandbox_id: str) -> None:
        """Compare the sandbox's total cost with its budget; warn, escalate or stop."""
        info = await self._hooks.sandbox_info(sandbox_id)
        if info is None or info.budget is None or info.budget <= 0:
            return
        total = info.compute_cost + self._llm_cost(sandbox_id)
        percent = total / info.budget * 100
        rule = await self._rule(info.account_id, AlertRuleType.BUDGET_EXCEEDED.value)
        warn_at = rule.value("threshold_percent")
        spent = f"{_money(total)} of its {_money(info.budget)} budget ({percent:.0f}%)"
        meta = {
            "percent": f"{percent:.0f}",
            "budget": f"{info.budget:.4f}",
            "total_cost": f"{total:.4f}",
        }
        if percent >= BUDGET_STOP_PERCENT:
            if info.running and sandbox_id not in self._stopping:
                reason = f"budget exhausted: {spent}"
                await self._hooks.log(sandbox_id, "system", f"stopping the sandbox — {reason}")
                self._stopping.add(sandbox_id)
                self._spawn(self._stop(sandbox_id, reason))
            level, severity = "exceeded", AlertSeverity.CRITICAL
            title = "Budget exhausted — sandbox stopped"
            message = f"Sandbox {sandbox_id} has used {spent}; it was stopped."
        elif percent >= BUDGET_CRITICAL_PERCENT and rule.enabled:
            level, severity = "critical", AlertSeverity.CRITICAL
            title = f"Budget {percent:.0f}% used"
            message = f"Sandbox {sandbox_id} has used {spent}; it stops at 100%."
        elif percent >= warn_at and rule.enabled:
            level, severity = "warning", AlertSeverity.WARNING
            title = f"Budget {percent:.0f}% used"
            message = f"Sandbox {sandbox_id} has used {spent}."
        else:
            return
        await self._raise(
            NewAlert(
                account_id=info.account_id,
                rule_type=rule.type,
                severity=severity,
                title=title,
                message=message,
                dedupe_key=f"budget:{sandbox_id}:{level}:{info.budget:g}",
                once=True,
                sandbox_id=sandbox_id,
                meta={**meta, "level": level},
            )
        )

    # Stops and pauses run as tasks of their own: the event that triggered them may be
    # being recorded by the very connection the platform closes while stopping, and
    # awaiting the stop from inside that recording could wait on itself.

    async def _stop(self, sandbox_id: str, reason: str) -> None:
        try:
            await self._hooks.stop_sandbox(sandbox_id, reason)
        except Exception:  # a failed stop is logged; the alert stands
            _log.exception("stopping %s over its budget failed", sandbox_id)
        finally:
            self._stopping.discard(sandbox_id)

    async def _pause(self, sandbox_id: str, reason: str) -> None:
        try:
            await self._hooks.pause_sandbox(sandbox_id, reason)
        except Exception:  # a failed pause is logged; the alert stands
            _log.exception("pausing %s for low trust failed", sandbox_id)

    async def check_trust(self, session: SessionRow, why: str) -> None:
        """Alert on a low trust score; pause the sandbox below :data:`TRUST_PAUSE_SCORE`."""
        score = session.trust_score
        rule = await self._rule(session.account_id, AlertRuleType.TRUST_SCORE_LOW.value)
        meta = {"score": str(score)}
        if score < TRUST_PAUSE_SCORE and session.sandbox_id:
            if await self._db.run(mark_auto_paused, session.id):
                reason = (
                    f"session {session.id} trust score {score} is below {TRUST_PAUSE_SCORE}: {why}"
                )
                await self._hooks.log(
                    session.sandbox_id, "system", f"pausing the sandbox — {reason}"
                )
                self._spawn(self._pause(session.sandbox_id, reason))
            await self._raise(
                NewAlert(
                    account_id=session.account_id,
                    rule_type=rule.type,
                    severity=AlertSeverity.CRITICAL,
                    title=f"Trust score {score} — sandbox paused",
                    message=f"Session {session.id} in {session.sandbox_id} scored {score}"
                    f" (below {TRUST_PAUSE_SCORE}); the sandbox was paused. Last: {why}.",
                    dedupe_key=f"trust:{session.id}:pause",
                    once=True,
                    sandbox_id=session.sandbox_id,
                    session_id=session.id,
                    meta=meta,
                )
            )
            return
        threshold = rule.value("score_threshold")
        if not rule.enabled or score >= threshold:
            return
        await self._raise(
            NewAlert(
                account_id=session.account_id,
                rule_type=rule.type,
                severity=AlertSeverity.WARNING,
                title=f"Trust score {score}",
                message=f"Session {session.id} scored {score}, below {threshold:g}. Last: {why}.",
                dedupe_key=f"trust:{session.id}:low",
                once=True,
                sandbox_id=session.sandbox_id,
                session_id=session.id,
                meta=meta,
            )
        )

    async def check_errors(self, account_id: str, sandbox_id: str, session_id: str) -> None:
        """Alert when a sandbox (or a sandbox-less session) reports an error spike."""
        rule = await self._rule(account_id, AlertRuleType.ERROR_SPIKE.value)
        if not rule.enabled:
            return
        window = rule.value("window_minutes")
        threshold = rule.value("error_count_threshold")
        now = self._now_us()
        span = int(window * 60_000_000)
        # The end is exclusive: +1 takes in an error received this very microsecond.
        count, _ = await self._db.run(
            _count_errors, account_id, sandbox_id, session_id, now - span, now + 1
        )
        if count < threshold:
            return
        start = now - span
        before, first = await self._db.run(
            _count_errors,
            account_id,
            sandbox_id,
            session_id,
            start - span * SPIKE_BASELINE_WINDOWS,
            start,
        )
        # The usual rate per window, over the history there is (a subject seen for ten
        # minutes has two windows of it, not twelve).
        windows = max(1.0, (start - first) / span) if first is not None else 1.0
        if count < SPIKE_FACTOR * before / windows:
            return
        subject = sandbox_id or session_id or "account"
        await self._raise(
            NewAlert(
                account_id=account_id,
                rule_type=rule.type,
                severity=AlertSeverity.WARNING,
                title=f"{count} errors in {window:g} minutes",
                message=f"{subject} reported {count} errors in the last {window:g} minutes.",
                dedupe_key=f"errors:{subject}",
                once=False,
                sandbox_id=sandbox_id,
                session_id=session_id,
                meta={"count": str(count)},
            )
        )

    async def check_anomaly(self, session: SessionRow, compute_now: float | None) -> None:
        """Alert when a session costs far more than the account's median session."""
        rule = await self._rule(session.account_id, AlertRuleType.COST_ANOMALY.value)
        if not rule.enabled:
            return
        # Like with like: an agent's LLM session against other LLM sessions, a shell's
        # compute against other compute-only sessions (an hour-long terminal is not an
        # anomaly next to one-second commands, nor a $0.30 agent run next to them).
        baseline = await self._db.run(
            completed_costs, session.account_id, session.id, llm=session.llm_cost > 0
        )
        if len(baseline) < ANOMALY_MIN_SESSIONS:
            return
        median = statistics.median(baseline)
        reference = max(median, ANOMALY_MIN_BASELINE)
        cost = session.llm_cost + session.compute_share(compute_now)
        multiplier = rule.value("multiplier_threshold")
        if cost <= multiplier * reference:
            return
        usual = (
            f"the median session ({_money(median)})"
            if median >= ANOMALY_MIN_BASELINE
            else f"{_money(ANOMALY_MIN_BASELINE)} (sessions here usually cost less than that)"
        )
        await self._raise(
            NewAlert(
                account_id=session.account_id,
                rule_type=rule.type,
                severity=AlertSeverity.WARNING,
                title=f"Session cost {cost / reference:.1f}x the usual",
                message=f"Session {session.id} has cost {_money(cost)}, more than"
                f" {multiplier:g}x {usual}.",
                dedupe_key=f"anomaly:{session.id}",
                once=True,
                sandbox_id=session.sandbox_id,
                session_id=session.id,
                meta={"cost": f"{cost:.4f}", "median": f"{median:.4f}"},
            )
        )

    async def check_stuck(self, session: SessionRow) -> None:
        """Alert when an active session has had no events for ``idle_minutes``."""
        rule = await self._rule(session.account_id, AlertRuleType.AGENT_STUCK.value)
        if not rule.enabled:
            return
        idle_minutes = rule.value("idle_minutes")
        idle_us = self._now_us() - session.last_activity
        if idle_us < idle_minutes * 60_000_000:
            return
        await self._raise(
            NewAlert(
                account_id=session.account_id,
                rule_type=rule.type,
                severity=AlertSeverity.WARNING,
                title="Agent stuck",
                message=f"Session {session.id} has had no events for"
                f" {idle_us // 60_000_000} minutes.",
                dedupe_key=f"stuck:{session.id}",
                once=False,
                sandbox_id=session.sandbox_id,
                session_id=session.id,
                meta={"idle_minutes": str(idle_us // 60_000_000)},
            )
        )


class Alerts:
    """``/alerts``: the account's alerts and its rules (:class:`AlertEngine` raises them)."""

    def __init__(self, db: Database, *, now_us: Callable[[], int]) -> None:
        self._db = db
        self._now_us = now_us

    async def page(self, account_id: str, limit: int = 50, offset: int = 0) -> AlertPage:
        """``GET /alerts``: newest first (``limit`` 1-500)."""
        limit = int_param("limit", limit, 1, 500)
        offset = int_param("offset", offset, 0)
        found, total = await self._db.run(list_alerts, account_id, limit, offset)
        return AlertPage(alerts=found, total=total, limit=limit, offset=offset)

    async def get(self, account_id: str, alert_id: str) -> Alert:
        """``GET /alerts/{id}``; :class:`NotFound` for an unknown alert."""
        return await self._db.run(get_alert, account_id, alert_id)

    async def resolve(self, account_id: str, alert_id: str) -> None:
        """``POST /alerts/{id}/resolve``."""
        await self._db.run(resolve_alert, account_id, alert_id, self._now_us())

    async def rules(self, account_id: str) -> list[AlertRule]:
        """``GET /alerts/rules``: the account's five rules (created with defaults)."""
        found = await self._db.run(ensure_rules, account_id, self._now_us())
        return [rule.to_model() for rule in found]

    async def update_rule(self, account_id: str, rule_id: str, body: Any) -> AlertRule:
        """``PUT /alerts/rules/{id}`` with ``{"enabled"?, "config"?}``; applies at once.

        Raises :class:`Invalid` naming the offending field for a wrong type, an unknown
        setting or an out-of-range value.
        """
        return await self._db.run(update_rule, account_id, rule_id, body, self._now_us())
