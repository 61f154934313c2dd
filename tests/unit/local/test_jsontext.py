"""The nesting limit of client JSON is read from the text: brackets inside strings do not
count, escapes do not end strings, and text and bytes agree."""

from __future__ import annotations

import json

import pytest

from caged_platform import jsontext


def _nested(depth: int) -> str:
    return (
        '{"a":' * (depth // 2)
        + "[" * (depth - depth // 2)
        + "1"
        + "]" * (depth - depth // 2)
        + "}" * (depth // 2)
    )


@pytest.mark.parametrize(
    "text",
    [
        _nested(jsontext.MAX_DEPTH),
        '["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]',
        '["\\\\", "\\"[[[[", {"k]}": "{{{{"}]',
        json.dumps([{"x": "[" * 100} for _ in range(50)]),
        "1",
        '"just a string"',
    ],
)
def test_accepted(text: str) -> None:
    assert jsontext.loads(text) == json.loads(text)
    assert jsontext.loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        _nested(jsontext.MAX_DEPTH + 1),
        "[" * 5000 + "]" * 5000,
        '["]",' + "[" * 70 + "]" * 70 + "]",
        '["\\"]", ' + "[" * 70 + "]" * 70 + "]",  # an escaped quote: the pattern's path
    ],
)
def test_refused(text: str) -> None:
    with pytest.raises(jsontext.TooDeep):
        jsontext.loads(text)
    with pytest.raises(jsontext.TooDeep):
        jsontext.loads(text.encode())
    with pytest.raises(jsontext.TooDeep):
        jsontext.loads(text.encode("utf-16"))  # not UTF-8: measured on the parsed value
