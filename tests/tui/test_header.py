"""The header paints its badges on one line: texts, places, hover and states."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import App, ComposeResult

from caged_tui.formatting import DASH
from caged_tui.status import Connection, PlatformStatus
from caged_tui.widgets.header import CagedHeader


class _HeaderApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CagedHeader()


def _painted(app: App[None]) -> str:
    return "".join(segment.text for segment in app.screen._compositor.render_strips()[0])


async def test_the_header_paints_every_badge_where_a_click_finds_it() -> None:
    app = _HeaderApp()
    async with app.run_test(size=(100, 3)) as pilot:
        header = app.query_one(CagedHeader)
        header.screen_title = "Sandboxes"
        header.profile_label = "work"
        header.status = PlatformStatus(
            connection=Connection.OFFLINE, unread=3, open_alerts=None, isolation=("bwrap",)
        )
        await pilot.pause()
        line = _painted(app)
        assert line.startswith(" caged  Sandboxes ")
        assert line.endswith(f" work  ● offline · retrying  isolation: bwrap  🔔 3  ⚠ {DASH} ")
        assert cell_len(line) == 100
        assert header.badge("unread") == "🔔 3" and header.badge("alerts") == f"⚠ {DASH}"
        for name in ("unread", "alerts", "profile"):
            offset = header.badge_offset(name)
            assert header._badge_at(offset.x) == name
        header.local = False  # the isolation badge is the local platform's
        await pilot.pause()
        assert "isolation" not in _painted(app)


async def test_a_shortcut_badge_is_reversed_under_the_pointer_only() -> None:
    app = _HeaderApp()
    async with app.run_test(size=(100, 3)) as pilot:
        header = app.query_one(CagedHeader)
        header.status = PlatformStatus(unread=1, open_alerts=2)
        await pilot.pause()

        def reversed_texts() -> list[str]:
            strip = app.screen._compositor.render_strips()[0]
            return [s.text for s in strip if s.style is not None and s.style.reverse]

        assert reversed_texts() == []
        await pilot.hover(CagedHeader, offset=header.badge_offset("alerts"))
        await pilot.pause()
        assert reversed_texts() == ["⚠ 2"]
        await pilot.hover(CagedHeader, offset=header.badge_offset("connection"))
        await pilot.pause()
        assert reversed_texts() == []
