"""What ``y`` puts on the clipboard: a sandbox-chosen file name must not become a command
when the user pastes it into a shell."""

from __future__ import annotations

import os
import subprocess

from caged_tui.safe_text import pasteable


def test_a_plain_path_is_copied_as_it_is() -> None:
    assert pasteable("/workspace/notes on café.md") == "/workspace/notes on café.md"


def test_a_path_with_a_newline_pastes_into_a_shell_as_one_word() -> None:
    hostile = "/workspace/x\ntouch /tmp/pasted-and-ran\n\x1b[2J"

    pasted = pasteable(hostile)

    said = subprocess.run(
        ["bash", "-c", f"printf %s {pasted}"], capture_output=True, check=True
    ).stdout.decode()
    assert said == hostile


def test_what_is_copied_holds_no_control_character() -> None:
    """Quoting alone is not enough: a pasted ctrl+c (the tty makes it a SIGINT) drops the line
    with its opening quote, and whatever follows a newline then runs; an ``ESC [201~`` ends a
    bracketed paste early. The clipboard holds escapes instead, which bash, zsh and ksh read
    back as the very name (``$'…'``)."""
    hostile = "/workspace/x\x03\ntouch /tmp/pasted-and-ran\n\x1b[201~'\x9b\u202e\U000e0041é"

    pasted = pasteable(hostile)

    assert pasted.isprintable()
    # A UTF-8 locale, as the user's shell has, for \u escapes to give UTF-8.
    said = subprocess.run(
        ["bash", "-c", f"printf %s {pasted}"],
        capture_output=True,
        check=True,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    ).stdout.decode()
    assert said == hostile
