"""Pilot tests of the app's behaviour on the mock platform: keys, dialogs,
navigation, palette, keymap, themes, error tiers, recovery, login, CLI."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from eventually import eventually_async
from fake_platform import BASE_URL, FakePlatform, fake_app, mock_client
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input

from caged_core.errors import CagedValidationError
from caged_tui import cli
from caged_tui.app import CagedApp
from caged_tui.commands import CagedCommands
from caged_tui.screens.create import CreateScreen
from caged_tui.screens.detail.logs import LogsPanel
from caged_tui.screens.detail.ports import PortsPanel
from caged_tui.screens.detail.screen import SandboxDetailScreen
from caged_tui.screens.help import HelpScreen, key_rows
from caged_tui.screens.login import LoginScreen
from caged_tui.screens.sandboxes import SandboxesScreen
from caged_tui.screens.terminals import TerminalsScreen
from caged_tui.status import Connection
from caged_tui.widgets.dialogs import ConfirmDialog, ErrorDialog
from caged_tui.widgets.sandbox_table import SandboxTable

SIZE = (140, 40)


async def loaded(pilot: Pilot[Any]) -> SandboxesScreen:
    app = pilot.app
    assert isinstance(app, CagedApp)
    await eventually_async(
        lambda: (
            getattr(app.screen, "state", "") == "ready"
            or getattr(app.screen, "state", "") == "empty"
        ),
        pause=pilot.pause,
    )
    screen = app.screen
    assert isinstance(screen, SandboxesScreen)
    return screen


def toasts(app: CagedApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_destroy_asks_and_defaults_to_cancel(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("d")
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
        await pilot.press("enter")  # the focused button is Cancel
        await eventually_async(lambda: isinstance(app.screen, SandboxesScreen), pause=pilot.pause)
        assert fake.calls("DELETE") == []
        await pilot.press("d")
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
        await pilot.press("y")
        await eventually_async(
            lambda: fake.calls("DELETE") == ["/v1/sandboxes/cage-0a1b2c3d"], pause=pilot.pause
        )
        await eventually_async(
            lambda: app.screen.query_one(SandboxTable).row_count == 3, pause=pilot.pause
        )


async def test_bulk_pause_resume_on_marked_rows(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("space", "space")  # mark running 0a1b…, paused 4e5f…
        await pilot.press("p")
        await eventually_async(lambda: len(fake.calls("POST")) == 2, pause=pilot.pause)
        assert fake.calls("POST") == [
            "/v1/sandboxes/cage-0a1b2c3d/pause",
            "/v1/sandboxes/cage-4e5f6a7b/resume",
        ]


async def test_filter_sort_and_cursor_survive_refresh(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        table = screen.query_one(SandboxTable)
        await pilot.press("down", "down")
        assert table.cursor_key == "cage-8c9d0e1f"
        fake.sandboxes[2]["total_cost"] = 9.99
        await pilot.press("r")
        await eventually_async(
            lambda: "$9.99" in str(table.row("cage-8c9d0e1f")), pause=pilot.pause
        )
        assert table.cursor_key == "cage-8c9d0e1f"
        await pilot.press("slash", *"node", "enter")
        assert [sb.id for sb in screen.shown_sandboxes()] == ["cage-4e5f6a7b"]
        await pilot.press("escape")
        await pilot.press("S", "S")  # status
        assert next(sb.status.value for sb in screen.shown_sandboxes()) == "error"


async def test_copy_id(fake: FakePlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    app = fake_app(fake.handle)
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("y")
        assert copied == ["cage-0a1b2c3d"]


async def test_navigation_by_colon_digits_and_enter(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("colon", "t", "e", "tab", "enter")
        await eventually_async(lambda: isinstance(app.screen, TerminalsScreen), pause=pilot.pause)
        await pilot.press("1")
        await eventually_async(lambda: isinstance(app.screen, SandboxesScreen), pause=pilot.pause)
        await pilot.press("2")
        await eventually_async(lambda: isinstance(app.screen, TerminalsScreen), pause=pilot.pause)
        await pilot.press("escape")
        await eventually_async(lambda: isinstance(app.screen, SandboxesScreen), pause=pilot.pause)
        await pilot.press("enter")
        await eventually_async(
            lambda: isinstance(app.screen, SandboxDetailScreen), pause=pilot.pause
        )
        await pilot.press("escape")
        await eventually_async(lambda: isinstance(app.screen, SandboxesScreen), pause=pilot.pause)
        await pilot.press("colon", *"nowhere", "enter")
        await eventually_async(
            lambda: any("No screen" in t for t in toasts(app)), pause=pilot.pause
        )


async def test_detail_keys(fake: FakePlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    app = fake_app(fake.handle)
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("enter")
        await eventually_async(
            lambda: isinstance(app.screen, SandboxDetailScreen), pause=pilot.pause
        )
        detail = app.screen
        assert isinstance(detail, SandboxDetailScreen)
        await pilot.press("l")
        assert detail.active_tab == "logs"
        await pilot.press("F", "w")
        logs = detail.query_one(LogsPanel)
        assert (logs.following, logs.wrap) == (False, True)
        await pilot.press("slash", *"pip")
        assert logs.search == "pip"
        await pilot.press("escape")
        await pilot.press("3")
        ports = detail.query_one(PortsPanel)
        await eventually_async(lambda: ports.selected() is not None, pause=pilot.pause)
        await pilot.press("o")
        await eventually_async(
            lambda: opened == ["http://8000-cage-0a1b2c3d.localhost:7777"], pause=pilot.pause
        )
        await pilot.press("p")
        await eventually_async(lambda: fake.calls("POST", "/pause") != [], pause=pilot.pause)


async def test_palette_lists_every_screen_action(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        provider = CagedCommands(app.screen)
        titles = {command.title for command in provider.commands()}
        for expected in (
            "Sandboxes: Destroy",
            "Sandboxes: New",
            "Sandbox: Exec",
            "Sandbox: Open in browser",
            "Terminals: Close tab",
            "Profile: log in to hosted Caged",
        ):
            assert expected in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"Sandboxes: New")

        def new_is_highlighted() -> bool:
            # The palette searches in a worker: enter picks what is highlighted by then.
            palette = app.screen
            if not isinstance(palette, CommandPalette):
                return False
            commands = palette.query_one(CommandList)
            index = commands.highlighted
            return index is not None and "Sandboxes: New" in str(
                commands.get_option_at_index(index).prompt
            )

        await eventually_async(new_is_highlighted, pause=pilot.pause)
        await pilot.press("enter")
        await eventually_async(lambda: isinstance(app.screen, CreateScreen), pause=pilot.pause)


async def test_keymap_overrides_and_help_follow(fake: FakePlatform) -> None:
    app = fake_app(fake.handle, keymap={"sandboxes.new": "N"})
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        rows = {row.binding_id: row.keys for row in key_rows(screen)}
        assert rows["sandboxes.new"] == "N"
        # Keys are handled in order: once the help opened by the key after n is up, n has
        # been handled, and it opened nothing.
        await pilot.press("n", "question_mark")
        await eventually_async(lambda: isinstance(app.screen, HelpScreen), pause=pilot.pause)
        assert not any(isinstance(s, CreateScreen) for s in app.screen_stack)
        await pilot.press("escape")
        await eventually_async(lambda: isinstance(app.screen, SandboxesScreen), pause=pilot.pause)
        await pilot.press("N")
        await eventually_async(lambda: isinstance(app.screen, CreateScreen), pause=pilot.pause)
        await pilot.press("question_mark")
        await eventually_async(lambda: isinstance(app.screen, HelpScreen), pause=pilot.pause)


async def test_theme_is_remembered(fake: FakePlatform) -> None:
    remembered: list[str] = []
    app = fake_app(fake.handle, remember_theme=remembered.append)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.theme = "nord"
        await pilot.pause()
        assert remembered == ["nord"]


async def test_platform_errors_toast_and_surprises_open_a_dialog(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)

        async def refused() -> None:
            raise CagedValidationError("cpus must be 1-8", status=400)

        async def broken() -> None:
            raise RuntimeError("boom")

        screen.run_worker(refused(), exit_on_error=False)
        await eventually_async(lambda: "cpus must be 1-8" in toasts(app), pause=pilot.pause)
        screen.run_worker(broken(), exit_on_error=False)
        await eventually_async(lambda: isinstance(app.screen, ErrorDialog), pause=pilot.pause)
        assert app.is_running


async def test_recovers_after_the_platform_comes_back(fake: FakePlatform) -> None:
    fake.down = True
    app = fake_app(fake.handle, refresh_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await eventually_async(
            lambda: app.status.connection is Connection.OFFLINE, pause=pilot.pause
        )
        await eventually_async(
            lambda: getattr(app.screen, "state", "") == "unreachable", pause=pilot.pause
        )
        fake.down = False
        await eventually_async(
            lambda: app.status.connection is Connection.ONLINE, pause=pilot.pause
        )
        await eventually_async(
            lambda: getattr(app.screen, "state", "") == "ready", pause=pilot.pause
        )
        assert app.screen.query_one(SandboxTable).row_count == 4


async def test_login_verifies_the_key(fake: FakePlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def hosted(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        if request.headers["authorization"] != "Bearer caged_sk_good":
            return httpx.Response(
                401, json={"title": "Unauthorized", "status": 401, "detail": "invalid API key"}
            )
        if request.url.path == "/v1/account":
            return httpx.Response(
                200, content=json.dumps({"id": "acct-1", "email": "ada@example.com", "tier": "pro"})
            )
        return fake.handle(request)

    saved: list[tuple[str, str]] = []
    monkeypatch.setattr("caged_core.config.save_api_key", lambda p, k: saved.append((p, k)))
    monkeypatch.setattr("caged_core.config.save_profile", lambda *a, **k: None)
    monkeypatch.setattr("caged_core.config.keyring_available", lambda: True)

    def factory(*, api_key: str, base_url: str) -> Any:
        return mock_client(hosted, api_key=api_key, base_url=base_url)

    app = fake_app(fake.handle, client_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("colon", *"profiles", "enter")
        await eventually_async(lambda: isinstance(app.screen, LoginScreen), pause=pilot.pause)
        key = app.screen.query_one("#login-key", Input)
        key.value = "caged_sk_bad"
        await pilot.press("ctrl+s")
        await eventually_async(
            lambda: "refused" in str(app.screen.query_one("#login-result").render()),
            pause=pilot.pause,
        )
        assert saved == []
        key.value = "caged_sk_good"
        await pilot.press("ctrl+s")
        await eventually_async(lambda: not app.settings.local, pause=pilot.pause)
        assert saved == [("cloud", "caged_sk_good")]
        assert app.settings.profile_label == "https://api.caged.dev"


def test_cli_config_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--profile", "nosuchprofile"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("caged-tui: ") and err.count("\n") == 1
    assert cli.main(["--local", "--base-url", BASE_URL]) == 2


async def test_local_platform_is_found_again_on_its_new_port(fake: FakePlatform) -> None:
    """A restarted local platform listens elsewhere: the app asks the connector again."""
    from caged_tui.connect import Session
    from caged_tui.settings import Settings

    fake.down = True
    moved = FakePlatform()
    asked: list[str] = []

    def connector(profile: str) -> Session:
        asked.append(profile)
        settings = Settings(base_url="http://moved.test", local=True, refresh_seconds=0.2)
        return Session(mock_client(moved.handle, base_url="http://moved.test"), settings)

    app = fake_app(fake.handle, connector=connector, refresh_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await eventually_async(
            lambda: app.settings.base_url == "http://moved.test", pause=pilot.pause
        )
        await eventually_async(
            lambda: app.status.connection is Connection.ONLINE, pause=pilot.pause
        )
        await eventually_async(
            lambda: getattr(app.screen, "state", "") == "ready", pause=pilot.pause
        )
        assert asked and asked[0] == "local"


def test_cli_serve_delegates_to_the_local_platform(tmp_path: Any) -> None:
    # Nothing runs for a fresh data dir: --status reports it with a non-zero code.
    assert cli.main(["serve", "--status", "--data-dir", str(tmp_path / "data")]) != 0


async def test_unknown_theme_in_config_falls_back(fake: FakePlatform) -> None:
    from caged_tui.app import make_app
    from caged_tui.settings import Settings

    app = make_app(mock_client(fake.handle), Settings(theme="no-such-theme"))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert app.theme == "textual-dark"
