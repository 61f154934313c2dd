"""The platform's one SQLite access layer.

- :mod:`.db` — :class:`Database`: a file's connection (WAL, ``synchronous=FULL``,
  busy timeout, owner-only), the one thread its queries run on, and the hop to it.
- :mod:`.ledger` — the migration ledger every file keeps (and the adoption of the
  two older ledgers, so data dirs from before keep working).
- :mod:`.timestamps` — the one stored timestamp format: integer microseconds, UTC.
- :mod:`.platform_store` — ``platform.db`` (keys, tickets, sandboxes, logs,
  snapshots, settings) as :class:`Store`. The observe package keeps its schema
  (``observe.db``) in :mod:`caged_platform.observe.store`, on the same layer.
"""

from __future__ import annotations

from .db import Database, transaction
from .ledger import Migration
from .platform_store import MIGRATIONS, Row, Store
from .timestamps import from_us, now_us, to_us, utcnow

__all__ = [
    "MIGRATIONS",
    "Database",
    "Migration",
    "Row",
    "Store",
    "from_us",
    "now_us",
    "to_us",
    "transaction",
    "utcnow",
]
