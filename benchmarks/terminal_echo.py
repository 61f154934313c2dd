"""terminal_echo: key press in the terminal widget → the echoed character on screen, p50/p99.

The product's terminal (``TerminalView`` on the client's terminal session, as
in ``terminal_throughput``) runs headless at 80x24 with focus, at a bash
prompt. Each key is a ``Key`` event posted to the app, as the terminal driver
posts it; the clock stops at the first frame (turned into terminal output)
whose cursor row shows the character just before the cursor. Keys cycle
through ``a``-``z`` so every echo differs from the one before; the line is
cleared (``ctrl+u``, untimed) every 40 keys. Keys are 40 ms apart (25 keys/s,
keyboard auto-repeat speed): typed back to back, faster than 60 keys/s, every
echo would land inside the widget's 60 Hz flush cap and the benchmark would
measure that cap (~one frame) instead of the latency a typist sees.

Reference: a bare WebSocket client on the same endpoint typing the same
character and waiting for the output frame that carries its echo — the
platform, the PTY and the network without a client, a parser or a screen.
Targets: p50 ≤ 2 ms, p50 ≤ 1.5x the bare socket's (what the product adds to
the round trip: the key's dispatch, the client's session, parsing and the
repaint) and p99 ≤ 17 ms (one 60 Hz frame).

Where the time goes (issue 13, 5 Dec 2026, shared 2-core box at load 8-9; stage medians of
300 keys, perf_counter_ns stamps in-process, the bare socket's in brackets): key posted →
handed to the view 0.17 ms (the app's queue and ``on_event``; the app hands a key straight to
a focused terminal, see ``caged_tui.host_keys.hand_key_to_terminal``) → sent 0.40 ms [0.18 ms:
the WebSocket send itself, JSON and masking, is 0.17 ms of both] → output frame received
(platform, PTY, shell: both pay it) → frame 0.72 ms [0.11 ms]: websockets to the session's
reader 0.13, the session's queue to the view 0.05, parse and flush 0.06, the echoed row
rendered through Textual's style cache 0.34 (our row render is a third of it, Textual's line
styling, three new ``Strip``s and its ANSI filter the rest), written as one ``ChopsUpdate``.
Kept: the key hand-off (0.50 → 0.30 ms to the send), sending at once instead of through the
writer task (→ 0.40 ms to sent), writing the echoed rows straight to the display instead of
Textual's compositor rendering every line of every widget under them (0.78 → 0.43 ms flush →
frame). A/B against the old code, alternating runs: at load 2-3, 2.21x and 2.03x (p50 3.29 and
2.42 ms) → 1.53x and 1.68x (2.27 and 2.07 ms); at load 7-9, median 2.3x of 8 runs → 1.84x of 7
(the bare socket's own p50 moved 1.2-2.9 ms between runs). Tried and dropped: parsing in
the receive task when the parser is idle, calling Textual's widget bookkeeping directly instead
of ``refresh`` (both within the noise). What is left above 1.5x is Textual's per-row styling
and the client library's receive path (websockets, then the session's queue).
"""

from __future__ import annotations

import asyncio
import string
import time

from textual import events

from benchmarks._common import Context, Row, at_most, median, percentile
from benchmarks._terminal import RawTerminal, TerminalHarness, terminal_app

SIZE = (80, 24)
LINE_KEYS = 40
CLEAR_LINE = "\x15"  # ctrl+u
#: Pause between keys (see the module docstring).
KEY_INTERVAL = 0.04


async def _ours(term: TerminalHarness, character: str) -> float:
    terminal = term.view.terminal

    def echoed() -> bool:
        x = terminal.cursor.x
        row = term.rows_near_cursor(above=0)[0]
        return x > 0 and row[x - 1] == character

    shown = term.probe.frame_where(echoed)
    started = time.perf_counter()
    term.app.post_message(events.Key(character, character))
    return await asyncio.wait_for(shown, 10) - started


async def _reference(raw: RawTerminal, character: str) -> float:
    started = time.perf_counter()
    await raw.send(character)
    while character not in await raw.output():
        pass
    return time.perf_counter() - started


async def _measure(context: Context, keys: int) -> tuple[list[float], list[float]]:
    ours: list[float] = []
    ref: list[float] = []
    columns, lines = SIZE
    async with context.platform.client() as caged:
        sandbox = await caged.sandboxes.create("minimal")
        try:
            async with (
                terminal_app(caged, sandbox.id, columns, lines) as term,
                RawTerminal.open(context.platform, caged, sandbox.id, columns, lines) as raw,
            ):
                for index in range(keys):
                    if index and index % LINE_KEYS == 0:
                        await term.view.transport.send(CLEAR_LINE)  # type: ignore[union-attr]
                        await raw.send(CLEAR_LINE)
                        await term.settle()
                        await raw.drain_until_quiet()
                    character = string.ascii_lowercase[index % 26]
                    await asyncio.sleep(KEY_INTERVAL)
                    ours.append(await _ours(term, character))
                    await asyncio.sleep(KEY_INTERVAL)
                    ref.append(await _reference(raw, character))
        finally:
            await caged.sandboxes.destroy(sandbox.id)
    return ours, ref


def run(context: Context) -> list[Row]:
    """Key-to-echo latency of the widget vs a bare socket client."""
    keys = context.pick(60, 200)
    ours, ref = asyncio.run(_measure(context, keys))
    ms = 1e3
    return [
        Row(
            "terminal_echo",
            f"key → echo on screen p50 ({keys} keys)",
            "ms",
            median(ours) * ms,
            median(ref) * ms,
            at_most(2, "p50 ≤ 2 ms"),
            judged="ours",
            samples={"ours_s": ours, "reference_s": ref},
        ),
        Row(
            "terminal_echo",
            "key → echo on screen p50 vs the bare socket",
            "ms",
            median(ours) * ms,
            median(ref) * ms,
            at_most(1.5, "≤ 1.5x bare socket"),
        ),
        Row(
            "terminal_echo",
            "key → echo on screen p99",
            "ms",
            percentile(ours, 99) * ms,
            percentile(ref, 99) * ms,
            at_most(17, "p99 ≤ 17 ms"),
            judged="ours",
        ),
    ]
