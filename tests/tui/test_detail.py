"""The sandbox detail screen: one module per panel, tabs on number keys, panel actions
in the palette and the help."""

from __future__ import annotations

from eventually import eventually_async
from fake_platform import FakePlatform, fake_app
from test_app import SIZE, loaded

from caged_tui.commands import CagedCommands
from caged_tui.screens.detail.logs import LogsPanel
from caged_tui.screens.detail.panel import DetailPanel
from caged_tui.screens.detail.screen import PANELS, SandboxDetailScreen
from caged_tui.screens.help import key_rows


async def test_number_keys_choose_a_tab_and_focus_it(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("enter")
        detail = await eventually_async(
            lambda: app.screen if isinstance(app.screen, SandboxDetailScreen) else None,
            pause=pilot.pause,
        )
        for number, panel in enumerate(PANELS, start=1):
            await pilot.press(str(number))
            shown = detail.panel(panel.PANEL_ID)

            def in_front(shown: DetailPanel = shown) -> bool:
                return detail.active_tab == shown.PANEL_ID and shown.has_focus_within

            await eventually_async(in_front, pause=pilot.pause)
        await pilot.press("tab")  # out of the exec prompt, where digits are typed
        await pilot.press("1")
        await eventually_async(lambda: detail.active_tab == "overview", pause=pilot.pause)
        ids = {row.binding_id for row in key_rows(detail)}
        assert {f"detail.tab_{panel.PANEL_ID}" for panel in PANELS} <= ids


async def test_a_panel_action_from_the_palette_shows_its_tab(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("enter")
        detail = await eventually_async(
            lambda: app.screen if isinstance(app.screen, SandboxDetailScreen) else None,
            pause=pilot.pause,
        )
        commands = {c.title: c for c in CagedCommands(detail).commands()}
        await commands["Sandbox: Follow on/off"].run()  # type: ignore[misc]
        logs = detail.query_one(LogsPanel)
        await eventually_async(lambda: detail.active_tab == "logs", pause=pilot.pause)
        assert not logs.following
