"""Defects a new user hit on the first run (issue 12, item 7), each checked where it lives."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from caged_platform.runtime.isolation import cage_env

ROOT = Path(__file__).resolve().parents[2]


def test_the_license_is_an_spdx_string() -> None:
    """A ``license = {text = ...}`` table made setuptools print ~40 lines of deprecation
    warnings on the first ``./dev start``; the SPDX string needs setuptools 77."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    assert "setuptools>=77" in pyproject["build-system"]["requires"]


def test_cages_advertise_truecolor() -> None:
    """``COLORTERM`` was empty inside sandboxes, so truecolor programs used 256 colours."""
    env = cage_env(sandbox_id="cage-1", network_mode="none", home="/root", extra={})
    assert env["COLORTERM"] == "truecolor"


def test_dev_start_runs_the_app_where_it_was_called() -> None:
    """``./dev start`` changed to the repository first, so a project's ``.caged.yaml``
    was never read; the app must run in the caller's directory."""
    script = (ROOT / "dev").read_text()
    start = script[script.index("  start)") :]
    start = start[: start.index(";;")]
    assert 'CALLER_DIR=$PWD\ncd "$(dirname "$0")"' in script
    assert start.index('cd "$CALLER_DIR"') < start.index("exec ")


def test_the_keyring_is_not_loaded_on_the_way_to_the_first_frame() -> None:
    """Loading keyring and its backends cost ~16 ms of every start, also when the key
    comes from ``CAGED_API_KEY``."""
    code = (
        "import sys, caged_tui.cli, caged_tui.app, caged_tui.connect; "
        "print('keyring' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
