"""Turning a terminal session's raw traffic into events.

*Input* is assembled into lines as a shell's line editor would see them:
printable text accumulates, backspace removes, ``ctrl+c``/``ctrl+u`` discard the
line, ``ctrl+w`` removes a word, escape sequences (arrow keys, function keys,
bracketed paste markers) are dropped, and Enter ends a line. Each line becomes
a ``command`` event (``{"command", "source": "terminal"}``), which is what the
trust rules read. Tab completion and history recall happen inside the shell, so
a completed word appears in the output, not in the line — a known limit.

*Output* is recorded as timestamped chunks — ``other`` events with
``{"kind": "terminal_output", "data", "offset"}`` (``offset`` = bytes of output
before this chunk) — so the session can be replayed as a recording. Chunks are
cut at :data:`CHUNK_CHARS` characters or after a short delay, whichever comes first; UTF-8
sequences split across reads are kept whole. A session stores at most
:data:`OUTPUT_CAP_BYTES` of output; past that, output is counted but not stored,
and one ``{"kind": "terminal_output_truncated", "dropped_bytes"}`` event says so
when the session closes.
"""

from __future__ import annotations

import codecs

__all__ = ["CHUNK_CHARS", "OUTPUT_CAP_BYTES", "LineAssembler", "OutputBuffer"]

#: Largest output chunk stored as one event, in characters: small enough that even output
#: made only of control characters (6 bytes each as JSON escapes) stays far under the cap.
CHUNK_CHARS = 4 * 1024
#: Output stored per terminal session (the rest is counted, not stored).
OUTPUT_CAP_BYTES = 8 * 1024 * 1024
#: Longest input line kept (a paste of a whole file is not a command).
MAX_LINE_CHARS = 16 * 1024

_ESC = "\x1b"


class LineAssembler:
    """Assembles typed input into lines (see the module docstring)."""

    def __init__(self) -> None:
        self._line: list[str] = []
        # Escape-sequence state: "" (none), "esc", "csi", "ss3", "osc".
        self._escape = ""

    def feed(self, data: str) -> list[str]:
        """Consume typed input; return the lines it completed."""
        lines: list[str] = []
        for char in data:
            if self._escape:
                self._consume_escape(char)
            elif char == _ESC:
                self._escape = "esc"
            elif char in "\r\n":
                if self._line:
                    lines.append("".join(self._line))
                self._line.clear()
            elif char in "\x7f\b":
                if self._line:
                    self._line.pop()
            elif char in "\x03\x15":  # ctrl+c, ctrl+u: the line is discarded
                self._line.clear()
            elif char == "\x17":  # ctrl+w: delete the word before the cursor
                text = "".join(self._line).rstrip()
                cut = text.rfind(" ") + 1
                self._line = list(text[:cut])
            elif char >= " " and len(self._line) < MAX_LINE_CHARS:
                self._line.append(char)
        return lines

    def _consume_escape(self, char: str) -> None:
        state = self._escape
        if state == "esc":
            self._escape = {"[": "csi", "O": "ss3", "]": "osc"}.get(char, "")
        elif state == "csi":
            # Parameters and intermediates are 0x20-0x3f; the final byte ends it.
            if "\x40" <= char <= "\x7e":
                self._escape = ""
        elif state == "ss3":
            self._escape = ""
        elif state == "osc" and char in "\x07\x1b":
            # BEL ends an OSC; ESC starts its ST terminator (ESC \), whose "\" is then dropped.
            self._escape = "esc" if char == _ESC else ""


class OutputBuffer:
    """Pending terminal output of one session, with the per-session cap."""

    def __init__(self, cap_bytes: int = OUTPUT_CAP_BYTES) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._cap = cap_bytes
        self._pending = ""
        #: Monotonic time the oldest pending output arrived (None when nothing is pending).
        self.pending_since: float | None = None
        self._received = 0  # raw bytes accepted (counted against the cap)
        self._emitted = 0  # UTF-8 bytes of text handed out so far: the next chunk's offset
        #: Bytes over the cap, counted but not stored.
        self.dropped = 0

    @property
    def pending_chars(self) -> int:
        return len(self._pending)

    def add(self, data: bytes, now: float) -> None:
        """Buffer output; whatever lies past the cap is only counted."""
        room = self._cap - self._received
        if len(data) > room:
            self.dropped += len(data) - max(room, 0)
            data = data[: max(room, 0)]
        if not data:
            return
        self._received += len(data)
        self._pending += self._decoder.decode(data)
        if self.pending_since is None:
            self.pending_since = now

    def take(self, *, final: bool = False) -> tuple[str, int] | None:
        """The next chunk of at most :data:`CHUNK_CHARS` characters and its offset, or None.

        The offset counts UTF-8 bytes of the text recorded before the chunk (for
        valid UTF-8 output, exactly the bytes the terminal showed before it).
        ``final`` also flushes a character left incomplete by the last read.
        """
        if final:
            self._pending += self._decoder.decode(b"", final=True)
        if not self._pending:
            self.pending_since = None
            return None
        head, self._pending = self._pending[:CHUNK_CHARS], self._pending[CHUNK_CHARS:]
        offset = self._emitted
        self._emitted += len(head.encode("utf-8"))
        if not self._pending:
            self.pending_since = None
        return head, offset
