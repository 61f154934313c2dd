"""Fixed agent sessions and their replays for the mock platform (snapshot tests).

``sess-33cc44dd`` is a terminal session of ``cage-0a1b2c3d``: a prompt, commands
typed into it, their coloured output, LLM calls between them and one trust
deduction — 60 events over five minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

START = datetime(2026, 11, 27, 11, 0, 0, tzinfo=UTC)
PROMPT = "\x1b[1;32muser@cage\x1b[0m:\x1b[1;34m/workspace\x1b[0m$ "


def _session(
    sid: str, status: str, agent: str | None, model: str | None, **fields: Any
) -> dict[str, Any]:
    return {
        "id": sid,
        "sandbox_id": "cage-0a1b2c3d",
        "status": status,
        "agent_type": agent,
        "model": model,
        "started_at": START.isoformat(),
        **fields,
    }


SESSIONS: list[dict[str, Any]] = [
    _session(
        "sess-33cc44dd", "active", "claude-code", "claude-sonnet-4", tokens_in=41200,
        tokens_out=8300, llm_cost=0.249, compute_cost=0.012, total_cost=0.261,
        cost_usd=0.261, trust_score=64, event_count=60, duration_ms=295000.0,
    ),
    _session(
        "sess-11aa22bb", "completed", "codex", "gpt-4.1", tokens_in=9100, tokens_out=2100,
        llm_cost=0.035, compute_cost=0.004, total_cost=0.039, cost_usd=0.039,
        trust_score=92, event_count=214, duration_ms=1_260_000.0,
        ended_at=(START + timedelta(minutes=21)).isoformat(),
    ),
    _session(
        "sess-55ee66ff", "failed", "manual", None, trust_score=45, event_count=7,
        duration_ms=42000.0, compute_cost=0.001, total_cost=0.001, cost_usd=0.001,
    ),
]  # fmt: skip


def _events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    def add(type_: str, data: dict[str, Any], **extra: Any) -> None:
        seq = len(events) + 1
        events.append(
            {
                "id": f"evt-{seq:04d}",
                "session_id": "sess-33cc44dd",
                "sequence": seq,
                "type": type_,
                "timestamp": (START + timedelta(seconds=5 * seq)).isoformat(),
                "duration_ms": extra.get("duration_ms"),
                "data": data,
            }
        )

    def output(text: str) -> None:
        add("other", {"kind": "terminal_output", "data": text, "offset": 0})

    add("lifecycle", {"action": "open", "channel": "terminal", "cols": 80, "rows": 24})
    output(PROMPT)
    step = 0
    while len(events) < 60:
        step += 1
        add("llm_call", {"model": "claude-sonnet-4", "tokens_in": 3400, "tokens_out": 690,
                         "cost_usd": 0.0205}, duration_ms=1800.0)  # fmt: skip
        command = f"pytest tests/test_{step}.py -q"
        add("command", {"command": command, "source": "terminal"})
        output(f"{command}\r\n")
        colour = "32" if step % 3 else "31"
        verdict = "passed" if step % 3 else "failed"
        output(f"\x1b[{colour}m{step * 3} {verdict}\x1b[0m in 0.{step}1s\r\n{PROMPT}")
        if step % 4 == 0:
            add("file_op", {"path": f"src/module_{step}.py", "kind": "modify",
                            "diff": f"--- a/src/module_{step}.py\n+++ b/src/module_{step}.py\n"
                                    "@@ -1 +1 @@\n-x = 1\n+x = 2\n"})  # fmt: skip
        if step == 5:
            add("network", {"host": "evil.example", "allowed": False})
    return events[:60]


EVENTS = _events()


def _json(data: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=data)


def handle(parts: list[str], request: httpx.Request) -> httpx.Response | None:
    """The sessions and replay routes; None for any other path."""
    if parts == ["sessions"]:
        return _json(
            {
                "data": SESSIONS,
                "pagination": {"page": 1, "per_page": 100, "total": len(SESSIONS),
                               "total_pages": 1},
            }
        )  # fmt: skip
    if len(parts) == 3 and parts[0] == "sandboxes" and parts[2] == "sessions":
        return _json([s for s in SESSIONS if s["sandbox_id"] == parts[1]])
    if parts[0] != "sessions" or len(parts) < 2:
        return None
    found = [s for s in SESSIONS if s["id"] == parts[1]]
    if not found:
        return _json({"title": "Not Found", "status": 404, "detail": "no session"}, 404)
    events = EVENTS if parts[1] == "sess-33cc44dd" else []
    if len(parts) == 2:
        return _json(found[0])
    if parts[2:] == ["replay", "summary"]:
        types: dict[str, int] = {}
        for event in events:
            types[event["type"]] = types.get(event["type"], 0) + 1
        return _json(
            {"session_id": parts[1], "event_count": len(events),
             "start_time": events[0]["timestamp"] if events else None,
             "end_time": events[-1]["timestamp"] if events else None,
             "duration_ms": 5000.0 * (len(events) - 1) if events else 0.0, "types": types}
        )  # fmt: skip
    if parts[2:] == ["replay"]:
        after = int(request.url.params.get("after_seq", 0))
        limit = int(request.url.params.get("limit", 100))
        type_ = request.url.params.get("type")
        shown = [e for e in events if e["sequence"] > after and type_ in (None, e["type"])]
        page = shown[:limit]
        return _json(
            {"events": page, "has_more": len(shown) > limit,
             "next_seq": page[-1]["sequence"] if page else after, "total": len(events)}
        )  # fmt: skip
    return None
