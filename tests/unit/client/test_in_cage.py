"""Parsing the answers of the client's in-sandbox verbs: exact names, untrusted input refused."""

from __future__ import annotations

import base64

import pytest

from caged_core.client import _in_cage
from caged_core.errors import CagedCommandError


def framed(stdout: bytes, stderr: bytes = b"", code: int = 0) -> str:
    return (
        f"motd noise\n{_in_cage.MARK}\n{base64.encodebytes(stdout).decode()}.\n"
        f"{base64.encodebytes(stderr).decode()}.\n{code}\n"
    )


def test_walk_keeps_names_with_spaces_newlines_and_invalid_utf8() -> None:
    raw = b"d 4096 1700000000.5 src\0f 12 1700000001.0 src/a b\nc.py\0f 1 1.0 bad\xff\0f 1 1"
    answer = _in_cage.parse("walk", framed(raw))
    entries = _in_cage.parse_walk(answer.stdout)
    assert [(e.path, e.is_dir, e.size) for e in entries] == [
        ("/workspace/src", True, 0),
        ("/workspace/src/a b\nc.py", False, 12),
        ("/workspace/bad\ufffd", False, 1),
    ]
    assert entries[1].name == "a b\nc.py"


def test_git_status_maps_codes_and_roots_paths_at_the_top_level() -> None:
    raw = b"/workspace\0 M src/a.py\0?? new.txt\0!! build/\0A  added.py\0 D gone.py\0"
    status = _in_cage.parse_git_status(_in_cage.parse("git", framed(raw)))
    assert status.is_repository
    assert {f.path: f.status for f in status.files or []} == {
        "/workspace/src/a.py": "modified",
        "/workspace/new.txt": "untracked",
        "/workspace/build": "ignored",
        "/workspace/added.py": "added",
        "/workspace/gone.py": "deleted",
    }


def test_not_a_repository_and_no_git() -> None:
    assert not _in_cage.parse_git_status(_in_cage.parse("git", framed(b"", code=128))).is_repository
    with pytest.raises(CagedCommandError, match="not installed"):
        _in_cage.parse_git_status(_in_cage.parse("git", framed(b"", code=127)))


def test_a_failure_names_the_last_line_of_stderr() -> None:
    answer = _in_cage.parse("rename", framed(b"", b"warning\nmv: cannot move: denied\n", 1))
    with pytest.raises(CagedCommandError, match="rename failed: mv: cannot move: denied") as info:
        _in_cage.check("rename", answer)
    assert info.value.exit_code == 1


@pytest.mark.parametrize(
    "output",
    [
        "",
        "no mark at all\n",
        f"{_in_cage.MARK}\n!!notbase64\n.\n.\n0\n",
        f"{_in_cage.MARK}\n.\n.\nx\n",
    ],
)
def test_an_unreadable_answer_is_a_command_error(output: str) -> None:
    with pytest.raises(CagedCommandError, match="could not be read"):
        _in_cage.parse("walk", output)


def test_paths_are_quoted_never_parsed_by_the_shell() -> None:
    script = _in_cage.rename_script("a'; rm -rf / #", "/workspace/$(reboot)")
    assert "'/workspace/a'\"'\"'; rm -rf / #'" in script
    assert "'/workspace/$(reboot)'" in script


def test_numbers_in_the_scripts_are_numbers() -> None:
    """A limit or a count is written into the script as an integer or refused: a caller's
    text never becomes shell."""
    with pytest.raises(ValueError):
        _in_cage.walk_script("1; touch /tmp/pwned")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        _in_cage.head_script("a", "1; touch /tmp/pwned")  # type: ignore[arg-type]
    assert "head -z -n 5;" in _in_cage.walk_script(5)
