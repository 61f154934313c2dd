"""terminal_flood_interrupt: ``ctrl+c`` during a ``yes`` flood → the prompt back; RSS meanwhile.

The product's terminal (as in ``terminal_echo``, 80x24, scrollback on) runs
``yes`` for 10 s (3 s with ``--quick``) while the resident set size of the
process is sampled every 50 ms; then ``ctrl+c`` is pressed (a ``Key`` event,
which the widget sends to the PTY as ``\\x03``) and the clock stops at the
first frame whose cursor row is the shell prompt again. The widget runs in a
fresh child process (``python -m benchmarks.terminal_flood_interrupt``) so its
memory growth is not hidden by, or blamed on, other benchmarks.

There is no reference: a terminal that never answers fails, and the targets
are absolute — the prompt back within 0.5 s (after 60 s without it the
terminal counts as unresponsive: ``inf``) (this needs flow control from the
widget's acks all the way to the platform's PTY reads) and RSS growth
≤ 50 MB over the flood (bounded buffers and scrollback).
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time
from pathlib import Path

from textual import events

from benchmarks._common import Context, Row, at_most, median
from benchmarks._terminal import terminal_app
from caged_core.client import AsyncCaged

SIZE = (80, 24)
PROMPT = "PROMPT> "
# The prompt is typed split so that the echo of the command does not match it.
SET_PROMPT = "PS1='PROM''PT> '\n"
SAMPLE_EVERY = 0.05
#: How long to wait for the prompt after ctrl+c before calling the terminal unresponsive.
GIVE_UP = 60.0


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def _flood(api_key: str, base_url: str, sandbox_id: str, seconds: float) -> dict[str, float]:
    """The child's measurement: interrupt latency (s) and RSS growth (bytes)."""
    async with (
        AsyncCaged(api_key=api_key, base_url=base_url) as caged,
        terminal_app(caged, sandbox_id, *SIZE) as term,
    ):
        transport = term.view.transport
        assert transport is not None
        await transport.send(SET_PROMPT)
        await term.settle()
        baseline = peak = _rss_bytes()
        await transport.send("yes\n")
        flood_ends = time.monotonic() + seconds
        while time.monotonic() < flood_ends:
            await asyncio.sleep(SAMPLE_EVERY)
            peak = max(peak, _rss_bytes())
        parsed = term.view.parsed_bytes
        prompt = term.probe.frame_where(
            lambda: term.rows_near_cursor(above=0)[0].startswith(PROMPT)
        )
        started = time.perf_counter()
        term.app.post_message(events.Key("ctrl+c", None))
        try:
            answered = await asyncio.wait_for(prompt, GIVE_UP) - started
        except TimeoutError:
            answered = math.inf  # never answered: reported as a miss, not a crash
        peak = max(peak, _rss_bytes())
        return {
            "interrupt_s": answered,
            "rss_growth_bytes": float(peak - baseline),
            "flood_bytes": float(parsed),
            # What was still in flight when ctrl+c was pressed: the flow-control backlog.
            "backlog_bytes": float(term.view.parsed_bytes - parsed),
        }


def run(context: Context) -> list[Row]:
    """Run the flood in a child process, once per round; latency and RSS growth."""
    seconds = 3.0 if context.quick else 10.0
    rounds = context.pick(1, 2)
    platform = context.platform
    latencies: list[float] = []
    growths: list[float] = []
    flooded: list[float] = []
    backlogs: list[float] = []

    async def create() -> str:
        async with platform.client() as caged:
            return (await caged.sandboxes.create("minimal")).id

    async def destroy(sandbox_id: str) -> None:
        async with platform.client() as caged:
            await caged.sandboxes.destroy(sandbox_id)

    sandbox_id = asyncio.run(create())
    try:
        for _ in range(rounds):
            child = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.terminal_flood_interrupt",
                    platform.url,
                    sandbox_id,
                    str(seconds),
                ],
                input=platform.api_key,
                capture_output=True,
                text=True,
                check=False,
                timeout=seconds + 120,
            )
            if child.returncode != 0:
                raise RuntimeError(f"the flood child failed:\n{child.stderr[-3000:]}")
            result = json.loads(child.stdout.strip().splitlines()[-1])
            latencies.append(result["interrupt_s"])
            growths.append(result["rss_growth_bytes"] / 2**20)
            flooded.append(result["flood_bytes"] / seconds / 1e6)
            backlogs.append(result["backlog_bytes"] / 1e6)
    finally:
        asyncio.run(destroy(sandbox_id))
    return [
        Row(
            "terminal_flood_interrupt",
            f"ctrl+c → prompt during `yes` ({rounds} runs)",
            "s",
            median(latencies),
            None,
            at_most(0.5, "≤ 0.5 s"),
            judged="ours",
            note=f"the widget parsed {median(flooded):.2f} MB/s of `yes` during the flood and "
            f"{median(backlogs):.2f} MB more between ctrl+c and the prompt"
            f"{' (or giving up)' if math.inf in latencies else ''}",
            samples={"ours_s": latencies},
        ),
        Row(
            "terminal_flood_interrupt",
            f"RSS growth over {seconds:.0f} s of flood",
            "MB",
            median(growths),
            None,
            at_most(50, "≤ 50 MB"),
            judged="ours",
            samples={"ours_mb": growths},
        ),
    ]


if __name__ == "__main__":
    # The key comes on stdin so it never shows in a process listing.
    url, sandbox, duration = sys.argv[1], sys.argv[2], float(sys.argv[3])
    key = sys.stdin.read().strip()
    print(json.dumps(asyncio.run(_flood(key, url, sandbox, duration))))
