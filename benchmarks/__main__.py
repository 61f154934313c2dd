"""``python -m benchmarks [--quick] [--only NAME] [--json PATH] [--write-readme]``.

Runs the benchmarks in order, prints one table (metric, ours, reference,
ratio, target, met?) and writes it as JSON. A benchmark that crashes is
reported and the others still run; the exit code is 1 only then — a missed
target is a finding, not a failure.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import time
import traceback
from pathlib import Path

from benchmarks import BENCHMARKS
from benchmarks._common import Context, Row
from benchmarks._platform import LocalPlatform
from benchmarks._report import machine, readme_section, text_table, update_readme, write_json

README = Path(__file__).resolve().parents[1] / "README.md"
#: The last full run's results, which the README's table shows: a partial or quick run must
#: not replace them unless asked to (``--json``).
FULL_RESULTS = Path(__file__).with_name("results.json")


def _log(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, smaller runs (< 2 min)")
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"where to write the results (default: {FULL_RESULTS.name}, for a full run only)",
    )
    parser.add_argument(
        "--write-readme",
        action="store_true",
        help="rewrite the Performance section of README.md with this run's table",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    partial = bool(args.only) or args.quick
    if args.write_readme and partial:
        parser.error("--write-readme needs a full run (no --only, no --quick)")
    results = args.json or (None if partial else FULL_RESULTS)
    # A TERM (or a Ctrl-C caught by a running app) must still reach the finally
    # below, which destroys the sandboxes and stops the platform.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    names = args.only or list(BENCHMARKS)
    started: list[LocalPlatform] = []

    def platform() -> LocalPlatform:
        # Started on first use so that benchmarks without a platform run without one.
        if not started:
            _log("starting the local platform")
            running = LocalPlatform()
            started.append(running)
            running.start()
        return started[0]

    context = Context(quick=args.quick, platform_factory=platform, log=_log)
    rows: list[Row] = []
    crashed: list[str] = []
    began = time.monotonic()
    try:
        for name in names:
            _log(f"{name}: running")
            module = importlib.import_module(f"benchmarks.{name}")
            t0 = time.monotonic()
            try:
                rows += module.run(context)
            except Exception:
                crashed.append(name)
                _log(f"{name}: CRASHED\n{traceback.format_exc()}")
            _log(f"{name}: done in {time.monotonic() - t0:.1f} s")
    finally:
        if started:
            _log("stopping the local platform")
            started[0].stop()
    mode = "quick" if args.quick else "full"
    info = machine()
    print(text_table(rows))
    print(f"\n{mode} run, {time.monotonic() - began:.0f} s; {info['nproc']} x {info['cpu']}")
    for row in rows:
        if row.note:
            print(f"  {row.benchmark}: {row.metric}: {row.note}")
    if crashed:
        print(f"crashed: {', '.join(crashed)}")
    if results is not None:
        write_json(results, rows, mode, info)
    if args.write_readme:
        update_readme(README, readme_section(rows, mode, info))
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
