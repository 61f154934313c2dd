"""Every screen's stylesheet is read when the app starts, never on a push.

A screen whose ``CSS_PATH`` Textual has not seen makes the first push of it
re-parse the whole stylesheet and restyle every mounted widget; the app lists
them all so that opening a screen only styles that screen's widgets.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

from textual.screen import Screen

import caged_tui.screens
from caged_tui.app import CagedApp


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


def test_the_app_reads_every_screen_stylesheet_at_start() -> None:
    read = {Path(path).resolve() for path in CagedApp.CSS_PATH if Path(path).is_absolute()}
    screens = _screen_classes()
    assert len(screens) >= 10  # the walk found the screens
    for cls in screens:
        own = Path(inspect.getfile(cls)).parent / str(cls.CSS_PATH)
        assert own.resolve() in read, f"{cls.__name__}: {own} is not read at start"
