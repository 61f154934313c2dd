"""The MCP server behind ``/sandboxes/{id}/mcp``, without its transport.

One :class:`MCPSession` per socket. The server feeds it each text frame and
sends back what it returns::

    session = MCPSession(
        workspace=runtime.workspace_dir(sandbox_id),
        exec_fn=lambda command, timeout: runtime.exec(sandbox_id, command, timeout=timeout),
        read_only=(key.scope == "read_only"),
        git=cage_git.in_sandbox(runtime, sandbox_id),  # optional; else through exec_fn
        on_tool_call=record_event,       # optional; sync or async, gets a ToolCall
    )
    reply = await session.handle(frame)  # str, or None for notifications
    if reply is not None:
        await websocket.send_text(reply)

The protocol is JSON-RPC 2.0 as MCP ``2024-11-05`` uses it: ``initialize``,
``ping``, ``tools/list``, ``tools/call``; anything else (``resources/*``,
``prompts/*``) is -32601. Error codes: -32700 parse error, -32600 invalid
request (not an object, a batch, no method, bad ``jsonrpc`` or ``id``), -32601
method not found, -32602 invalid params, unknown tool, arguments that do not
match the tool's ``inputSchema``, or a write tool in a read-only session, and
-32603 for a bug of ours. Calls before ``initialize`` are served.

Tool failures (a bad or escaping path, a missing file, a failing command, a
git error) are *results* with ``"isError": true`` and a one-sentence text, as
MCP asks, so the agent can read and react to them.

Decisions where the contract is loose:

- Read-only sessions neither list nor run ``filesystem_write``,
  ``filesystem_delete``, ``terminal_exec`` and ``git_commit``; calling one is
  -32602, exactly as for a tool that does not exist, because for that session
  it does not.
- ``terminal_exec`` returns the command's output with stdout and stderr
  *interleaved* as produced: the runtime's :class:`ExecOutcome` does not keep
  them apart, so there is no separate ``STDERR:`` section. A non-zero exit adds
  ``[exit code N]`` and a timeout ``[timed out after N s]``, both with isError.
  ``exec_fn(command, timeout)`` must run ``sh -c command`` in ``/workspace``.
- Messages without an ``id`` are notifications and are never answered. Only
  ``notifications/initialized`` has an effect; a request method sent as a
  notification is not run, since nobody would see its result.
- Batches (JSON arrays) are -32600: MCP 2024-11-05 sends one message per frame.

File work runs in a thread (``asyncio.to_thread``) because
:mod:`caged_platform.content.files` blocks. The git tools run git *inside the cage*
through :class:`caged_platform.content.cage_git.CageGit` (never the host's git on
the sandbox's repository, which would run the repository's configured
programs on the host); the server gives the session one whose commands are
not recorded as the agent's ``terminal_exec`` commands.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from caged_platform import jsontext
from caged_platform.content import files
from caged_platform.content.cage_git import CageGit, ExecFn
from caged_platform.content.content_errors import ContentError

__all__ = [
    "EXEC_TIMEOUT_MAX",
    "PROTOCOL_VERSION",
    "SERVER_NAME",
    "WRITE_TOOLS",
    "ExecFn",
    "MCPSession",
    "ToolCall",
    "ToolCallHook",
]

log = logging.getLogger(__name__)

PROTOCOL_VERSION = "2024-11-05"
SERVER_NAME = "caged-local"
#: Longest ``terminal_exec`` timeout accepted, in seconds (the exec endpoint's own budget).
EXEC_TIMEOUT_MAX = 300.0
#: Tools a read-only session neither lists nor runs.
WRITE_TOOLS = frozenset({"filesystem_write", "filesystem_delete", "terminal_exec", "git_commit"})

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603


@dataclass(frozen=True, slots=True)
class ToolCall:
    """What :class:`MCPSession` reports after running a tool, for events and activity."""

    name: str
    arguments: dict[str, Any]  # as validated, defaults filled in
    is_error: bool
    duration_ms: float
    text: str  # the result text the agent received


#: Called after every tool that ran; may be a plain function or a coroutine function.
ToolCallHook = Callable[[ToolCall], Awaitable[None] | None]


class _RPCError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _package_version() -> str:
    try:
        return version("caged-tui")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


# --------------------------------------------------------------------------- schemas


def _schema(properties: dict[str, dict[str, Any]], required: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


_PATH = {
    "type": "string",
    "description": "Relative to /workspace, or an absolute path inside /workspace.",
}

_TOOLS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "filesystem_read",
        "Read a text file from the sandbox workspace (at most 1 MB; invalid UTF-8 is replaced).",
        _schema({"path": _PATH}, ("path",)),
    ),
    (
        "filesystem_write",
        "Write a text file in the sandbox workspace, creating parent directories. "
        "Replaces the file atomically if it exists.",
        _schema(
            {"path": _PATH, "content": {"type": "string", "description": "The full new text."}},
            ("path", "content"),
        ),
    ),
    (
        "filesystem_list",
        "List a directory of the sandbox workspace: directories first, then files with sizes.",
        _schema({"path": {**_PATH, "default": "."}}, ()),
    ),
    (
        "filesystem_delete",
        "Delete a file, or a directory with everything in it, from the sandbox workspace.",
        _schema({"path": _PATH}, ("path",)),
    ),
    (
        "filesystem_search",
        "Find files and directories in the workspace whose name matches a glob "
        "such as *.py or test_*; matches base names only.",
        _schema(
            {"pattern": {"type": "string", "description": "A glob without '/'.", "minLength": 1}},
            ("pattern",),
        ),
    ),
    (
        "terminal_exec",
        "Run a shell command (sh -c) in /workspace and return its output, stdout and "
        "stderr interleaved. Fails on a non-zero exit status or a timeout.",
        _schema(
            {
                "command": {"type": "string", "description": "The shell command line."},
                "timeout": {
                    "type": "number",
                    "description": "Seconds before the command is killed.",
                    "default": 30,
                    "exclusiveMinimum": 0,
                    "maximum": EXEC_TIMEOUT_MAX,
                },
            },
            ("command",),
        ),
    ),
    (
        "git_status",
        "Show the branch and the changed, staged and untracked files of the workspace's "
        "git repository.",
        _schema({}, ()),
    ),
    (
        "git_diff",
        "Show the diff of the workspace's git repository: unstaged changes, or staged ones.",
        _schema(
            {
                "staged": {
                    "type": "boolean",
                    "description": "Show the staged diff instead of the unstaged one.",
                    "default": False,
                }
            },
            (),
        ),
    ),
    (
        "git_log",
        "Show the latest commits of the workspace's git repository, one line each.",
        _schema(
            {
                "count": {
                    "type": "integer",
                    "description": "How many commits.",
                    "default": 10,
                    "minimum": 1,
                    "maximum": 1000,
                }
            },
            (),
        ),
    ),
    (
        "git_commit",
        "Stage every change in the workspace (git add -A) and commit it.",
        _schema(
            {"message": {"type": "string", "description": "The commit message.", "minLength": 1}},
            ("message",),
        ),
    ),
)

_TYPES: dict[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def _check_value(name: str, spec: dict[str, Any], value: object) -> object:
    kind = spec["type"]
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type; 10.0 is an integer
    if not _TYPES[kind](value):
        raise _RPCError(INVALID_PARAMS, f"argument {name} must be of type {kind}")
    if isinstance(value, str) and len(value) < spec.get("minLength", 0):
        raise _RPCError(INVALID_PARAMS, f"argument {name} must not be empty")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in spec and value < spec["minimum"]:
            raise _RPCError(INVALID_PARAMS, f"argument {name} must be at least {spec['minimum']}")
        if "exclusiveMinimum" in spec and value <= spec["exclusiveMinimum"]:
            raise _RPCError(
                INVALID_PARAMS, f"argument {name} must be more than {spec['exclusiveMinimum']}"
            )
        if "maximum" in spec and value > spec["maximum"]:
            raise _RPCError(INVALID_PARAMS, f"argument {name} must be at most {spec['maximum']}")
    return value


def _validate(name: str, schema: dict[str, Any], arguments: object) -> dict[str, Any]:
    """Check ``arguments`` against the tool's own inputSchema; fill in defaults."""
    if not isinstance(arguments, dict):
        raise _RPCError(INVALID_PARAMS, f"the arguments of {name} must be an object")
    properties: dict[str, dict[str, Any]] = schema["properties"]
    unknown = sorted(set(arguments) - set(properties))
    if unknown:
        raise _RPCError(INVALID_PARAMS, f"{name} has no argument {', '.join(unknown)}")
    checked: dict[str, Any] = {}
    for key, spec in properties.items():
        if key in arguments:
            checked[key] = _check_value(key, spec, arguments[key])
        elif key in schema["required"]:
            raise _RPCError(INVALID_PARAMS, f"{name} needs the argument {key}")
        elif "default" in spec:
            checked[key] = spec["default"]
    return checked


def _response(msg_id: str | int, result: dict[str, Any]) -> str:
    return _dump({"jsonrpc": "2.0", "id": msg_id, "result": result})


def _error(msg_id: str | int | None, code: int, message: str) -> str:
    return _dump({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})


def _dump(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- session


class MCPSession:
    """One MCP connection to one sandbox: JSON-RPC in, JSON-RPC out.

    ``workspace`` is the host directory of the cage's /workspace;
    ``exec_fn(command, timeout)`` runs a shell command in the cage;
    ``read_only`` hides and refuses the tools that change anything;
    ``git`` runs the git tools in the cage (by default through ``exec_fn``);
    ``on_tool_call`` (optional) is told about every tool that ran, and its
    failures are logged, never passed to the agent. ``version`` is the
    ``serverInfo.version`` reported (the installed package's by default).
    """

    def __init__(
        self,
        workspace: Path,
        exec_fn: ExecFn,
        read_only: bool = False,
        *,
        git: CageGit | None = None,
        on_tool_call: ToolCallHook | None = None,
        version: str | None = None,
    ) -> None:
        self.workspace = workspace
        self.read_only = read_only
        self.version = version or _package_version()
        self._exec = exec_fn
        self._git = git or CageGit(exec_fn)
        self._on_tool_call = on_tool_call
        #: ``clientInfo`` from ``initialize`` (``{"name", "version"}``), once received.
        self.client_info: dict[str, Any] | None = None
        #: True once the client has sent ``notifications/initialized``.
        self.initialized = False
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[tuple[str, bool]]]] = {
            "filesystem_read": self._read,
            "filesystem_write": self._write,
            "filesystem_list": self._list,
            "filesystem_delete": self._delete,
            "filesystem_search": self._search,
            "terminal_exec": self._terminal_exec,
            "git_status": self._git_status,
            "git_diff": self._git_diff,
            "git_log": self._git_log,
            "git_commit": self._git_commit,
        }

    def tools(self) -> list[dict[str, Any]]:
        """The ``tools/list`` entries this session offers."""
        return [
            {"name": name, "description": description, "inputSchema": schema}
            for name, description, schema in _TOOLS
            if not (self.read_only and name in WRITE_TOOLS)
        ]

    async def handle(self, message: str | bytes) -> str | None:
        """Answer one JSON-RPC message; ``None`` when no answer is due (notifications)."""
        try:
            payload = jsontext.loads(message)
        except ValueError:  # not JSON, not UTF-8, or nested too deeply
            return _error(None, PARSE_ERROR, "parse error: the message is not valid JSON")
        if isinstance(payload, list):
            return _error(None, INVALID_REQUEST, "batches are not supported: send one message")
        if not isinstance(payload, dict):
            return _error(None, INVALID_REQUEST, "a message must be a JSON object")
        has_id = "id" in payload
        msg_id = payload.get("id")
        if has_id and (isinstance(msg_id, bool) or not isinstance(msg_id, str | int)):
            return _error(None, INVALID_REQUEST, "the id must be a string or an integer")
        answer_id: str | int | None = msg_id if has_id else None
        if payload.get("jsonrpc") != "2.0":
            return _error(answer_id, INVALID_REQUEST, 'jsonrpc must be "2.0"')
        if "method" not in payload:
            if has_id and ("result" in payload or "error" in payload):
                return None  # a response, yet we never send requests: nothing to do
            return _error(answer_id, INVALID_REQUEST, "the message has no method")
        method = payload["method"]
        if not isinstance(method, str):
            return _error(answer_id, INVALID_REQUEST, "the method must be a string")
        if msg_id is None:
            if method == "notifications/initialized":
                self.initialized = True
            return None
        params = payload.get("params")
        try:
            if params is None:
                params = {}
            if not isinstance(params, dict):
                raise _RPCError(INVALID_PARAMS, "params must be an object")
            result = await self._dispatch(method, params)
        except _RPCError as err:
            return _error(msg_id, err.code, err.message)
        except Exception:
            log.exception("MCP %s failed", method)
            return _error(msg_id, INTERNAL_ERROR, f"internal error while handling {method}")
        return _response(msg_id, result)

    async def _dispatch(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "initialize":
            client = params.get("clientInfo")
            self.client_info = client if isinstance(client, dict) else None
            return {
                "protocolVersion": PROTOCOL_VERSION,
                "serverInfo": {"name": SERVER_NAME, "version": self.version},
                "capabilities": {"tools": {"listChanged": False}},
            }
        if method == "ping":
            return {}
        if method == "tools/list":
            return {"tools": self.tools()}
        if method == "tools/call":
            return await self._call(params)
        raise _RPCError(METHOD_NOT_FOUND, f"method not found: {method}")

    async def _call(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        if not isinstance(name, str):
            raise _RPCError(INVALID_PARAMS, "tools/call needs the tool's name")
        schema = next((s for n, _, s in _TOOLS if n == name), None)
        if schema is None:
            raise _RPCError(INVALID_PARAMS, f"unknown tool: {name}")
        if self.read_only and name in WRITE_TOOLS:
            raise _RPCError(
                INVALID_PARAMS, f"tool {name} is not available: the session is read-only"
            )
        arguments = _validate(name, schema, params.get("arguments", {}))
        started = time.monotonic()
        try:
            text, is_error = await self._handlers[name](arguments)
        except ContentError as err:
            text, is_error = err.message, True
        except OSError as err:
            text, is_error = f"{name} failed: {err.strerror or err}", True
        duration_ms = (time.monotonic() - started) * 1000
        await self._report(ToolCall(name, arguments, is_error, duration_ms, text))
        result: dict[str, Any] = {"content": [{"type": "text", "text": text}]}
        if is_error:
            result["isError"] = True
        return result

    async def _report(self, call: ToolCall) -> None:
        if self._on_tool_call is None:
            return
        try:
            outcome = self._on_tool_call(call)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            # Recording activity must never break the agent's tool call.
            log.exception("on_tool_call hook failed for %s", call.name)

    # ----------------------------------------------------------------------- tools

    async def _read(self, args: dict[str, Any]) -> tuple[str, bool]:
        return await asyncio.to_thread(files.read_text, self.workspace, args["path"]), False

    async def _write(self, args: dict[str, Any]) -> tuple[str, bool]:
        path, content = args["path"], args["content"]
        written = await asyncio.to_thread(files.write_text, self.workspace, path, content)
        return f"wrote {written} bytes to {files.workspace_path(path)}", False

    async def _list(self, args: dict[str, Any]) -> tuple[str, bool]:
        entries = await asyncio.to_thread(files.list_dir, self.workspace, args["path"])
        if not entries:
            return "(empty directory)", False
        lines = [
            f"[dir]  {e.name}/" if e.is_dir else f"[file] {e.name} ({e.size} bytes)"
            for e in entries
        ]
        return "\n".join(lines), False

    async def _delete(self, args: dict[str, Any]) -> tuple[str, bool]:
        await asyncio.to_thread(files.delete, self.workspace, args["path"])
        return f"deleted {files.workspace_path(args['path'])}", False

    async def _search(self, args: dict[str, Any]) -> tuple[str, bool]:
        pattern = args["pattern"]
        limit = files.SEARCH_LIMIT
        # One more than shown, to know whether there were more.
        found = await asyncio.to_thread(files.search, self.workspace, pattern, limit + 1)
        if not found:
            return f"no files match {pattern}", False
        text = "\n".join(found[:limit])
        if len(found) > limit:
            text += f"\n[more than {limit} matches; the first {limit} are shown]"
        return text, False

    async def _terminal_exec(self, args: dict[str, Any]) -> tuple[str, bool]:
        timeout = float(args["timeout"])
        try:
            outcome = await self._exec(args["command"], timeout)
        except Exception as err:
            # The runtime's refusals (paused sandbox, dead agent) are the agent's to read.
            return f"the command could not run: {err}", True
        text = outcome.output
        if outcome.timed_out or outcome.exit_code is None:
            return f"{text}\n[timed out after {timeout:g} s]".lstrip("\n"), True
        if outcome.exit_code != 0:
            return f"{text}\n[exit code {outcome.exit_code}]".lstrip("\n"), True
        return text or "(no output)", False

    async def _git_status(self, args: dict[str, Any]) -> tuple[str, bool]:
        return await self._git.status(), False

    async def _git_diff(self, args: dict[str, Any]) -> tuple[str, bool]:
        diff = await self._git.diff()
        if args["staged"]:
            return diff.staged_diff or "no staged changes", False
        text = diff.diff or "no unstaged changes"
        untracked = [f.path for f in diff.files if f.status == "untracked"]
        if untracked:
            text += "\nuntracked files:\n" + "\n".join(f"  {p}" for p in untracked)
        return text, False

    async def _git_log(self, args: dict[str, Any]) -> tuple[str, bool]:
        text = await self._git.log(args["count"])
        return text or "no commits yet", False

    async def _git_commit(self, args: dict[str, Any]) -> tuple[str, bool]:
        return await self._git.commit(args["message"]), False
