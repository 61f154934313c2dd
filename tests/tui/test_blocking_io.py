"""Defect (issue 12): login wrote the keyring and the config file on the event loop,
freezing the UI while a keyring backend (D-Bus, a locked wallet) answered."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest
from eventually import eventually_async
from fake_platform import FakePlatform, fake_app, mock_client
from test_app import SIZE, loaded
from textual.widgets import Input

from caged_tui.screens.login import LoginScreen


async def test_login_touches_keyring_and_files_off_the_event_loop(
    fake: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: dict[str, bool] = {}

    def on_loop(name: str) -> Any:
        def record(*_: object, **__: object) -> bool:
            threads[name] = threading.current_thread() is threading.main_thread()
            return True

        return record

    for name in ("save_api_key", "save_profile", "keyring_available"):
        monkeypatch.setattr(f"caged_core.config.{name}", on_loop(name))

    def hosted(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/account":
            return httpx.Response(200, content=json.dumps({"id": "acct-1", "tier": "pro"}))
        return fake.handle(request)

    def factory(*, api_key: str, base_url: str) -> Any:
        return mock_client(hosted, api_key=api_key, base_url=base_url)

    app = fake_app(fake.handle, client_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("colon", *"profiles", "enter")
        await eventually_async(lambda: isinstance(app.screen, LoginScreen), pause=pilot.pause)
        app.screen.query_one("#login-key", Input).value = "caged_sk_good"
        await pilot.press("ctrl+s")
        await eventually_async(lambda: not app.settings.local, pause=pilot.pause)
    assert threads == {"keyring_available": False, "save_api_key": False, "save_profile": False}
