"""A screen or panel opened a second time keeps following the live feed.

Topics are kept by name, and a fetch may be a closure asking whether *its* screen or
panel is in front: the newest subscriber's fetch must be the one used, or the second
screen (after esc and enter again) is never fetched (seen in tmux with the snapshots
screen; the detail panels had the same shape).
"""

from __future__ import annotations

from typing import Any

import httpx
from eventually import eventually_async
from fake_platform import PORTS, FakePlatform, fake_app
from test_app import SIZE, loaded

from caged_tui.screens.detail.ports import PortsPanel
from caged_tui.screens.detail.screen import SandboxDetailScreen


class ChangingPorts(FakePlatform):
    """The ports answer is whatever ``ports`` holds now."""

    def __init__(self) -> None:
        super().__init__()
        self.ports: list[dict[str, Any]] = list(PORTS)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/ports"):
            self.requests.append(request)
            return self._json(self.ports)
        return super().handle(request)


async def test_a_detail_panel_opened_again_still_updates() -> None:
    fake = ChangingPorts()
    app = fake_app(fake.handle, refresh_seconds=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        for expected in (2, 1):
            await pilot.press("enter")
            detail = await eventually_async(
                lambda: app.screen if isinstance(app.screen, SandboxDetailScreen) else None,
                pause=pilot.pause,
            )
            await pilot.press("3")
            table = detail.query_one(PortsPanel).query_one("#ports-table")
            await eventually_async(
                lambda table=table, expected=expected: table.row_count == expected,  # type: ignore[attr-defined]
                pause=pilot.pause,
            )
            await pilot.press("escape")
            await eventually_async(lambda: not isinstance(app.screen, SandboxDetailScreen))
            fake.ports = fake.ports[:1]
