"""The collector hold the replay takes while playing (caged_tui/collector.py)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from caged_tui.collector import CollectorHold


class Cycle:
    """An object in a reference cycle with itself: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def collector_state() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_a_hold_freezes_the_heap_and_holds_full_collections_until_released() -> None:
    young, middle, oldest = gc.get_threshold()
    hold = CollectorHold()
    hold.start()
    assert hold.held
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[:2] == (young, middle)
    assert gc.get_threshold()[2] > 1000 * oldest
    hold.stop()
    assert not hold.held
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == (young, middle, oldest)


def test_holds_nest_and_the_last_release_restores() -> None:
    oldest = gc.get_threshold()[2]
    first, second = CollectorHold(), CollectorHold()
    first.start()
    second.start()
    first.stop()
    first.stop()  # idempotent: does not release the other's hold
    assert gc.get_threshold()[2] != oldest
    assert gc.get_freeze_count() > 0
    second.stop()
    assert gc.get_threshold()[2] == oldest
    assert gc.get_freeze_count() == 0


def test_tick_frees_cycles_made_while_held_and_a_thaw_frees_frozen_ones() -> None:
    frozen = Cycle()
    frozen_ref = weakref.ref(frozen)
    hold = CollectorHold(young_every=0.0, thaw_every=3600.0)
    hold.start()
    del frozen  # garbage now, but frozen: a young collection does not see it
    young = Cycle()
    young_ref = weakref.ref(young)
    del young
    hold.tick()
    assert young_ref() is None
    assert frozen_ref() is not None
    hold.thaw_every = 0.0
    hold.tick()
    assert frozen_ref() is None
    hold.stop()
