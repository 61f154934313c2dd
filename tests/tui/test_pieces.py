"""Unit tests of the TUI's pure pieces: formatting, .caged.yaml, the form, buffers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from caged_core.models import LogEntry, Sandbox
from caged_tui import caged_yaml
from caged_tui import formatting as fmt
from caged_tui.screens.create import FormError, build_request, parse_env
from caged_tui.screens.detail.logs import new_entries
from caged_tui.screens.sandboxes import matches
from caged_tui.status import isolation_of
from caged_tui.streams import LineBuffer, batched
from caged_tui.terminal_adapter import SessionTransport

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (42, "42s"),
        (65, "1m05s"),
        (600, "10m"),
        (3600, "1h"),
        (3720, "1h02m"),
        (90000, "1d1h"),
        (-5, "0s"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert fmt.duration(seconds) == text


def test_cost_with_and_without_budget() -> None:
    assert fmt.cost(Sandbox(id="a", total_cost=0.42)) == "$0.42"
    assert fmt.cost(Sandbox(id="a", total_cost=0.004, budget=5)) == "$0.0040/$5.00"


def test_until_and_since() -> None:
    assert fmt.until(NOW + timedelta(minutes=5), NOW) == "5m"
    assert fmt.until(NOW - timedelta(minutes=5), NOW) == "now"
    assert fmt.since(None, NOW) == fmt.DASH


def test_one_line() -> None:
    assert fmt.one_line("first\nsecond") == "first"
    assert fmt.one_line("x" * 80, 10) == "x" * 9 + "…"
    assert fmt.one_line(None) == fmt.DASH


def test_caged_yaml_lenient(tmp_path: Path) -> None:
    (tmp_path / ".caged.yaml").write_text(
        "sandbox:\n  image: node\n  cpu: 3\n  memory: 1.5g\n  disk: 20G\n"
        "network: {mode: allowlist, hosts: [a.example, b.example]}\n"
        "env: [A=1, B=two]\nrepo: {url: https://g/x, branch: main}\n"
        "init: [apt-get update, make]\nbudget: $12.5\nidle_timeout: 15m\npackages: jq\n"
    )
    d = caged_yaml.load(tmp_path)
    assert (d.template, d.cpus, d.memory_mb, d.disk_gb) == ("node", "3", "1536", "20")
    assert (d.network_mode, d.allowlist) == ("allowlist", "a.example, b.example")
    assert d.env == "A=1\nB=two"
    assert (d.repo, d.repo_branch) == ("https://g/x", "main")
    assert d.init_script == "apt-get update\nmake"
    assert (d.budget, d.timeout, d.packages) == ("12.5", "900", "jq")


def test_caged_yaml_missing_and_broken(tmp_path: Path) -> None:
    assert caged_yaml.load(tmp_path) == caged_yaml.FormDefaults()
    (tmp_path / ".caged.yaml").write_text("template: [unclosed\n")
    assert caged_yaml.load(tmp_path).warnings


def test_build_request_maps_every_field() -> None:
    request = build_request(
        {
            "template": "python",
            "cpus": "4",
            "memory_mb": "1024",
            "disk_gb": "10",
            "network_mode": "allowlist",
            "allowlist": "pypi.org github.com",
            "env": "A=1\n# c\n\nB=x=y",
            "repo": "https://g/x",
            "repo_branch": "dev",
            "budget": "3.5",
            "timeout": "60",
            "init_script": "make\n",
            "packages": "jq, rg",
        }
    )
    body = request.to_body()
    assert body["template"] == "python-312"
    assert body["env"] == {"A": "1", "B": "x=y"}
    assert body["allowlist"] == ["pypi.org", "github.com"]
    assert body["packages"] == ["jq", "rg"]
    assert (body["cpus"], body["budget"], body["timeout"]) == (4, 3.5, 60)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"cpus": "9"}, "cpus"),
        ({"memory_mb": "64"}, "memory_mb"),
        ({"cpus": "two"}, "cpus"),
        ({"network_mode": "allowlist"}, "allowlist"),
        ({"env": "NOEQUALS"}, "env"),
    ],
)
def test_build_request_errors_name_the_field(values: dict[str, str], field: str) -> None:
    with pytest.raises(FormError) as caught:
        build_request({"template": "minimal", **values})
    # The allowlist rule is a model-level check: pydantic reports it without a field.
    assert caught.value.field in (field, "template")


def test_parse_env_reports_the_line() -> None:
    with pytest.raises(FormError, match="line 2"):
        parse_env("A=1\nbroken")


def test_line_buffer() -> None:
    buffer = LineBuffer()
    assert buffer.feed("hel") == []
    assert buffer.feed("lo\r\nwor") == ["hello"]
    assert buffer.feed("ld\n\n") == ["world", ""]
    assert buffer.flush() == ""


def test_new_entries() -> None:
    a, b, c = (LogEntry(message=m) for m in "abc")
    assert new_entries([], [a, b]) == [a, b]
    assert new_entries([a, b], [a, b, c]) == [c]
    assert new_entries([a, b], [b, c]) == [c]
    assert new_entries([a], [b, c]) is None


def test_trust_bands() -> None:
    assert [fmt.trust_band(s) for s in (95, 70, 50, 10)] == [
        "excellent",
        "good",
        "caution",
        "alert",
    ]


def test_filter_matches_id_template_status() -> None:
    sandbox = Sandbox(id="cage-12", template="node-22", status="paused")
    assert matches(sandbox, "") and matches(sandbox, "CAGE") and matches(sandbox, "node")
    assert matches(sandbox, "pause") and not matches(sandbox, "python")


def test_isolation_of() -> None:
    caged = Sandbox(id="a", status="running", config={"isolation": "bwrap"})
    bare = Sandbox(id="b", status="running", config={"isolation": "none"})
    paused_bare = Sandbox(id="c", status="paused", config={"isolation": "none"})
    assert isolation_of([caged, bare, paused_bare]) == (("bwrap", "none"), ("b",))


class RecordingSession:
    def __init__(self) -> None:
        self.acks: list[int] = []
        self.closed = False

    async def ack(self, nbytes: int) -> None:
        self.acks.append(nbytes)


async def test_adapter_turns_cumulative_acks_into_increments() -> None:
    session = RecordingSession()
    transport = SessionTransport(session)  # type: ignore[arg-type]
    for total in (32768, 65536, 65536, 98304):
        await transport.ack(total)
    assert session.acks == [32768, 32768, 32768]


async def test_batched_joins_bursts_and_flushes_after_a_pause() -> None:
    import asyncio

    async def source():  # type: ignore[no-untyped-def]
        for chunk in ("a", "b", "c"):
            yield chunk
        await asyncio.sleep(0.2)
        yield "d"

    assert [batch async for batch in batched(source(), 0.1)] == ["abc", "d"]
