"""Notification settings, in-app notifications and channels that cannot deliver."""

from __future__ import annotations

import pytest
from observe_helpers import ACCOUNT, RecordingHooks, llm

from caged_core.models import Alert
from caged_platform.observe import Invalid, NotFound, Observer
from caged_platform.observe.notify import discord_payload, slack_payload

SLACK = "https://hooks.slack.com/services/T000/B000/secretwxyz"
DISCORD = "https://discord.com/api/webhooks/1/tokenabcd"


async def test_credentials_are_never_returned_only_hinted(observer: Observer) -> None:
    config = await observer.notifications.update_config(
        ACCOUNT,
        {
            "enabled_channels": ["in_app", "slack"],
            "slack_webhook_url": SLACK,
            "discord_webhook_url": DISCORD,
            "email_address": "ops@example.com",
        },
    )
    dumped = config.model_dump_json()
    assert "secret" not in dumped and "tokenabcd" not in dumped
    assert config.slack_webhook_configured and config.slack_webhook_hint == "...wxyz"
    assert config.discord_webhook_hint == "...abcd"
    assert config.enabled_channels == ["in_app", "slack"]
    # Only the fields given change; __clear__ removes a stored webhook.
    cleared = await observer.notifications.update_config(
        ACCOUNT, {"discord_webhook_url": "__clear__"}
    )
    assert not cleared.discord_webhook_configured and cleared.discord_webhook_hint == ""
    assert cleared.slack_webhook_configured and cleared.email_address == "ops@example.com"
    assert (await observer.notifications.config(ACCOUNT)) == cleared


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"enabled_channels": ["pager"]}, "unknown channel 'pager'"),
        ({"enabled_channels": "slack"}, "must be an array"),
        ({"slack_webhook_url": "ftp://x"}, "must be an http\\(s\\) URL"),
        ({"slack_webhook_url": 5}, "slack_webhook_url must be a string"),
        ({"email_address": "nobody"}, "not an email address"),
        ({"slack_bot_token": "xoxb"}, "unknown field 'slack_bot_token'"),
    ],
)
async def test_config_updates_are_validated(
    observer: Observer, body: dict[str, object], message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        await observer.notifications.update_config(ACCOUNT, body)


async def test_email_without_smtp_is_recorded_as_not_delivered(
    observer: Observer, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1", budget=1.0)
    await observer.notifications.update_config(
        ACCOUNT, {"enabled_channels": ["email", "discord"], "email_address": "ops@example.com"}
    )
    await observer.ingest(ACCOUNT, [llm(0.9, session_id="s", sandbox_id="cage-1")])
    await observer.wait_idle()
    [alert] = (await observer.alerts.page(ACCOUNT)).alerts
    by_channel = {
        n.channel.value: n for n in await observer.notifications.for_alert(ACCOUNT, alert.id)
    }
    assert set(by_channel) == {"in_app", "email", "discord"}
    assert by_channel["email"].delivered is False
    assert "email is not configured" in (by_channel["email"].delivery_error or "")
    assert by_channel["discord"].delivered is False
    assert by_channel["discord"].delivery_error == "no Discord webhook URL is configured"
    # Delivery records are not unread notifications: the alert counts once.
    assert await observer.notifications.unread_count(ACCOUNT) == 1


async def test_read_state(observer: Observer, hooks: RecordingHooks) -> None:
    hooks.add("cage-1", budget=1.0)
    await observer.ingest(ACCOUNT, [llm(0.85, session_id="s", sandbox_id="cage-1")])
    await observer.ingest(ACCOUNT, [llm(0.1, session_id="s", sandbox_id="cage-1")])
    page = await observer.notifications.page(ACCOUNT, unread=True)
    assert page.unread_count == 2 and len(page) == 2
    await observer.notifications.mark_read(ACCOUNT, page[0].id)
    assert await observer.notifications.unread_count(ACCOUNT) == 1
    with pytest.raises(NotFound):
        await observer.notifications.mark_read(ACCOUNT, "ntf-nope")
    await observer.notifications.mark_all_read(ACCOUNT)
    assert (await observer.notifications.page(ACCOUNT, unread=True)).notifications == []


def test_payloads_follow_the_services_formats() -> None:
    alert = Alert(
        id="alert-1",
        rule_type="budget_exceeded",
        severity="critical",
        title="Budget 97% used",
        message="Sandbox cage-1 has used $0.97 of its $1.00 budget (97%).",
        sandbox_id="cage-1",
    )
    slack = slack_payload(alert)
    assert slack["text"].startswith("[CRITICAL] Budget 97% used")
    assert [b["type"] for b in slack["blocks"]] == ["header", "section", "context"]
    discord = discord_payload(alert)
    assert discord["content"] == "**[CRITICAL] Budget 97% used**"
    [embed] = discord["embeds"]
    assert embed["title"] == "Budget 97% used" and embed["color"] == 0xE5484D
    assert all(field["value"] for field in embed["fields"])
