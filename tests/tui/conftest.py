"""Fixtures for the TUI tests.

``platform`` is the real local platform of the integration tests (a subprocess
on a random loopback port), loaded from their conftest so both suites share it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import textual.notifications
from fake_platform import FakePlatform

_spec = importlib.util.spec_from_file_location(
    "caged_integration_conftest", Path(__file__).parents[1] / "integration" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_integration = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _integration
_spec.loader.exec_module(_integration)

platform = _integration.platform
alert_flood = _integration.alert_flood
platform_runner = _integration.platform_runner


@pytest.fixture
def fake() -> FakePlatform:
    """The fixed mock platform, fresh per test."""
    return FakePlatform()


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's config file, keyring and environment out of every test."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for name in ("CAGED_API_KEY", "CAGED_API_URL", "CAGED_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _toasts_stay_until_dismissed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop the wall clock Textual expires notifications by (``time.time()``, read by
    every look at ``app._notifications``): on a loaded machine a toast raised before a
    slow step (a tab's removal) was gone by the time the test looked for it. With the
    clock standing still a toast stays until dismissed, and a test that checks no toast
    was raised cannot miss one that came and went."""
    now = textual.notifications.time()
    monkeypatch.setattr(textual.notifications, "time", lambda: now)
