"""The sessions screen and the Sessions tab on the mock platform: filter, sort, and
``enter`` opening the replay (issue 15)."""

from __future__ import annotations

from eventually import eventually_async
from fake_platform import FakePlatform, fake_app
from test_app import SIZE, loaded
from textual.widgets import Static

from caged_tui.screens.detail.screen import SandboxDetailScreen
from caged_tui.screens.replay import ReplayScreen
from caged_tui.screens.sessions import SessionsScreen
from caged_tui.widgets.session_table import SessionTable


async def test_filter_and_sort_like_the_sandboxes_screen(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("3")
        await eventually_async(lambda: isinstance(app.screen, SessionsScreen), pause=pilot.pause)
        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        await eventually_async(lambda: screen.table.row_count == 3, pause=pilot.pause)
        await pilot.press("slash", *"codex", "enter")
        await eventually_async(lambda: screen.table.row_count == 1, pause=pilot.pause)
        assert screen.table.cursor_key == "sess-11aa22bb"
        await pilot.press("escape")  # clears the filter
        await eventually_async(lambda: screen.table.row_count == 3, pause=pilot.pause)
        # S cycles the sortable columns: session, agent, model, status, started, duration,
        # tokens, total, trust, events — trust is the 9th; O reverses it.
        await pilot.press(*["S"] * 9, "O")
        keys = [row.key for row in screen.table.source.rows(0, 3)]
        assert keys == ["sess-11aa22bb", "sess-33cc44dd", "sess-55ee66ff"]  # 92, 64, 45


async def test_the_sessions_tab_of_a_sandbox_replays_one(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("enter")
        detail = await eventually_async(
            lambda: app.screen if isinstance(app.screen, SandboxDetailScreen) else None,
            pause=pilot.pause,
        )
        await pilot.press("5")  # the Sessions tab
        await eventually_async(lambda: detail.active_tab == "sessions", pause=pilot.pause)
        table = detail.query_one("#detail-sessions-table", SessionTable)
        await eventually_async(lambda: table.row_count == 3, pause=pilot.pause)
        await pilot.press("enter")
        replay = await eventually_async(
            lambda: app.screen if isinstance(app.screen, ReplayScreen) else None,
            pause=pilot.pause,
        )
        assert replay.session_id == "sess-33cc44dd"
        await eventually_async(lambda: replay.timeline.total == 60, pause=pilot.pause)


async def test_an_unknown_session_says_why_it_cannot_be_replayed(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = ReplayScreen("sess-gone")
        await app.push_screen(screen)
        summary = screen.query_one("#replay-summary", Static)
        await eventually_async(
            lambda: "Could not open sess-gone: no session" in str(summary.render()),
            pause=pilot.pause,
        )
        assert any("no session" in str(n.message) for n in app._notifications)  # the toast
