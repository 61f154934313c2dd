"""The caged-sdk 0.2.0 README examples against the real local platform.

Each example runs as written in the seed README with the import switched to
``caged_core``; the placeholders a reader would fill in are filled in: the key
``caged_sk_...`` (the platform's key) and ``sandbox-id`` (a sandbox that has
had activity). The URL comes from ``CAGED_API_URL``, as for a real user.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from eventually import eventually

from caged_core import Caged, CagedServerError, CagedValidationError

if TYPE_CHECKING:
    from tests.integration.conftest import RunningPlatform

pytestmark = pytest.mark.integration


def _load_examples() -> Any:
    path = Path(__file__).parents[1] / "unit" / "client" / "seed_readme.py"
    spec = importlib.util.spec_from_file_location("seed_readme", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("seed_readme", module)
    spec.loader.exec_module(module)
    return module


seed = _load_examples()


@pytest.fixture
def as_user(platform: RunningPlatform, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The environment of someone who points the SDK at this platform."""
    monkeypatch.setenv("CAGED_API_URL", platform.url)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CAGED_API_KEY", raising=False)


@pytest.fixture(scope="module")
def active_sandbox(platform: RunningPlatform) -> Iterator[str]:
    """A sandbox an agent has used (an MCP session with a tool call) and whose
    budget is 90 % spent (an LLM call's cost), for the replay and alerts examples."""
    with Caged(api_key=platform.api_key, base_url=platform.url) as caged:
        sandbox = caged.sandboxes.create(template="minimal", budget=0.01)

        async def agent() -> None:
            mcp = await caged.sandboxes.mcp(sandbox.id)
            await mcp.call_tool("terminal_exec", {"command": "echo activity"})
            await mcp.close()

        asyncio.run(agent())
        caged.events.ingest(
            [
                {
                    "type": "llm_call",
                    "sandbox_id": sandbox.id,
                    "payload": {"model": "claude-4", "tokens_in": 500, "cost_usd": 0.009},
                }
            ]
        )
        try:
            yield sandbox.id
        finally:
            caged.sandboxes.destroy(sandbox.id)


def run_example(name: str, platform: RunningPlatform, **placeholders: str) -> None:
    source = seed.as_caged_core(seed.EXAMPLES[name]).replace("caged_sk_...", platform.api_key)
    for placeholder, value in placeholders.items():
        source = source.replace(placeholder, value)
    try:
        exec(compile(source, f"<README {name}>", "exec"), {})
    except CagedServerError as error:
        skip_if_not_built(error)
        raise


def test_context_manager_example_is_refused_clearly_without_python_312(
    platform: RunningPlatform, as_user: None
) -> None:
    """The example asks for python-312, which no package source reachable here provides:
    the platform refuses it naming what it offers, rather than pretending."""
    with pytest.raises(CagedValidationError, match=r"Python 3\.12.*offers: .*python-311"):
        run_example("context_manager", platform)


def test_context_manager_example_runs_on_the_python_template_offered(
    platform: RunningPlatform, as_user: None, capsys: pytest.CaptureFixture[str]
) -> None:
    run_example("context_manager", platform, **{'"python-312"': '"python-311"'})
    assert capsys.readouterr().out.startswith("Python 3.11.")


def skip_if_not_built(error: CagedServerError) -> None:
    """A route the platform has not built yet answers 501 saying so: skip,
    visibly, rather than fail — the test starts counting once it exists."""
    if error.status == 501 and "not available on the local platform yet" in str(error):
        pytest.skip(str(error))


@pytest.mark.parametrize(
    "name",
    [
        "quick_start",
        "terminal",
        "streaming_exec",
        "mcp",
        "events",
        "error_handling",
    ],
)
def test_example_runs(
    name: str, platform: RunningPlatform, as_user: None, capsys: pytest.CaptureFixture[str]
) -> None:
    run_example(name, platform)
    printed = capsys.readouterr().out
    if name == "quick_start":
        assert "is running" in printed and "hello world" in printed
    if name == "streaming_exec":  # the marker protocol got a real exit code from the shell
        assert re.search(r"Exit code: \d+$", printed.strip()), printed
    if name == "error_handling":
        assert "API error 404" in printed


def test_session_replay_example(
    platform: RunningPlatform,
    as_user: None,
    active_sandbox: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Caged(api_key=platform.api_key, base_url=platform.url) as caged:
        try:
            sessions = eventually(
                lambda: caged.sessions.list_by_sandbox(active_sandbox), what="an agent session"
            )
        except CagedServerError as error:
            skip_if_not_built(error)
            raise
    assert sessions, "an MCP session with a tool call left no agent session"
    run_example("session_replay", platform, **{'"sandbox-id"': repr(active_sandbox)})
    assert "Duration:" in capsys.readouterr().out


def test_alerts_example(
    platform: RunningPlatform,
    as_user: None,
    active_sandbox: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Caged(api_key=platform.api_key, base_url=platform.url) as caged:
        try:
            # The example resolves the first alert: the 90 % budget alert must exist first.
            eventually(lambda: list(caged.alerts.list()), what="the 90 % budget alert")
        except CagedServerError as error:
            skip_if_not_built(error)
            raise
    run_example("alerts", platform)
    assert "Unread:" in capsys.readouterr().out


def test_billing_example_is_refused_locally(
    platform: RunningPlatform, as_user: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # The local platform answers checkout with 501: billing exists only on the hosted one.
    with pytest.raises(CagedServerError, match="hosted"):
        run_example("billing", platform)
    assert "Status: active" in capsys.readouterr().out
