"""Alerts delivered to Slack and Discord webhooks over real loopback HTTP."""

from __future__ import annotations

from pathlib import Path

from eventually import eventually_async
from observe_helpers import ACCOUNT, Clock, RecordingHooks, llm
from webhook_receiver import Receiver

from caged_platform.observe import DeliveryPolicy, Observer


async def _configure(observer: Observer, receiver: Receiver) -> None:
    await observer.notifications.update_config(
        ACCOUNT,
        {
            "enabled_channels": ["in_app", "slack", "discord"],
            "slack_webhook_url": f"{receiver.url}/slack/T0/B0/secret",
            "discord_webhook_url": f"{receiver.url}/discord/1/token",
        },
    )


async def test_budget_alerts_reach_slack_and_discord(
    observer: Observer, hooks: RecordingHooks, receiver: Receiver
) -> None:
    hooks.add("cage-1", budget=1.0)
    await _configure(observer, receiver)
    for n, cost in enumerate([0.85, 0.12, 0.05]):  # 85 %, 97 %, 102 %
        await observer.ingest(ACCOUNT, [llm(cost, session_id="s", sandbox_id="cage-1", second=n)])
    await observer.wait_idle()
    slack = receiver.received["/slack/T0/B0/secret"]
    discord = receiver.received["/discord/1/token"]
    assert [m["text"].split(":")[0] for m in slack] == [
        "[WARNING] Budget 85% used",
        "[CRITICAL] Budget 97% used",
        "[CRITICAL] Budget exhausted — sandbox stopped",
    ]
    assert all(block["type"] for m in slack for block in m["blocks"])
    assert [m["content"] for m in discord] == [
        "**[WARNING] Budget 85% used**",
        "**[CRITICAL] Budget 97% used**",
        "**[CRITICAL] Budget exhausted — sandbox stopped**",
    ]
    assert discord[2]["embeds"][0]["fields"][2] == {
        "name": "Sandbox",
        "value": "cage-1",
        "inline": True,
    }
    assert hooks.stopped and hooks.stopped[0][0] == "cage-1"
    page = await observer.notifications.page(ACCOUNT)
    by_channel: dict[str, int] = {}
    for notification in page:
        by_channel[notification.channel] = by_channel.get(notification.channel, 0) + 1
        assert notification.delivered is True, notification
    assert by_channel == {"in_app": 3, "slack": 3, "discord": 3}
    assert page.unread_count == 3


async def test_a_receiver_failing_twice_gets_exactly_one_message(
    observer: Observer, hooks: RecordingHooks, receiver: Receiver, waits: list[float]
) -> None:
    hooks.add("cage-1", budget=1.0)
    await _configure(observer, receiver)
    receiver.failures["/slack/T0/B0/secret"] = 2
    await observer.ingest(ACCOUNT, [llm(0.9, session_id="s", sandbox_id="cage-1")])
    await observer.wait_idle()
    assert receiver.attempts["/slack/T0/B0/secret"] == 3
    assert waits == [0.05, 0.1]  # the backoff before each repeat (jitter pinned to 0)
    assert len(receiver.received["/slack/T0/B0/secret"]) == 1
    [alert] = (await observer.alerts.page(ACCOUNT)).alerts
    slack = next(
        n for n in await observer.notifications.for_alert(ACCOUNT, alert.id) if n.channel == "slack"
    )
    assert slack.delivered is True and slack.delivery_error is None


async def test_failures_are_kept_on_the_notification_without_the_url(
    observer: Observer, hooks: RecordingHooks, receiver: Receiver, waits: list[float]
) -> None:
    hooks.add("cage-1", budget=1.0)
    await _configure(observer, receiver)
    receiver.failures["/slack/T0/B0/secret"] = 99  # never recovers: gives up after 4 tries
    receiver.status["/discord/1/token"] = 404  # a refusal: not retried
    await observer.ingest(ACCOUNT, [llm(0.9, session_id="s", sandbox_id="cage-1")])
    await observer.wait_idle()
    assert receiver.attempts["/slack/T0/B0/secret"] == 4
    assert receiver.attempts["/discord/1/token"] == 1
    assert waits == [0.05, 0.1, 0.2]  # doubled, capped at max_delay; none after the last
    [alert] = (await observer.alerts.page(ACCOUNT)).alerts
    outcome = {
        n.channel.value: n for n in await observer.notifications.for_alert(ACCOUNT, alert.id)
    }
    assert outcome["slack"].delivered is False
    assert outcome["slack"].delivery_error == (
        'the Slack webhook answered HTTP 500: {"error":"try again"}'
    )
    assert outcome["discord"].delivery_error == (
        "the Discord webhook answered HTTP 404: no such webhook"
    )
    for notification in outcome.values():
        assert "secret" not in (notification.delivery_error or "")
        assert "token" not in (notification.delivery_error or "")
    assert outcome["in_app"].delivered is True


async def test_an_unreachable_webhook_is_reported_not_raised(
    observer: Observer, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1", budget=1.0)
    # A loopback port nobody listens on: connection refused, retried, then recorded.
    await observer.notifications.update_config(
        ACCOUNT,
        {"enabled_channels": ["slack"], "slack_webhook_url": "http://127.0.0.1:9/hook-secret"},
    )
    result = await observer.ingest(ACCOUNT, [llm(0.9, session_id="s", sandbox_id="cage-1")])
    assert result.accepted == 1
    await observer.wait_idle()
    [alert] = (await observer.alerts.page(ACCOUNT)).alerts
    slack = next(
        n for n in await observer.notifications.for_alert(ACCOUNT, alert.id) if n.channel == "slack"
    )
    assert slack.delivered is False
    assert slack.delivery_error == "could not reach the Slack webhook (ConnectError)"


async def test_a_rate_limited_webhook_is_retried_after_retry_after(
    observer: Observer, hooks: RecordingHooks, receiver: Receiver, waits: list[float]
) -> None:
    hooks.add("cage-1", budget=1.0)
    await _configure(observer, receiver)
    receiver.rate_limited["/discord/1/token"] = 1
    await observer.ingest(ACCOUNT, [llm(0.9, session_id="s", sandbox_id="cage-1")])
    await observer.wait_idle()
    assert receiver.attempts["/discord/1/token"] == 2
    assert waits == [1.0]  # Retry-After: 1 honoured over the 0.05 s backoff
    assert len(receiver.received["/discord/1/token"]) == 1


async def test_a_delivery_interrupted_by_a_shutdown_is_made_after_the_restart(
    tmp_path: Path, hooks: RecordingHooks, receiver: Receiver
) -> None:
    hooks.add("cage-1", budget=1.0)
    receiver.failures["/slack/T0/B0/secret"] = 1
    slow = DeliveryPolicy(attempts=4, base_delay=30, max_delay=30, timeout=5)
    async with Observer(tmp_path / "data", hooks=hooks, clock=Clock(), delivery=slow) as first:
        await _configure(first, receiver)
        await first.ingest(ACCOUNT, [llm(0.9, session_id="s", sandbox_id="cage-1")])
        await eventually_async(lambda: receiver.attempts.get("/slack/T0/B0/secret"))
        # Closing now interrupts the delivery while it waits to retry.
    assert "/slack/T0/B0/secret" not in receiver.received
    fast = DeliveryPolicy(attempts=2, base_delay=0.01, max_delay=0.01, timeout=5)
    async with Observer(tmp_path / "data", hooks=hooks, clock=Clock(), delivery=fast) as second:
        await second.wait_idle()
        [alert] = (await second.alerts.page(ACCOUNT)).alerts
        outcome = {
            n.channel.value: n for n in await second.notifications.for_alert(ACCOUNT, alert.id)
        }
    assert len(receiver.received["/slack/T0/B0/secret"]) == 1
    assert outcome["slack"].delivered is True
    assert len(receiver.received["/discord/1/token"]) == 1  # delivered once, before the stop
