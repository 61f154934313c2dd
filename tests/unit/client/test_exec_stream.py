"""The marker protocol: split at every byte boundary, against real shells on a
PTY (which echo input like a terminal does), dropped sockets and silent commands."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import fcntl
import json
import os
import pty
import shutil
import signal
import termios
from collections.abc import Sequence
from pathlib import Path

import pytest
from client_fakes import WSServer, emulate, markers, output
from eventually import TIMEOUT
from websockets.asyncio.server import ServerConnection

from caged_core.client import AsyncCaged, ExecStream
from caged_core.client.realtime import MarkerParser

NONCE = "0123456789abcdef"


# --------------------------------------------------------------------------- the parser


def test_frames_never_contain_a_whole_marker() -> None:
    parser = MarkerParser(NONCE)
    frames = parser.setup_lines("echo hi")
    assert len(frames) == 3 and frames[1] == "(\necho hi\n)\n"
    typed = "".join(frames)
    assert parser.begin not in typed and parser.exit not in typed
    assert markers(frames) == (parser.begin, parser.exit)


@pytest.mark.parametrize(
    ("out", "code"),
    [("hello ✓ world\nline 2\n", 0), ("", 0), ("no newline", 127), ("\r50%\r100%\n", 3)],
    ids=["lines", "silent", "no-newline", "progress"],
)
def test_parser_at_every_split(out: str, code: int) -> None:
    parser0 = MarkerParser(NONCE)
    transcript = emulate(parser0.setup_lines("cmd"), out, code)
    expected = out.replace("\r\n", "\n")
    for cut in range(len(transcript) + 1):
        parser = MarkerParser(NONCE)
        got = parser.feed(transcript[:cut]) + parser.feed(transcript[cut:])
        assert (got, parser.exit_code, parser.done) == (expected, code, True), cut
    one_by_one = MarkerParser(NONCE)
    assert "".join(one_by_one.feed(ch) for ch in transcript) == expected
    assert one_by_one.exit_code == code


def test_exit_code_waits_for_its_newline() -> None:
    parser = MarkerParser(NONCE)
    assert parser.feed(f"{parser.begin}\r\nout\r\n{parser.exit}1") == "out\n"
    assert parser.exit_code is None and not parser.done
    parser.feed("27")
    assert parser.exit_code is None
    parser.feed("\r\n")
    assert parser.exit_code == 127 and parser.done


def test_stream_ending_early_releases_held_output() -> None:
    parser = MarkerParser(NONCE)
    assert parser.feed(f"{parser.begin}\nabc__CAG") == "abc"
    assert parser.finish() == "__CAG" and parser.exit_code is None
    before_begin = MarkerParser(NONCE)
    assert before_begin.feed("banner only") == "" and before_begin.finish() == ""
    in_code = MarkerParser(NONCE)
    in_code.feed(f"{in_code.begin}\n{in_code.exit}12")
    assert in_code.finish() == "" and in_code.exit_code is None


# --------------------------------------------------------------------------- over a socket


class Emulator:
    """A terminal peer printing :func:`emulate`'s transcript. The command says
    how to frame it: ``cut N`` → two binary frames split at byte N; ``bytes``
    → one frame per byte."""

    def __init__(self, out: str, code: int) -> None:
        self.out, self.code = out, code
        self.typed: list[str] = []

    async def __call__(self, ws: ServerConnection) -> None:
        frames = [json.loads(await ws.recv())["data"] for _ in range(3)]
        self.typed = frames
        data = emulate(frames, self.out, self.code).encode()
        command = frames[1].strip("()\n")
        if command.startswith("cut "):
            cut = int(command.split()[1])
            pieces = [data[:cut], data[cut:]]
        else:
            pieces = [data[i : i + 1] for i in range(len(data))]
        for piece in pieces:
            await ws.send(piece)
        await ws.wait_closed()


async def run(client: AsyncCaged, command: str) -> tuple[str, int | None, ExecStream]:
    stream = await client.sandboxes.exec_stream("s", command)
    chunks = await asyncio.wait_for(stream.text(), 15)  # a hang guard, not a speed test
    return chunks, stream.exit_code, stream


async def test_socket_split_at_every_byte(ws_client: AsyncCaged, ws_server: WSServer) -> None:
    """One frame per byte puts a boundary everywhere in one run; then every
    two-frame split from just before the begin marker to the end (the parser
    test above covers every split of the whole transcript, banner and echo too)."""
    out = "héllo ✓\n"
    peer = Emulator(out, 42)
    ws_server.handler = peer
    assert (await run(ws_client, "bytes"))[:2] == (out, 42)
    first, _, last = peer.typed
    transcript = emulate([first, "(\ncut 000\n)\n", last], out, 42).encode()
    start = transcript.index(b"__CAGED_BEGIN_") - 3
    limit = asyncio.Semaphore(16)  # sockets are opened concurrently to keep the test fast

    async def one(cut: int) -> None:
        async with limit:
            text, code, stream = await run(ws_client, f"cut {cut:03d}")
        assert (text, code, stream.closed) == (out, 42, True), cut

    await asyncio.gather(*(one(cut) for cut in range(start, len(transcript) + 1)))
    assert "rows" not in ws_server.paths[0] and "cols" not in ws_server.paths[0]


async def test_dropped_mid_stream(ws_client: AsyncCaged, ws_server: WSServer) -> None:
    async def dropper(ws: ServerConnection) -> None:
        frames = [json.loads(await ws.recv())["data"] for _ in range(3)]
        begin, _ = markers(frames)
        await ws.send(output(f"$ {begin}\r\nhalf of the out"))
        await asyncio.sleep(0.05)
        ws.transport.abort()

    ws_server.handler = dropper
    stream = await ws_client.sandboxes.exec_stream("s", "npm test")
    chunks = await asyncio.wait_for(_collect(stream), 5)
    assert "".join(chunks) == "half of the out" and stream.exit_code is None
    assert await asyncio.wait_for(stream.wait(), 1) is None


async def _collect(stream: ExecStream) -> list[str]:
    return [chunk async for chunk in stream]


async def test_closed_before_anything(ws_client: AsyncCaged, ws_server: WSServer) -> None:
    async def closer(ws: ServerConnection) -> None:
        await ws.close(1001, "sandbox paused")

    ws_server.handler = closer
    stream = await ws_client.sandboxes.exec_stream("s", "true")
    assert await asyncio.wait_for(stream.wait(), 5) is None
    assert stream.close_code == 1001


async def test_close_ends_iteration(ws_client: AsyncCaged, ws_server: WSServer) -> None:
    async def silent(ws: ServerConnection) -> None:
        await ws.wait_closed()

    ws_server.handler = silent
    async with await ws_client.sandboxes.exec_stream("s", "sleep 100") as stream:
        reader = asyncio.create_task(stream.wait())
        await asyncio.sleep(0.05)
        await stream.close()
        assert await asyncio.wait_for(reader, 5) is None
    assert "ExecStream s" in repr(stream)


# --------------------------------------------------------------------------- real shells on a PTY


def _controlling_tty() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    # Default SIGINT/SIGQUIT for the shell, as local_pty does (a suite started in the
    # background ignores both, and ctrl+c could then never stop the shell's job).
    for number in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(number, signal.SIG_DFL)


def shell_peer(argv: Sequence[str], home: Path):  # type: ignore[no-untyped-def]
    """A terminal endpoint backed by a real shell on a PTY (kernel or readline echo)."""

    async def serve(ws: ServerConnection) -> None:
        master, slave = pty.openpty()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=_controlling_tty,
            env={"PATH": os.environ["PATH"], "HOME": str(home), "TERM": "xterm", "PS1": "$ "},
            cwd=home,
        )
        os.close(slave)
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[bytes] = asyncio.Queue()

        def readable() -> None:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(master)
            chunks.put_nowait(data)

        loop.add_reader(master, readable)

        async def typing() -> None:
            async for message in ws:
                frame = json.loads(message)
                if frame["type"] == "input":
                    os.write(master, frame["data"].encode())

        typer = asyncio.create_task(typing())
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        try:
            while data := await chunks.get():
                await ws.send(output(decoder.decode(data)))
            await ws.close()
        finally:
            typer.cancel()
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            os.close(master)

    return serve


SHELLS = [("sh", "-i"), ("bash", "--norc", "--noprofile", "-i")]


@pytest.mark.parametrize("argv", SHELLS, ids=["dash", "bash-readline"])
async def test_real_shell_echo_is_never_output(
    ws_client: AsyncCaged, ws_server: WSServer, tmp_path: Path, argv: tuple[str, ...]
) -> None:
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed")
    ws_server.handler = shell_peer(argv, tmp_path)
    text, code, _ = await run(ws_client, "echo 'hello world'; printf 'ünïcode\\n'; (exit 3)")
    assert (text, code) == ("hello world\nünïcode\n", 3)
    text, code, _ = await run(ws_client, "true")
    assert (text, code) == ("", 0)
    text, code, _ = await run(ws_client, "printf abc")
    assert (text, code) == ("abc", 0)
    text, code, _ = await run(ws_client, "nonexistent-command-xyz 2>/dev/null")
    assert (text, code) == ("", 127)
    text, code, _ = await run(ws_client, "printf 'a\\nb\\n'; exit 5")
    assert (text, code) == ("a\nb\n", 5)
    text, code, _ = await run(ws_client, "cat <<'EOF'\nheredoc line\nEOF")
    assert (text, code) == ("heredoc line\n", 0)


async def test_real_shell_kill(ws_client: AsyncCaged, ws_server: WSServer, tmp_path: Path) -> None:
    ws_server.handler = shell_peer(SHELLS[0], tmp_path)
    stream = await ws_client.sandboxes.exec_stream("s", "echo started; sleep 30")
    first = await asyncio.wait_for(anext(stream), 5)
    assert first.startswith("started")
    await stream.kill()
    # kill() types ctrl+c and the exit line again on a schedule of its own (~7 s in all,
    # see _RETYPE_DELAYS) before it hangs up: a bound shorter than that failed on a loaded
    # machine where the first try was lost; the suite's hang bound waits the schedule out.
    await asyncio.wait_for(stream.wait(), TIMEOUT)
    assert stream.exit_code == 130
