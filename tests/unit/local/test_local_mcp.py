"""caged_platform.services.mcp: the JSON-RPC session over a real workspace, real git, real sh."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from local_helpers import shell_in

from caged_platform.runtime.api import ExecOutcome
from caged_platform.services.mcp import MCPSession, ToolCall

ALL_TOOLS = [
    "filesystem_read",
    "filesystem_write",
    "filesystem_list",
    "filesystem_delete",
    "filesystem_search",
    "terminal_exec",
    "git_status",
    "git_diff",
    "git_log",
    "git_commit",
]
WRITE_TOOLS = {"filesystem_write", "filesystem_delete", "terminal_exec", "git_commit"}


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def same_directory(printed: str, directory: Path) -> bool:
    return Path(printed).resolve() == directory.resolve()


@pytest.fixture
def session(workspace: Path) -> MCPSession:
    return MCPSession(workspace, shell_in(workspace), version="9.9.9")


async def rpc(
    session: MCPSession, method: str, params: Any = None, msg_id: int | str = 1
) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
    if params is not None:
        message["params"] = params
    reply = await session.handle(json.dumps(message))
    assert reply is not None
    answer: dict[str, Any] = json.loads(reply)
    assert answer["jsonrpc"] == "2.0"
    assert answer["id"] == msg_id
    return answer


async def tool(session: MCPSession, name: str, **arguments: Any) -> tuple[str, bool]:
    """Call a tool; return its text and whether it is an error result."""
    answer = await rpc(session, "tools/call", {"name": name, "arguments": arguments})
    assert "error" not in answer, answer
    result = answer["result"]
    assert [c["type"] for c in result["content"]] == ["text"]
    assert set(result) <= {"content", "isError"}
    return result["content"][0]["text"], result.get("isError", False)


def error_code(answer: dict[str, Any]) -> int:
    assert "result" not in answer
    code: int = answer["error"]["code"]
    assert answer["error"]["message"]
    return code


# --------------------------------------------------------------------------- lifecycle


async def test_initialize(session: MCPSession) -> None:
    answer = await rpc(
        session,
        "initialize",
        {
            "protocolVersion": "2024-11-05",
            "capabilities": {},
            "clientInfo": {"name": "caged-tui", "version": "0.1.0"},
        },
    )
    assert answer["result"] == {
        "protocolVersion": "2024-11-05",
        "serverInfo": {"name": "caged-local", "version": "9.9.9"},
        "capabilities": {"tools": {"listChanged": False}},
    }
    assert session.client_info == {"name": "caged-tui", "version": "0.1.0"}
    notification = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert await session.handle(notification) is None
    assert session.initialized


async def test_ping_and_string_ids(session: MCPSession) -> None:
    assert (await rpc(session, "ping", msg_id="abc"))["result"] == {}


async def test_default_version_comes_from_the_package(workspace: Path) -> None:
    answer = await rpc(MCPSession(workspace, shell_in(workspace)), "initialize", {})
    assert answer["result"]["serverInfo"]["version"]


async def test_tools_list_full(session: MCPSession) -> None:
    tools = (await rpc(session, "tools/list"))["result"]["tools"]
    assert [t["name"] for t in tools] == ALL_TOOLS
    for entry in tools:
        assert entry["description"]
        schema = entry["inputSchema"]
        assert schema["type"] == "object"
        assert set(schema["required"]) <= set(schema["properties"])
    by_name = {t["name"]: t["inputSchema"] for t in tools}
    assert by_name["filesystem_list"]["properties"]["path"]["default"] == "."
    assert by_name["terminal_exec"]["properties"]["timeout"]["default"] == 30
    assert by_name["git_diff"]["properties"]["staged"]["default"] is False
    assert by_name["git_log"]["properties"]["count"]["default"] == 10
    assert by_name["filesystem_write"]["required"] == ["path", "content"]


async def test_tools_list_read_only(workspace: Path) -> None:
    session = MCPSession(workspace, shell_in(workspace), read_only=True)
    tools = (await rpc(session, "tools/list"))["result"]["tools"]
    assert [t["name"] for t in tools] == [n for n in ALL_TOOLS if n not in WRITE_TOOLS]


async def test_read_only_refuses_write_tools(workspace: Path) -> None:
    session = MCPSession(workspace, shell_in(workspace), read_only=True)
    calls = {
        "filesystem_write": {"path": "x", "content": "y"},
        "filesystem_delete": {"path": "x"},
        "terminal_exec": {"command": "touch x"},
        "git_commit": {"message": "m"},
    }
    for name, arguments in calls.items():
        answer = await rpc(session, "tools/call", {"name": name, "arguments": arguments})
        assert error_code(answer) == -32602
        assert "read-only" in answer["error"]["message"]
    assert names(workspace) == []
    assert (await tool(session, "filesystem_list")) == ("(empty directory)", False)


# --------------------------------------------------------------------------- filesystem tools


async def test_filesystem_tools_happy_paths(session: MCPSession, workspace: Path) -> None:
    text, is_error = await tool(session, "filesystem_write", path="src/pkg/m.py", content="héllo\n")
    assert (text, is_error) == ("wrote 7 bytes to /workspace/src/pkg/m.py", False)
    assert (workspace / "src" / "pkg" / "m.py").read_text() == "héllo\n"

    assert await tool(session, "filesystem_read", path="/workspace/src/pkg/m.py") == (
        "héllo\n",
        False,
    )

    (workspace / "notes.txt").write_text("12345")
    assert await tool(session, "filesystem_list") == (
        "[dir]  src/\n[file] notes.txt (5 bytes)",
        False,
    )
    assert await tool(session, "filesystem_list", path="src/pkg") == (
        "[file] m.py (7 bytes)",
        False,
    )

    assert await tool(session, "filesystem_search", pattern="*.py") == (
        "/workspace/src/pkg/m.py",
        False,
    )
    assert await tool(session, "filesystem_search", pattern="*.rs") == (
        "no files match *.rs",
        False,
    )

    assert await tool(session, "filesystem_delete", path="src") == ("deleted /workspace/src", False)
    assert names(workspace) == ["notes.txt"]


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("filesystem_read", {"path": "missing.txt"}, "does not exist"),
        ("filesystem_read", {"path": "../outside/secret.txt"}, "leads out"),
        ("filesystem_read", {"path": "/etc/passwd"}, "outside /workspace"),
        ("filesystem_read", {"path": "a\x00b"}, "NUL"),
        ("filesystem_read", {"path": "."}, "is a directory"),
        ("filesystem_write", {"path": "/workspace/../x", "content": ""}, "leads out"),
        ("filesystem_write", {"path": "/tmp/x", "content": ""}, "outside"),
        ("filesystem_list", {"path": "nope"}, "does not exist"),
        ("filesystem_list", {"path": "../outside"}, "leads out"),
        ("filesystem_delete", {"path": "missing"}, "does not exist"),
        ("filesystem_delete", {"path": "/workspace"}, "itself"),
        ("filesystem_delete", {"path": "../outside/secret.txt"}, "leads out"),
        ("filesystem_search", {"pattern": "a/b"}, "base names"),
    ],
)
async def test_filesystem_failures_are_error_results(
    session: MCPSession, workspace: Path, name: str, arguments: dict[str, Any], message: str
) -> None:
    text, is_error = await tool(session, name, **arguments)
    assert is_error
    assert message in text
    assert (workspace.parent / "outside" / "secret.txt").read_text() == "host secret\n"


async def test_symlink_out_is_an_error_result(session: MCPSession, workspace: Path) -> None:
    (workspace / "etc").symlink_to("/etc")
    text, is_error = await tool(session, "filesystem_read", path="etc/hostname")
    assert is_error and "outside /workspace" in text


# --------------------------------------------------------------------------- terminal_exec


async def test_terminal_exec(session: MCPSession, workspace: Path) -> None:
    text, is_error = await tool(session, "terminal_exec", command="echo out; echo err >&2")
    assert (text, is_error) == ("out\nerr\n", False)
    text, _ = await tool(session, "terminal_exec", command="pwd")
    assert same_directory(text.strip(), workspace)
    assert await tool(session, "terminal_exec", command="true") == ("(no output)", False)


async def test_terminal_exec_failures(session: MCPSession) -> None:
    text, is_error = await tool(session, "terminal_exec", command="echo partial; exit 3")
    assert is_error
    assert text == "partial\n\n[exit code 3]"
    text, is_error = await tool(session, "terminal_exec", command="sleep 5", timeout=0.2)
    assert is_error
    assert text == "[timed out after 0.2 s]"


async def test_terminal_exec_runtime_refusal(workspace: Path) -> None:
    async def paused(command: str, seconds: float) -> ExecOutcome:
        raise RuntimeError("the sandbox is paused")

    session = MCPSession(workspace, paused)
    text, is_error = await tool(session, "terminal_exec", command="ls")
    assert is_error and text == "the command could not run: the sandbox is paused"


# --------------------------------------------------------------------------- git tools


async def test_git_tools(repo: Path) -> None:
    session = MCPSession(repo, shell_in(repo))
    text, is_error = await tool(session, "git_status")
    assert not is_error and text.startswith("## main")
    assert await tool(session, "git_diff") == ("no unstaged changes", False)

    (repo / "a.txt").write_text("alpha 2\n")
    (repo / "new.txt").write_text("new\n")
    text, is_error = await tool(session, "git_diff")
    assert not is_error
    assert "+alpha 2" in text
    assert text.endswith("untracked files:\n  new.txt")
    assert await tool(session, "git_diff", staged=True) == ("no staged changes", False)

    text, is_error = await tool(session, "git_commit", message="agent change")
    assert not is_error and "agent change" in text
    text, _ = await tool(session, "git_log", count=1)
    assert text.rstrip().endswith(": agent change")
    assert text.count("\n") == 1
    text, _ = await tool(session, "git_log")
    assert len(text.splitlines()) == 2

    text, is_error = await tool(session, "git_commit", message="nothing")
    assert is_error and "nothing to commit" in text


async def test_git_tools_outside_a_repository(session: MCPSession) -> None:
    for name, arguments in [
        ("git_status", {}),
        ("git_diff", {}),
        ("git_log", {}),
        ("git_commit", {"message": "m"}),
    ]:
        text, is_error = await tool(session, name, **arguments)
        assert is_error
        assert "not a git repository" in text


async def test_git_log_in_an_empty_repository(
    workspace: Path, git: Callable[..., str], session: MCPSession
) -> None:
    git(workspace, "init", "-q")
    assert await tool(session, "git_log", count=2.0) == ("no commits yet", False)


# --------------------------------------------------------------------------- protocol errors


async def test_parse_error(session: MCPSession) -> None:
    for bad in ("{not json", "", b"\xff\xfe"):
        reply = await session.handle(bad)
        assert reply is not None
        answer = json.loads(reply)
        assert answer["id"] is None
        assert error_code(answer) == -32700


@pytest.mark.parametrize(
    "message",
    [
        "[]",
        '[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]',
        "42",
        '"ping"',
        '{"id": 1, "method": "ping"}',
        '{"jsonrpc": "1.0", "id": 1, "method": "ping"}',
        '{"jsonrpc": "2.0", "id": 1}',
        '{"jsonrpc": "2.0", "id": 1, "method": 7}',
        '{"jsonrpc": "2.0", "id": null, "method": "ping"}',
        '{"jsonrpc": "2.0", "id": true, "method": "ping"}',
        '{"jsonrpc": "2.0", "id": [1], "method": "ping"}',
    ],
)
async def test_invalid_requests(session: MCPSession, message: str) -> None:
    reply = await session.handle(message)
    assert reply is not None
    assert error_code(json.loads(reply)) == -32600


@pytest.mark.parametrize(
    "method", ["resources/list", "prompts/list", "resources/read", "completion/complete", "x"]
)
async def test_unknown_methods(session: MCPSession, method: str) -> None:
    assert error_code(await rpc(session, method, {})) == -32601


async def test_unknown_tool(session: MCPSession) -> None:
    answer = await rpc(session, "tools/call", {"name": "rm_rf", "arguments": {}})
    assert error_code(answer) == -32602
    assert "unknown tool: rm_rf" in answer["error"]["message"]


@pytest.mark.parametrize(
    "params",
    [
        [1, 2],
        "params",
        {},
        {"name": 3},
        {"name": "filesystem_read"},
        {"name": "filesystem_read", "arguments": {}},
        {"name": "filesystem_read", "arguments": {"path": 5}},
        {"name": "filesystem_read", "arguments": {"path": "a", "mode": "r"}},
        {"name": "filesystem_read", "arguments": ["a"]},
        {"name": "filesystem_write", "arguments": {"path": "a"}},
        {"name": "filesystem_search", "arguments": {"pattern": ""}},
        {"name": "terminal_exec", "arguments": {"command": "ls", "timeout": 0}},
        {"name": "terminal_exec", "arguments": {"command": "ls", "timeout": 301}},
        {"name": "terminal_exec", "arguments": {"command": "ls", "timeout": "30"}},
        {"name": "git_diff", "arguments": {"staged": "yes"}},
        {"name": "git_log", "arguments": {"count": 0}},
        {"name": "git_log", "arguments": {"count": 1.5}},
        {"name": "git_log", "arguments": {"count": True}},
        {"name": "git_commit", "arguments": {"message": ""}},
    ],
)
async def test_invalid_params(session: MCPSession, workspace: Path, params: Any) -> None:
    assert error_code(await rpc(session, "tools/call", params)) == -32602
    assert names(workspace) == []


async def test_notifications_get_no_answer_and_run_nothing(
    session: MCPSession, workspace: Path
) -> None:
    for message in [
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
        {"jsonrpc": "2.0", "method": "unknown/notification"},
        {
            "jsonrpc": "2.0",
            "method": "tools/call",
            "params": {"name": "filesystem_write", "arguments": {"path": "x", "content": "y"}},
        },
    ]:
        assert await session.handle(json.dumps(message)) is None
    assert names(workspace) == []
    assert not session.initialized


async def test_responses_from_the_client_are_ignored(session: MCPSession) -> None:
    assert await session.handle('{"jsonrpc": "2.0", "id": 5, "result": {}}') is None


# --------------------------------------------------------------------------- activity hook


async def test_on_tool_call_reports_every_tool_that_ran(workspace: Path) -> None:
    seen: list[ToolCall] = []

    async def record(call: ToolCall) -> None:
        seen.append(call)

    session = MCPSession(workspace, shell_in(workspace), on_tool_call=record)
    await tool(session, "filesystem_write", path="f.txt", content="x")
    await tool(session, "filesystem_read", path="missing")
    await tool(session, "filesystem_list")
    await rpc(session, "tools/call", {"name": "nope", "arguments": {}})  # never ran
    assert [(c.name, c.is_error) for c in seen] == [
        ("filesystem_write", False),
        ("filesystem_read", True),
        ("filesystem_list", False),
    ]
    assert seen[0].arguments == {"path": "f.txt", "content": "x"}
    assert seen[2].arguments == {"path": "."}  # defaults filled in
    assert all(c.duration_ms >= 0 for c in seen)
    assert "does not exist" in seen[1].text


async def test_a_failing_hook_does_not_break_the_call(
    workspace: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(call: ToolCall) -> None:
        raise ValueError("database is down")

    session = MCPSession(workspace, shell_in(workspace), on_tool_call=broken)
    assert await tool(session, "filesystem_list") == ("(empty directory)", False)
    assert "on_tool_call hook failed" in caplog.text
