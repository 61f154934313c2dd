"""Helpers for streamed text: batching chunks and cutting them into lines.

A command like ``yes`` produces output far faster than a widget can draw it;
posting one message per socket chunk would bury the event loop (and the
``ctrl+c`` that should stop it). :func:`batched` hands on at most one joined
chunk per interval instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator

#: Seconds between two batches: 10 updates a second look live and cost little.
BATCH_INTERVAL = 0.1


async def batched(
    chunks: AsyncIterable[str], interval: float = BATCH_INTERVAL
) -> AsyncIterator[str]:
    """Join the chunks that arrive within ``interval`` of the first one of a batch.

    A reader task moves chunks into a bounded queue (so a slow consumer still
    slows the source down); batches are cut from the queue, whose reads can
    time out safely — timing out a read of the source itself would cancel it.
    An error of the source is raised here once the chunks before it are out.
    """
    queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=256)
    failure: list[BaseException] = []

    async def pump() -> None:
        try:
            async for chunk in chunks:
                await queue.put(chunk)
        except Exception as error:
            failure.append(error)
        await queue.put(None)

    reader = asyncio.create_task(pump())
    loop = asyncio.get_running_loop()
    try:
        ended = False
        while not ended:
            first = await queue.get()
            if first is None:
                break
            batch = [first]
            deadline = loop.time() + interval
            while (remaining := deadline - loop.time()) > 0:
                try:
                    item = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    break
                if item is None:
                    ended = True
                    break
                batch.append(item)
            yield "".join(batch)
        if failure:
            raise failure[0]
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


class LineBuffer:
    """Cut a stream of text chunks into complete lines.

    PTY output arrives in arbitrary pieces; a log widget writes one line per
    call, so a partial line is held until its newline arrives (or :meth:`flush`).
    Carriage returns are dropped: ``\\r\\n`` is the PTY's line ending.
    """

    def __init__(self) -> None:
        self._partial = ""

    def feed(self, text: str) -> list[str]:
        """Add ``text``; return the lines it completed."""
        *lines, self._partial = (self._partial + text.replace("\r", "")).split("\n")
        return lines

    def flush(self) -> str:
        """Return and forget the incomplete last line."""
        rest, self._partial = self._partial, ""
        return rest
