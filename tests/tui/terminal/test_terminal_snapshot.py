"""Snapshot of TerminalView rendering a fixed, coloured feed (no shell, no blinking)."""

from __future__ import annotations

from typing import Any

from terminal_app import TerminalTestApp

from caged_tui.widgets.terminal import TerminalView

# Deterministic bytes: prompt, ls-like colours, 256/truecolor, attributes, wide chars, emoji.
FEED = (
    b"$ ls --color\r\n"
    b"\x1b[01;34mdocs\x1b[0m  \x1b[01;32mrun.sh\x1b[0m  \x1b[01;36mlink\x1b[0m  README.md\r\n"
    b"\x1b[31mred \x1b[32mgreen \x1b[33myellow \x1b[34mblue \x1b[35mmagenta \x1b[36mcyan\x1b[0m\r\n"
    b"\x1b[91mbright \x1b[42;30m on green \x1b[0m \x1b[7mreverse\x1b[0m \x1b[4munderline\x1b[0m\r\n"
    b"\x1b[1mbold\x1b[0m \x1b[2mdim\x1b[0m \x1b[3mitalic\x1b[0m \x1b[9mstrike\x1b[0m\r\n"
    b"\x1b[38;5;208m256-orange\x1b[0m \x1b[38:2::120:200:255mtruecolor\x1b[0m\r\n"
    + "wide: \u4e2d\u6587 emoji: \u2764\ufe0f done\r\n".encode()
    + b"\x1bPignored dcs\x1b\\$ "
)


class SnapshotApp(TerminalTestApp):
    async def on_mount(self) -> None:
        view = self.query_one(TerminalView)
        view.focus()
        view.feed(FEED)


def test_coloured_output_snapshot(snap_compare: Any) -> None:
    assert snap_compare(SnapshotApp(), terminal_size=(60, 10))
