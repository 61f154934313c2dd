"""Write SVG screenshots of the real app, running headless against a real local platform.

    .venv/bin/python scripts/export_screenshots.py [--out screenshots]

Starts a local platform on a temporary data dir (``ensure_running``), creates
a couple of sandboxes, drives the app with keys the way a user would, and
saves one SVG per view. The platform is stopped and its data dir removed at
the end.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from caged_core.client import AsyncCaged
from caged_platform.service import ensure_running, stop
from caged_tui.app import CagedApp, make_app
from caged_tui.screens.account.dialogs import SecretDialog
from caged_tui.screens.account.screen import AccountScreen
from caged_tui.screens.alerts.detail import AlertDetailScreen
from caged_tui.screens.alerts.rules import RulesTable
from caged_tui.screens.alerts.screen import AlertsScreen
from caged_tui.screens.billing.screen import BillingScreen
from caged_tui.screens.diff import DiffScreen
from caged_tui.screens.files.preview import FilePreview, PreviewState
from caged_tui.screens.files.screen import FilesScreen
from caged_tui.screens.notifications.screen import NotificationsScreen
from caged_tui.screens.notifications.settings import SettingsPanel
from caged_tui.screens.replay import ReplayScreen
from caged_tui.screens.sessions import SessionsScreen
from caged_tui.screens.snapshots import SnapshotsScreen
from caged_tui.screens.terminals import TerminalTab
from caged_tui.settings import Settings
from caged_tui.widgets.alert_table import AlertTable
from caged_tui.widgets.dialogs import ChoiceDialog
from caged_tui.widgets.notification_table import NotificationTable
from caged_tui.widgets.sandbox_picker import SandboxPicker
from caged_tui.widgets.sandbox_table import SandboxTable
from caged_tui.widgets.session_table import SessionTable

SIZE = (150, 42)


async def until(pilot: Pilot[Any], condition: Callable[[], object], seconds: float = 60) -> None:
    """Pause until ``condition()`` holds."""
    for _ in range(int(seconds * 10)):
        if condition():
            return
        await pilot.pause(0.1)
    raise TimeoutError("the app never reached the expected state")


async def seed(url: str, api_key: str) -> list[str]:
    """Create the sandboxes shown in the screenshots and give them some history."""
    async with AsyncCaged(api_key=api_key, base_url=url) as client:
        created = [
            await client.sandboxes.create(
                "python-311",
                cpus=2,
                memory_mb=1024,
                budget=5.0,
                init_script="echo preparing the workspace",
            ),
            await client.sandboxes.create("minimal", network_mode="none"),
        ]
        for sandbox in created:
            for _ in range(240):  # two minutes at most
                if (await client.sandboxes.get(sandbox.id)).status.value != "pending":
                    break
                await asyncio.sleep(0.5)
        await client.sandboxes.exec(created[0].id, "mkdir -p src && echo 'print(1)' > src/main.py")
        await client.sandboxes.exec(created[0].id, "ls -la src")
        # An agent's LLM spend: 84 % of the $5 budget, a warning alert and its notification.
        await client.events.ingest(
            [
                {
                    "type": "llm_call",
                    "sandbox_id": created[0].id,
                    "session_id": "agent-demo",
                    "payload": {"model": "claude-4", "tokens_in": 9000, "cost_usd": 4.2},
                }
            ]
        )
        # A small git project with one change: the files, diff and snapshots screens.
        await client.sandboxes.exec(
            created[0].id,
            "printf '# demo\\n\\nA service an agent works on.\\n' > README.md"
            " && printf 'def greet(name):\\n    return \"hi \" + name\\n' > src/app.py"
            " && git init -q && git add -A"
            " && git -c user.name=demo -c user.email=demo@example.com commit -qm init"
            " && printf 'def greet(name: str) -> str:\\n    return f\"hello {name}\"\\n'"
            " > src/app.py"
            " && echo 'todo: tests' > notes.txt",
        )
        await client.snapshots.create(created[0].id, "before the agent's run", None)
        return [sandbox.id for sandbox in created]


async def shoot(app: CagedApp, out: Path, sandbox_ids: list[str]) -> None:
    """Drive the app and save a screenshot of each view."""

    async def save(pilot: Pilot[Any], name: str) -> None:
        for widget in app.screen.query("Input, TextArea"):
            if isinstance(widget, Input | TextArea):
                widget.cursor_blink = False
        await pilot.pause(0.3)
        app.save_screenshot(filename=f"{name}.svg", path=str(out))
        print(f"wrote {out / (name + '.svg')}")

    async with app.run_test(size=SIZE) as pilot:
        await until(
            pilot,
            lambda: (
                app.screen.query(SandboxTable)
                and app.screen.query_one(SandboxTable).row_count == len(sandbox_ids)
            ),
        )
        await save(pilot, "sandboxes")
        await pilot.press("question_mark")
        await save(pilot, "help")
        await pilot.press("escape", "n")
        await until(pilot, lambda: app.screen.query("#create-form"))
        await save(pilot, "create-form")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.query(SandboxTable))
        table = app.screen.query_one(SandboxTable)
        table.move_to(sandbox_ids[0])
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.query("#detail-tabs"))
        for number, tab in enumerate(("overview", "logs", "ports", "trust"), start=1):
            await pilot.press(str(number))  # the tab's key, as a user would
            await pilot.pause(1.0)
            await save(pilot, f"detail-{tab}")
        await pilot.press("x")
        for key in "ls -la src":
            await pilot.press({" ": "space", "-": "minus"}.get(key, key))
        await pilot.press("enter")
        await until(pilot, lambda: "exit" in str(app.screen.query_one("#exec-status").render()))
        await save(pilot, "detail-exec")
        await pilot.press("escape")  # the prompt has the focus: go back to the list first
        await until(pilot, lambda: app.screen.query(SandboxTable))
        await pilot.press("t")
        await until(
            pilot,
            lambda: (
                app.screen.query(TerminalTab) and app.screen.query_one(TerminalTab).view.connected
            ),
        )
        await pilot.pause(1.0)
        for key in "ls --color=always -la /workspace /workspace/src":
            names = {
                " ": "space",
                "-": "minus",
                "=": "equals_sign",
                "/": "slash",
                "|": "vertical_line",
            }
            await pilot.press(names.get(key, key))
        await pilot.press("enter")
        await pilot.pause(1.5)
        await save(pilot, "terminal")
        # The prefix key: the footer shows what the next key does (p palette, ] leave, …).
        await pilot.press("ctrl+right_square_bracket")
        await pilot.pause(0.5)
        await save(pilot, "terminal-prefix")
        await pilot.press("escape")
        await shoot_account(app, pilot, save)
        await shoot_files(app, pilot, save, sandbox_ids[0])
        await shoot_replay(app, pilot, save, sandbox_ids[0])


async def shoot_files(
    app: CagedApp, pilot: Pilot[Any], save: Callable[..., Any], sandbox_id: str
) -> None:
    """The files screen (preview, editor), the diff (both layouts), the snapshots and a
    restore confirmation, with keys."""
    await app.switch_mode("sandboxes")
    await until(pilot, lambda: app.screen.query(SandboxTable))
    app.screen.query_one(SandboxTable).move_to(sandbox_id)
    await pilot.press("f")
    await until(pilot, lambda: isinstance(app.screen, FilesScreen))
    files = app.screen
    assert isinstance(files, FilesScreen)
    await until(pilot, lambda: files.table.row_count >= 3)
    await pilot.press("l")  # into src/
    await until(pilot, lambda: files.table.row_count >= 5)
    await pilot.press("j")
    preview = files.query_one(FilePreview)
    await until(pilot, lambda: preview.state is PreviewState.TEXT)
    await until(pilot, lambda: files._source.git_status("/workspace/src/app.py") is not None)
    await save(pilot, "files")
    await pilot.press("e", "down", "end")
    for key in "  # greeted":
        await pilot.press({" ": "space", "#": "number_sign"}.get(key, key))
    await save(pilot, "files-editor")
    await pilot.press("escape")  # unsaved changes: save, discard or cancel
    await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
    await pilot.press("d")
    await until(pilot, lambda: files.table.has_focus)
    await pilot.press("D")
    await until(pilot, lambda: isinstance(app.screen, DiffScreen))
    diff = app.screen
    assert isinstance(diff, DiffScreen)
    await until(pilot, lambda: diff.view.file is not None)
    await save(pilot, "diff")
    await pilot.press("s")
    await save(pilot, "diff-side-by-side")
    await pilot.press("escape", "escape")
    await until(pilot, lambda: app.screen.query(SandboxTable))
    await pilot.press("s")
    await until(pilot, lambda: isinstance(app.screen, SnapshotsScreen))
    snapshots = app.screen
    assert isinstance(snapshots, SnapshotsScreen)
    await until(pilot, lambda: snapshots.table.row_count >= 1)
    await save(pilot, "snapshots")
    await pilot.press("R")
    await until(pilot, lambda: isinstance(app.screen, SandboxPicker))
    app.screen.query_one(SandboxTable).move_to(sandbox_id)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
    await save(pilot, "snapshot-restore")
    await pilot.press("escape")


async def shoot_replay(
    app: CagedApp, pilot: Pilot[Any], save: Callable[..., Any], sandbox_id: str
) -> None:
    """The sessions list and the replay of the terminal session typed into above: at its
    end, with the terminal pane, zoomed, then only its commands."""
    await pilot.press("colon", *"sessions", "enter")
    await until(pilot, lambda: isinstance(app.screen, SessionsScreen))
    table = app.screen.query_one(SessionTable)
    await until(pilot, lambda: table.row_count >= 2)
    # The terminal typed into above: the busiest terminal session of the sandbox (the
    # client's own helpers open short ones).
    terminals = []
    for session in await app.client.sessions.list_by_sandbox(sandbox_id):
        first = await app.client.sessions.replay(session.id, limit=1)
        if first and first[0].data.get("channel") == "terminal":
            terminals.append((session.event_count, session.id))
    assert terminals, "the terminal session was not recorded"
    terminal = max(terminals)[1]
    table.move_to(terminal)
    await save(pilot, "sessions")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, ReplayScreen))
    replay = app.screen
    assert isinstance(replay, ReplayScreen)
    await until(pilot, lambda: replay.tape is not None and len(replay.tape.keyframes) > 0)
    await pilot.press("end")
    await pilot.pause(0.5)
    await save(pilot, "replay")
    await pilot.press("z")  # the terminal pane zoomed to the whole body, and back
    await until(pilot, lambda: replay.zoomed)
    await pilot.pause(0.5)
    await save(pilot, "replay-zoomed")
    await pilot.press("z")
    await pilot.press("t", "3")
    await until(pilot, lambda: replay.table.row_count >= 1)
    await save(pilot, "replay-commands")


async def shoot_alert_toast(url: str, api_key: str, out: Path) -> None:
    """A new alert's toast while the user is on another screen (its own run: the other
    screenshots are taken without toasts)."""
    app = make_app(AsyncCaged(api_key=api_key, base_url=url), Settings(base_url=url, local=True))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: app.status.open_alerts is not None)
        await app.client.events.ingest(  # an agent erring in a loop
            [{"type": "error", "session_id": "agent-loop", "payload": {"message": "ENOENT"}}] * 5
        )
        await until(pilot, lambda: app.screen.query("Toast"))
        await pilot.pause(0.5)
        app.save_screenshot(filename="alert-toast.svg", path=str(out))
        print(f"wrote {out / 'alert-toast.svg'}")


async def shoot_account(app: CagedApp, pilot: Pilot[Any], save: Callable[..., Any]) -> None:
    """The alerts (list, details, rules), the notifications (inbox, settings), usage and
    billing, and a new API key's secret."""

    async def go(name: str) -> None:
        await pilot.press("colon", *name, "enter")

    await app.switch_mode("sandboxes")  # away from the terminal, which takes every key
    await until(pilot, lambda: app.screen.query(SandboxTable))
    await go("alerts")
    await until(pilot, lambda: isinstance(app.screen, AlertsScreen))
    await until(pilot, lambda: app.screen.query_one(AlertTable).row_count >= 2)
    await save(pilot, "alerts")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, AlertDetailScreen))
    await save(pilot, "alert-detail")
    await pilot.press("escape", "2")
    await until(pilot, lambda: app.screen.query_one(RulesTable).row_count == 5)
    await save(pilot, "alert-rules")
    await go("notifications")
    await until(pilot, lambda: isinstance(app.screen, NotificationsScreen))
    await until(pilot, lambda: app.screen.query_one(NotificationTable).row_count >= 2)
    await save(pilot, "notifications")
    await pilot.press("2")
    await until(pilot, lambda: app.screen.query_one(SettingsPanel).config is not None)
    await save(pilot, "notification-settings")
    await go("billing")
    await until(pilot, lambda: isinstance(app.screen, BillingScreen))
    billing = app.screen
    assert isinstance(billing, BillingScreen)
    await until(pilot, lambda: billing.report is not None)
    await save(pilot, "billing")
    await go("account")
    await until(pilot, lambda: isinstance(app.screen, AccountScreen))
    account = app.screen
    assert isinstance(account, AccountScreen)
    await until(pilot, lambda: account.view is not None)
    await save(pilot, "account")
    await pilot.press("n", *"deploy-bot", "ctrl+s")
    await until(pilot, lambda: isinstance(app.screen, SecretDialog))
    await save(pilot, "account-new-key")
    await pilot.press("escape")


def main(argv: list[str] | None = None) -> int:
    """Start a platform, seed it, take the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="caged-screenshots-") as data_dir:
        url, api_key = ensure_running(data_dir=Path(data_dir))
        try:
            sandbox_ids = asyncio.run(seed(url, api_key))
            client = AsyncCaged(api_key=api_key, base_url=url)
            app = make_app(client, Settings(base_url=url, local=True))
            asyncio.run(shoot_alert_toast(url, api_key, args.out))
            asyncio.run(shoot(app, args.out, sandbox_ids))
        finally:
            asyncio.run(_destroy_all(url, api_key))
            stop(Path(data_dir))
    return 0


async def _destroy_all(url: str, api_key: str) -> None:
    # Sandboxes outlive the server: leave none behind.
    async with AsyncCaged(api_key=api_key, base_url=url) as client:
        for sandbox in await client.sandboxes.list():
            await client.sandboxes.destroy(sandbox.id)


if __name__ == "__main__":
    raise SystemExit(main())
