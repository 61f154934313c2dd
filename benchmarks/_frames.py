"""Seeing frames of an in-process Textual app run headless.

A headless app composes every frame but skips turning it into terminal escape
sequences. :class:`FrameProbe` wraps the app's display step to do that work
anyway (a real terminal would make the app pay it) and to timestamp each
frame, so a benchmark can wait for "the first frame where X is visible".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual._compositor import CompositorUpdate
from textual.app import App
from textual.screen import Screen


class FrameProbe:
    """Counts and timestamps an app's frames; await :meth:`frame_where` for one."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.frames = 0
        self.last_frame_at = 0.0
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[float]]] = []
        original = app._display

        def display(screen: Screen[object], renderable: object) -> None:
            original(screen, renderable)  # type: ignore[arg-type]
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
            self.frames += 1
            self.last_frame_at = time.perf_counter()
            for waiter in list(self._waiters):
                ready, future = waiter
                if not future.done() and ready():
                    future.set_result(self.last_frame_at)
                    self._waiters.remove(waiter)

        app._display = display  # type: ignore[method-assign]

    def frame_where(self, ready: Callable[[], bool]) -> asyncio.Future[float]:
        """A future resolved with the time of the first frame after which ``ready()`` holds."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append((ready, future))
        return future

    def next_frame(self) -> asyncio.Future[float]:
        """The time of the next frame."""
        return self.frame_where(lambda: True)
