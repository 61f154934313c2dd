"""Benchmarks of caged-tui against references measured in the same run.

Each module measures one thing and documents why its reference is the right
one; :mod:`benchmarks.__main__` runs them and prints one table. Nothing here
is a test: a slow machine never fails anything, and every verdict is a ratio
of medians of interleaved runs (absolute times are context only).
"""

#: Benchmark modules in the order the runner runs them.
BENCHMARKS: tuple[str, ...] = (
    "terminal_throughput",
    "terminal_echo",
    "terminal_flood_interrupt",
    "startup",
    "list_scale",
    "files_tree",
    "replay_fetch",
    "replay_open",
    "replay_step",
    "idle_cpu",
    "platform_create",
    "platform_exec",
    "platform_ingest",
)
