"""TerminalScreen + TerminalStream: one test (or more) per pyte 0.8.2 defect we fix."""

from __future__ import annotations

import pyte
import pytest

from caged_tui.widgets.terminal.cells import Cell
from caged_tui.widgets.terminal.screen import TerminalScreen
from caged_tui.widgets.terminal.stream import TerminalStream, parse_sgr_params


class Term:
    """A screen + stream pair that records the replies sent upstream."""

    def __init__(self, columns: int = 20, lines: int = 5, scrollback: int = 100) -> None:
        self.replies: list[str] = []
        self.screen = TerminalScreen(
            columns, lines, scrollback=scrollback, on_reply=self.replies.append
        )
        self.stream = TerminalStream(self.screen)

    def feed(self, data: bytes | str) -> None:
        self.stream.feed(data.encode() if isinstance(data, str) else data)

    def row(self, y: int) -> str:
        return self.screen.display[y].rstrip()

    def cell(self, x: int, y: int) -> Cell:
        line = self.screen.line(y)
        assert line is not None
        cell = line.get(x, line.default)
        assert isinstance(cell, Cell)
        return cell


@pytest.fixture
def term() -> Term:
    return Term()


# -- alternate screen ----------------------------------------------------------------------


def test_pyte_itself_has_no_alternate_screen() -> None:
    """The defect we fix: plain pyte paints the 'alternate' screen over the primary one."""
    screen = pyte.Screen(20, 5)
    stream = pyte.Stream(screen)
    stream.feed("shell\r\n\x1b[?1049h\x1b[2J\x1b[Hvim\x1b[?1049l")
    assert "shell" not in screen.display[0]


def test_1049_switches_buffers_and_restores_cursor(term: Term) -> None:
    term.feed("shell output\r\n$ vim")
    cursor_before = (term.screen.cursor.x, term.screen.cursor.y)
    term.feed("\x1b[?1049h\x1b[2J\x1b[Hvim screen\x1b[3;3H~")
    assert term.screen.in_alternate
    assert term.row(0) == "vim screen"
    assert term.row(2) == "  ~"
    term.feed("\x1b[?1049l")
    assert not term.screen.in_alternate
    assert term.row(0) == "shell output"
    assert term.row(1) == "$ vim"
    assert (term.screen.cursor.x, term.screen.cursor.y) == cursor_before


def test_1049_starts_with_a_clear_alternate_screen(term: Term) -> None:
    term.feed("\x1b[?1049hold\x1b[?1049l\x1b[?1049h")
    assert term.row(0) == ""


def test_1047_and_47_switch_buffers(term: Term) -> None:
    term.feed("primary")
    term.feed("\x1b[?1047h\x1b[Halt1047")
    assert term.row(0) == "alt1047"
    term.feed("\x1b[?1047l")
    assert term.row(0) == "primary"
    term.feed("\x1b[?47h\x1b[Halt47")
    assert term.row(0) == "alt47"
    term.feed("\x1b[?47l")
    assert term.row(0) == "primary"
    # Mode 47 does not clear: entering again shows what was left there.
    term.feed("\x1b[?47h")
    assert term.row(0) == "alt47"


def test_alternate_screen_marks_everything_dirty(term: Term) -> None:
    term.screen.dirty.clear()
    term.feed("\x1b[?1049h")
    assert term.screen.dirty == set(range(5))


def test_no_scrollback_in_alternate_screen(term: Term) -> None:
    term.feed("\x1b[?1049h" + "x\r\n" * 20)
    assert len(term.screen.history) == 0


def test_ris_leaves_alternate_screen(term: Term) -> None:
    term.feed("\x1b[?1049h\x1bc")
    assert not term.screen.in_alternate


# -- private parameters ----------------------------------------------------------------------


def test_private_sgr_does_not_lose_the_chunk(term: Term) -> None:
    """vim 9 sends ESC[?4m; pyte raises TypeError and drops the rest of the chunk."""
    term.feed("a\x1b[?4mb")
    assert term.row(0) == "ab"
    assert not term.cell(1, 0).underscore
    assert term.stream.errors == 0


def test_private_device_status_query_is_ignored(term: Term) -> None:
    """tmux sends ESC[?996n (colour scheme query)."""
    term.feed("a\x1b[?996nb")
    assert term.row(0) == "ab"
    assert term.replies == []


def test_private_margins_are_ignored(term: Term) -> None:
    term.feed("\x1b[2;4r\x1b[?rok")
    assert term.screen.margins == (1, 3)
    assert "ok" in term.row(0)


def test_resetting_the_margins_homes_the_cursor(term: Term) -> None:
    """DECSTBM homes the cursor, also as ``CSI r`` (pyte forgot: found by the fidelity suite)."""
    term.feed("\x1b[2;4r\x1b[5;3H\x1b[r")
    assert term.screen.margins is None
    assert (term.screen.cursor.x, term.screen.cursor.y) == (0, 0)


def test_decxcpr_answers_with_private_marker(term: Term) -> None:
    term.feed("ab\x1b[?6n")
    assert term.replies == ["\x1b[?1;3R"]


# -- guarded feed ----------------------------------------------------------------------------


def test_a_failing_handler_never_loses_the_rest_of_the_chunk(
    term: Term, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(term.screen, "cursor_up", explode)
    term.stream = TerminalStream(term.screen)  # Streams bind handlers when attached.
    term.feed("before\x1b[Aafter")
    assert term.row(0) == "beforeafter"
    assert term.stream.errors == 1


def test_a_failing_draw_loses_only_that_run(term: Term, monkeypatch: pytest.MonkeyPatch) -> None:
    original = term.screen.draw

    def picky(text: str) -> None:
        if text == "bad":
            raise ValueError(text)
        original(text)

    monkeypatch.setattr(term.screen, "draw", picky)
    term.stream = TerminalStream(term.screen)
    term.feed("ok\r\nbad\r\ngood")
    assert [term.row(0), term.row(2)] == ["ok", "good"]


# -- emoji / zero-width ----------------------------------------------------------------------


def test_pyte_itself_stops_drawing_at_a_variation_selector() -> None:
    screen = pyte.Screen(20, 2)
    pyte.Stream(screen).feed("\u2764\ufe0f after")
    assert "after" not in screen.display[0]


def test_variation_selector_joins_the_previous_cell(term: Term) -> None:
    term.feed("\u2764\ufe0f after")
    assert term.cell(0, 0).data == "\u2764\ufe0f"
    assert term.row(0) == "\u2764\ufe0f after"


def test_zwj_sequence_occupies_one_wide_cell(term: Term) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    term.feed(family + "|end")
    assert term.cell(0, 0).data == family
    assert term.cell(1, 0).data == ""
    assert term.cell(2, 0).data == "|"
    assert term.screen.cursor.x == 6


def test_combining_mark_is_normalised_into_the_previous_cell(term: Term) -> None:
    term.feed("e\u0301x")
    assert term.cell(0, 0).data == "\u00e9"
    assert term.cell(1, 0).data == "x"


def test_unprintable_characters_are_skipped_not_fatal(term: Term) -> None:
    term.feed("a\x01\x02b")
    assert term.row(0) == "ab"


def test_wide_characters_use_a_placeholder_cell(term: Term) -> None:
    term.feed("\u4e00x")
    assert [term.cell(x, 0).data for x in range(3)] == ["\u4e00", "", "x"]


def test_wide_character_in_last_column_wraps(term: Term) -> None:
    term.feed("x" * 19 + "\u4e00")
    assert term.cell(0, 1).data == "\u4e00"
    assert term.row(0) == "x" * 19


def test_utf8_split_across_feeds_survives(term: Term) -> None:
    data = "h\u00e9\u4e00!".encode()
    for i in range(len(data)):
        term.feed(data[i : i + 1])
    assert term.row(0) == "h\u00e9\u4e00!"


# -- control strings and colon SGR -----------------------------------------------------------


@pytest.mark.parametrize(
    "sequence",
    [
        "\x1bPq#0;2;0;0;0#1!6~\x1b\\",  # DCS (sixel)
        "\x1b_Gf=100;AAAA\x1b\\",  # APC (kitty graphics)
        "\x1b^private message\x1b\\",  # PM
        "\x1bXstart of string\x1b\\",  # SOS
        "\x1b]8;;https://example.com\x07",  # OSC 8 hyperlink
        "\x1b]52;c;aGVsbG8=\x1b\\",  # OSC 52 clipboard
        "\x1b[>4;2m",  # modifyOtherKeys (vim)
        "\x1b[?12$p",  # DECRQM
        "\x1b[2 q",  # DECSCUSR
        "\x1b[!p",  # DECSTR
        "\x1b[=5u",  # kitty keyboard
    ],
)
def test_control_strings_are_not_drawn(term: Term, sequence: str) -> None:
    term.feed("a" + sequence + "b")
    assert term.row(0) == "ab"
    assert not term.cell(1, 0).underscore


def test_control_string_split_across_feeds(term: Term) -> None:
    term.feed("a\x1bPq#0;2")
    term.feed(";0;0\x1b")
    term.feed("\\b")
    assert term.row(0) == "ab"


def test_pyte_itself_draws_dcs_as_text() -> None:
    screen = pyte.Screen(20, 2)
    pyte.Stream(screen).feed("a\x1bPqdata\x1b\\b")
    assert screen.display[0].rstrip() != "ab"


@pytest.mark.parametrize(
    ("sequence", "fg"),
    [
        ("\x1b[38:2::255:0:128m", "ff0080"),
        ("\x1b[38:2:255:0:128m", "ff0080"),
        ("\x1b[38;2;255;0;128m", "ff0080"),
        ("\x1b[38:5:196m", "ff0000"),
        ("\x1b[38;5;1m", "red"),
        ("\x1b[91m", "brightred"),
    ],
)
def test_colour_forms(term: Term, sequence: str, fg: str) -> None:
    term.feed(sequence + "X")
    assert term.row(0) == "X"
    assert term.cell(0, 0).fg == fg


def test_curly_underline_is_shown_as_underline(term: Term) -> None:
    term.feed("\x1b[4:3mX\x1b[4:0mY")
    assert term.cell(0, 0).underscore
    assert not term.cell(1, 0).underscore


def test_parse_sgr_params_flattens_colon_forms() -> None:
    assert parse_sgr_params("1;38:2::1:2:3;48:5:7") == [1, 38, 2, 1, 2, 3, 48, 5, 7]


def test_sgr_attributes_including_dim_and_hidden(term: Term) -> None:
    term.feed("\x1b[1;2;3;4;7;8;9;44mX\x1b[22;23;24;27;28;29;49mY")
    x, y = term.cell(0, 0), term.cell(1, 0)
    assert (x.bold, x.dim, x.italics, x.underscore, x.reverse, x.hidden, x.strikethrough) == (
        (True,) * 7
    )
    assert x.bg == "blue"
    assert y == Cell("Y")


def test_bright_magenta_background_is_spelled_right(term: Term) -> None:
    term.feed("\x1b[105mX")
    assert term.cell(0, 0).bg == "brightmagenta"


# -- replies upstream ------------------------------------------------------------------------


def test_cursor_position_report_goes_upstream(term: Term) -> None:
    term.feed("\x1b[3;5H\x1b[6n")
    assert term.replies == ["\x1b[3;5R"]


def test_device_attributes_and_status_go_upstream(term: Term) -> None:
    term.feed("\x1b[c\x1b[5n\x1b[>c")
    assert term.replies == ["\x1b[?62;22c", "\x1b[0n", "\x1b[>1;10;0c"]


# -- scrollback ------------------------------------------------------------------------------


def test_scrollback_keeps_rows_leaving_the_top() -> None:
    term = Term(columns=10, lines=3, scrollback=100)
    term.feed("\r\n".join(f"line{i}" for i in range(10)))
    assert [row.get(0).data + row.get(4).data for row in term.screen.history] == [
        f"l{i}" for i in range(7)
    ]
    assert term.screen.history_pushed == 7
    assert term.row(2) == "line9"


def test_scrollback_is_bounded() -> None:
    term = Term(columns=10, lines=3, scrollback=50)
    term.feed("x\r\n" * 500)
    assert len(term.screen.history) == 50
    assert term.screen.history_pushed == 498


def test_default_scrollback_holds_ten_thousand_lines() -> None:
    term = Term(columns=10, lines=5, scrollback=10_000)
    term.feed("".join(f"{i}\r\n" for i in range(20_000)))
    assert len(term.screen.history) == 10_000
    assert term.screen.history[-1].get(0).data == "1"  # line 19995


def test_scroll_region_not_at_top_keeps_no_history(term: Term) -> None:
    term.feed("\x1b[2;5r\x1b[5;1H" + "x\r\n" * 10)
    assert len(term.screen.history) == 0


def test_index_marks_only_the_scroll_region_dirty(term: Term) -> None:
    term.feed("\x1b[2;4r\x1b[4;1H")
    term.screen.dirty.clear()
    term.feed("\n")
    assert term.screen.dirty == {1, 2, 3}


def test_ed3_clears_scrollback_only(term: Term) -> None:
    term.feed("a\r\n" * 10 + "keep")
    term.feed("\x1b[3J")
    assert len(term.screen.history) == 0
    assert term.row(4) == "keep"


# -- dirty rows --------------------------------------------------------------------------------


def test_draw_marks_its_row_dirty(term: Term) -> None:
    term.screen.dirty.clear()
    term.feed("\x1b[3;1Hhello")
    assert term.screen.dirty == {2}


def test_wrapping_marks_both_rows_dirty(term: Term) -> None:
    term.screen.dirty.clear()
    term.feed("y" * 25)
    assert term.screen.dirty == {0, 1}


# -- resize ----------------------------------------------------------------------------------


def test_shrinking_keeps_the_cursor_row_and_saves_the_top_to_history() -> None:
    term = Term(columns=10, lines=5)
    term.feed("a\r\nb\r\nc\r\nd\r\ne")
    term.screen.resize(3, 10)
    assert [term.row(y) for y in range(3)] == ["c", "d", "e"]
    assert len(term.screen.history) == 2
    assert term.screen.cursor.y == 2


def test_shrinking_with_cursor_at_top_drops_nothing_from_top() -> None:
    term = Term(columns=10, lines=5)
    term.feed("top")
    term.screen.resize(3, 10)
    assert term.row(0) == "top"
    assert len(term.screen.history) == 0


def test_growing_pulls_rows_back_from_history() -> None:
    term = Term(columns=10, lines=3)
    term.feed("1\r\n2\r\n3\r\n4\r\n5")
    term.screen.resize(5, 10)
    assert [term.row(y) for y in range(5)] == ["1", "2", "3", "4", "5"]
    assert term.screen.cursor.y == 4


def test_resize_in_alternate_screen_keeps_the_primary_buffer() -> None:
    term = Term(columns=10, lines=5)
    term.feed("primary\x1b[?1049h\x1b[Halt")
    term.screen.resize(4, 8)
    term.feed("\x1b[?1049l")
    assert term.row(0) == "primary"[:8]
    assert (term.screen.lines, term.screen.columns) == (4, 8)


def test_growing_columns_adds_tab_stops() -> None:
    term = Term(columns=10, lines=2)
    term.screen.resize(2, 40)
    term.feed("\t\t\tx")
    assert term.screen.cursor.x == 25


# -- modes -----------------------------------------------------------------------------------


def test_modes_the_widget_reads(term: Term) -> None:
    screen = term.screen
    assert not screen.app_cursor_keys and not screen.bracketed_paste
    assert screen.mouse_tracking == 0 and screen.cursor_visible
    term.feed("\x1b[?1h\x1b[?2004h\x1b[?1002h\x1b[?1006h\x1b[?1004h\x1b[?25l")
    assert screen.app_cursor_keys and screen.bracketed_paste
    assert screen.mouse_tracking == 1002 and screen.sgr_mouse and screen.focus_events
    assert not screen.cursor_visible
    term.feed("\x1b[?1003h")
    assert screen.mouse_tracking == 1003
    term.feed("\x1b[?1l\x1b[?2004l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?25h")
    assert not screen.app_cursor_keys and not screen.bracketed_paste
    assert screen.mouse_tracking == 0 and not screen.sgr_mouse and screen.cursor_visible


def test_dec_line_drawing(term: Term) -> None:
    term.feed("\x1b(0lqk\x1b(Bx")
    assert term.row(0) == "\u250c\u2500\u2510x"


def test_title_from_osc(term: Term) -> None:
    term.feed("\x1b]0;my title\x07\x1b]2;other\x1b\\")
    assert term.screen.title == "other"


def test_csi_split_across_feeds(term: Term) -> None:
    term.feed("\x1b[3")
    term.feed("1mR\x1b")
    term.feed("[0mN")
    assert term.cell(0, 0).fg == "red"
    assert term.cell(1, 0).fg == "default"


def test_line_editing_after_many_full_screen_scrolls() -> None:
    """Rows are renumbered lazily on scroll; pyte's own row operations must still line up."""
    term = Term(columns=10, lines=4)
    term.feed("\r\n".join(str(i) for i in range(100)))  # Shows 96..99.
    term.feed("\x1b[2;1H\x1b[L")  # Insert a blank line at row 2.
    assert [term.row(y) for y in range(4)] == ["96", "", "97", "98"]
    term.feed("\x1b[M\x1b[M")  # Delete two lines at row 2.
    assert [term.row(y) for y in range(4)] == ["96", "98", "", ""]
    term.feed("\x1b[1;1H\x1b[J")
    assert term.screen.display == [" " * 10] * 4
    term.feed("\x1b[4;1Hlast\n")
    assert term.row(2) == "last"
    # The erased top row scrolled into the history, after the rows that left before it.
    assert [row.get(0).data for row in list(term.screen.history)[-2:]] == ["9", " "]
    assert term.screen.history[-2].get(1).data == "5"
