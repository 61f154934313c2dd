"""Pure text formatting for the screens: durations, ages, costs, sizes.

Kept free of Textual so the rules are unit-testable and identical everywhere.
Every function takes ``now`` explicitly: screens pass the app's injected clock,
which is what keeps snapshot tests deterministic.
"""

from __future__ import annotations

from datetime import datetime

from caged_core.models import Sandbox

#: Shown where a value is unknown or does not apply.
DASH = "–"  # noqa: RUF001 - the en dash is the intended glyph


def duration(seconds: float, *, coarse: bool = False) -> str:
    """A compact duration: ``42s``, ``5m``, ``3h12m``, ``2d4h``.

    ``coarse`` drops the seconds (``<1m``, ``7m``): what lists show while the
    user is idle, so that their clock repaints once a minute, not every second.
    """
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if coarse and not (days or hours):
        return f"{minutes}m" if minutes else "<1m"
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs:02d}s" if secs and minutes < 10 else f"{minutes}m"
    return f"{secs}s"


def since(moment: datetime | None, now: datetime, *, coarse: bool = False) -> str:
    """How long ago ``moment`` was, or a dash when it is unknown."""
    if moment is None:
        return DASH
    return duration((now - moment).total_seconds(), coarse=coarse)


def until(moment: datetime | None, now: datetime, *, coarse: bool = False) -> str:
    """How long until ``moment``, ``now`` when it has passed, a dash when unknown."""
    if moment is None:
        return DASH
    seconds = (moment - now).total_seconds()
    return duration(seconds, coarse=coarse) if seconds > 0 else "now"


#: Seconds a clock waits past the moment a text changes: a timer may fire a hair early.
CHANGE_SLACK = 0.01


def next_change(seconds: float, *, coarse: bool = False, falling: bool = False) -> float:
    """Seconds until :func:`duration` of ``seconds`` shows another text, as ``seconds``
    grows with the clock (an age) or, with ``falling``, shrinks (a countdown).

    The text's unit is what moves it: seconds below ten minutes (unless ``coarse``),
    minutes below a day, hours from then on.
    """
    total = max(0, int(seconds))
    if total >= 86400:
        step = 3600
    elif coarse or total >= 600:
        step = 60
    else:
        step = 1
    if falling:
        return seconds - total // step * step + CHANGE_SLACK
    return (total // step + 1) * step - seconds + CHANGE_SLACK


def since_changes(moment: datetime | None, now: datetime, *, coarse: bool = False) -> float | None:
    """Seconds until :func:`since` shows another text (None: it never will)."""
    if moment is None:
        return None
    return next_change((now - moment).total_seconds(), coarse=coarse)


def until_changes(moment: datetime | None, now: datetime, *, coarse: bool = False) -> float | None:
    """Seconds until :func:`until` shows another text (None: it never will)."""
    if moment is None or (seconds := (moment - now).total_seconds()) <= 0:
        return None
    return next_change(seconds, coarse=coarse, falling=True)


def money(amount: float) -> str:
    """USD with cents, or four decimals below one cent so small costs stay visible."""
    if 0 < amount < 0.01:
        return f"${amount:.4f}"
    return f"${amount:.2f}"


def cost(sandbox: Sandbox) -> str:
    """The sandbox's total cost, as ``x/budget`` when a budget is set."""
    spent = money(sandbox.total_cost)
    if sandbox.budget is None:
        return spent
    return f"{spent}/{money(sandbox.budget)}"


def resources(sandbox: Sandbox) -> str:
    """``cpus/memory/disk`` in one short cell, e.g. ``2c/512M/5G``."""
    return f"{sandbox.cpus}c/{sandbox.memory_mb}M/{sandbox.disk_gb}G"


def uptime(sandbox: Sandbox, now: datetime, *, coarse: bool = False) -> str:
    """Time running since the last start; a dash unless it is running."""
    if not sandbox.is_active or sandbox.started_at is None:
        return DASH
    return since(sandbox.started_at, now, coarse=coarse)


def uptime_changes(sandbox: Sandbox, now: datetime, *, coarse: bool = False) -> float | None:
    """Seconds until :func:`uptime` shows another text (None: it never will)."""
    if not sandbox.is_active or sandbox.started_at is None:
        return None
    return since_changes(sandbox.started_at, now, coarse=coarse)


def trust_band(score: int) -> str:
    """The docs' trust bands: excellent (90+), good (70+), caution (50+), alert."""
    if score >= 90:
        return "excellent"
    if score >= 70:
        return "good"
    if score >= 50:
        return "caution"
    return "alert"


def tokens(count: int) -> str:
    """A token count, compact: ``950``, ``12.3k``, ``4.1M``."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"


def timestamp(moment: datetime | None) -> str:
    """An absolute UTC timestamp for detail views."""
    if moment is None:
        return DASH
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def one_line(text: str | None, limit: int = 60) -> str:
    """The first line of ``text``, shortened to ``limit`` characters."""
    if not text:
        return DASH
    line = text.strip().splitlines()[0] if text.strip() else DASH
    return line if len(line) <= limit else line[: limit - 1] + "…"
