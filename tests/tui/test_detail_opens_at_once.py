"""A sandbox opened from the list shows what the list knows at once, before the detail's
own request answers (on a loaded machine that request took seconds: an empty overview)."""

from __future__ import annotations

import io

import httpx
from eventually import eventually_async
from fake_platform import FakePlatform, fake_app
from rich.console import Console
from test_app import SIZE, loaded
from textual.widgets import Static

from caged_tui.screens.detail.screen import SandboxDetailScreen


def shown(widget: Static) -> str:
    """The text ``widget`` paints (its content may be a Rich table)."""
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


async def test_the_overview_shows_the_listed_sandbox_while_its_own_fetch_fails(
    fake: FakePlatform,
) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1")
        if request.method == "GET" and path.count("/") == 2 and path.startswith("/sandboxes/"):
            return httpx.Response(503, json={"detail": "busy"})
        return fake.handle(request)

    app = fake_app(handle)
    async with app.run_test(size=SIZE) as pilot:
        listed = (await loaded(pilot)).table.cursor_key
        assert listed is not None
        await pilot.press("enter")
        detail = await eventually_async(
            lambda: app.screen if isinstance(app.screen, SandboxDetailScreen) else None,
            pause=pilot.pause,
        )
        body = detail.query_one("#overview-body", Static)
        await eventually_async(lambda: listed in shown(body), pause=pilot.pause)
        assert detail.sandbox is not None and detail.sandbox.id == listed
