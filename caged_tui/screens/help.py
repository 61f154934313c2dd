"""The help screen: every key of the screen it was opened from.

Rows come from ``Screen.active_bindings`` — the real bindings after the
user's keymap — so the help can never drift from what the keys do.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label, Static


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One line of the help table."""

    keys: str
    description: str
    where: str
    binding_id: str


def _where(node: object) -> str:
    # The app's own bindings apply everywhere, the screen's on this screen, and a
    # widget's only while it has the focus.
    if isinstance(node, App):
        return "everywhere"
    if isinstance(node, Screen):
        return "this screen"
    return f"in {type(node).__name__}"


def key_rows(screen: Screen[object]) -> list[KeyRow]:
    """The bindings active on ``screen``, merged per action, in chain order.

    Textual's built-in plumbing (focus cycling, clipboard) has neither an id
    nor a footer entry; it is left out so the list stays about this app.
    """
    app = screen.app
    merged: dict[tuple[str, str], list[str]] = {}
    meta: dict[tuple[str, str], KeyRow] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description or not (binding.show or binding.id):
            continue
        where = _where(active.node)
        group = (where, binding.action)
        merged.setdefault(group, []).append(app.get_key_display(Binding(key, binding.action)))
        meta.setdefault(group, KeyRow("", binding.description, where, binding.id or ""))
    rows = [
        KeyRow(" ".join(dict.fromkeys(merged[group])), row.description, row.where, row.binding_id)
        for group, row in meta.items()
    ]
    # Widget and screen keys first: they are what the user came for.
    return sorted(rows, key=lambda row: row.where == "everywhere")


class HelpScreen(ModalScreen[None]):
    """Keys of the screen underneath, with the binding ids used by the keymap."""

    CSS_PATH = "help.tcss"

    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close")]

    def __init__(self, title: str, rows: list[KeyRow]) -> None:
        super().__init__()
        self._title = title
        self._rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Label(f"Keys — {self._title}", id="help-title")
            yield DataTable[Text](id="help-table", cursor_type="row", zebra_stripes=True)
            yield Static(
                'Remap a key by its id in the "keymap" of the config file '
                "(~/.config/caged-tui/config.json). ctrl+p finds every action by name.",
                id="help-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action", "Where", "Id")
        for row in self._rows:
            table.add_row(
                *(Text(cell) for cell in (row.keys, row.description, row.where, row.binding_id))
            )
        table.focus()
