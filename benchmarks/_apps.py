"""The two processes ``startup`` and ``idle_cpu`` compare, and the sandboxes they show."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks._platform import LocalPlatform
from benchmarks._pty import PtyProcess


@contextmanager
def ten_sandboxes(platform: LocalPlatform) -> Iterator[list[str]]:
    """Ten running sandboxes for the sandboxes screen to show; destroyed afterwards."""

    async def create() -> list[str]:
        async with platform.client() as caged:
            return [(await caged.sandboxes.create("minimal")).id for _ in range(10)]

    async def destroy(ids: list[str]) -> None:
        async with platform.client() as caged:
            for sandbox_id in ids:
                await caged.sandboxes.destroy(sandbox_id)

    ids = asyncio.run(create())
    try:
        yield ids
    finally:
        asyncio.run(destroy(ids))


@contextmanager
def clean_home() -> Iterator[dict[str, str]]:
    """An environment whose config and data dirs are empty temp dirs: no user theme,
    keymap or keyring profile changes what is measured.

    Both apps also get a bytecode cache of their own (``PYTHONPYCACHEPREFIX`` in the temp
    dir, written whatever ``PYTHONDONTWRITEBYTECODE`` says), which a benchmark's untimed
    first start fills: an installed app runs from bytecode, and with the variable set
    (as in some shells and CI images) every start compiled each of caged-tui's ~60
    modules from source again (~70 ms of its first frame) while the reference's
    libraries came precompiled from their install.
    """
    root = Path(tempfile.mkdtemp(prefix="caged-bench-home-"))
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    try:
        yield {
            **env,
            "XDG_CONFIG_HOME": str(root / "config"),
            "XDG_DATA_HOME": str(root / "data"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "PYTHONPYCACHEPREFIX": str(root / "bytecode"),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def spawn_caged(platform: LocalPlatform, env: dict[str, str], ids: list[str]) -> PtyProcess:
    """``caged-tui --base-url URL`` with the platform's key in ``CAGED_API_KEY``, as a user
    would start it; its first frame is the sandboxes screen listing ``ids``."""
    script = Path(sys.executable).with_name("caged-tui")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "caged_tui.cli"]
    return PtyProcess(
        [*argv, "--base-url", platform.url],
        env={**env, "CAGED_API_KEY": platform.api_key},
        expect=ids,
    )


def spawn_minimal(env: dict[str, str], ids: list[str]) -> PtyProcess:
    """The reference app showing the same ids."""
    return PtyProcess([sys.executable, "-m", "benchmarks._minimal_app", *ids], env=env, expect=ids)
