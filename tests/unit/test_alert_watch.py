"""Which alerts raise a toast: only open alerts new since the last look — never what was
there at start-up or on another platform — and critical ones stay; text is escaped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from caged_core.models import Alert
from caged_tui.alert_watch import STICKY, AlertWatch, RecentAlerts, toast_text
from caged_tui.safe_text import printable


@dataclass
class FakeApp:
    client: object = field(default_factory=object)
    toasts: list[dict[str, Any]] = field(default_factory=list)

    def notify(self, message: str, **options: Any) -> None:
        self.toasts.append({"message": message, **options})


@dataclass
class FakeFeed:
    pokes: int = 0

    def poke(self) -> None:
        self.pokes += 1


def alert(n: int, severity: str = "warning", state: str = "open") -> Alert:
    return Alert(id=f"alert-{n}", severity=severity, state=state, title=f"title {n}")


def look(*alerts: Alert) -> RecentAlerts:
    return RecentAlerts(tuple(alerts), len(alerts))


def test_only_new_open_alerts_toast_oldest_first() -> None:
    app, feed = FakeApp(), FakeFeed()
    watch = AlertWatch(cast("Any", app), cast("Any", feed))
    watch._looked(look(alert(1)))
    assert app.toasts == [] and feed.pokes == 0  # there at start-up: not news
    watch._looked(look(alert(4, "critical"), alert(3, state="resolved"), alert(2), alert(1)))
    assert [t["message"].splitlines()[0] for t in app.toasts] == ["title 2", "title 4"]
    warning, critical = app.toasts
    assert (warning["severity"], warning["timeout"]) == ("warning", None)
    assert (critical["severity"], critical["timeout"]) == ("error", STICKY)
    assert critical["markup"] is False and feed.pokes == 1
    watch._looked(look(alert(4, "critical"), alert(2), alert(1)))
    assert len(app.toasts) == 2  # nothing new


def test_another_platform_is_a_fresh_start() -> None:
    app, feed = FakeApp(), FakeFeed()
    watch = AlertWatch(cast("Any", app), cast("Any", feed))
    watch._looked(look(alert(1)))
    app.client = object()  # the profile changed
    watch._looked(look(alert(9), alert(8)))
    assert app.toasts == []
    watch._looked(look(alert(10), alert(9), alert(8)))
    assert len(app.toasts) == 1


def test_toast_text_is_escaped() -> None:
    hostile = Alert(
        id="a", title="\x1b]0;owned\x07Budget", message="line\nbreak", sandbox_id="cage-1"
    )
    text = toast_text(hostile)
    assert "\x1b" not in text and "\x07" not in text
    assert text.splitlines()[:3] == ["\\x1b]0;owned\\x07Budget", "line\\nbreak", "cage-1"]


def test_printable_keeps_what_prints() -> None:
    assert printable("café ☕ 日本") == "café ☕ 日本"
    assert printable("a\\b") == "a\\\\b"  # a backslash cannot pass for an escape
    assert printable("\u202eevil") == "\\u202eevil"  # a bidi override is shown, not obeyed
    assert printable("\x9b31m") == "\\x9b31m"  # C1 CSI
