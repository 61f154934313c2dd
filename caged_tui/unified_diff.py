"""Unified diffs (as ``git diff`` prints them) read into files, hunks and lines.

Pure (no Textual; its text is made safe to paint by :mod:`caged_tui.safe_text`): the
diff screen lays these out unified or side by side, counts ``+``/``-`` per file and
marks the words that changed inside a changed line (a removed line is paired with the
added line at the same place in its run of changes, as GitHub and delta do).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from caged_tui.safe_text import controls_escaped

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_WORDS = re.compile(r"\w+|\s+|[^\w\s]")


@dataclass(slots=True)
class Line:
    """One line of a hunk: ``kind`` is ``" "`` (context), ``"+"`` or ``"-"``."""

    kind: str
    text: str
    old: int | None
    new: int | None
    #: (start, end) character spans that changed, for paired ``+``/``-`` lines.
    changed: list[tuple[int, int]] = field(default_factory=list)


@dataclass(slots=True)
class Hunk:
    """A hunk: its ``@@`` header and lines."""

    header: str
    lines: list[Line] = field(default_factory=list)


@dataclass(slots=True)
class FileDiff:
    """The diff of one file."""

    path: str
    header: list[str] = field(default_factory=list)
    hunks: list[Hunk] = field(default_factory=list)
    binary: bool = False

    @property
    def added(self) -> int:
        """Lines added."""
        return sum(line.kind == "+" for hunk in self.hunks for line in hunk.lines)

    @property
    def removed(self) -> int:
        """Lines removed."""
        return sum(line.kind == "-" for hunk in self.hunks for line in hunk.lines)


def _path_of(header: str) -> str:
    # "diff --git a/x b/x": the b/ side names the file as it is now.
    _, _, rest = header.partition(" b/")
    return rest or header.removeprefix("diff --git ").split(" ", 1)[0].removeprefix("a/")


def parse(text: str) -> list[FileDiff]:
    """The files of a unified diff, each with its hunks; changed words marked."""
    files: list[FileDiff] = []
    current: FileDiff | None = None
    hunk: Hunk | None = None
    old = new = 0
    # Lines come from the sandbox: control characters are escaped here, before the
    # changed words are measured, so that nothing painted can drive the terminal.
    for raw in map(controls_escaped, text.split("\n")):
        if not raw:
            continue  # the end of the text (git's empty context lines are " ")
        if raw.startswith("diff --git "):
            current = FileDiff(_path_of(raw), [raw])
            files.append(current)
            hunk = None
            continue
        if current is None:
            continue
        match = _HUNK.match(raw)
        if match:
            hunk = Hunk(raw)
            current.hunks.append(hunk)
            old, new = int(match.group(1)), int(match.group(2))
        elif hunk is None:
            current.header.append(raw)
            current.binary = current.binary or raw.startswith("Binary files")
        elif raw.startswith("+"):
            hunk.lines.append(Line("+", raw[1:], None, new))
            new += 1
        elif raw.startswith("-"):
            hunk.lines.append(Line("-", raw[1:], old, None))
            old += 1
        elif raw.startswith("\\"):
            continue  # "\ No newline at end of file"
        else:
            hunk.lines.append(Line(" ", raw[1:], old, new))
            old += 1
            new += 1
    for file in files:
        for each in file.hunks:
            _mark_words(each.lines)
    return files


def runs(lines: list[Line]) -> list[tuple[list[Line], list[Line]]]:
    """Each run of changes as (removed lines, added lines); context lines are a run of
    their own with both sides the same list."""
    result: list[tuple[list[Line], list[Line]]] = []
    removed: list[Line] = []
    added: list[Line] = []
    for line in lines:
        if line.kind == " ":
            if removed or added:
                result.append((removed, added))
                removed, added = [], []
            result.append(([line], [line]))
        elif line.kind == "-":
            if added:
                result.append((removed, added))
                removed, added = [], []
            removed.append(line)
        else:
            added.append(line)
    if removed or added:
        result.append((removed, added))
    return result


def _mark_words(lines: list[Line]) -> None:
    for removed, added in runs(lines):
        if removed is added:
            continue
        for old, new in zip(removed, added, strict=False):
            old.changed, new.changed = word_changes(old.text, new.text)


def word_changes(old: str, new: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character spans of ``old`` and ``new`` that differ, compared word by word."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < 0.3:
        return [], []  # mostly rewritten: marking every word says nothing
    old_spans, new_spans = [], []
    a_at = [0]
    for word in a:
        a_at.append(a_at[-1] + len(word))
    b_at = [0]
    for word in b:
        b_at.append(b_at[-1] + len(word))
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            old_spans.append((a_at[i1], a_at[i2]))
        if j2 > j1:
            new_spans.append((b_at[j1], b_at[j2]))
    return old_spans, new_spans
