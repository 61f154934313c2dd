"""Snapshots of the account side: alerts (list, details, rules), notifications (inbox,
settings), usage and billing with its charts, the account with a new key's secret, and
budgets in the sandboxes list — on the hosted platform's answers (tests/tui/fake_hosted.py),
deterministic as the other snapshots (fixed data, frozen clock; see test_snapshots)."""

from __future__ import annotations

import copy
from typing import Any

from fake_hosted import HostedAccount
from fake_platform import SANDBOXES, FakePlatform, fake_app
from test_snapshots import SIZE, Snap, run

from caged_tui.app import CagedApp


def hosted(sandboxes: list[dict[str, Any]] | None = None) -> CagedApp:
    return fake_app(HostedAccount(FakePlatform(sandboxes)).handle, local=False)


def go(name: str, *then: str) -> Any:
    """``:name`` typed, then ``then`` pressed, settling after each key."""
    return run("colon", *name, "enter", *then)


class TestAlerts:
    def test_list(self, snap_compare: Snap) -> None:
        assert snap_compare(hosted(), terminal_size=SIZE, run_before=go("alerts"))

    def test_details(self, snap_compare: Snap) -> None:
        assert snap_compare(hosted(), terminal_size=SIZE, run_before=go("alerts", "enter"))

    def test_rules(self, snap_compare: Snap) -> None:
        before = go("alerts", "2", "down", "down")  # agent_stuck: off, one setting
        assert snap_compare(hosted(), terminal_size=SIZE, run_before=before)


class TestNotifications:
    def test_inbox(self, snap_compare: Snap) -> None:
        assert snap_compare(hosted(), terminal_size=SIZE, run_before=go("notifications"))

    def test_settings(self, snap_compare: Snap) -> None:
        before = go("notifications", "2")
        assert snap_compare(hosted(), terminal_size=SIZE, run_before=before)


def test_billing_with_charts(snap_compare: Snap) -> None:
    assert snap_compare(hosted(), terminal_size=SIZE, run_before=go("billing"))


def test_account_with_a_new_key(snap_compare: Snap) -> None:
    before = go("account", "n", *"deploy", "ctrl+s")
    assert snap_compare(hosted(), terminal_size=SIZE, run_before=before)


def test_account_sessions(snap_compare: Snap) -> None:
    """Control characters in names and user agents are shown escaped."""
    assert snap_compare(hosted(), terminal_size=SIZE, run_before=go("account", "2"))


def test_budgets_in_the_sandboxes_list(snap_compare: Snap) -> None:
    sandboxes = copy.deepcopy(SANDBOXES)
    sandboxes[1].update(budget=1.5, total_cost=1.37)  # 91 %: warning
    sandboxes[2].update(
        status="stopped",
        budget=0.003,
        total_cost=0.0031,
        last_error="budget exhausted: $0.0031 of its $0.0030 budget (103%)",
    )
    assert snap_compare(hosted(sandboxes), terminal_size=SIZE, run_before=run())
