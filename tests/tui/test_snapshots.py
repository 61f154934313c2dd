"""Snapshot tests of every screen, against the fixed mock platform.

Deterministic by construction: fixed JSON (ids, times), the clock frozen by
``make_app(now=...)``, the cursor blink off, the user's config kept out (see
conftest). Regenerate with ``pytest tests/tui --snapshot-update`` and look at
the SVGs before committing them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from eventually import eventually_async
from fake_platform import FakePlatform, fake_app, unreachable
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from caged_tui import registry
from caged_tui.app import CagedApp
from caged_tui.screens.detail.screen import TABS
from caged_tui.screens.replay import ReplayScreen
from caged_tui.screens.sandboxes import SandboxesScreen
from caged_tui.status import Connection
from caged_tui.widgets.terminal import TerminalView

SIZE = (140, 40)
#: A bound against hanging, never reached by an app that works (the platform is in-process).
SETTLE_TIMEOUT = 30.0

Snap = Callable[..., bool]


async def settle(pilot: Pilot[Any], *, online: bool = True) -> None:
    """Wait for the first loads (or the first failure), then freeze the cursors."""
    app = pilot.app
    assert isinstance(app, CagedApp)

    def ready() -> bool:
        if not online:
            return app.status.connection is Connection.OFFLINE
        # Every topic a mounted screen listens to has had its first answer (the live feed
        # is how screens load), and the sandboxes list has left "loading".
        topics = [topic for topic in app.live._topics.values() if topic.active]
        loaded = getattr(app.screen, "state", "ready") != "loading"
        return (
            app.status.connection is Connection.ONLINE
            and app.status.unread is not None
            and all(topic.known for topic in topics)
            and loaded
        )

    # An app that never settles fails here, naming what it waited for, rather than being
    # photographed half-loaded.
    what = "going offline" if not online else "the first loads (online, unread count, screen)"
    await eventually_async(ready, SETTLE_TIMEOUT, what=what, pause=pilot.pause)
    await pilot.pause()
    for widget in app.screen.query("Input, TextArea"):
        if isinstance(widget, Input | TextArea):
            widget.cursor_blink = False
    await pilot.pause()


def run(*keys: str, online: bool = True) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """A ``run_before`` that waits for the data, presses ``keys`` and settles again."""

    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot, online=online)
        for key in keys:
            await pilot.press(key)
            await settle(pilot, online=online)

    return before


class TestSandboxesScreen:
    def test_several(self, snap_compare: Snap) -> None:
        assert snap_compare(fake_app(), terminal_size=SIZE, run_before=run())

    def test_empty(self, snap_compare: Snap) -> None:
        app = fake_app(FakePlatform(sandboxes=[]).handle)
        assert snap_compare(app, terminal_size=SIZE, run_before=run())

    def test_unreachable(self, snap_compare: Snap) -> None:
        app = fake_app(unreachable)
        assert snap_compare(app, terminal_size=SIZE, run_before=run(online=False))

    def test_filtered(self, snap_compare: Snap) -> None:
        before = run("slash", "r", "u", "n", "enter")
        assert snap_compare(fake_app(), terminal_size=SIZE, run_before=before)

    def test_sorted_and_marked(self, snap_compare: Snap) -> None:
        before = run("S", "S", "S", "S", "space", "space")
        assert snap_compare(fake_app(), terminal_size=SIZE, run_before=before)

    def test_unisolated_banner(self, snap_compare: Snap) -> None:
        fake = FakePlatform()
        fake.sandboxes[0]["config"]["isolation"] = "none"
        assert snap_compare(fake_app(fake.handle), terminal_size=SIZE, run_before=run())


def test_create_form(snap_compare: Snap, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".caged.yaml").write_text(
        "template: python-312\ncpus: 4\nmemory: 2g\nnetwork:\n  mode: allowlist\n"
        "  allowlist: [pypi.org, github.com]\nenv:\n  DEBUG: '1'\n"
        "init_script: |\n  pip install -r requirements.txt\ntimeout: 30m\n"
    )
    monkeypatch.chdir(tmp_path)
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=run("n"))


def test_create_form_invalid(snap_compare: Snap) -> None:
    before = run("n", "tab", "tab", "9", "tab", "6", "4")
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("tab", ["overview", "logs", "ports", "trust", "exec", "sessions"])
def test_detail_tab(snap_compare: Snap, tab: str) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        # The tab number key, as a user would: the focus goes into the panel.
        await run("enter", str(TABS.index(tab) + 1))(pilot)

    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=before)


def test_help_screen(snap_compare: Snap) -> None:
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=run("question_mark"))


def test_destroy_confirmation(snap_compare: Snap) -> None:
    assert snap_compare(fake_app(), terminal_size=SIZE, run_before=run("d"))


class ColourSession:
    """A terminal session that prints coloured output once and stays open.

    Its output fits the 80x24 a terminal starts at: whether it is parsed before or after
    the view's first resize to its laid-out size (a race in the app, by design: the shell
    must not wait for layout), no line wraps and the screen looks the same.
    """

    OUTPUT = (
        "\x1b[1;32muser@cage\x1b[0m:\x1b[1;34m/workspace\x1b[0m$ ls --color\r\n"
        "\x1b[1;34msrc\x1b[0m  \x1b[1;32mrun.sh\x1b[0m  README.md  \x1b[31mcore.dump\x1b[0m\r\n"
        "\x1b[1;32muser@cage\x1b[0m:\x1b[1;34m/workspace\x1b[0m$ "
        "printf '\\e[41m red \\e[42m green \\e[44m blue \\e[0m\\n'\r\n"
        "\x1b[41m red \x1b[42m green \x1b[44m blue \x1b[0m\r\n"
        "\x1b[1;32muser@cage\x1b[0m:\x1b[1;34m/workspace\x1b[0m$ "
    )

    def __init__(self) -> None:
        self.closed = False
        self.sent: list[str] = []

    async def send(self, data: str) -> None:
        self.sent.append(data)

    async def resize(self, rows: int, cols: int) -> None:
        self.sent.append(f"resize {rows}x{cols}")

    async def ack(self, nbytes: int) -> None:
        return None

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        yield self.OUTPUT.encode()
        await asyncio.Event().wait()

    async def close(self) -> None:
        self.closed = True


def test_terminal_coloured_output(snap_compare: Snap) -> None:
    app = fake_app()

    async def terminal(sandbox_id: str, **_: Any) -> ColourSession:
        return ColourSession()

    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        app.client.sandboxes.terminal = terminal  # type: ignore[method-assign]
        await pilot.press("t")

        def shown() -> bool:
            # All parsed, and painted: the printf's output is on the widget's lines.
            views = app.screen.query(TerminalView)
            if not views or views.first().parsed_bytes < len(ColourSession.OUTPUT.encode()):
                return False
            view = views.first()
            lines = [view.render_line(y).text for y in range(view.size.height)]
            return any(line.startswith(" red  green  blue ") for line in lines)

        await eventually_async(shown, SETTLE_TIMEOUT, what="the output", pause=pilot.pause)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_sandboxes_screen_class() -> None:
    """The home screen is the sandboxes screen (a cheap guard for the snapshots above)."""
    assert registry.DEFAULT.id == CagedApp.DEFAULT_MODE
    assert registry.DEFAULT.load() is SandboxesScreen


async def open_fake_replay(pilot: Pilot[Any]) -> ReplayScreen:
    """Open the mock terminal session's replay from the sessions list and wait until its
    terminal, keyframes and totals are loaded."""
    await run("3", "enter")(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ReplayScreen)

    def ready() -> bool:
        tape = screen.tape
        return (
            screen.session is not None
            and tape is not None
            and len(tape.keyframes) > 0
            and screen.totals.at(60).cost > 0
        )

    await eventually_async(ready, SETTLE_TIMEOUT, what="the replay", pause=pilot.pause)
    return screen


class TestReplay:
    """Issue 15: the sessions list and a session paused mid-replay."""

    def test_sessions_list(self, snap_compare: Snap) -> None:
        assert snap_compare(fake_app(), terminal_size=SIZE, run_before=run("3"))

    def test_replay_paused_mid_session_with_a_filter(self, snap_compare: Snap) -> None:
        async def before(pilot: Pilot[Any]) -> None:
            screen = await open_fake_replay(pilot)
            await pilot.press("5", "t", "3")  # half-way, then commands only
            await eventually_async(
                lambda: screen._matching_done and screen.table.row_count > 0,
                SETTLE_TIMEOUT, what="the filter", pause=pilot.pause,
            )  # fmt: skip
            await pilot.press("left")  # one command back
            await settle(pilot)

        assert snap_compare(fake_app(), terminal_size=SIZE, run_before=before)

    def test_replay_zoomed(self, snap_compare: Snap) -> None:
        """The terminal pane zoomed to the whole body (``z``), paused half-way."""

        async def before(pilot: Pilot[Any]) -> None:
            screen = await open_fake_replay(pilot)
            await pilot.press("5", "z")
            await eventually_async(
                lambda: screen.terminal_pane.border_title == "terminal 80x24",
                SETTLE_TIMEOUT, what="the zoomed pane", pause=pilot.pause,
            )  # fmt: skip
            await settle(pilot)

        assert snap_compare(fake_app(), terminal_size=SIZE, run_before=before)
