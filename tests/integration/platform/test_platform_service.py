"""The launcher the TUI uses: ensure_running starts a detached server for a data dir,
status/stop find it through its lock file, and a data dir cannot be shared."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from caged_platform import service
from caged_platform.__main__ import main

pytestmark = pytest.mark.integration


def test_ensure_running_status_and_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.delenv("CAGED_API_KEY", raising=False)
    # No keyring here: the first key is only written to the data dir (the failure is logged).
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    assert service.status(data_dir) == (False, None, None)
    url, key = service.ensure_running(data_dir)
    try:
        assert key.startswith("caged_sk_")
        key_file = data_dir / "api_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert key_file.read_text().strip() == key
        running, status_url, pid = service.status(data_dir)
        assert running and status_url == url and pid
        response = httpx.get(f"{url}/v1/account", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200
        # Idempotent: the same server is found again, not a second one started.
        assert service.ensure_running(data_dir) == (url, key)
        log = (data_dir / "server.log").read_text()
        assert log.startswith("Caged local platform listening on ") and key not in log
        assert "api_key" in log  # where the key is, said on first start
        # A second server on the same data dir refuses to start.
        second = subprocess.run(
            [sys.executable, "-m", "caged_platform", "serve", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert second.returncode == 1 and "already uses" in second.stderr
        assert main(["serve", "--status", "--data-dir", str(data_dir)]) == 0
    finally:
        assert service.stop(data_dir)
    assert service.status(data_dir).running is False
    assert main(["--status", "--data-dir", str(data_dir)]) == 1
    assert service.stop(data_dir) is False
