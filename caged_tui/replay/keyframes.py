"""Terminal keyframes: the terminal's state kept along a recording, for fast backward seeks.

Playing forward feeds each output chunk to the terminal as the playhead passes
it. Going back cannot un-parse, so :func:`build_keyframes` (run in a worker
thread) parses the whole recording once and keeps a copy of the screen every
:data:`KEYFRAME_CHARS` characters of output, taken only where the parser is at rest (not
inside an escape sequence a later chunk completes). A seek restores the last
keyframe at or before the target and plays the few steps (output chunks, resizes)
after it:
:meth:`TerminalTape.plan`.
"""

from __future__ import annotations

import copy
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from caged_tui.widgets.terminal import TerminalScreen
from caged_tui.widgets.terminal.stream import TerminalStream

#: Output between two keyframes: a seek parses at most this much (~30 ms at pyte's rate).
KEYFRAME_CHARS = 32 * 1024
#: Terminal size when the recording does not say (the platform's PTY default).
DEFAULT_SIZE = (80, 24)

#: One step of a recording: output text, or a resize to ``(columns, lines)``.
Step = str | tuple[int, int]


@dataclass(frozen=True, slots=True)
class Keyframe:
    """The screen once the first ``fed`` steps were played (a copy nobody mutates)."""

    fed: int
    screen: TerminalScreen


def blank_screen(columns: int, lines: int) -> TerminalScreen:
    """A terminal as a recording starts: empty, no scrollback (a replay shows the screen)."""
    return TerminalScreen(columns, lines, scrollback=0)


def play(screen: TerminalScreen, stream: TerminalStream, step: Step) -> int:
    """Apply one step to ``screen``; returns the characters parsed."""
    if isinstance(step, tuple):
        columns, lines = step
        screen.resize(lines, columns)
        return 0
    stream.feed_text(step)
    return len(step)


def build_keyframes(
    steps: Sequence[Step],
    columns: int,
    lines: int,
    *,
    every: int = KEYFRAME_CHARS,
    cancelled: Callable[[], bool] = lambda: False,
) -> list[Keyframe]:
    """Play ``steps`` once, keeping a keyframe about every ``every`` characters (the
    first is the blank screen). Stops early, returning what it has, when ``cancelled()``
    (the screen closed)."""
    screen = blank_screen(columns, lines)
    stream = TerminalStream(screen)
    frames = [Keyframe(0, copy.deepcopy(screen))]
    since = 0
    for index, step in enumerate(steps):
        if cancelled():
            break
        since += play(screen, stream, step)
        if since >= every and stream.at_rest:
            frames.append(Keyframe(index + 1, copy.deepcopy(screen)))
            since = 0
    return frames


@dataclass(frozen=True, slots=True)
class Plan:
    """How to show the terminal at a sequence: start over from ``restore`` (None: keep
    the current screen) and play ``steps``; ``fed`` steps are then shown."""

    restore: TerminalScreen | None
    steps: list[Step]
    fed: int


class TerminalTape:
    """A session's terminal recording by sequence, and its keyframes once computed."""

    def __init__(self, columns: int, lines: int) -> None:
        self.columns = columns
        self.lines = lines
        self.sequences: list[int] = []
        self.steps: list[Step] = []
        self.keyframes: list[Keyframe] = [Keyframe(0, blank_screen(columns, lines))]

    def add(self, sequence: int, step: Step) -> None:
        """Append a step recorded at ``sequence`` (after every step already added)."""
        self.sequences.append(sequence)
        self.steps.append(step)

    def plan(self, sequence: int, fed: int) -> Plan:
        """How to go from ``fed`` steps shown to the state just after event ``sequence``."""
        target = bisect_right(self.sequences, sequence)
        if target >= fed:
            return Plan(None, self.steps[fed:target], target)
        frames = self.keyframes
        index = bisect_right([k.fed for k in frames], target) - 1
        frame = frames[max(0, index)]
        return Plan(copy.deepcopy(frame.screen), self.steps[frame.fed : target], target)
