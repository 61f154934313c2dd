"""Raw keyboard input through the app's parser, then through the terminal's encoder: a program
in the terminal gets exactly what the host terminal sent (xterm, ``metaSendsEscape``)."""

from __future__ import annotations

import inspect
import string

import pytest
from textual._xterm_parser import XTermParser
from textual.drivers import linux_driver
from textual.events import Key

from caged_tui.host_keys import HostKeyParser, use_host_key_parser
from caged_tui.widgets.terminal.keys import encode_event

ESC = "\x1b"

#: What xterm sends, by key (DECCKM off on the host; what the program asked for is the widget's).
XTERM_SEQUENCES = [
    *(ESC + c for c in ".,<>_/-=;:'\"`~!@#$%^&*()+{}[]|\\?"),  # M-punctuation
    *(ESC + c for c in string.digits),  # M-1 (not ¡)
    *(ESC + c for c in string.ascii_letters),  # M-b, M-f, M-B
    ESC + "\r",  # M-Enter
    ESC + "\x7f",  # M-Backspace (not ctrl+w)
    ESC + "\t",  # M-Tab
    ESC + "\x01",  # C-M-a
    ESC + " ",  # M-space
    "\x08",  # ctrl+h: BS
    "\x7f",  # backspace: DEL
    "\x10",  # ctrl+p
    "\x11",  # ctrl+q
    "\r",
    "\t",
    f"{ESC}[Z",
    f"{ESC}OP",
    f"{ESC}OQ",
    f"{ESC}OR",
    f"{ESC}OS",
    *(f"{ESC}[{n}~" for n in (2, 3, 5, 6, 15, 17, 18, 19, 20, 21, 23, 24)),
    f"{ESC}[1;2P",
    f"{ESC}[15;5~",
    *(f"{ESC}[{f}" for f in "ABCDHF"),
    *(f"{ESC}[1;{m}{f}" for m in range(2, 9) for f in "ABCD"),
    "é",
    "中",
]


def parse(data: str) -> list[str | None]:
    """Feed ``data``, then the end of input (which, like the escape timeout, settles a lone
    ``ESC O`` or ``ESC [``), and encode each key as the terminal widget does."""
    parser = HostKeyParser()
    events = [*parser.feed(data), *parser.feed("")]
    return [encode_event(event) for event in events if isinstance(event, Key)]


@pytest.mark.parametrize("sequence", XTERM_SEQUENCES, ids=repr)
def test_the_program_gets_what_the_host_terminal_sent(sequence: str) -> None:
    assert parse(sequence) == [sequence]


def test_textual_alone_loses_the_alt() -> None:
    """The defect: Textual's parser gives ``.`` for M-. and ctrl+left for M-b."""
    events = list(XTermParser().feed(f"{ESC}b{ESC}\x7f"))
    assert [event.key for event in events] == ["ctrl+left", "ctrl+w"]
    assert [encode_event(event) for event in events] == [f"{ESC}[1;5D", "\x17"]


def test_alt_keys_keep_textuals_names_for_the_app() -> None:
    """The app's inputs still see iTerm's word keys; the terminal gets the bytes."""
    (event,) = HostKeyParser().feed(f"{ESC}b")
    assert event.key == "ctrl+left"
    (event,) = HostKeyParser().feed(f"{ESC}.")
    assert event.key == "alt+full_stop"


def test_a_run_of_alt_keys_does_not_wait_for_the_escape_timeout() -> None:
    assert parse(f"{ESC}.{ESC}1x") == [f"{ESC}.", f"{ESC}1", "x"]


def test_application_cursor_mode_is_the_programs() -> None:
    parser = HostKeyParser()
    (event,) = parser.feed(f"{ESC}[A")
    assert encode_event(event, app_cursor=True) == f"{ESC}OA"


def test_the_linux_driver_reads_the_parser_from_its_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The adaptation relies on Textual's driver building ``XTermParser(...)`` by its module's
    global name in the input thread; a Textual upgrade that changes that fails here."""
    monkeypatch.setattr(linux_driver, "XTermParser", linux_driver.XTermParser)
    assert "XTermParser(" in inspect.getsource(linux_driver.LinuxDriver.run_input_thread)
    use_host_key_parser()
    assert linux_driver.XTermParser is HostKeyParser
