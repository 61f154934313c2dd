"""platform_create: ``POST /sandboxes`` until the sandbox is ``running``, p50/p99.

The sandbox is created with ``wait=False`` and then polled every 5 ms, so the
figure is the platform's provisioning time rather than the client's own
polling interval (``Sandboxes.create(wait=True)`` polls every 0.5 s).

Reference: ``bwrap … true`` spawned directly with the namespace flags the
platform's isolation probe uses — the floor of any bubblewrap cage on this
machine. The target is absolute, though: p50 ≤ 100 ms, against E2B
(~440 ms) and Daytona (~110 ms) to first command in the public ComputeSDK
runs; the ratio shows how much of it the cage itself costs.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time

from benchmarks._common import (
    CONTEXT,
    Context,
    Row,
    ainterleave,
    at_most,
    median,
    percentile,
    timed,
)
from caged_core.models import SandboxStatus

_POLL = 0.005


def _bwrap() -> None:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RuntimeError("bwrap is not installed: no reference for platform_create")
    subprocess.run(
        [
            bwrap, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net",
            "--cap-drop", "ALL", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
            "--", "true",
        ],
        check=True,
    )


async def _measure(context: Context, rounds: int) -> tuple[list[float], list[float]]:
    created: list[str] = []
    async with context.platform.client() as caged:

        async def ours() -> float:
            started = time.perf_counter()
            sandbox = await caged.sandboxes.create("minimal", wait=False)
            created.append(sandbox.id)
            while sandbox.status == SandboxStatus.PENDING:
                await asyncio.sleep(_POLL)
                sandbox = await caged.sandboxes.get(sandbox.id)
            elapsed = time.perf_counter() - started
            if sandbox.status != SandboxStatus.RUNNING:
                raise RuntimeError(f"sandbox {sandbox.id} ended {sandbox.status}")
            return elapsed

        async def reference() -> float:
            return timed(_bwrap)

        try:
            ours_s, ref_s = await ainterleave(ours, reference, rounds)
        finally:
            # Untimed, after the series: a destroy must not overlap the next create.
            for sandbox_id in created:
                await caged.sandboxes.destroy(sandbox_id)
    return ours_s, ref_s


def run(context: Context) -> list[Row]:
    """Create → running latency vs a bare bubblewrap spawn."""
    rounds = context.pick(5, 20)
    ours, ref = asyncio.run(_measure(context, rounds))
    target = at_most(100, "p50 ≤ 100 ms")
    return [
        Row("platform_create", f"create → running p50 ({rounds} runs)", "ms",
            median(ours) * 1e3, median(ref) * 1e3, target, judged="ours",
            samples={"ours_s": ours, "reference_s": ref}),
        Row("platform_create", "create → running p99", "ms", percentile(ours, 99) * 1e3,
            percentile(ref, 99) * 1e3, CONTEXT, judged="ours"),
    ]
