"""idle_cpu: CPU seconds the TUI uses while idle on the sandboxes screen.

``caged-tui`` (10 sandboxes on the local platform, as in ``startup``) and the
reference — a minimal Textual app showing one DataTable with the same rows —
run on real PTYs at the same time; once both have painted and settled, the
CPU time of each process's threads is read from ``/proc/PID/task/*/schedstat``
(nanoseconds) over a 30 s window (10 s with ``--quick``). Running them side by
side is the strictest interleaving: both see exactly the same background load.
Nanoseconds, not ``/proc/PID/stat``'s 10 ms clock ticks: idle, both apps spend 2-5
ticks in 30 s, so whole ticks made the ratio jump between 1.0 and 1.8 run to run.

The reference is what Textual itself costs doing nothing; what caged-tui
spends above it is its live feed (on the local platform held requests that
answer only on a change) and its clock (ticking only when a shown time turns
over). The platform's own CPU is not counted.
Targets: ≤ 1.5x the reference, and ≤ 1 % of one core.
"""

from __future__ import annotations

import time

from benchmarks._apps import clean_home, spawn_caged, spawn_minimal, ten_sandboxes
from benchmarks._common import Context, Row, at_most, median

#: Time for both apps to finish their start-up work before the window opens.
SETTLE = 3.0


def run(context: Context) -> list[Row]:
    """Idle CPU of caged-tui vs a minimal DataTable app, measured side by side."""
    window = 10.0 if context.quick else 30.0
    rounds = context.pick(1, 2)
    platform = context.platform
    ours: list[float] = []
    ref: list[float] = []
    with ten_sandboxes(platform) as ids, clean_home() as env:
        for _ in range(rounds):
            caged = spawn_caged(platform, env, ids)
            minimal = spawn_minimal(env, ids)
            try:
                caged.first_frame()
                minimal.first_frame()
                time.sleep(SETTLE)
                before = caged.cpu_seconds(), minimal.cpu_seconds()
                time.sleep(window)
                ours.append(caged.cpu_seconds() - before[0])
                ref.append(minimal.cpu_seconds() - before[1])
            finally:
                caged.close()
                minimal.close()
    share = median(ours) / window * 100
    return [
        Row(
            "idle_cpu",
            f"CPU over {window:.0f} s idle ({rounds} runs)",
            "s",
            median(ours),
            median(ref),
            at_most(1.5, "≤ 1.5x"),
            samples={"ours_s": ours, "reference_s": ref},
        ),
        Row(
            "idle_cpu",
            "share of one core while idle",
            "%",
            share,
            median(ref) / window * 100,
            at_most(1.0, "≤ 1 % of a core"),
            judged="ours",
        ),
    ]
