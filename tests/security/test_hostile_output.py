"""What a sandbox writes never drives the host's terminal: file names, file contents and
terminal hyperlinks from a sandbox reach the user's terminal only as text to look at.

Textual writes the text of a widget to the terminal as it is, so a control character in a
name or a file (``ESC ] 52`` sets the host's clipboard, other sequences retitle the window,
move the cursor or make some terminals answer with keystrokes) would be obeyed by the user's
terminal. These tests render through Textual's own compositor, which makes the bytes the
terminal gets, and look for the sandbox's escape sequence in them.

No cage is needed: the hostile text is what any sandbox can produce (a file it names, a
program it runs), handed to the TUI as the platform would.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import RichLog

from caged_core.models import FileEntry, FileType, LogEntry, TrustDeduction, TrustScore
from caged_tui import unified_diff
from caged_tui.screens.create import log_text
from caged_tui.screens.detail.exec import _terminal_text
from caged_tui.screens.detail.logs import log_line
from caged_tui.screens.detail.trust import deductions_text
from caged_tui.screens.diff import DiffView
from caged_tui.screens.files.describe import looks_binary
from caged_tui.screens.files.tree import COLUMNS, TreeSource
from caged_tui.unified_diff import FileDiff
from caged_tui.widgets.terminal.cells import Cell
from caged_tui.widgets.terminal.screen import TerminalScreen
from caged_tui.widgets.terminal.stream import TerminalStream
from caged_tui.widgets.virtual_table import VirtualTable

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# Sets the host's clipboard to "hi", then clears the screen.
CLIPBOARD = "\x1b]52;c;aGk=\x07"
HOSTILE_NAME = f"notes{CLIPBOARD}\x1b[2J\x9b31m.txt"


class _TreeApp(App[None]):
    def __init__(self, source: TreeSource) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        yield VirtualTable(list(COLUMNS), self.source)


def _terminal_bytes(app: App[None]) -> str:
    """Everything Textual would write to the terminal for the current screen."""
    return app.screen._compositor.render_full_update().render_segments(app.console)


async def test_a_hostile_file_name_is_painted_escaped() -> None:
    source = TreeSource(NOW)
    source.loaded(
        "/workspace",
        [
            FileEntry(
                name=HOSTILE_NAME,
                path=f"/workspace/{HOSTILE_NAME}",
                type=FileType.FILE,
                size=3,
                mod_time=NOW,
            )
        ],
    )
    app = _TreeApp(source)
    async with app.run_test(size=(120, 10)) as pilot:
        await pilot.pause()
        written = _terminal_bytes(app)
    assert "\x1b]52" not in written and "\x07" not in written and "\x9b" not in written
    assert "\x1b[2J" not in written
    assert r"notes\x1b]52;c;aGk=\x07\x1b[2J\x9b31m.txt" in written  # shown, as text


@pytest.mark.parametrize(
    "text",
    [
        f"print('hi')\n# {CLIPBOARD}\n",  # an escape sequence in a source file
        "ls --color\n\x1b[31mred\x1b[0m\n",  # coloured output saved to a file
        "text with a C1 control \x9d52;c;aGk=\x9c\n",
        "backspaces\x08\x08\x08hide this\n",
    ],
)
def test_a_file_with_control_characters_is_not_previewed_as_text(text: str) -> None:
    """The preview's TextArea writes a file's characters to the terminal as they are, so
    such a file is described (kind, size, hex dump) instead."""
    assert looks_binary(text)


@pytest.mark.parametrize("text", ["plain\n", "tabs\tand\r\nCRLF\n", "ünïcödé 漢字 👍🏽\n"])
def test_ordinary_text_is_still_text(text: str) -> None:
    assert not looks_binary(text)


def _link_after(sequence: str) -> str:
    screen = TerminalScreen(80, 3)
    TerminalStream(screen).feed(f"\x1b]8;;{sequence}\x1b\\link\x1b]8;;\x1b\\".encode())
    line = screen.line(0)
    assert line is not None
    cell = line[0]
    assert isinstance(cell, Cell)
    return cell.link


@pytest.mark.parametrize(
    "uri",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "vscode://file/tmp/x",
        "ssh://host",
        "smb://host/share",
        "data:text/html,<script>",
        "HTTPS",
        "https://example.com/\x9b31m",  # a C1 control would reach the host's terminal
        "https://example.com/a b",
    ],
)
def test_osc_8_links_other_than_http_are_not_kept(uri: str) -> None:
    """A link is rendered as the host terminal's own hyperlink and opened on a click: only
    web links are, and never with a control character in them."""
    assert _link_after(uri) == ""


@pytest.mark.parametrize("uri", ["https://example.com/x?y=1#z", "http://localhost:8000/"])
def test_osc_8_web_links_are_kept(uri: str) -> None:
    assert _link_after(uri) == uri


class _LogApp(App[None]):
    def __init__(self, lines: list[Text]) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        yield RichLog()

    def on_mount(self) -> None:
        for line in self.lines:
            self.query_one(RichLog).write(line)


async def _painted(lines: list[Text]) -> str:
    app = _LogApp(lines)
    async with app.run_test(size=(120, 10)) as pilot:
        await pilot.pause()
        await pilot.pause()
        return _terminal_bytes(app)


# A link whose target carries an OSC 52 (Rich's ANSI decoder keeps anything up to ESC \ as the
# target; Textual writes it into its own OSC 8, which the BEL ends early), then one to a file.
HOSTILE_OUTPUT = (
    "out \x1b]8;;http://x\x07\x1b]52;c;aGk=\x07\x1b\\click\x1b]8;;\x1b\\ "
    "\x1b]8;;file:///etc/passwd\x1b\\open me\x1b]8;;\x1b\\ \x9d52;c;aGk=\x9c \x1b[31mred\x1b[0m"
    " \x1bc\x1b#8"  # a full reset of the terminal, then a screen filled with E
)


async def test_exec_output_cannot_write_the_host_terminal() -> None:
    """A command's output in the detail's exec tab keeps its colours, nothing else."""
    line = _terminal_text(HOSTILE_OUTPUT)
    written = await _painted([line, _terminal_text(f"no escape {CLIPBOARD[1:]} \x9b2J")])
    assert "\x1b]52" not in written and "\x9d" not in written and "\x9b" not in written
    assert "file:" not in written and "\x1b]8;" not in written
    assert "\x1bc" not in written and "\x1b#8" not in written
    red = [span for span in line.spans if line.plain[span.start : span.end] == "red"]
    assert [str(span.style) for span in red] == [str(Style.parse("color(1)"))]  # SGR stays


async def test_log_lines_cannot_write_the_host_terminal() -> None:
    """The logs tab and the create screen's log show what the platform logged, which holds
    the output of a sandbox's init steps (an install, a clone, the user's script)."""
    message = f"installing {CLIPBOARD} \x9b2J\ndone"
    entry = LogEntry(timestamp=NOW, type="init", message=message)
    lines = [log_line(entry, search=""), log_text(entry)]
    written = await _painted(lines)
    assert "\x1b]52" not in written and "\x07" not in written and "\x9b" not in written
    assert r"installing \x1b]52;c;aGk=\x07 \x9b2J" in written
    assert all(line.plain.endswith("\ndone") for line in lines)  # its lines stay lines


class _DiffApp(App[None]):
    def __init__(self, file: FileDiff, side_by_side: bool) -> None:
        super().__init__()
        self.file = file
        self.side_by_side = side_by_side

    def compose(self) -> ComposeResult:
        view = DiffView()
        view.side_by_side = self.side_by_side
        view.file = self.file
        yield view


@pytest.mark.parametrize("side_by_side", [False, True])
async def test_a_hostile_diff_is_painted_escaped(side_by_side: bool) -> None:
    """git runs in the sandbox; the lines of its diff (and the context git puts after a
    hunk's @@) are the sandbox's files."""
    diff = (
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n"
        f"@@ -1,2 +1,2 @@ def f(): {CLIPBOARD}\n"
        f"-old = 1 {CLIPBOARD}\n+new = 2 \x1bc\x9b2J\n x\n"
    )
    [file] = unified_diff.parse(diff)
    app = _DiffApp(file, side_by_side)
    async with app.run_test(size=(160, 20)) as pilot:
        await pilot.pause()
        written = _terminal_bytes(app)
    assert "\x1b]52" not in written and "\x07" not in written
    assert "\x1bc" not in written and "\x9b" not in written
    assert "x9b2J" in written  # shown escaped (by unified_diff.parse)


async def test_trust_deductions_are_painted_escaped() -> None:
    """A deduction's reason names what the agent touched (a file, a host): its words."""
    score = TrustScore(
        session_id="ses-[b]1",
        score=80,
        deductions=[
            TrustDeduction(rule="sensitive_file_read", points=20, reason=f"read /x{CLIPBOARD}")
        ],
    )
    written = await _painted([deductions_text(score)])
    assert "\x1b]52" not in written and "\x07" not in written
    assert r"read /x\x1b]52;c;aGk=\x07" in written and "ses-[b]1" in written
