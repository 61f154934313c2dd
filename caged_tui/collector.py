"""The cyclic garbage collector while something animates: short, rare full collections.

CPython starts a full (oldest-generation) collection whenever enough objects
have survived into the oldest generation since the last one, and it walks every
tracked object of the process: ~130,000 in the TUI with a replay open, 40-200 ms
on a loaded 2-core box. Animation keeps objects surviving for a while (painted
strips held by line caches, the timeline's pages), so playing a replay at 64x
ran one every second or so: 1-2 % of its 60 Hz frames stalled (replay_step's p99).
Those collections are needed, though: a Textual strip is in a reference cycle
with its own crop cache, so the strips a cache drops are freed only by them.

While a :class:`CollectorHold` is held:

- what was alive when it started is frozen (``gc.freeze``): collections no longer
  walk the app, the session's pages, the terminal's keyframes;
- automatic full collections wait; :meth:`CollectorHold.tick` runs one every
  :data:`YOUNG_EVERY` seconds instead, over what was made since the last one (the
  strips painted and dropped meanwhile: ~7,500 objects of cyclic garbage a second
  at 64x), then freezes what survived; every :data:`THAW_EVERY` seconds it thaws
  everything first, so what died after being frozen (a dropped page, a cached
  strip) is freed too. Memory stays bounded; the cost is a short walk every few
  seconds (below 1 % of frames) and a whole-heap one a minute, instead of a
  whole-heap one every second.

When the last hold is released the frozen objects go back to the oldest
generation and the usual thresholds apply again. This module is the only user
of ``gc.freeze`` in the app (``gc.unfreeze`` thaws everything).

**At start-up** the collector is off altogether: start-up makes ~400,000 objects
(modules, classes, models, the first screen) that live as long as the app, so the
passes over them on the way to the first frame freed next to nothing and took
~35 ms of it. The command stops it before it imports anything
(:func:`hold_for_start`); the app lets it go once its first frame is on screen
(:func:`release_after_start`), freezing what start-up made, so that later full
collections do not walk it either. An app started any other way (the tests, the
screenshot script) never held it, and the release leaves its collector as it is.
"""

from __future__ import annotations

import gc
import time

#: A full collection waits for this many young collections instead of the usual 10:
#: never, in practice; :meth:`CollectorHold.tick` runs them.
_HELD = 1_000_000
#: Seconds between collections of what was made since the last one, while held.
YOUNG_EVERY = 5.0
#: Seconds between collections of the whole heap, while held.
THAW_EVERY = 60.0

_holders: set[int] = set()
_threshold: int | None = None
_held_for_start = False


def hold_for_start() -> None:
    """Stop the collector until :func:`release_after_start` (no-op when already stopped)."""
    global _held_for_start
    if gc.isenabled():
        gc.disable()
        _held_for_start = True


def release_after_start(*, freeze: bool = True) -> None:
    """Restart the collector if :func:`hold_for_start` stopped it, first freezing what
    start-up made (unless ``freeze`` is false: no app came up)."""
    global _held_for_start
    if _held_for_start:
        _held_for_start = False
        if freeze:
            gc.freeze()
        gc.enable()


class CollectorHold:
    """Hold the collector for one animation (see the module's docstring).

    ``start`` and ``stop`` are idempotent; holds nest across holders.
    """

    def __init__(self, *, young_every: float = YOUNG_EVERY, thaw_every: float = THAW_EVERY) -> None:
        self.young_every = young_every
        self.thaw_every = thaw_every
        self._collected_at = 0.0
        self._thawed_at = 0.0

    @property
    def held(self) -> bool:
        """Whether this hold is on."""
        return id(self) in _holders

    def start(self) -> None:
        """Freeze what is alive and hold automatic full collections."""
        global _threshold
        if self.held:
            return
        if not _holders:
            young, middle, _threshold = gc.get_threshold()
            gc.set_threshold(young, middle, _HELD)
            gc.freeze()
        _holders.add(id(self))
        self._collected_at = self._thawed_at = time.monotonic()

    def tick(self) -> None:
        """Run the held collection when one is due (call it once per frame)."""
        now = time.monotonic()
        if not self.held or now - self._collected_at < self.young_every:
            return
        self._collected_at = now
        if now - self._thawed_at >= self.thaw_every:
            self._thawed_at = now
            gc.unfreeze()
        gc.collect()
        gc.freeze()

    def stop(self) -> None:
        """Release the hold; the last one thaws the frozen objects."""
        global _threshold
        if not self.held:
            return
        _holders.discard(id(self))
        if not _holders and _threshold is not None:
            gc.unfreeze()
            young, middle, _ = gc.get_threshold()
            gc.set_threshold(young, middle, _threshold)
            _threshold = None
