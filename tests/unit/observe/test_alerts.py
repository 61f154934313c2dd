"""Alert rules and their evaluation, including the budget guard."""

from __future__ import annotations

import pytest
from observe_helpers import (
    ACCOUNT,
    OTHER_ACCOUNT,
    Clock,
    FakeSandbox,
    RecordingHooks,
    event,
    llm,
)

from caged_platform.observe import Invalid, NotFound, Observer


async def test_every_account_gets_the_five_rules_with_defaults(observer: Observer) -> None:
    rules = {rule.type: rule for rule in await observer.alerts.rules(ACCOUNT)}
    assert {k: r.config for k, r in rules.items()} == {
        "budget_exceeded": {"threshold_percent": 80},
        "cost_anomaly": {"multiplier_threshold": 3},
        "agent_stuck": {"idle_minutes": 10},
        "error_spike": {"error_count_threshold": 5, "window_minutes": 5},
        "trust_score_low": {"score_threshold": 70},
    }
    assert all(rule.enabled and rule.account_id == ACCOUNT for rule in rules.values())
    again = await observer.alerts.rules(ACCOUNT)
    assert [r.id for r in again] == [r.id for r in rules.values()]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"enabled": "yes"}, "field 'enabled' must be true or false"),
        ({"config": [1]}, "field 'config' must be an object"),
        (
            {"config": {"score_threshold": "50"}},
            "config.score_threshold must be an integer, not str",
        ),
        ({"config": {"score_threshold": 50.5}}, "config.score_threshold must be an integer"),
        ({"config": {"score_threshold": True}}, "must be an integer, not bool"),
        ({"config": {"score_threshold": 101}}, "must be from 1 to 100"),
        (
            {"config": {"idle_minutes": 5}},
            "config.idle_minutes is not a setting of trust_score_low",
        ),
        ({"severity": "high"}, "unknown field 'severity'"),
        ([], "must be a JSON object"),
    ],
)
async def test_rule_updates_with_wrong_types_get_clear_errors(
    observer: Observer, body: object, message: str
) -> None:
    rule = next(r for r in await observer.alerts.rules(ACCOUNT) if r.type == "trust_score_low")
    with pytest.raises(Invalid, match=message):
        await observer.alerts.update_rule(ACCOUNT, rule.id, body)
    unchanged = next(r for r in await observer.alerts.rules(ACCOUNT) if r.id == rule.id)
    assert unchanged.config == {"score_threshold": 70}


async def test_rule_updates_apply_at_once(observer: Observer, hooks: RecordingHooks) -> None:
    hooks.add("cage-1")
    rule = next(r for r in await observer.alerts.rules(ACCOUNT) if r.type == "trust_score_low")
    updated = await observer.alerts.update_rule(
        ACCOUNT, rule.id, {"config": {"score_threshold": 90}}
    )
    assert updated.config == {"score_threshold": 90} and updated.enabled
    with pytest.raises(NotFound):
        await observer.alerts.update_rule(ACCOUNT, "rule-nope", {"enabled": False})
    with pytest.raises(NotFound):
        await observer.alerts.update_rule(OTHER_ACCOUNT, rule.id, {"enabled": False})
    # -20 takes the score to 80: below the new threshold of 90 (the default 70 would not alert).
    await observer.ingest(
        ACCOUNT,
        [event(session_id="s", sandbox_id="cage-1", payload={"command": "cat /etc/passwd"})],
    )
    [alert] = (await observer.alerts.page(ACCOUNT)).alerts
    assert (alert.rule_type, alert.title, alert.rule_id) == (
        "trust_score_low",
        "Trust score 80",
        rule.id,
    )
    await observer.alerts.update_rule(ACCOUNT, rule.id, {"enabled": False})
    await observer.ingest(
        ACCOUNT,
        [event(session_id="t", sandbox_id="cage-1", payload={"command": "cat /etc/passwd"})],
    )
    assert (await observer.alerts.page(ACCOUNT)).total == 1


async def test_budget_guard_warns_escalates_and_stops(
    observer: Observer, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1", budget=1.0, compute_cost=0.05)
    costs = [0.5, 0.3, 0.02, 0.1, 0.05]  # totals with compute: 55, 85, 87, 97, 102 %
    for n, cost in enumerate(costs):
        await observer.ingest(ACCOUNT, [llm(cost, session_id="s", sandbox_id="cage-1", second=n)])
    await observer.wait_idle()  # the stop runs as a task of its own
    alerts = list(reversed((await observer.alerts.page(ACCOUNT)).alerts))
    assert [(a.severity, a.meta["level"], a.meta["percent"]) for a in alerts] == [
        ("warning", "warning", "85"),
        ("critical", "critical", "97"),
        ("critical", "exceeded", "102"),
    ]
    assert alerts[2].title == "Budget exhausted — sandbox stopped"
    assert all(a.rule_type == "budget_exceeded" and a.sandbox_id == "cage-1" for a in alerts)
    assert len(hooks.stopped) == 1 and hooks.stopped[0][0] == "cage-1"
    assert "budget exhausted" in hooks.stopped[0][1]
    assert any("stopping the sandbox" in message for _, _, message in hooks.logs)
    notifications = (await observer.notifications.page(ACCOUNT)).notifications
    assert sorted((n.channel, n.alert_id) for n in notifications) == sorted(
        ("in_app", a.id) for a in alerts
    )
    assert (await observer.notifications.page(ACCOUNT)).unread_count == 3
    # More spending neither duplicates alerts nor stops a stopped sandbox again.
    await observer.ingest(ACCOUNT, [llm(0.1, session_id="s", sandbox_id="cage-1", second=9)])
    await observer.tick()
    await observer.wait_idle()
    assert (await observer.alerts.page(ACCOUNT)).total == 3
    assert len(hooks.stopped) == 1


async def test_compute_cost_alone_trips_the_budget_on_the_timer(
    observer: Observer, hooks: RecordingHooks
) -> None:
    box = hooks.add("cage-1", budget=2.0, compute_cost=0.1)
    await observer.tick()
    assert (await observer.alerts.page(ACCOUNT)).total == 0
    box.compute_cost = 2.0
    await observer.tick()
    await observer.wait_idle()
    [alert] = (await observer.alerts.page(ACCOUNT)).alerts
    assert alert.meta["level"] == "exceeded" and hooks.stopped[0][0] == "cage-1"


async def test_resolve_and_get_alerts(observer: Observer, hooks: RecordingHooks) -> None:
    hooks.add("cage-1", budget=1.0)
    await observer.ingest(ACCOUNT, [llm(0.9, session_id="s", sandbox_id="cage-1")])
    [alert] = (await observer.alerts.page(ACCOUNT)).alerts
    assert (await observer.alerts.get(ACCOUNT, alert.id)).state == "open"
    await observer.alerts.resolve(ACCOUNT, alert.id)
    await observer.alerts.resolve(ACCOUNT, alert.id)  # idempotent
    resolved = await observer.alerts.get(ACCOUNT, alert.id)
    assert resolved.state == "resolved" and resolved.resolved_at is not None
    with pytest.raises(NotFound, match="no alert"):
        await observer.alerts.get(OTHER_ACCOUNT, alert.id)
    with pytest.raises(NotFound):
        await observer.alerts.resolve(ACCOUNT, "alert-nope")
    with pytest.raises(Invalid, match="limit must be from 1 to 500"):
        await observer.alerts.page(ACCOUNT, limit=0)
    page = await observer.alerts.page(ACCOUNT, limit=1, offset=1)
    assert page.total == 1 and page.alerts == []


async def test_error_spike_alerts_once_while_open(
    observer: Observer, hooks: RecordingHooks, clock: Clock
) -> None:
    hooks.add("cage-1")
    errors = [event("error", n, session_id="s", sandbox_id="cage-1") for n in range(4)]
    await observer.ingest(ACCOUNT, errors)
    assert (await observer.alerts.page(ACCOUNT)).total == 0
    clock.advance(minutes=6)  # the first four fall out of the 5-minute window
    await observer.ingest(ACCOUNT, errors[:1])
    assert (await observer.alerts.page(ACCOUNT)).total == 0
    await observer.ingest(ACCOUNT, errors * 2)  # 9: over the threshold, not 3x the usual 4
    assert (await observer.alerts.page(ACCOUNT)).total == 0
    await observer.ingest(ACCOUNT, errors)
    [alert] = (await observer.alerts.page(ACCOUNT)).alerts
    assert alert.rule_type == "error_spike" and alert.meta["count"] == "13"
    await observer.ingest(ACCOUNT, errors)
    assert (await observer.alerts.page(ACCOUNT)).total == 1  # still open: no duplicate
    await observer.alerts.resolve(ACCOUNT, alert.id)
    await observer.ingest(ACCOUNT, errors[:1])
    assert (await observer.alerts.page(ACCOUNT)).total == 2  # a new spike after resolving


async def test_agent_stuck_on_the_timer(
    observer: Observer, hooks: RecordingHooks, clock: Clock
) -> None:
    hooks.add("cage-1")
    session_id = await observer.open_session(ACCOUNT, "cage-1")
    clock.advance(minutes=9)
    await observer.tick()
    assert (await observer.alerts.page(ACCOUNT)).total == 0
    clock.advance(minutes=2)
    await observer.tick()
    await observer.tick()
    [alert] = (await observer.alerts.page(ACCOUNT)).alerts
    assert (alert.rule_type, alert.session_id) == ("agent_stuck", session_id)


async def test_cost_anomaly_against_the_median_session(
    observer: Observer, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1")
    for n, cost in enumerate([0.10, 0.12, 0.08, 0.09, 0.11]):
        session_id = await observer.open_session(ACCOUNT, "cage-1")
        await observer.ingest(ACCOUNT, [llm(cost, session_id=session_id, sandbox_id="cage-1")])
        await observer.close_session(session_id)
        assert (await observer.alerts.page(ACCOUNT)).total == 0, n
    big = await observer.open_session(ACCOUNT, "cage-1")
    await observer.ingest(ACCOUNT, [llm(0.25, session_id=big, sandbox_id="cage-1")])
    assert (await observer.alerts.page(ACCOUNT)).total == 0  # 2.5x the median of 0.10
    await observer.ingest(ACCOUNT, [llm(0.10, session_id=big, sandbox_id="cage-1")])
    [alert] = (await observer.alerts.page(ACCOUNT)).alerts
    assert (alert.rule_type, alert.session_id) == ("cost_anomaly", big)
    assert alert.meta["median"] == "0.1000"
    assert alert.message.endswith("more than 3x the median session ($0.10).")


async def _short_sessions(observer: Observer, box: FakeSandbox, sandbox_id: str, n: int) -> None:
    """``n`` short terminal sessions in a sandbox: a second or two of compute each."""
    for _ in range(n):
        session_id = await observer.open_session(ACCOUNT, sandbox_id)
        await observer.record(
            ACCOUNT, sandbox_id, "command", {"command": "ls"}, session_id=session_id
        )
        box.compute_cost += 0.00001
        await observer.close_session(session_id)


async def test_ordinary_use_raises_no_alert(
    observer: Observer, hooks: RecordingHooks, clock: Clock
) -> None:
    """A new user's first hour, as reported: three sandboxes, short terminal sessions,
    one left open a few minutes, an agent of ordinary (varying) cost, now and then a
    failure. Before the baselines, the long terminal was "222x the median ($0.0000)"."""
    boxes = {f"cage-{n}": hooks.add(f"cage-{n}") for n in range(3)}
    for sandbox_id, box in boxes.items():
        await _short_sessions(observer, box, sandbox_id, 4)
    terminal = await observer.open_session(ACCOUNT, "cage-0")
    boxes["cage-0"].compute_cost += 0.0022  # ~6 minutes of 2 vCPU and 512 MB
    await observer.close_session(terminal)
    for cost in [0.02, 0.35, 0.04, 0.01, 0.12, 0.06, 0.09]:  # an agent's sessions
        session_id = await observer.open_session(ACCOUNT, "cage-1")
        await observer.ingest(ACCOUNT, [llm(cost, session_id=session_id, sandbox_id="cage-1")])
        await observer.close_session(session_id)
    for minute in range(60):  # a failing test now and then
        clock.advance(minutes=1)
        if minute % 3 == 0:
            await observer.ingest(ACCOUNT, [event("error", minute, sandbox_id="cage-2")])
    await observer.tick()
    assert [a.title for a in (await observer.alerts.page(ACCOUNT)).alerts] == []


async def test_a_steadily_noisy_agent_is_alerted_once_not_after_each_resolve(
    observer: Observer, hooks: RecordingHooks, clock: Clock
) -> None:
    hooks.add("cage-1")

    async def minutes(count: int) -> None:  # two errors a minute: ten or so per window
        for minute in range(count):
            clock.advance(minutes=1)
            await observer.ingest(ACCOUNT, [event("error", minute, sandbox_id="cage-1")] * 2)

    await minutes(10)  # no history yet: the threshold alone decides
    alerts = (await observer.alerts.page(ACCOUNT)).alerts
    assert alerts and {a.rule_type for a in alerts} == {"error_spike"}
    for alert in alerts:
        await observer.alerts.resolve(ACCOUNT, alert.id)
    await minutes(50)  # its rate is now the usual: resolving does not bring it back
    assert (await observer.alerts.page(ACCOUNT)).total == len(alerts)


async def test_a_real_cost_anomaly_still_alerts_against_a_tiny_baseline(
    observer: Observer, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1")
    for _ in range(6):  # an agent on a cheap model: a tenth of a cent a session
        session_id = await observer.open_session(ACCOUNT, "cage-1")
        await observer.ingest(ACCOUNT, [llm(0.001, session_id=session_id, sandbox_id="cage-1")])
        await observer.close_session(session_id)
    runaway = await observer.open_session(ACCOUNT, "cage-1")
    await observer.ingest(ACCOUNT, [llm(0.14, session_id=runaway, sandbox_id="cage-1")])
    assert (await observer.alerts.page(ACCOUNT)).total == 0  # under 3x the $0.05 floor
    await observer.ingest(ACCOUNT, [llm(2.0, session_id=runaway, sandbox_id="cage-1")])
    [alert] = (await observer.alerts.page(ACCOUNT)).alerts
    assert (alert.rule_type, alert.session_id) == ("cost_anomaly", runaway)
    assert alert.title == "Session cost 42.8x the usual"
    assert "$0.0010" not in alert.message and "more than 3x $0.05" in alert.message


async def test_too_few_sessions_are_no_baseline(observer: Observer, hooks: RecordingHooks) -> None:
    hooks.add("cage-1")
    for cost in [0.10, 0.10, 0.10, 0.10]:  # one short of the sample
        session_id = await observer.open_session(ACCOUNT, "cage-1")
        await observer.ingest(ACCOUNT, [llm(cost, session_id=session_id, sandbox_id="cage-1")])
        await observer.close_session(session_id)
    big = await observer.open_session(ACCOUNT, "cage-1")
    await observer.ingest(ACCOUNT, [llm(5.0, session_id=big, sandbox_id="cage-1")])
    assert (await observer.alerts.page(ACCOUNT)).total == 0


async def test_an_error_burst_over_a_noisy_baseline_still_alerts(
    observer: Observer, hooks: RecordingHooks, clock: Clock
) -> None:
    hooks.add("cage-1")
    for minute in range(60):  # two errors a minute: ten per window, its usual rate
        clock.advance(minutes=1)
        await observer.ingest(ACCOUNT, [event("error", minute, sandbox_id="cage-1")] * 2)
    [first] = (await observer.alerts.page(ACCOUNT)).alerts
    await observer.alerts.resolve(ACCOUNT, first.id)
    clock.advance(minutes=1)
    await observer.ingest(ACCOUNT, [event("error", 99, sandbox_id="cage-1")] * 18)
    assert (await observer.alerts.page(ACCOUNT)).total == 1  # 28 in the window: under 3x 10
    await observer.ingest(ACCOUNT, [event("error", 99, sandbox_id="cage-1")] * 2)
    alert, _ = (await observer.alerts.page(ACCOUNT)).alerts
    assert (alert.rule_type, alert.state, alert.meta["count"]) == ("error_spike", "open", "30")
