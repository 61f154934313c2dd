"""The collector held off while the app starts (caged_tui/collector.py, "At start-up")."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest
from eventually import eventually_async
from fake_platform import fake_app

from caged_tui import cli, collector


@pytest.fixture(autouse=True)
def collector_state() -> Iterator[None]:
    yield
    collector.release_after_start(freeze=False)
    gc.unfreeze()
    gc.enable()


def test_held_for_start_until_released_then_frozen() -> None:
    collector.hold_for_start()
    assert not gc.isenabled()
    collector.release_after_start()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    collector.release_after_start()  # once only
    assert gc.isenabled()


def test_a_collector_stopped_by_someone_else_stays_stopped() -> None:
    gc.disable()
    collector.hold_for_start()
    collector.release_after_start()
    assert not gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_the_command_holds_it_before_it_imports_the_client_or_the_app() -> None:
    code = "import sys, caged_tui.cli; print(sorted({'caged_core', 'textual'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_command_lets_it_go_when_no_app_comes_up() -> None:
    assert cli.main(["--local", "--base-url", "http://127.0.0.1:9"]) == cli.EXIT_CONFIG
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


async def test_the_app_lets_it_go_once_its_first_frame_is_on_screen() -> None:
    collector.hold_for_start()
    app = fake_app()
    at_first_refresh: list[bool] = []
    app.call_after_refresh(lambda: at_first_refresh.append(gc.isenabled()))
    async with app.run_test(size=(120, 36)) as pilot:
        await eventually_async(lambda: gc.isenabled(), pause=pilot.pause)
        assert at_first_refresh == [False]
        assert getattr(app.screen, "state", "") == "ready"  # the list was painted first
        assert gc.get_freeze_count() > 0
