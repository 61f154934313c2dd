"""Starting the platform in states a user can get into (issue 10): a pinned key that was
revoked meanwhile is refused, said so, and the platform still starts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def own_platform(
    tmp_path: Path, platform_runner: Callable[..., AbstractContextManager[Any]]
) -> Iterator[Any]:
    """A platform of this test's own (its key gets revoked, it is restarted)."""
    # No keyring on this machine; a first key is then only written to the data dir.
    with platform_runner(tmp_path, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring") as p:
        yield p


def test_a_revoked_pinned_key_is_refused_and_the_platform_starts(
    own_platform: Any,
) -> None:
    pinned = own_platform.api_key
    with httpx.Client(base_url=own_platform.url, headers=own_platform.headers) as client:
        [key] = client.get("/v1/account/keys").json()
        assert client.delete(f"/v1/account/keys/{key['id']}").status_code == 204
    own_platform.restart()
    with httpx.Client(base_url=own_platform.url) as client:
        # The first answer comes once startup is over: the warning is out by then.
        refused = client.get("/v1/account", headers={"Authorization": f"Bearer {pinned}"})
        assert refused.status_code == 401
        # With no live key left, a first key was made and left where the user finds it.
        fresh = (own_platform.data_dir / "api_key").read_text().strip()
        assert fresh != pinned
        account = client.get("/v1/account", headers={"Authorization": f"Bearer {fresh}"})
        assert account.status_code == 200
    output = own_platform.output.read_text()
    assert f"the key in CAGED_API_KEY ({pinned[:15]}…, {key['id']}) was revoked" in output
    assert pinned not in output
