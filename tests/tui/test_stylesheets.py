"""Every screen's stylesheet is read right after the first frame, never on a push.

A screen whose ``CSS_PATH`` Textual has not seen makes the first push of it
re-parse the whole stylesheet and restyle every mounted widget; the app reads
them all once the first frame is on screen (which needs only its own), so that
opening a screen only styles that screen's widgets. The first switch to a mode
did the same, for a screen not yet styled at all.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from eventually import eventually_async
from fake_platform import fake_app
from textual.screen import Screen

import caged_tui.screens
from caged_tui.app import SCREEN_STYLESHEETS, CagedApp
from caged_tui.screens.help import HelpScreen


def _screen_classes() -> list[type[Screen[object]]]:
    for module in pkgutil.walk_packages(caged_tui.screens.__path__, "caged_tui.screens."):
        importlib.import_module(module.name)
    found: list[type[Screen[object]]] = []
    pending: list[type[Screen[object]]] = [Screen]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__module__.startswith("caged_tui.") and "CSS_PATH" in vars(cls):
            found.append(cls)
    return found


def _read(app: CagedApp) -> set[Path]:
    return {Path(path) for path, _ in app.stylesheet.source if path.endswith(".tcss")}


def test_the_app_knows_every_screen_stylesheet() -> None:
    screens = _screen_classes()
    assert len(screens) >= 10  # the walk found the screens
    for cls in screens:
        own = Path(inspect.getfile(cls)).parent / str(cls.CSS_PATH)
        assert own.resolve() in SCREEN_STYLESHEETS, f"{cls.__name__}: {own} is not listed"


async def test_the_first_frame_reads_its_own_stylesheets_and_the_rest_follow() -> None:
    """Parsing every screen's stylesheet was ~15 ms of the way to the first frame."""
    app = fake_app()
    first_frame: set[Path] = set()
    app.call_after_refresh(lambda: first_frame.update(_read(app)))
    async with app.run_test(size=(120, 36)) as pilot:
        await eventually_async(lambda: bool(first_frame), pause=pilot.pause)
        assert {path.name for path in first_frame} == {"app.tcss", "sandboxes.tcss"}
        await eventually_async(lambda: _read(app) >= set(SCREEN_STYLESHEETS), pause=pilot.pause)


async def test_screens_and_modes_open_without_reparsing_the_stylesheet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = fake_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await eventually_async(lambda: _read(app) >= set(SCREEN_STYLESHEETS), pause=pilot.pause)
        reparsed: list[str] = []
        reparse = app.stylesheet.reparse

        def counted() -> None:
            reparsed.append(type(app.screen).__name__)
            reparse()

        monkeypatch.setattr(app.stylesheet, "reparse", counted)
        await app.switch_mode("sessions")  # a mode not opened yet
        await pilot.press("f1")  # a pushed screen with a stylesheet of its own
        await eventually_async(lambda: isinstance(app.screen, HelpScreen), pause=pilot.pause)
        assert reparsed == []
        app.theme = "nord"  # new variables: that does re-parse
        await eventually_async(lambda: reparsed != [], pause=pilot.pause)
