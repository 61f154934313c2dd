"""Large answers are parsed with the cyclic garbage collector paused (a replay page is
~7000 new objects), and the collector's state is always given back."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
from pydantic import AfterValidator, TypeAdapter

from caged_core.client._transport import GC_PAUSE_FROM, parse_json
from caged_core.errors import CagedProtocolError


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    assert gc.isenabled()
    yield
    gc.enable()


def _answer(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, request=httpx.Request("GET", "http://api.test/v1/x"))


def _noting_the_collector(seen: list[bool]) -> TypeAdapter[Any]:
    def note(value: str) -> str:
        seen.append(gc.isenabled())
        return value

    return TypeAdapter(dict[str, Annotated[str, AfterValidator(note)]])


def _object_of(size: int) -> bytes:
    return b'{"k": "' + b"x" * size + b'"}'


def test_a_large_answer_is_parsed_with_the_collector_paused() -> None:
    seen: list[bool] = []
    parsed = parse_json(_answer(_object_of(GC_PAUSE_FROM)), _noting_the_collector(seen))
    assert parsed["k"] == "x" * GC_PAUSE_FROM
    assert seen == [False] and gc.isenabled()


def test_a_small_answer_leaves_the_collector_alone() -> None:
    seen: list[bool] = []
    parse_json(_answer(_object_of(10)), _noting_the_collector(seen))
    assert seen == [True]


def test_the_collector_runs_again_after_a_large_answer_that_does_not_fit() -> None:
    with pytest.raises(CagedProtocolError):
        parse_json(_answer(b"[" + b"1," * GC_PAUSE_FROM + b"1]"), TypeAdapter(dict[str, str]))
    assert gc.isenabled()


def test_a_collector_paused_by_the_caller_stays_paused() -> None:
    gc.disable()
    seen: list[bool] = []
    parse_json(_answer(_object_of(GC_PAUSE_FROM)), _noting_the_collector(seen))
    assert seen == [False] and not gc.isenabled()
