"""The account screen against the real local platform: a key created in the TUI works
for an API call, its secret is shown once, and it stops working once revoked."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from account_side import budgeted, go, live_app  # noqa: F401 - budgeted is a fixture
from eventually import eventually_async
from textual.widgets import Input, Static

from caged_core.client import AsyncCaged
from caged_tui.screens.account.dialogs import NewKeyDialog, SecretDialog
from caged_tui.screens.account.screen import AccountScreen, AccountTable
from caged_tui.widgets.dialogs import ConfirmDialog

pytestmark = pytest.mark.integration

SIZE = (140, 40)


def status_with(platform: Any, key: str) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.get(f"{platform.url}/v1/sandboxes", headers=headers, timeout=30).status_code


async def test_a_key_made_here_works_until_revoked(platform: Any) -> None:
    name = f"tui-{secrets.token_hex(3)}"
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, "account")
        await eventually_async(lambda: isinstance(app.screen, AccountScreen), pause=pilot.pause)
        screen = app.screen
        assert isinstance(screen, AccountScreen)
        await eventually_async(lambda: screen.view is not None, pause=pilot.pause)

        await pilot.press("n")
        await eventually_async(lambda: isinstance(app.screen, NewKeyDialog), pause=pilot.pause)
        await pilot.press("enter")  # no name: refused in the dialog
        error = app.screen.query_one("#new-key-error", Static)
        await eventually_async(lambda: "needs a name" in str(error.render()), pause=pilot.pause)
        app.screen.query_one("#new-key-name", Input).value = name
        await pilot.press("ctrl+s")
        dialog = await eventually_async(
            lambda: app.screen if isinstance(app.screen, SecretDialog) else None,
            pause=pilot.pause,
            what="the secret",
        )
        secret = dialog.secret
        assert secret.startswith("caged_sk_")
        assert secret in str(dialog.query_one("#copy-value", Static).render())
        await pilot.press("c")
        assert app.clipboard == secret
        await pilot.press("escape")
        assert status_with(platform, secret) == 200

        table = screen.query_one("#account-keys-table", AccountTable)

        def listed() -> str | None:
            found = [k for k in screen._keys.items if k.name == name]
            return found[0].id if found else None

        key_id = await eventually_async(listed, pause=pilot.pause, what="the key listed")
        assert secret not in str(screen.view)  # never again on screen
        table.move_to(key_id)
        await pilot.press("d")
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
        await pilot.press("y")
        await eventually_async(lambda: status_with(platform, secret) == 401, pause=pilot.pause)
        await eventually_async(lambda: listed() is None, pause=pilot.pause, what="the key gone")


async def test_a_connected_client_is_listed_and_disconnected(
    platform: Any,
    budgeted: str,  # noqa: F811 - the fixture
) -> None:
    """On the local platform an account session is a connected socket: revoking it closes it."""
    app = live_app(platform)
    async with AsyncCaged(api_key=platform.api_key, base_url=platform.url) as other:
        before = {session.id for session in await other.account.list_sessions()}
        terminal = await other.sandboxes.terminal(budgeted)
        try:
            async with app.run_test(size=SIZE) as pilot:
                await go(pilot, "account")
                await eventually_async(
                    lambda: isinstance(app.screen, AccountScreen), pause=pilot.pause
                )
                screen = app.screen
                assert isinstance(screen, AccountScreen)
                await pilot.press("2")

                def listed() -> str | None:
                    new = [s.id for s in screen._sessions.items if s.id not in before]
                    return new[0] if new else None

                session_id = await eventually_async(listed, pause=pilot.pause, what="a client")
                table = screen.query_one("#account-sessions-table", AccountTable)
                table.move_to(session_id)
                await pilot.press("d")
                await eventually_async(
                    lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause
                )
                await pilot.press("y")
                await eventually_async(
                    lambda: session_id not in {s.id for s in screen._sessions.items},
                    pause=pilot.pause,
                    what="the client gone",
                )

                await eventually_async(
                    lambda: terminal.closed, pause=pilot.pause, what="the socket closed"
                )
        finally:
            await terminal.close()
