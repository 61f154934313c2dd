"""caged_core is the core client: it must never pull in Textual, the TUI or the platform.

Checked in a fresh interpreter, because in the test process something else may
already have imported textual and hidden the problem.
"""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import importlib, pkgutil, sys
import caged_core
for mod in pkgutil.walk_packages(caged_core.__path__, "caged_core."):
    if mod.name.endswith("__main__") or ".runtime.agent" in mod.name:
        continue  # entry points run code on import
    importlib.import_module(mod.name)
bad = sorted(
    m for m in sys.modules
    if m.split(".")[0] in {"textual", "caged_tui", "caged_platform", "starlette", "uvicorn"}
)
print(",".join(bad))
"""


def test_caged_core_never_imports_textual_the_tui_or_the_platform() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"caged_core imported: {result.stdout.strip()}"


_LOCAL_CLIENT = """
import sys
from caged_core import AsyncCaged, CagedConfigError
try:  # finds the local platform's lock and key files (or says it is not running)
    AsyncCaged(profile="local")
except CagedConfigError:
    pass
server = {"caged_platform", "starlette", "uvicorn"}
bad = sorted(m for m in sys.modules if m.split(".")[0] in server)
print(",".join(bad))
"""


def test_a_client_of_the_local_platform_loads_no_server_module() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _LOCAL_CLIENT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"loaded: {result.stdout.strip()}"
