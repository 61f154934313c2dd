"""The differential fidelity suite (issue 17, item 6): tmux is the reference terminal.

Each case starts the same program (the host's bash, with PS1='$ ' and no rc files, driving the
host's vim, less, man, top, python3, ls — host binaries on content written by the test) at the
same size with the same environment in a tmux pane and in the widget (headless, through Pilot),
sends the same keys to both (Textual key names to the widget, their tmux names to tmux) and waits
until the two screens are identical cell by cell: text, attributes (bold, dim, italic, underline
and its style, blink, reverse, hidden, strike, overline) and colours (ANSI names, 256-colour
indices, truecolor), plus the cursor. The reference screen is ``tmux capture-pane -e``'s output
parsed by a fresh model, so both sides are compared in the model's terms.

Documented differences, not compared:

* replies to terminal queries (device attributes, XTVERSION): each terminal answers as itself;
  the cases avoid programs whose display depends on them;
* emoji widths: tmux 3.3a measures code point by code point (👍🏽 is 4 columns, ✔️ is 1); the
  widget measures graphemes with wcwidth (2 and 2, one glyph each, see
  ``test_terminal_emoji.py``) — the emoji case uses ZWJ sequences, flags and CJK, where the two
  agree;
* ``top`` shows its own process list (each side sees different processes): only its column
  header row is compared;
* DEC special graphics ``h``: tmux 3.3a draws ░, the widget ␤ as the VT100 and xterm do;
* tmux 3.3a's capture writes overline as ``5:3``; the parser reads it as SGR 53.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eventually import eventually_async
from local_pty import LocalPtyTransport
from terminal_app import TerminalTestApp
from textual.keys import key_to_character
from textual.pilot import Pilot

from caged_tui.widgets.terminal import TerminalScreen, TerminalView
from caged_tui.widgets.terminal.cells import BLANK, Cell
from caged_tui.widgets.terminal.stream import TerminalStream

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None or shutil.which("bash") is None, reason="needs tmux and bash"
)

COLS, ROWS = 80, 24

#: Widget key name -> tmux key name, where they are not the same word.
_TMUX_KEYS = {
    "enter": "Enter",
    "escape": "Escape",
    "tab": "Tab",
    "backspace": "BSpace",
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
    "home": "Home",
    "end": "End",
    "pageup": "PPage",
    "pagedown": "NPage",
    "space": "Space",
}
_TMUX_MODIFIERS = {"ctrl": "C-", "alt": "M-", "shift": "S-"}


def tmux_key(key: str) -> str:
    """``ctrl+p`` -> ``C-p``, ``alt+full_stop`` -> ``M-.``, ``f1`` -> ``F1``."""
    *modifiers, name = key.split("+")
    if name in _TMUX_KEYS:
        name = _TMUX_KEYS[name]
    elif re.fullmatch(r"f\d+", name):
        name = name.upper()
    elif len(name) > 1:
        name = key_to_character(name) or name
    return "".join(_TMUX_MODIFIERS[m] for m in modifiers) + name


@dataclass
class Step:
    """Type ``text`` literally, press ``keys``, or resize; then, if ``compare`` is set, the two
    screens must become identical (on the rows ``rows`` only, when given), once both show
    ``ready`` (a program's prompt: keys typed before it is up would be echoed by the tty)."""

    text: str = ""
    keys: tuple[str, ...] = ()
    resize: tuple[int, int] | None = None
    compare: bool = False
    rows: range | None = None
    ready: str = ""


def typed(text: str) -> Step:
    return Step(text=text)


def line(text: str, ready: str = "") -> list[Step]:
    """Type a command and run it, then compare (once ``ready`` shows)."""
    return [Step(text=text), Step(keys=("enter",), compare=True, ready=ready)]


def keys(*names: str, rows: range | None = None) -> Step:
    return Step(keys=names, compare=True, rows=rows)


@dataclass
class Case:
    name: str
    steps: list[Step]
    files: dict[str, str] = field(default_factory=dict)


MANPAGE = r""".TH DEMO 1 "2026" "caged" "Fidelity"
.SH NAME
demo \- a page for the fidelity suite
.SH SYNOPSIS
.B demo
[\fB\-v\fR] \fIfile\fR ...
.SH DESCRIPTION
.B demo
does nothing, \fIbeautifully\fR, and says so at length so the page wraps at eighty
columns and the pager has something to show in bold, underline and plain text.
"""

PYTHON_FILE = "\n".join(f"def f{n}(x):\n    return x * {n}  # line {n}\n" for n in range(20))

CASES = [
    Case(
        "ansi_colours",
        line(
            "for i in 0 1 2 3 4 5 6 7; do printf '\\e[3%dmN%d \\e[9%dmB%d\\e[0m ' $i $i $i $i;"
            " done; echo; printf '\\e[38;5;208m256\\e[48;2;10;20;30mtrue\\e[0m\\n'"
        ),
    ),
    Case(
        "ctrl_p_and_history",
        [*line("echo first"), keys("ctrl+p"), keys("ctrl+p", "ctrl+n", "ctrl+p", "enter")],
    ),
    Case(
        "alt_keys_readline",
        [
            *line("echo one two three"),
            typed("echo "),
            keys("alt+full_stop"),
            keys("alt+b", "alt+b", "alt+f", "alt+backspace"),
            keys("alt+less_than_sign", "alt+greater_than_sign", "enter"),
        ],
    ),
    Case(
        "ctrl_q_quoted_insert",
        [*line("stty -ixon"), typed("echo x"), keys("ctrl+q", "ctrl+a", "ctrl+h", "enter")],
    ),
    Case(
        "readline_editing",
        [
            typed("echo hello wide world"),
            keys("ctrl+a", "alt+f", "alt+f", "ctrl+k", "ctrl+y", "ctrl+e", "ctrl+w"),
            keys("ctrl+u", "ctrl+y", "left", "left", "ctrl+t", "ctrl+h", "enter"),
        ],
    ),
    Case(
        "reflow_on_resize",
        [
            *line("printf 'A%.0s' $(seq 1 150); echo"),
            Step(resize=(60, ROWS), compare=True),
            Step(resize=(COLS, ROWS), compare=True),
        ],
    ),
    Case(
        "underline_overline_dec_graphics",
        line(
            "printf '\\e[4:3mcurly\\e[0m \\e[21mdouble\\e[0m \\e[53mover\\e[0m"
            " \\e(0lqqk xjg\\e(B \\e[1;2;3;5;7;9mall\\e[0m\\n'"
        ),
    ),
    Case(
        "cjk_and_emoji",
        line(
            "printf '中文字符 漢字|\\n\\U0001f468\\u200d\\U0001f469\\u200d\\U0001f467|x"
            " \\U0001f1eb\\U0001f1f7|y\\n'; printf '%79s中|\\n' ''"
        ),
    ),
    Case(
        "ls_colours",
        line("cd tree && ls --color=always -F && cd .."),
        files={
            "tree/archive.tar.gz": "",
            "tree/image.png": "",
            "tree/notes.txt": "",
            "tree/run.sh": "#!/bin/sh\n",
            "tree/sub/file": "",
        },
    ),
    Case(
        "alternate_screen",
        [
            *line("printf 'primary\\n\\e[?1049h\\e[2J\\e[Halternate\\n'; read -r x"),
            keys("enter"),
            *line("printf '\\e[?1049l'; echo back"),
        ],
    ),
    Case(
        "scroll_region",
        line(
            "clear; for i in $(seq 1 20); do echo row$i; done;"
            " printf '\\e[5;10r\\e[10;1H\\n\\n\\nin-region\\e[r\\e[3L\\e[2M\\e[24;1H'"
        ),
    ),
    Case(
        "python_repl",
        [*line("python3 -q", ">>> "), *line("print(6 * 7, 'ok')", "42 ok"), *line("exit()")],
    ),
    Case(
        "vim",
        [
            *line("vim -u NONE -i NONE -N -n code.py", "def f7(x):"),
            keys("G", "k", "k", "d", "d", "o"),
            typed("inserted line"),
            keys("escape", "g", "g"),
            typed(":q!"),
            keys("enter"),
        ],
        files={"code.py": PYTHON_FILE},
    ),
    Case(
        "resize_under_vim",
        [
            *line("vim -u NONE -i NONE -N -n code.py", "def f7(x):"),
            Step(resize=(60, 20), compare=True),
            typed(":q!"),
            keys("enter"),
        ],
        files={"code.py": PYTHON_FILE},
    ),
    Case(
        "less",
        [*line("less -R code.py", "def f0"), keys("space"), keys("G"), keys("q")],
        files={"code.py": PYTHON_FILE},
    ),
    Case(
        "man",
        [*line("man -l demo.1", "beautifully"), keys("q")],
        files={"demo.1": MANPAGE},
    ),
    Case(
        "top",
        [
            typed("top -d 100"),
            Step(keys=("enter",), compare=True, rows=range(6, 7), ready="PID"),
            Step(keys=("q",)),
            *line("clear"),
        ],
    ),
]


class Tmux:
    """The reference: one tmux server on its own socket, one pane, no status line."""

    def __init__(self, directory: Path, env: dict[str, str], argv: list[str]) -> None:
        self.socket = f"fidelity-{os.getpid()}-{id(self)}"
        self.directory = directory
        self.env = env
        self.argv = argv
        self.conf = directory / "tmux.conf"
        self.conf.write_text(
            "set -g status off\nset -g escape-time 0\nset -g history-limit 10000\n"
            'set -g default-terminal "xterm-256color"\n'
        )

    async def run(self, *args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            "tmux",
            "-L",
            self.socket,
            "-f",
            str(self.conf),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=self.directory,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return out.decode()

    async def start(self, cols: int, rows: int) -> None:
        env = [f"{key}={value}" for key, value in self.env.items()]
        await self.run(
            "new-session", "-d", "-s", "main", "-x", str(cols), "-y", str(rows),
            "-c", str(self.directory),
            "--", "env", "-i", *env, *self.argv,
        )  # fmt: skip

    async def send(self, step: Step) -> None:
        if step.text:
            await self.run("send-keys", "-t", "main", "-l", step.text)
        if step.keys:
            await self.run("send-keys", "-t", "main", *map(tmux_key, step.keys))
        if step.resize:
            cols, rows = step.resize
            await self.run("resize-window", "-t", "main", "-x", str(cols), "-y", str(rows))

    async def screen(self) -> tuple[TerminalScreen, tuple[int, int]]:
        """The pane as the model reads it, and the cursor."""
        size = await self.run("display", "-p", "-t", "main", "#{pane_width} #{pane_height}")
        cols, rows = map(int, size.split())
        captured = await self.run("capture-pane", "-p", "-e", "-N", "-t", "main")
        where = await self.run("display", "-p", "-t", "main", "#{cursor_x} #{cursor_y}")
        # tmux 3.3a writes overline as "5:3".
        captured = re.sub(r"(?<=[\[;])5:3(?=[;m])", "53", captured)
        model = TerminalScreen(cols, rows)
        stream = TerminalStream(model)
        stream.feed("\r\n".join(captured.rstrip("\n").split("\n")).encode())
        x, y = map(int, where.split())
        return model, (x, y)

    async def stop(self) -> None:
        await self.run("kill-server")


#: What is compared per cell: everything but the hyperlink (tmux 3.3a captures none).
def _key(cell: Cell) -> tuple[object, ...]:
    return cell[:-1]


def _cells(screen: TerminalScreen, rows: range) -> Iterator[tuple[int, int, Cell]]:
    for y in rows:
        line = screen.line(y)
        for x in range(screen.columns):
            cell = BLANK if line is None else line.get(x, line.default)
            yield x, y, cell


def differences(
    widget: TerminalScreen,
    reference: TerminalScreen,
    cursor: tuple[int, int],
    rows: range | None,
) -> list[str]:
    """Cell-by-cell differences (empty when identical), described for the failure message."""
    if (widget.columns, widget.lines) != (reference.columns, reference.lines):
        return [f"size {widget.columns}x{widget.lines} != {reference.columns}x{reference.lines}"]
    compared = rows if rows is not None else range(widget.lines)
    found = []
    for (x, y, mine), (_, _, theirs) in zip(
        _cells(widget, compared), _cells(reference, compared), strict=True
    ):
        if _key(mine) != _key(theirs):
            found.append(f"({x},{y}) widget {mine!r} tmux {theirs!r}")
    if rows is None and (widget.cursor.x, widget.cursor.y) != cursor:
        found.append(f"cursor widget {(widget.cursor.x, widget.cursor.y)} tmux {cursor}")
    if found:
        found.insert(0, "widget:\n" + "\n".join(widget.display))
        found.insert(1, "tmux:\n" + "\n".join(reference.display))
    return found


async def press(pilot: Pilot[None], step: Step) -> None:
    if step.text:
        await pilot.press(*step.text)
    if step.keys:
        await pilot.press(*step.keys)
    if step.resize:
        await pilot.resize_terminal(*step.resize)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_the_widget_shows_what_tmux_shows(case: Case, tmp_path: Path) -> None:
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        if name.endswith(".sh"):
            path.chmod(0o755)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "PS1": "$ ",
        "HISTFILE": "/dev/null",
        "PAGER": "less",
        "MANPAGER": "less",
        "LESSHISTFILE": "-",
    }
    argv = ["bash", "--norc", "--noprofile"]
    tmux = Tmux(tmp_path, env, argv)
    await tmux.start(COLS, ROWS)

    async def spawn() -> LocalPtyTransport:
        return await LocalPtyTransport.spawn(
            ["sh", "-c", f"cd {tmp_path} && exec {' '.join(argv)}"], rows=ROWS, cols=COLS, env=env
        )

    app = TerminalTestApp(spawn)
    try:
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            view = app.view
            await same(pilot, view, tmux, None)
            for step in case.steps:
                await asyncio.gather(press(pilot, step), tmux.send(step))
                if step.compare:
                    await same(pilot, view, tmux, step.rows, step.ready)
    finally:
        await tmux.stop()


async def same(
    pilot: Pilot[None], view: TerminalView, tmux: Tmux, rows: range | None, ready: str = ""
) -> None:
    """Wait until the widget and tmux show the same screen (and ``ready`` on it)."""

    async def identical() -> bool:
        reference, cursor = await tmux.screen()
        assert ready in "\n".join(reference.display), f"tmux does not show {ready!r} yet"
        found = differences(view.terminal, reference, cursor, rows)
        assert not found, "\n".join(found[:12])
        return True

    await eventually_async(identical, timeout=30, pause=pilot.pause)
