"""Helpers for the local platform's integration tests (imported by the test modules)."""

from __future__ import annotations

import time
from typing import Any

import httpx

READY_TIMEOUT = 60.0


def wait_for_status(
    client: httpx.Client, sandbox_id: str, wanted: str, timeout: float = READY_TIMEOUT
) -> dict[str, Any]:
    """Poll a sandbox until it reaches ``wanted`` (fails fast on ``error``)."""
    deadline = time.monotonic() + timeout
    while True:
        sandbox: dict[str, Any] = client.get(f"/v1/sandboxes/{sandbox_id}").json()
        if sandbox["status"] == wanted:
            return sandbox
        if sandbox["status"] == "error" and wanted != "error":
            logs = client.get(f"/v1/sandboxes/{sandbox_id}/logs").json()
            raise AssertionError(f"sandbox failed: {sandbox['last_error']}; logs: {logs}")
        if time.monotonic() > deadline:
            raise AssertionError(f"sandbox stayed {sandbox['status']}, wanted {wanted}")
        time.sleep(0.1)


def create_running(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    """Create a sandbox and wait until it runs."""
    response = client.post("/v1/sandboxes", json={"template": "minimal", **fields})
    assert response.status_code == 201, response.text
    return wait_for_status(client, response.json()["id"], "running")
