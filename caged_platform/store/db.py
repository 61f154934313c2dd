"""One SQLite database file: its connection, its thread, its migrations.

Every database of the platform (``platform.db``, ``observe.db``) is opened the
same way: WAL, so readers elsewhere (the ``sqlite3`` CLI, a backup) proceed
during writes; ``synchronous=FULL``, so a commit is on disk before the caller is
told the data was accepted and survives a ``kill -9`` or a power cut; a busy
timeout for those outside readers; the file owner-only from its creation
(it holds key hashes and webhook URLs).

sqlite3 blocks, so the one connection is owned by one dedicated thread and every
query runs there, never on the event loop. That thread runs one job at a time in
submission order: a job that reads and then writes (allocating sequence numbers,
say) needs no locking of its own, and a job submitted without waiting
(:meth:`Database.submit`) is still seen by every job submitted after it.

The files are kept apart so that a flood of ingested events (``observe.db``)
never queues behind, or holds the write lock against, the sandbox bookkeeping
of ``platform.db``; both keep the same ledger (:mod:`.ledger`) and the same
timestamp format (:mod:`.timestamps`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from .ledger import Migration, migrate

__all__ = ["Database", "transaction"]

P = ParamSpec("P")
T = TypeVar("T")


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed on success, rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Database:
    """A database file: open with :meth:`open`, run work with :meth:`run`, :meth:`close`.

    ``migrations`` is the file's schema (:class:`~.ledger.Migration` steps);
    ``foreign_keys`` switches on SQLite's enforcement after migrating.
    """

    def __init__(
        self, path: Path, migrations: Sequence[Migration], *, foreign_keys: bool = False
    ) -> None:
        self.path = path
        self._migrations = migrations
        self._foreign_keys = foreign_keys
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    @property
    def is_open(self) -> bool:
        """Whether :meth:`open` has been called and :meth:`close` not yet."""
        return self._executor is not None

    async def open(self) -> None:
        """Create or open the file and bring its schema up to date."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.path.stem)
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._connect)
        except BaseException:
            self._executor.shutdown(wait=True)
            self._executor = None
            raise

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(mode=0o600, exist_ok=True)
        self.path.chmod(0o600)  # files from before the layer may have been created wider
        # isolation_level=None: autocommit; transactions are explicit (transaction()).
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=5000")
            migrate(conn, self._migrations, self.path.name)
            if self._foreign_keys:
                conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def submit(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Future[T]:
        """Queue ``fn(conn, *args, **kwargs)`` on the database thread without waiting;
        from any thread. It runs before every job submitted after it."""
        if self._executor is None:
            raise RuntimeError(f"{self.path.name} is not open")

        def job() -> T:
            if self._conn is None:
                raise RuntimeError(f"{self.path.name} is not open")
            return fn(self._conn, *args, **kwargs)

        return self._executor.submit(job)

    async def run(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(conn, *args, **kwargs)`` on the database thread and return its result."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    async def close(self) -> None:
        """Close the connection (after queued work has run) and stop the thread."""
        if self._executor is None:
            return

        def shut(conn: sqlite3.Connection) -> None:
            conn.close()
            self._conn = None

        if self._conn is not None:
            await self.run(shut)
        self._executor.shutdown(wait=True)
        self._executor = None
