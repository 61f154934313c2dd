"""The TUI skeleton of issue 12: the virtual table, its list source, the live feed, the registry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from eventually import eventually_async
from textual.app import App, ComposeResult

from caged_core.client import AsyncCaged
from caged_core.errors import CagedConnectionError
from caged_tui import registry
from caged_tui.live import Fetched, LiveFeed, TopicSpec
from caged_tui.status import Connection
from caged_tui.widgets.virtual_table import Column, ListSource, TableRow, VirtualTable

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _source(count: int) -> ListSource[tuple[str, int]]:
    source: ListSource[tuple[str, int]] = ListSource(
        lambda item: item[0], lambda item, now: ((item[0], ""), (str(item[1]), "")), NOW
    )
    source.update([(f"row-{i:05d}", i) for i in range(count)])
    return source


class TableApp(App[None]):
    def __init__(self, source: ListSource[tuple[str, int]]) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        yield VirtualTable([Column("name", "NAME"), Column("n", "N")], self.source)


# ---------------------------------------------------------------------- ListSource


def test_list_source_formats_only_the_window() -> None:
    rendered: list[str] = []

    def render(item: tuple[str, int], now: datetime) -> tuple[tuple[str, str], ...]:
        rendered.append(item[0])
        return ((item[0], ""),)

    source: ListSource[tuple[str, int]] = ListSource(lambda item: item[0], render, NOW)
    source.update([(f"r{i}", i) for i in range(10_000)])
    assert source.rows(100, 103) == [TableRow(f"r{i}", ((f"r{i}", ""),)) for i in (100, 101, 102)]
    source.rows(100, 103)
    assert rendered == ["r100", "r101", "r102"]  # cached the second time


def test_list_source_update_reports_changed_keys_and_structure() -> None:
    source = _source(3)
    source.rows(0, 3)  # painted
    change = source.update([("row-00000", 0), ("row-00001", 99), ("row-00002", 2)])
    assert change.keys == {"row-00001"} and not change.structure
    assert source.rows(1, 2)[0].cells[1] == ("99", "")
    change = source.update([("row-00002", 2), ("row-00000", 0)])
    assert change.structure and source.index_of("row-00002") == 0


def test_list_source_update_reports_only_rows_whose_text_changed() -> None:
    # The second field is shown in tens only, like a cost shown in cents.
    source: ListSource[tuple[str, int]] = ListSource(
        lambda item: item[0], lambda item, now: ((str(item[1] // 10), ""),), NOW
    )
    source.update([("a", 1), ("b", 2), ("c", 3)])
    source.rows(0, 2)  # a and b painted, c not yet
    change = source.update([("a", 4), ("b", 12), ("c", 30)])
    assert change.keys == {"b"} and not change.structure
    assert [row.cells for row in source.rows(0, 3)] == [(("0", ""),), (("1", ""),), (("3", ""),)]


def test_list_source_filter_sort_and_retime() -> None:
    source: ListSource[tuple[str, datetime]] = ListSource(
        lambda item: item[0],
        lambda item, now: ((item[0], ""), (str(int((now - item[1]).total_seconds())), "")),
        NOW,
    )
    source.update([("a", NOW), ("b", NOW - timedelta(seconds=5)), ("c", NOW)])
    source.view(filter=lambda item: item[0] != "c", sort=lambda item: item[1], reverse=False)
    assert [row.key for row in source.rows(0, 10)] == ["b", "a"]
    changed = source.retime(NOW + timedelta(seconds=1), ["a"])
    assert changed == {"a"}
    assert source.rows(0, 2)[1].cells[1] == ("1", "")


# ---------------------------------------------------------------------- VirtualTable


async def test_table_keys_move_the_cursor_and_keep_it_by_key() -> None:
    source = _source(1000)
    app = TableApp(source)
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(VirtualTable)
        table.focus()
        await pilot.press("j", "j", "k")
        assert table.cursor_key == "row-00001"
        await pilot.press("G")
        assert table.cursor_key == "row-00999" and table.scroll_y > 900
        await pilot.press("g")
        assert table.cursor_key == "row-00000" and table.scroll_y == 0
        await pilot.press("pagedown")
        assert table.cursor_row == table.page_height
        await pilot.press("end", "home", "down")
        # Rows above the cursor vanish: the cursor stays on its row, not its index.
        table.source_changed(source.update([(f"row-{i:05d}", i) for i in range(1, 1000)]))
        await pilot.pause()
        assert table.cursor_key == "row-00001" and table.cursor_row == 0


async def test_table_paints_only_visible_rows_and_changed_lines() -> None:
    source = _source(100_000)
    app = TableApp(source)
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(VirtualTable)
        await pilot.pause()
        assert len(source._formatted) < 40
        painted: list[int] = []
        original = table.refresh_line

        def refresh_line(y: int) -> None:
            painted.append(y)
            original(y)

        table.refresh_line = refresh_line  # type: ignore[method-assign]
        items = [(f"row-{i:05d}", i) for i in range(100_000)]
        items[3] = ("row-00003", -3)
        items[50_000] = ("row-50000", -1)  # changed but off screen: not repainted
        table.source_changed(source.update(items))
        assert painted == [4]


async def test_table_warms_the_next_page_before_the_key() -> None:
    """A page key's frame only composes lines: the page below (and above) is formatted
    and painted after each scroll, while nothing else happens."""
    source = _source(1000)
    app = TableApp(source)
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(VirtualTable)
        table.focus()
        await pilot.pause()
        page = table.page_height
        await eventually_async(lambda: f"row-{2 * page - 1:05d}" in source._formatted)
        built = len(table._strips)
        await pilot.press("pagedown")
        await pilot.pause()
        # The page after the new one is warm in turn.
        assert f"row-{3 * page - 1:05d}" in source._formatted
        assert len(table._strips) >= built + page


# ---------------------------------------------------------------------- LiveFeed


class _FeedApp(App[None]):
    pass


def _no_client() -> AsyncCaged:
    """These topics never touch the client they are handed."""
    return cast(AsyncCaged, None)


def _etag_client(bodies: list[tuple[str, str]], seen: list[str | None]) -> AsyncCaged:
    """A client whose GET /sandboxes answers with ETags and 304s."""

    def handle(request: httpx.Request) -> httpx.Response:
        sent = request.headers.get("if-none-match")
        seen.append(sent)
        etag, body = bodies[-1]
        if sent == etag:
            return httpx.Response(304, headers={"etag": etag})
        return httpx.Response(200, content=body, headers={"etag": etag})

    return AsyncCaged(
        api_key="caged_sk_test", base_url="http://caged.test", transport=httpx.MockTransport(handle)
    )


async def test_live_feed_uses_etags_and_publishes_only_changes() -> None:
    bodies = [('"v1"', '[{"id": "a", "status": "running"}]')]
    seen: list[str | None] = []
    client = _etag_client(bodies, seen)
    app = _FeedApp()
    async with app.run_test():
        feed = LiveFeed(app, lambda: client, lambda: True)
        got: list[list[str]] = []
        from caged_tui.live import SANDBOXES

        feed.subscribe(app, SANDBOXES, lambda sandboxes: got.append([sb.id for sb in sandboxes]))
        await feed.poll_once()
        await feed.poll_once()
        bodies.append(('"v2"', '[{"id": "a"}, {"id": "b"}]'))
        await feed.poll_once()
        await app.workers.wait_for_complete()
        for _ in range(10):
            await asyncio.sleep(0)
        assert seen == [None, '"v1"', '"v1"']
        assert got == [["a"], ["a", "b"]]
    await client.aclose()


async def test_live_feed_without_etags_compares_values() -> None:
    calls: list[int] = []

    async def fetch(client: Any, etag: str | None) -> Fetched[int]:
        calls.append(1)
        return Fetched(7)

    app = _FeedApp()
    async with app.run_test():
        feed = LiveFeed(app, _no_client, lambda: True)
        got: list[int] = []
        feed.subscribe(app, TopicSpec("seven", fetch), got.append)
        await feed.poll_once()
        await feed.poll_once()
        await asyncio.sleep(0)
        assert len(calls) == 2 and got == [7]


async def test_live_feed_backs_off_while_idle_and_offline() -> None:
    clock = [0.0]

    async def unchanged(client: Any, etag: str | None) -> Fetched[int]:
        return Fetched(None)

    app = _FeedApp()
    async with app.run_test():
        feed = LiveFeed(
            app, _no_client, lambda: True, interval=2.0, idle_cap=30.0, clock=lambda: clock[0]
        )
        feed.subscribe(app, TopicSpec("quiet", unchanged), lambda value: None)
        # Untouched since it started: the user counts as idle, the wait grows at once.
        assert feed.user_idle and await feed.poll_once() == 4.0
        feed.activity()  # a key press: the fast pace while the user is active
        assert not feed.user_idle and await feed.poll_once() == 2.0
        clock[0] = 60.0  # idle again
        delays = []
        for _ in range(6):
            feed.delay = await feed.poll_once()
            delays.append(feed.delay)
        assert delays == [4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
        feed.activity()
        assert feed.delay == 2.0

        async def down(client: Any, etag: str | None) -> Fetched[int]:
            raise CagedConnectionError("refused")

        health: list[Connection] = []
        feed.health.subscribe(app, lambda h: health.append(h.connection), immediate=True)
        feed.subscribe(app, TopicSpec("down", down), lambda value: None)
        assert await feed.poll_once() == 4.0
        assert health == [Connection.OFFLINE]


async def test_live_feed_pauses_in_the_background() -> None:
    foreground = [False]
    app = _FeedApp()
    async with app.run_test():
        feed = LiveFeed(app, _no_client, lambda: foreground[0])
        sleeper = asyncio.create_task(feed._sleep(0))
        await asyncio.sleep(0.05)
        assert not sleeper.done()
        foreground[0] = True
        feed.poke()
        await asyncio.wait_for(sleeper, 5)


# ---------------------------------------------------------------------- registry


def test_registry_resolves_names_and_loads_screens() -> None:
    assert registry.resolve("sand") is registry.DEFAULT
    assert registry.resolve("t") is None  # terminals and theme: ambiguous
    assert registry.resolve("term") is not None
    assert registry.resolve("nothing") is None
    for entry in registry.SCREENS:
        if entry.target:
            assert entry.load().__name__ == entry.target.rpartition(":")[2]


def test_screens_do_not_import_the_app_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import caged_tui.screens.sandboxes, caged_tui.screens.detail.screen; "
        "print('caged_tui.app' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", ["sandboxes", "terminals", "profiles", "help", "theme", "quit"])
def test_every_destination_is_in_the_registry(name: str) -> None:
    assert registry.resolve(name) is not None
