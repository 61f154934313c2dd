"""A byte stream parser for :class:`~caged_tui.widgets.terminal.screen.TerminalScreen`.

pyte 0.8.2's ``Stream`` has defects that lose or garble output (see ``terminal-notes.md``):

* DCS / APC / PM / SOS strings (``ESC P … ESC \\``) are drawn as text;
* colon-style SGR (``ESC[38:2::255:0:0m``) is cut at the colon and the rest is drawn as text;
* ``>``/``=``/``<``-prefixed CSI sequences (``ESC[>4;2m`` from vim) are dispatched as if they were
  plain ones, so vim's "modifyOtherKeys" request turns the text underlined;
* CSI sequences with intermediates (``ESC[!p``, ``ESC[?12$p``) leak their final byte as text;
* an exception raised by any handler escapes ``feed`` and the rest of the chunk is lost.

:class:`TerminalStream` replaces the parser state machine and guards every dispatch. It also parses
complete CSI sequences with one regular expression instead of one generator step per character,
which is where most of the time goes on coloured output.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Generator
from typing import Any

import pyte

log = logging.getLogger(__name__)

ESC = "\x1b"
CSI_C1 = "\x9b"
OSC_C1 = "\x9d"
ST_C1 = "\x9c"
BEL = "\x07"
CAN_OR_SUB = "\x18\x1a"
NUL_OR_DEL = "\x00\x7f"

#: ``ESC P`` (DCS), ``ESC X`` (SOS), ``ESC ^`` (PM) and ``ESC _`` (APC) open a control string that
#: runs to the string terminator; none of it is displayable.
STRING_INTRODUCERS = "PX^_"

#: Longest OSC payload kept; longer ones are consumed but not stored.
OSC_LIMIT = 4096
#: Longest OSC 52 (clipboard) payload kept: 1 MiB of base64.
OSC_52_LIMIT = 1 << 20

#: Largest numeric parameter accepted; larger ones are clamped like pyte does, so a hostile
#: ``ESC[999999999C`` cannot make a handler loop for ages.
PARAM_LIMIT = 9999

#: A complete CSI sequence: private marker, parameters (with ``:`` sub-parameters),
#: intermediates, final byte.
_CSI_RE = re.compile(r"\x1b\[([<=>?]?)([0-9;:]*)([ -/]*)([@-~])")
# Two or more whole lines of printable ASCII and SGR sequences, each ended by CR LF: the shape
# of a flood (``yes``, ``cat``, ``ls --color``).
_LINES_RE = re.compile(r"(?:(?:[ -~]|\x1b\[[0-9;]*m)*\r\n){2,}")

#: Sequences with a ``?`` marker that a screen handles; other private finals are ignored because
#: pyte's handlers do not accept the ``private`` flag.
_PRIVATE_FINALS = frozenset("hlJKnmr")

#: Controls allowed inside a CSI sequence; they act immediately (VT100 behaviour).
_C0_IN_CSI = "\x07\x08\x09\x0a\x0b\x0c\x0d"

#: DEC character set designators honoured for G0/G1 even in UTF-8 mode, because ncurses draws
#: line art with ``ESC ( 0`` … ``ESC ( B`` on xterm-like terminals.
_CHARSET_DESIGNATORS = "()"

ParserGenerator = Generator[bool | None, str, None]


def parse_params(raw: str) -> list[int]:
    """Parse ``"1;;5:3"`` into ``[1, 0, 5]``: empty means 0, sub-parameters are dropped."""
    if not raw:
        return []
    return [min(int(part.split(":", 1)[0] or 0), PARAM_LIMIT) for part in raw.split(";")]


def parse_sgr_params(raw: str) -> list[int]:
    """Parse SGR parameters, flattening ITU T.416 colon forms into the semicolon forms.

    ``38:2::r:g:b`` and ``38:2:r:g:b`` become ``38;2;r;g;b``; ``38:5:n`` becomes ``38;5;n``;
    ``4:3`` (curly underline) and other styled attributes become their plain attribute.
    """
    if ":" not in raw:
        return parse_params(raw)
    result: list[int] = []
    for part in raw.split(";"):
        if ":" not in part:
            result.append(min(int(part or 0), PARAM_LIMIT))
            continue
        subs = [min(int(sub or 0), PARAM_LIMIT) for sub in part.split(":")]
        head = subs[0]
        if head in (38, 48, 58) and len(subs) >= 2:
            if subs[1] == 2:
                # The colour-space id is optional: 38:2:r:g:b or 38:2:id:r:g:b.
                rgb = subs[-3:] if len(subs) >= 6 else subs[2:5]
                result.extend([head, 2, *rgb])
            elif subs[1] == 5 and len(subs) >= 3:
                result.extend([head, 5, subs[2]])
        elif head == 4:
            # 4:0 off, 4:2 double (SGR 21); 4:1 and the styles Textual cannot draw (4:3 curly,
            # 4:4 dotted, 4:5 dashed) a plain underline.
            style = subs[1] if len(subs) > 1 else 1
            result.append(24 if style == 0 else 21 if style == 2 else 4)
        else:
            result.append(head)
    return result


class TerminalStream(pyte.ByteStream):
    """A ``pyte.ByteStream`` with a corrected, guarded parser.

    Bytes are decoded incrementally, so a UTF-8 character split across two ``feed`` calls
    survives. A handler that raises is logged and skipped; the rest of the chunk is still parsed.
    ``errors`` counts such failures (useful in tests and diagnostics).
    """

    def __init__(self, screen: pyte.Screen) -> None:
        self.errors = 0
        super().__init__(screen)

    @property
    def at_rest(self) -> bool:
        """Whether the parser is between sequences (a copy of the screen now is complete)."""
        return bool(self._taking_plain_text)

    def feed(self, data: bytes) -> None:  # type: ignore[override]  # bytes, like ByteStream
        """Decode and parse ``data``; never raises because of the content of ``data``."""
        text = self.utf8_decoder.decode(data) if self.use_utf8 else data.decode("latin-1")
        self.feed_text(text)

    def feed_text(self, data: str) -> None:
        """Parse already-decoded text.

        Plain text, C0 controls and complete CSI sequences are handled here directly while the
        parser is in its ground state; everything else goes one character at a time through the
        state machine, which keeps sequences split across chunks working.
        """
        listener = self.listener
        if listener is None:
            raise RuntimeError("TerminalStream has no screen attached")
        draw = listener.draw
        basic = self._basic_handlers
        match_text = self._text_pattern.match
        match_csi = _CSI_RE.match
        dispatch_csi = self._dispatch_csi
        send = self._send_to_parser
        ground = self._taking_plain_text
        length = len(data)
        offset = 0
        while offset < length:
            try:
                if ground:
                    match = match_text(data, offset)
                    if match is not None:
                        start, offset = match.span()
                        draw(data[start:offset])
                        continue
                    char = data[offset]
                    if char == ESC:
                        csi = match_csi(data, offset)
                        if csi is not None:
                            offset = csi.end()
                            dispatch_csi(*csi.groups())
                            continue
                    else:
                        handler = basic.get(char)
                        if handler is not None:
                            offset += 1
                            handler()
                            if char == "\n":
                                offset = self._draw_lines(data, offset)
                            continue
                        if char in NUL_OR_DEL:
                            offset += 1
                            continue
                char = data[offset]
                offset += 1
                ground = bool(send(char))
            except Exception:
                # One bad sequence must not cost the rest of the chunk. Either the failure came
                # from the fast path (taken only in the ground state) or _send_to_parser has
                # reset the state machine: both leave the parser in the ground state.
                self.errors += 1
                log.debug("terminal stream handler failed", exc_info=True)
                ground = True
        self._taking_plain_text = ground

    def _draw_lines(self, data: str, offset: int) -> int:
        """At a line start, hand a run of plain CR LF lines to the screen in one call.

        Returns the offset after what was drawn (``offset`` itself when the run was not taken).
        """
        match = _LINES_RE.match(data, offset)
        draw_lines = getattr(self.listener, "draw_lines", None)
        if match is None or draw_lines is None:
            return offset
        texts = match.group().split("\r\n")[:-1]
        drawn: int = draw_lines(texts)
        return offset + sum(len(text) + 2 for text in texts[:drawn])

    def _initialize_parser(self) -> None:
        listener = self.listener
        assert listener is not None
        self._basic_handlers: dict[str, Callable[[], None]] = {
            char: getattr(listener, name)
            for char, name in self.basic.items()
            # Shift-in/out are handled in the state machine (charset selection).
            if name not in ("shift_in", "shift_out")
        }
        self._escape_handlers: dict[str, Callable[[], None]] = {
            char: getattr(listener, name) for char, name in self.escape.items()
        }
        self._csi_handlers: dict[str, Callable[..., None]] = {
            char: getattr(listener, name) for char, name in self.csi.items()
        }
        #: A screen that remembers SGR outcomes by raw parameters (TerminalScreen.apply_sgr).
        self._apply_sgr: Callable[[str], None] | None = getattr(listener, "apply_sgr", None)
        super()._initialize_parser()

    def _dispatch_csi(self, marker: str, raw: str, intermediates: str, final: str) -> None:
        listener = self.listener
        assert listener is not None
        if intermediates:
            # DECSCUSR (cursor shape), DECSTR, DECRQM…: nothing we display depends on them.
            listener.debug(marker, raw, intermediates, final)
            return
        handler = self._csi_handlers.get(final)
        if handler is None:
            listener.debug(marker, raw, final)
            return
        if marker == "":
            if final != "m":
                handler(*parse_params(raw))
            elif self._apply_sgr is not None:
                self._apply_sgr(raw)
            else:
                handler(*parse_sgr_params(raw))
        elif marker == "?" and final in _PRIVATE_FINALS:
            handler(*parse_params(raw), private=True)
        elif marker == ">" and final == "c":
            self._call_optional("report_secondary_device_attributes")
        else:
            # ``>``/``=``/``<`` sequences (modifyOtherKeys, XTVERSION, …) are requests we do not
            # implement; dispatching them as plain CSI would change attributes.
            listener.debug(marker, raw, final)

    def _dispatch_osc(self, payload: str) -> None:
        """Titles (0, 1, 2), hyperlinks (8) and clipboard writes (52) are acted on."""
        listener = self.listener
        assert listener is not None
        code, _, param = payload.partition(";")
        if code in ("0", "1"):
            listener.set_icon_name(param)
        if code in ("0", "2"):
            listener.set_title(param)
        elif code == "8":
            _params, _, uri = param.partition(";")
            self._call_optional("set_link", uri)
        elif code == "52":
            _selection, _, data = param.partition(";")
            if data != "?":  # Reading the clipboard is never answered.
                text = base64.b64decode(data, validate=False).decode("utf-8", "replace")
                self._call_optional("set_clipboard", text)

    def _call_optional(self, name: str, *args: Any) -> None:
        method = getattr(self.listener, name, None)
        if method is not None:
            method(*args)

    def _guarded(self, handler: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        try:
            handler(*args, **kwargs)
        except Exception:
            self.errors += 1
            log.debug("terminal handler %r failed", handler, exc_info=True)

    def _parser_fsm(self) -> ParserGenerator:
        """The character-at-a-time state machine (a coroutine, like pyte's).

        It yields ``True`` when it is in the ground state (so ``feed_text`` may take plain text
        itself) and ``None`` while inside a sequence. Handlers run through ``_guarded`` so an
        exception never kills the generator.
        """
        listener = self.listener
        assert listener is not None
        draw = listener.draw
        guarded = self._guarded
        pending: str | None = None

        while True:
            char = pending if pending is not None else (yield True)
            pending = None

            if char == ESC:
                char = yield None
                if char == "[":
                    char = CSI_C1
                elif char == "]":
                    char = OSC_C1
                elif char in STRING_INTRODUCERS:
                    yield from self._skip_control_string()
                    continue
                elif char == "\\":
                    continue  # A stray string terminator.
                elif char == "#":
                    code = yield None
                    if code == "8":
                        guarded(listener.alignment_display)
                    continue
                elif char == "%":
                    self.select_other_charset((yield None))
                    continue
                elif char in _CHARSET_DESIGNATORS:
                    code = yield None
                    guarded(listener.define_charset, code, mode=char)
                    continue
                elif " " <= char <= "/":
                    yield None  # ESC SP F, ESC * x, …: 7/8-bit controls and G2/G3 designation.
                    continue
                else:
                    handler = self._escape_handlers.get(char)
                    if handler is not None:
                        guarded(handler)
                    else:
                        guarded(listener.debug, ESC + char)
                    continue

            if char == CSI_C1:
                marker = ""
                raw = ""
                intermediates = ""
                while True:
                    char = yield None
                    if "0" <= char <= "9" or char == ";" or char == ":":
                        raw += char
                    elif char in "<=>?" and not raw and not marker:
                        marker = char
                    elif " " <= char <= "/":
                        intermediates += char
                    elif "@" <= char <= "~":
                        guarded(self._dispatch_csi, marker, raw, intermediates, char)
                        break
                    elif char in _C0_IN_CSI:
                        handler = self._basic_handlers.get(char)
                        if handler is not None:
                            guarded(handler)
                    elif char == ESC:
                        # A new sequence aborts this one.
                        pending = char
                        break
                    elif char in CAN_OR_SUB:
                        break
                    else:
                        break  # Anything else is malformed: drop the sequence.
            elif char == OSC_C1:
                payload = ""
                while True:
                    char = yield None
                    if char in (BEL, ST_C1):
                        break
                    if char == ESC:
                        # ESC \ is the terminator; ESC [ or ESC ] aborts the string and starts
                        # a new sequence (anything else after ESC is dropped with the string).
                        follower = yield None
                        if follower != "\\":
                            payload = ""
                            if follower == "[":
                                pending = CSI_C1
                            elif follower == "]":
                                pending = OSC_C1
                        break
                    if char in CAN_OR_SUB:
                        payload = ""
                        break
                    if len(payload) < (OSC_52_LIMIT if payload[:3] == "52;" else OSC_LIMIT):
                        payload += char
                if payload:
                    guarded(self._dispatch_osc, payload)
            elif char == "\x0e":
                guarded(listener.shift_out)
            elif char == "\x0f":
                guarded(listener.shift_in)
            elif char in self._basic_handlers:
                guarded(self._basic_handlers[char])
            elif char not in NUL_OR_DEL:
                guarded(draw, char)

    def _skip_control_string(self) -> ParserGenerator:
        """Consume a DCS/SOS/PM/APC string up to ``ESC \\`` or ST (C1); CAN/SUB abort it."""
        while True:
            char = yield None
            if char == ST_C1 or char in CAN_OR_SUB:
                return
            if char == ESC:
                char = yield None
                if char == "\\":
                    return
