"""Defects a new user hit on the first run (issue 12, item 7), each checked where it lives."""

from __future__ import annotations

import json
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


#: The real app on a mock transport, headless: at its first frame (the list painted) it
#: prints which of the modules it should not need yet are loaded, and which models'
#: validators are built.
_FIRST_FRAME = """
import asyncio, json, sys
sys.path.insert(0, "tests/tui")
import caged_core.config  # first, as the command imports it (the harness imports httpx)
from fake_platform import fake_app

WATCHED = ("pyte", "keyring", "yaml", "websockets", "click", "pygments", "certifi",
           "caged_platform", "caged_tui.screens.terminals", "caged_tui.screens.detail",
           "caged_tui.widgets.dialogs")

async def main():
    app = fake_app()
    async with app.run_test(size=(140, 40)) as pilot:
        while getattr(app.screen, "state", "") != "ready":
            await pilot.pause(0.01)
        from caged_core import models
        built = sorted(
            name for name, cls in vars(models).items()
            if isinstance(cls, type) and issubclass(cls, models.CagedModel)
            and cls is not models.CagedModel and cls.__pydantic_complete__
        )
        loaded = [m for m in WATCHED if any(k == m or k.startswith(m + ".") for k in sys.modules)]
        print(json.dumps({"loaded": loaded, "built": built}))

asyncio.run(main())
"""


def test_the_first_frame_loads_only_what_it_shows() -> None:
    """Start-up was 2.7x a minimal Textual app's: the terminal emulator, the keyring,
    the socket clients (websockets), httpx's command-line client (click, pygments) and
    the CA bundle (certifi, for an http:// platform) were loaded before the first frame,
    and every model's validator was built at import although the list needs one. The
    dialogs (and Textual's buttons) came with the sandboxes screen for its destroy
    confirmation."""
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_FRAME],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["loaded"] == []
    # Of ~55 models, those the first frame makes (the list is parsed by its own adapter).
    assert set(found["built"]) <= {"RateLimit", "WirePage", "Sandbox"}, found["built"]


def test_the_clients_version_is_the_distributions() -> None:
    """The User-Agent's version is a literal (reading the installed metadata cost ~10 ms
    of every start); it must follow pyproject.toml."""
    from caged_core.client import __version__

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert __version__ == pyproject["project"]["version"]
