"""How one replay event reads: its group, icon, one-line summary and detail.

Groups are what the timeline's type filters toggle; ``terminal`` is the
recorded terminal output (``other`` events of kind ``terminal_output``), which
is what the terminal pane plays.
"""

from __future__ import annotations

import json
import math
import re
from enum import StrEnum
from typing import Any

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text

from caged_core.models import EventType, ReplayEvent
from caged_tui import formatting as fmt


class Kind(StrEnum):
    """The type filters, in key order."""

    LLM = "llm"
    TOOLS = "tools"
    COMMANDS = "commands"
    FILES = "files"
    TERMINAL = "terminal"
    OTHER = "other"


#: Kind → the one server-side type it is, where there is one (pages can be asked for by it).
SERVER_TYPE: dict[Kind, str] = {
    Kind.LLM: EventType.LLM_CALL.value,
    Kind.TOOLS: EventType.TOOL_CALL.value,
    Kind.COMMANDS: EventType.COMMAND.value,
    Kind.FILES: EventType.FILE_OP.value,
    Kind.TERMINAL: EventType.OTHER.value,
}

_ICONS = {
    EventType.LLM_CALL: "✦",
    EventType.TOOL_CALL: "⚙",
    EventType.COMMAND: "$",
    EventType.FILE_OP: "✎",
    EventType.NETWORK: "⇄",
    EventType.ERROR: "✖",
    EventType.LIFECYCLE: "◆",
    EventType.DESKTOP: "▣",
}


def is_terminal_output(event: ReplayEvent) -> bool:
    """Whether the event is a chunk of recorded terminal output."""
    return event.type == EventType.OTHER and event.data.get("kind") == "terminal_output"


def terminal_text(event: ReplayEvent) -> str:
    """The output a terminal-output event carries ("" for any other event)."""
    text = event.data.get("data") if is_terminal_output(event) else None
    return text if isinstance(text, str) else ""


def terminal_resize(event: ReplayEvent) -> tuple[int, int] | None:
    """``(columns, lines)`` of a recorded terminal resize, None for any other event."""
    data = event.data
    if event.type != EventType.OTHER or data.get("kind") != "terminal_resize":
        return None
    cols, rows = data.get("cols"), data.get("rows")
    if isinstance(cols, int) and isinstance(rows, int) and cols > 0 and rows > 0:
        return cols, rows
    return None


def kind_of(event: ReplayEvent) -> Kind:
    """The filter group of ``event``."""
    for kind, type_ in SERVER_TYPE.items():
        if event.type == type_ and kind is not Kind.TERMINAL:
            return kind
    return Kind.TERMINAL if is_terminal_output(event) else Kind.OTHER


def icon(event: ReplayEvent) -> str:
    """A one-cell glyph for the event's type."""
    return "▤" if is_terminal_output(event) else _ICONS.get(EventType(event.type), "·")


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0.0
    return float(value)


def llm_tokens(event: ReplayEvent) -> tuple[int, int]:
    """Tokens in and out of an ``llm_call`` (the SDKs' several names for them)."""
    data = event.data

    def first(*keys: str) -> int:
        return next((int(_number(data[k])) for k in keys if _number(data.get(k)) > 0), 0)

    return (
        first("tokens_in", "input_tokens", "prompt_tokens"),
        first("tokens_out", "output_tokens", "completion_tokens"),
    )


def llm_cost(event: ReplayEvent) -> float:
    """The cost of an ``llm_call`` as recorded with it (0 when it carries none)."""
    return max(0.0, _number(event.data.get("cost_usd"))) if event.type == "llm_call" else 0.0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def summary(event: ReplayEvent) -> str:
    """One line saying what the event was."""
    data = event.data
    match EventType(event.type):
        case EventType.LLM_CALL:
            tokens_in, tokens_out = llm_tokens(event)
            return f"{_text(data.get('model')) or 'LLM'} · {tokens_in}→{tokens_out} tokens"
        case EventType.TOOL_CALL:
            name = _text(data.get("tool")) or _text(data.get("name")) or "tool"
            args = data.get("arguments", data.get("args", data.get("input")))
            return f"{name}({json.dumps(args)[:60]})" if args else name
        case EventType.COMMAND:
            exit_code = data.get("exit_code")
            suffix = f"  → exit {exit_code}" if isinstance(exit_code, int) else ""
            return f"{_text(data.get('command'))}{suffix}"
        case EventType.FILE_OP:
            stat = diff_stat(_text(data.get("diff")))
            dest = f" → {_text(data.get('dest'))}" if data.get("dest") else ""
            return f"{_text(data.get('kind')) or 'change'} {_text(data.get('path'))}{dest}{stat}"
        case EventType.NETWORK:
            verdict = "refused" if data.get("allowed") is False else "allowed"
            return f"{_text(data.get('host'))} {verdict}"
        case EventType.ERROR:
            return _text(data.get("message")) or _text(data.get("error")) or "error"
        case EventType.LIFECYCLE:
            parts = [_text(data.get(k)) for k in ("action", "channel", "reason")]
            return " ".join(p for p in parts if p) or "lifecycle"
    if is_terminal_output(event):
        text = terminal_text(event)
        return f"output {len(text.encode())} B: {fmt.one_line(_printable(text), 48)}"
    if (size := terminal_resize(event)) is not None:
        return f"terminal resized to {size[0]}x{size[1]}"
    return _text(data.get("kind")) or _text(event.meta.get("original_type")) or "event"


#: Escape sequences and C0 controls (a preview shows the text only).
_CONTROLS = re.compile(
    r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.|[\x00-\x1f]"
)


def _printable(text: str) -> str:
    """Terminal output without escape sequences, for a one-line preview."""
    return _CONTROLS.sub(" ", text).strip() or "…"


def diff_stat(diff: str) -> str:
    """`` +a -b`` of a unified diff ("" without one)."""
    if not diff:
        return ""
    lines = diff.splitlines()
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return f"  +{added} -{removed}"


def detail(event: ReplayEvent, deduction: str | None = None) -> RenderableType:
    """The detail pane: what matters for the type first, then the whole payload."""
    head = Text()
    head.append(f"#{event.sequence} {event.type}", style="bold")
    if event.timestamp is not None:
        head.append(f"  {fmt.timestamp(event.timestamp)}", style="dim")
    if event.duration_ms is not None:
        head.append(f"  {event.duration_ms:.0f} ms", style="dim")
    parts: list[RenderableType] = [head]
    if deduction:
        parts.append(Text(f"trust: {deduction}", style="bold red"))
    data = event.data
    if event.type == EventType.LLM_CALL:
        tokens_in, tokens_out = llm_tokens(event)
        model = _text(data.get("model")) or fmt.DASH
        parts.append(
            Text(
                f"model {model} · {tokens_in} in / {tokens_out} out · {fmt.money(llm_cost(event))}"
            )
        )
    elif event.type == EventType.COMMAND:
        parts.append(Text(f"$ {_text(data.get('command'))}", style="bold"))
        output = _text(data.get("output")) or _text(data.get("stdout"))
        if output:
            parts.append(Text(output))
    elif event.type == EventType.FILE_OP and _text(data.get("diff")):
        parts.append(Syntax(_text(data["diff"]), "diff", theme="ansi_dark", word_wrap=True))
    elif is_terminal_output(event):
        parts.append(Text(_printable(terminal_text(event))))
    shown = {k: v for k, v in data.items() if k not in ("diff", "output", "data")}
    if shown:
        parts.append(Text("payload", style="dim"))
        parts.append(Syntax(json.dumps(shown, indent=2, sort_keys=True), "json", word_wrap=True))
    return Group(*parts)
