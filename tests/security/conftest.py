"""Fixtures for the security tests: the real local platform, real cages, no doubles.

The platform and its clients are the integration suite's own fixtures
(``tests/integration/conftest.py``: ``platform``, a ``caged_platform serve``
subprocess on 127.0.0.1; ``tests/integration/platform/conftest.py``:
``sync_client`` and ``client``), loaded from their files under names of their
own so that both suites can run in one session. ``platform_helpers`` (sandboxes,
problem answers, MCP sockets) is importable by module name, as it is for the
platform tests.

Every test module here is marked ``needs_bwrap`` (and skipped without it):
without isolation a sandbox runs on the host by design (loudly), so what these
tests forbid is what it does.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

_TESTS = Path(__file__).resolve().parents[1]
# platform_helpers and runtime_helpers, imported by module name as in their own suites.
sys.path.insert(0, str(_TESTS / "integration" / "platform"))
sys.path.insert(0, str(_TESTS / "integration" / "runtime"))


def _load(relative: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, _TESTS / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_platform_fixtures = _load("integration/conftest.py", "caged_security_platform_fixtures")
_client_fixtures = _load("integration/platform/conftest.py", "caged_security_client_fixtures")

platform = _platform_fixtures.platform
sync_client = _client_fixtures.sync_client
client = _client_fixtures.client


@pytest.fixture
def host_dir() -> Iterator[Path]:
    """An empty host directory that any host uid could write to (mode 0777 under /tmp,
    which every uid can traverse) and that no cage can see (a cage's /tmp is its own):
    whatever appears in it was written by a process running on the host."""
    path = Path(tempfile.mkdtemp(prefix="caged-host-marker-", dir="/tmp"))
    os.chmod(path, 0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def read_only_key(sync_client: httpx.Client) -> Iterator[str]:
    """The secret of a fresh ``read_only`` API key, revoked afterwards."""
    created = sync_client.post(
        "/v1/account/keys", json={"name": "security-read-only", "scope": "read_only"}
    )
    assert created.status_code == 201, created.text
    try:
        yield str(created.json()["key"])
    finally:
        sync_client.delete(f"/v1/account/keys/{created.json()['info']['id']}")
