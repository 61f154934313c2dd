"""What ``y`` puts on the clipboard: a sandbox-chosen file name must not become a command
when the user pastes it into a shell."""

from __future__ import annotations

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
