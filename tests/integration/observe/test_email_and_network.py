"""Email over a real loopback SMTP server, and refused network attempts from the runtime."""

from __future__ import annotations

import threading
from pathlib import Path

from observe_helpers import ACCOUNT, Clock, RecordingHooks, event, llm
from smtp_sink import serve_smtp

from caged_platform.observe import DeliveryPolicy, Observer, SmtpSettings


async def test_alerts_are_emailed_when_smtp_is_configured(
    tmp_path: Path, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1", budget=1.0)
    async with serve_smtp() as sink:
        sink.fail_next = 1  # a transient 451 first: retried
        smtp = SmtpSettings(host="127.0.0.1", port=sink.port, sender="caged@localhost")
        policy = DeliveryPolicy(attempts=3, base_delay=0.05, max_delay=0.1, timeout=5)
        async with Observer(
            tmp_path / "data", hooks=hooks, clock=Clock(), smtp=smtp, delivery=policy
        ) as observer:
            await observer.notifications.update_config(
                ACCOUNT, {"enabled_channels": ["email"], "email_address": "ops@example.com"}
            )
            await observer.ingest(ACCOUNT, [llm(0.9, session_id="s", sandbox_id="cage-1")])
            await observer.wait_idle()
            [alert] = (await observer.alerts.page(ACCOUNT)).alerts
            email = next(
                n
                for n in await observer.notifications.for_alert(ACCOUNT, alert.id)
                if n.channel == "email"
            )
            assert email.delivered is True and email.delivery_error is None
    [message] = sink.messages
    assert sink.recipients == [["ops@example.com"]]
    assert message["Subject"] == "[Caged warning] Budget 90% used"
    assert message["From"] == "caged@localhost"
    assert "Sandbox: cage-1" in message.get_payload()  # type: ignore[operator]


async def test_network_attempts_refused_by_the_runtime_are_recorded(
    tmp_path: Path, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1")
    async with Observer(tmp_path / "data", hooks=hooks, clock=Clock()) as observer:
        await observer.ingest(ACCOUNT, [event(session_id="agent", sandbox_id="cage-1")])
        # The runtime's proxy calls back from wherever it runs, possibly another thread.
        caller = threading.Thread(target=observer.network_refused, args=("cage-1", "evil.test"))
        caller.start()
        caller.join()
        observer.network_refused("cage-unknown", "ignored.test")  # not a sandbox: ignored
        await observer.wait_idle()
        [network] = (await observer.sessions.replay(ACCOUNT, "agent", type="network")).events
        assert network.data["host"] == "evil.test" and network.data["allowed"] is False
        [score] = await observer.sessions.trust_for_sandbox(ACCOUNT, "cage-1")
        assert score.score == 90
        assert score.deductions[0].event_id == network.id
