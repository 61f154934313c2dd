"""The create form: every field of ``POST /sandboxes``, then live progress.

Fields start from a ``.caged.yaml`` in the current directory when there is
one. Ranges are checked as you type (the contract's: cpus 1-8, memory
128-8192 MB, disk 1-50 GB); the request is validated again with
:class:`~caged_core.models.SandboxCreate` before it is sent. After the
platform accepts it, the screen polls the sandbox until it leaves ``pending``
and streams its init output (the logs) as it arrives.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.validation import Integer, Number, Validator
from textual.widget import Widget
from textual.widgets import Button, Input, Label, RichLog, Select, Static, TextArea

from caged_core.errors import CagedAPIError, CagedError
from caged_core.models import (
    TEMPLATES,
    LogEntry,
    Sandbox,
    SandboxCreate,
    SandboxStatus,
    TemplateInfo,
)
from caged_tui import caged_yaml
from caged_tui.caged_yaml import FormDefaults
from caged_tui.safe_text import controls_escaped
from caged_tui.screens.base import CagedScreen

NETWORK_MODES = ("full", "none", "allowlist")
#: Seconds between polls while the new sandbox starts.
PROGRESS_INTERVAL = 1.0


class FormError(ValueError):
    """A field's value cannot be turned into the request."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_env(text: str) -> dict[str, str]:
    """``KEY=value`` lines (blank lines and ``#`` comments ignored) as a mapping."""
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise FormError("env", f"line {number}: expected KEY=value")
        env[key.strip()] = value
    return env


def split_words(text: str) -> list[str]:
    """Comma- or space-separated words."""
    return [word for word in text.replace(",", " ").split() if word]


def build_request(values: dict[str, str]) -> SandboxCreate:
    """Turn the form's text values into a validated request (unset fields omitted)."""
    body: dict[str, Any] = {"template": values["template"]}
    for name, kind in (
        ("cpus", int),
        ("memory_mb", int),
        ("disk_gb", int),
        ("timeout", int),
        ("budget", float),
    ):
        raw = values.get(name, "").strip()
        if raw:
            try:
                body[name] = kind(raw)
            except ValueError:
                raise FormError(name, f"not a number: {raw!r}") from None
    body["network_mode"] = values.get("network_mode") or "full"
    if hosts := split_words(values.get("allowlist", "")):
        body["allowlist"] = hosts
    if env := parse_env(values.get("env", "")):
        body["env"] = env
    for name in ("repo", "repo_branch", "repo_commit", "repo_subdir", "repo_token"):
        if raw := values.get(name, "").strip():
            body[name] = raw
    if script := values.get("init_script", "").strip():
        body["init_script"] = script
    if packages := split_words(values.get("packages", "")):
        body["packages"] = packages
    try:
        return SandboxCreate(**body)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "template"
        raise FormError(field, first["msg"].removeprefix("Value error, ")) from None


@dataclass
class SandboxCreated(Message):
    """The platform accepted the new sandbox."""

    sandbox: Sandbox


@dataclass
class CreationProgressed(Message):
    """The new sandbox's latest state and the log lines that arrived since the last poll."""

    sandbox: Sandbox
    new_logs: list[LogEntry]


@dataclass
class TemplatesLoaded(Message):
    """What the platform says of its templates (offered or not, built or not)."""

    templates: list[TemplateInfo]


@dataclass
class CreateFailed(Message):
    """The platform refused the request."""

    reason: str


class Field(Vertical):
    """A label, an input widget and the inline error beneath it."""

    DEFAULT_CSS = """
    Field { height: auto; width: 1fr; margin-right: 2; }
    Field > .field-error { color: $error; display: none; height: auto; }
    Field.-invalid > .field-error { display: block; }
    Field.-invalid > Input { border: tall $error; }
    """

    def __init__(self, label: str, widget: Widget, *, name: str, hint: str = "") -> None:
        super().__init__(id=f"field-{name}")
        self._label = label + (f"  [dim]{hint}[/]" if hint else "")
        self._widget = widget

    def compose(self) -> ComposeResult:
        yield Label(self._label)
        yield self._widget
        yield Static(classes="field-error", markup=False)

    def show_error(self, message: str | None) -> None:
        """Show ``message`` under the field, or clear it."""
        self.set_class(bool(message), "-invalid")
        self.query_one(".field-error", Static).update(message or "")


def _number_input(name: str, value: str, validator: Validator, placeholder: str) -> Input:
    return Input(
        value,
        id=f"create-{name}",
        placeholder=placeholder,
        validators=[validator],
        valid_empty=True,
    )


class CreateScreen(CagedScreen[str | None]):
    """The create-sandbox form; dismisses with the new sandbox's id (or None)."""

    SCREEN_TITLE = "New sandbox"
    CSS_PATH = "create.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Create", id="create.submit"),
        Binding("escape", "cancel", "Back", id="create.cancel"),
    ]

    phase: reactive[str] = reactive("form", init=False)

    def __init__(self, directory: Path | None = None) -> None:
        super().__init__()
        self.defaults: FormDefaults = caged_yaml.load(directory or Path.cwd())
        self._created: Sandbox | None = None

    def compose_body(self) -> ComposeResult:
        d = self.defaults
        template = d.template if d.template in TEMPLATES else Select.BLANK
        with VerticalScroll(id="create-form"):
            yield Static(id="create-source")
            with Horizontal(classes="row"):
                yield Field(
                    "Template",
                    Select(
                        [(t, t) for t in TEMPLATES],
                        value=template,
                        allow_blank=False,
                        id="create-template",
                    ),
                    name="template",
                )
                yield Field(
                    "CPUs",
                    _number_input("cpus", d.cpus, Integer(1, 8), "2"),
                    name="cpus",
                    hint="1-8",
                )
                yield Field(
                    "Memory (MB)",
                    _number_input("memory_mb", d.memory_mb, Integer(128, 8192), "512"),
                    name="memory_mb",
                    hint="128-8192",
                )
                yield Field(
                    "Disk (GB)",
                    _number_input("disk_gb", d.disk_gb, Integer(1, 50), "5"),
                    name="disk_gb",
                    hint="1-50",
                )
            with Horizontal(classes="row"):
                mode = d.network_mode if d.network_mode in NETWORK_MODES else "full"
                yield Field(
                    "Network",
                    Select(
                        [(m, m) for m in NETWORK_MODES],
                        value=mode,
                        allow_blank=False,
                        id="create-network_mode",
                    ),
                    name="network_mode",
                )
                yield Field(
                    "Allowlist",
                    Input(d.allowlist, id="create-allowlist", placeholder="pypi.org, github.com"),
                    name="allowlist",
                    hint="hosts, for allowlist mode",
                )
            with Horizontal(classes="row"):
                yield Field(
                    "Budget (USD)",
                    _number_input("budget", d.budget, Number(minimum=0), "none"),
                    name="budget",
                )
                yield Field(
                    "Idle timeout (s)",
                    _number_input("timeout", d.timeout, Integer(0, 7 * 86400), "900"),
                    name="timeout",
                    hint="before auto-pause",
                )
                yield Field(
                    "Packages",
                    Input(d.packages, id="create-packages", placeholder="ripgrep, jq"),
                    name="packages",
                )
            with Horizontal(classes="row"):
                yield Field(
                    "Repository",
                    Input(d.repo, id="create-repo", placeholder="https://github.com/org/repo"),
                    name="repo",
                )
                yield Field(
                    "Branch", Input(d.repo_branch, id="create-repo_branch"), name="repo_branch"
                )
                yield Field(
                    "Commit", Input(d.repo_commit, id="create-repo_commit"), name="repo_commit"
                )
                yield Field(
                    "Subdir", Input(d.repo_subdir, id="create-repo_subdir"), name="repo_subdir"
                )
                yield Field(
                    "Repo token", Input(id="create-repo_token", password=True), name="repo_token"
                )
            with Horizontal(classes="row tall"):
                yield Field(
                    "Environment",
                    TextArea(d.env, id="create-env"),
                    name="env",
                    hint="KEY=value per line",
                )
                yield Field(
                    "Init script",
                    TextArea(d.init_script, id="create-init_script", language=None),
                    name="init_script",
                )
            yield Static(id="create-templates-note", markup=False)
            yield Static(id="create-error", markup=False)
            with Horizontal(id="create-buttons"):
                yield Button("Create", id="create-submit", variant="primary")
                yield Button("Cancel", id="create-cancel")
        with Vertical(id="create-progress"):
            yield Static(id="create-status", markup=False)
            yield RichLog(id="create-log", wrap=True, markup=False, highlight=False)
            with Horizontal(id="create-done-buttons"):
                yield Button("Open sandbox", id="create-open", variant="primary")
                yield Button("Back to list", id="create-back")

    def on_mount(self) -> None:
        super().on_mount()
        self.add_class("-form")
        source = self.query_one("#create-source", Static)
        notes = [f"Pre-filled from {self.defaults.source}"] if self.defaults.source else []
        notes.extend(self.defaults.warnings)
        source.update("\n".join(notes))
        source.display = bool(notes)
        self._network_changed()
        self.query_one("#create-template", Select).focus()
        self.load_templates()

    @work(exclusive=True, group="templates", exit_on_error=False)
    async def load_templates(self) -> None:
        """Ask the platform which templates it offers; the contract's list stays otherwise."""
        try:
            templates = await self.client.sandboxes.templates()
        except CagedError:
            return
        self.post_message(TemplatesLoaded(templates))

    @on(TemplatesLoaded)
    def _templates_loaded(self, event: TemplatesLoaded) -> None:
        offered = [t for t in event.templates if t.available]
        if not offered:
            return
        select = self.query_one("#create-template", Select)
        current = select.value
        wanted = current if current is not Select.BLANK else self.defaults.template
        select.set_options(
            (t.name if t.built else f"{t.name} (image built on first use, ~1 min)", t.name)
            for t in offered
        )
        names = [t.name for t in offered]
        select.value = wanted if wanted in names else names[0]
        refused = [t for t in event.templates if not t.available]
        note = self.query_one("#create-templates-note", Static)
        note.update("\n".join(f"{t.name} is not offered here: {t.description}" for t in refused))
        note.display = bool(refused)

    def watch_phase(self, old: str, new: str) -> None:
        self.remove_class(f"-{old}")
        self.add_class(f"-{new}")

    # ------------------------------------------------------------------ form

    def values(self) -> dict[str, str]:
        """The form's current values, as text."""
        values: dict[str, str] = {}
        for widget in self.query("#create-form Input, #create-form Select, #create-form TextArea"):
            name = (widget.id or "").removeprefix("create-")
            if isinstance(widget, Input):
                values[name] = widget.value
            elif isinstance(widget, TextArea):
                values[name] = widget.text
            elif isinstance(widget, Select):
                values[name] = "" if widget.value is Select.BLANK else str(widget.value)
        return values

    @on(Input.Changed, "#create-form Input")
    def _validate_input(self, event: Input.Changed) -> None:
        result = event.validation_result
        message = None if result is None or result.is_valid else result.failure_descriptions[0]
        self._field_of(event.input).show_error(message)

    @on(Select.Changed, "#create-network_mode")
    def _network_changed(self) -> None:
        mode = self.query_one("#create-network_mode", Select).value
        self.set_class(mode == "allowlist", "-allowlist")

    def _field_of(self, widget: Widget) -> Field:
        return next(ancestor for ancestor in widget.ancestors if isinstance(ancestor, Field))

    def _show_form_error(self, error: FormError) -> None:
        for field in self.query(Field):
            field.show_error(None)
        matching = self.query(f"#field-{error.field}")
        if matching:
            field = matching.first(Field)
            field.show_error(str(error))
            field.scroll_visible()
        self.query_one("#create-error", Static).update(f"{error.field}: {error}")

    @on(Button.Pressed, "#create-submit")
    def action_submit(self) -> None:
        """Validate the form and send the request."""
        if self.phase != "form":
            return
        try:
            request = build_request(self.values())
        except FormError as error:
            self._show_form_error(error)
            return
        self.query_one("#create-error", Static).update("")
        self.phase = "creating"
        self.query_one("#create-status", Static).update(f"Creating a {request.template} sandbox…")
        self.create(request)

    @on(Button.Pressed, "#create-cancel")
    @on(Button.Pressed, "#create-back")
    def action_cancel(self) -> None:
        """Leave the form (the sandbox keeps starting if it was already requested)."""
        self.dismiss(self._created.id if self._created else None)

    @on(Button.Pressed, "#create-open")
    def _open(self) -> None:
        from caged_tui.screens.detail.screen import SandboxDetailScreen

        if self._created is not None:
            sandbox_id = self._created.id
            self.dismiss(sandbox_id)
            self.app.push_screen(SandboxDetailScreen(sandbox_id))

    # ------------------------------------------------------------------ creation

    @work(exclusive=True, group="create", exit_on_error=False, description="Creating a sandbox")
    async def create(self, request: SandboxCreate) -> None:
        """Create the sandbox, then poll it and its logs until it has started."""
        try:
            sandbox = await self.client.sandboxes.create(**request.to_body(), wait=False)
        except CagedAPIError as error:
            self.post_message(CreateFailed(str(error)))
            return
        self.post_message(SandboxCreated(sandbox))
        seen = 0
        while True:
            sandbox = await self.client.sandboxes.get(sandbox.id)
            logs = await self.client.sandboxes.logs(sandbox.id, tail=1000)
            self.post_message(CreationProgressed(sandbox, logs[seen:]))
            seen = max(seen, len(logs))
            if sandbox.status not in (SandboxStatus.PENDING, SandboxStatus("creating")):
                return
            await asyncio.sleep(PROGRESS_INTERVAL)

    @on(CreateFailed)
    def _create_failed(self, event: CreateFailed) -> None:
        self.phase = "form"
        self.query_one("#create-error", Static).update(f"The platform refused: {event.reason}")

    @on(SandboxCreated)
    def _sandbox_created(self, event: SandboxCreated) -> None:
        self._created = event.sandbox
        self.query_one("#create-status", Static).update(
            f"{event.sandbox.id}: {event.sandbox.status.value} — waiting for it to start…"
        )

    @on(CreationProgressed)
    def _progressed(self, event: CreationProgressed) -> None:
        self._created = event.sandbox
        log = self.query_one("#create-log", RichLog)
        for entry in event.new_logs:
            log.write(log_text(entry))
        status = event.sandbox.status
        status_line = self.query_one("#create-status", Static)
        if status == SandboxStatus.RUNNING:
            status_line.update(f"✔ {event.sandbox.id} is running.")
            self.phase = "done"
            self.query_one("#create-open", Button).focus()
            self.notify(f"{event.sandbox.id} is running", title="Sandbox created")
        elif status in (SandboxStatus.PENDING, SandboxStatus("creating")):
            status_line.update(f"{event.sandbox.id}: {status.value}…")
        else:
            error = event.sandbox.last_error or "see the log above"
            status_line.update(f"✘ {event.sandbox.id} ended up {status.value}: {error}")
            self.phase = "failed"
            self.query_one("#create-back", Button).focus()


def log_text(entry: LogEntry) -> Text:
    """A line of the sandbox's log while it starts, control characters escaped (it holds
    the output of the sandbox's init steps)."""
    message = controls_escaped(entry.message, keep="\n\t")  # lines laid out by Rich
    return Text(f"[{entry.type}] {message}")
