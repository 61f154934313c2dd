"""The one timestamp format every table of the platform stores: integer microseconds
since the Unix epoch, UTC.

An integer is exact (no float rounding), sorts and compares in SQLite without
parsing, and costs 8 bytes instead of a 32-character ISO string. The wire
contract speaks ISO 8601; converting happens where rows become models.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["from_us", "now_us", "to_us", "utcnow"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch (a naive ``moment`` is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    """The inverse of :func:`to_us`, in UTC."""
    # Adding a timedelta is exact and several times faster than fromtimestamp + replace.
    return _EPOCH + timedelta(microseconds=value)


def now_us() -> int:
    """The current time as stored."""
    return to_us(utcnow())
