"""Presenting results: the console table, the JSON file and the README section."""

from __future__ import annotations

import json
import math
import os
import platform
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks._common import Row

README_START = "<!-- perf:start -->"
README_END = "<!-- perf:end -->"
_HEADERS = ("metric", "ours", "reference", "ratio", "target", "met?")


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 1000:
        text = f"{value:,.0f}"
    elif magnitude >= 100:
        text = f"{value:.0f}"
    elif magnitude >= 10:
        text = f"{value:.1f}"
    elif magnitude >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def _met(row: Row) -> str:
    if row.target.bound is None:
        return "—"
    return {True: "yes", False: "NO", None: "?"}[row.met]


def cells(row: Row) -> tuple[str, ...]:
    """One row as the table's text cells."""
    ratio = row.ratio
    return (
        f"{row.benchmark}: {row.metric}",
        _number(row.ours, row.unit),
        _number(row.reference, row.unit),
        "—" if ratio is None else f"{ratio:.2f}",
        row.target.text,
        _met(row),
    )


def text_table(rows: Sequence[Row]) -> str:
    """A fixed-width table for the console."""
    body = [cells(row) for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(_HEADERS)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(_HEADERS, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(lines)


def markdown_table(rows: Sequence[Row]) -> str:
    """The same table in Markdown (for the README)."""
    lines = ["| " + " | ".join(_HEADERS) + " |", "|" + "---|" * len(_HEADERS)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def machine() -> dict[str, str]:
    """The machine and software the numbers come from."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        match = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        if match:
            ram = f"{int(match.group(1)) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count() or "?"),
        "cpu": cpu,
        "ram": ram,
        "python": platform.python_version(),
        "textual": version("textual"),
        "pyte": version("pyte"),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def write_json(path: Path, rows: Sequence[Row], mode: str, info: dict[str, str]) -> None:
    """The results, the mode and the machine as one JSON document."""
    document: dict[str, Any] = {
        "mode": mode,
        "machine": info,
        "results": [row.to_json() for row in rows],
    }
    path.write_text(json.dumps(document, indent=2, allow_nan=True) + "\n")


def readme_section(rows: Sequence[Row], mode: str, info: dict[str, str]) -> str:
    """The Markdown that goes between the README's perf markers."""
    notes = [f"- **{r.benchmark}: {r.metric}** — {r.note}" for r in rows if r.note]
    parts = [
        "## Performance",
        "",
        f"Latest {mode} run of `python -m benchmarks` ({info['date']}) on {info['nproc']} x "
        f"{info['cpu']}, {info['ram']} RAM; Python {info['python']}, Textual {info['textual']}, "
        f"pyte {info['pyte']}. Each ratio is ours ÷ reference, from the medians of interleaved "
        "runs measured together; absolute numbers are context only (the machine is shared). "
        "`benchmarks/*.py` docstrings say what each one measures and why its reference is the "
        "right one.",
        "",
        markdown_table(rows),
    ]
    if notes:
        parts += ["", *notes]
    return "\n".join(parts)


def update_readme(path: Path, section: str) -> None:
    """Replace the text between the perf markers (appending them at the end if absent)."""
    text = path.read_text()
    block = f"{README_START}\n{section}\n{README_END}"
    if README_START in text and README_END in text:
        head, rest = text.split(README_START, 1)
        _, tail = rest.split(README_END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
