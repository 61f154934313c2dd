"""The snapshots screen: workspace archives of one sandbox (``s``) or of all (``:snapshots``).

The list comes from the live feed (one topic per sandbox, or one over every
sandbox at a slower pace) and is shown in the shared virtual table. Actions:
``n`` snapshots the sandbox now (a progress bar until it is completed), ``R``
restores into this sandbox or another picked from the list (after a
confirmation that offers to snapshot the target first), ``F`` forks (a new
sandbox like the snapshot's, restored from it, opened once running), ``w``
downloads the archive with a progress bar and checks its size, ``d`` deletes
after confirmation, ``y`` copies the download URL.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Label, ProgressBar, Static
from textual.worker import Worker, WorkerState

from caged_core.models import Sandbox, Snapshot, SnapshotStatus
from caged_tui import formatting as fmt
from caged_tui.live import SANDBOXES, Fetched, TopicSpec
from caged_tui.safe_text import printable
from caged_tui.screens.base import CagedScreen
from caged_tui.screens.files.tree import human_size
from caged_tui.widgets.dialogs import Choice, ChoiceDialog, ConfirmDialog, Field, FormDialog
from caged_tui.widgets.sandbox_picker import SandboxPicker
from caged_tui.widgets.virtual_table import Cell, Column, ListSource, VirtualTable

if TYPE_CHECKING:
    from caged_core.client import AsyncCaged

COLUMNS = (
    Column("name", "NAME", 24),
    Column("id", "ID", 13),
    Column("sandbox", "SANDBOX", 13),
    Column("trigger", "TRIGGER", 10),
    Column("status", "STATUS", 9),
    Column("size", "SIZE", 8),
    Column("created", "CREATED", 16),
    Column("age", "AGE", 6),
)
#: The first bytes of every gzip file (the archives are .tar.gz).
GZIP_MAGIC = b"\x1f\x8b"
#: Snapshot lists fetched at once when listing every sandbox's.
PARALLEL = 8


def snapshot_cells(snapshot: Snapshot, now: datetime) -> tuple[Cell, ...]:
    """A snapshot's row."""
    created = snapshot.created_at.strftime("%Y-%m-%d %H:%M") if snapshot.created_at else fmt.DASH
    return (
        (snapshot.name or fmt.DASH, ""),
        (snapshot.id, ""),
        (snapshot.sandbox_id, ""),
        (snapshot.trigger, ""),
        (snapshot.status.value, f"snapshot-table--{snapshot.status.value}"),
        (human_size(snapshot.size_bytes) if snapshot.size_bytes else fmt.DASH, ""),
        (created, ""),
        (fmt.since(snapshot.created_at, now), ""),
    )


async def _snapshots_of(client: AsyncCaged, sandbox_id: str) -> list[Snapshot]:
    return [snapshot async for snapshot in client.snapshots.list(sandbox_id)]


def snapshots_topic(sandbox_id: str | None, screen: SnapshotsScreen) -> TopicSpec[list[Snapshot]]:
    """The live topic of one sandbox's snapshots (None: every sandbox's, every 5 s)."""

    async def fetch(client: AsyncCaged, etag: str | None) -> Fetched[list[Snapshot]]:
        if not (screen.is_attached and screen.is_current):
            return Fetched(None)
        if sandbox_id is not None:
            found = await _snapshots_of(client, sandbox_id)
        else:
            limit = asyncio.Semaphore(PARALLEL)

            async def one(sandbox: Sandbox) -> list[Snapshot]:
                async with limit:
                    return await _snapshots_of(client, sandbox.id)

            sandboxes = await client.sandboxes.list()
            found = [s for each in await asyncio.gather(*map(one, sandboxes)) for s in each]
        found.sort(key=lambda s: s.created_at.timestamp() if s.created_at else 0, reverse=True)
        return Fetched(found)

    name = f"snapshots:{sandbox_id or '*'}"
    return TopicSpec(name, fetch, min_interval=0.0 if sandbox_id else 5.0)


class SnapshotTable(VirtualTable):
    """Snapshots, statuses coloured."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "snapshot-table--completed",
        "snapshot-table--pending",
        "snapshot-table--failed",
    }

    DEFAULT_CSS = """
    SnapshotTable > .snapshot-table--completed { color: $success; }
    SnapshotTable > .snapshot-table--pending { color: $warning; }
    SnapshotTable > .snapshot-table--failed { color: $error; text-style: bold; }
    """


class SnapshotsScreen(CagedScreen[None]):
    """Snapshots of one sandbox, or of every sandbox."""

    SCREEN_TITLE = "Snapshots"
    CSS_PATH = "snapshots.tcss"
    AUTO_FOCUS = "#snapshots-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="snapshots.back"),
        Binding("n", "create", "Snapshot now", id="snapshots.create"),
        Binding("R", "restore", "Restore", id="snapshots.restore"),
        Binding("F", "fork", "Fork", id="snapshots.fork"),
        Binding("w", "download", "Download", id="snapshots.download"),
        Binding("d", "delete", "Delete", id="snapshots.delete"),
        Binding("y", "copy_url", "Copy URL", show=False, id="snapshots.copy_url"),
        Binding("r,ctrl+r", "refresh", "Refresh", show=False, id="snapshots.refresh"),
    ]

    @dataclass
    class Progressed(Message):
        """How far a download got (``total`` None: unknown)."""

        done: int
        total: int | None

        def can_replace(self, message: Message) -> bool:
            """Only the latest count matters."""
            return isinstance(message, SnapshotsScreen.Progressed)

    @dataclass
    class Finished(Message):
        """A long action ended (``note`` says how; empty: it failed and said so)."""

        note: str
        open_sandbox: str | None = None

    def __init__(self, sandbox_id: str | None = None) -> None:
        super().__init__()
        self.sandbox_id = sandbox_id
        self._source: ListSource[Snapshot] = ListSource(
            lambda snap: snap.id, snapshot_cells, self.now()
        )
        #: A snapshot being created whose completion the list should show.
        self._awaited: str | None = None

    @property
    def context_sandbox_id(self) -> str | None:
        """This screen's sandbox, else the selected snapshot's."""
        if self.sandbox_id is not None:
            return self.sandbox_id
        snapshot = self.current()
        return snapshot.sandbox_id if snapshot else None

    def compose_body(self) -> ComposeResult:
        scope = self.sandbox_id or "every sandbox"
        with Vertical(id="snapshots-body"):
            yield Static(f"Snapshots of {scope} · loading…", id="snapshots-title", markup=False)
            with Horizontal(id="snapshots-progress"):
                yield Label("", id="snapshots-progress-label", markup=False)
                yield ProgressBar(total=None, id="snapshots-progress-bar")
            yield SnapshotTable(COLUMNS, self._source, id="snapshots-table")
            yield Static("", id="snapshots-empty")

    def on_mount(self) -> None:
        super().on_mount()
        topic = snapshots_topic(self.sandbox_id, self)
        self.caged.live.subscribe(self, topic, self._loaded)

    @property
    def table(self) -> SnapshotTable:
        """The list."""
        return self.query_one(SnapshotTable)

    def current(self) -> Snapshot | None:
        """The snapshot under the cursor."""
        key = self.table.cursor_key
        return self._source.get(key) if key is not None else None

    def _loaded(self, snapshots: list[Snapshot]) -> None:
        self._source.retime(self.now(), ())
        self._source.update(snapshots)
        self.table.source_changed()
        scope = self.sandbox_id or "every sandbox"
        count = len(snapshots)
        title = f"Snapshots of {scope} · {count} snapshot{'' if count == 1 else 's'}"
        self.query_one("#snapshots-title", Static).update(title)
        empty = "No snapshots yet. Press n to snapshot the workspace now." if not count else ""
        self.query_one("#snapshots-empty", Static).update(empty)
        self.set_class(not count, "-empty")
        awaited = self._source.get(self._awaited) if self._awaited else None
        if awaited is not None and awaited.status != SnapshotStatus.PENDING:
            self._awaited = None
            self._busy(None)
            self.table.move_to(awaited.id)
            if awaited.status == SnapshotStatus.FAILED:
                self.notify(f"Snapshot {awaited.id} failed.", severity="error")
            else:
                self.notify(f"Snapshot {awaited.id} completed ({human_size(awaited.size_bytes)})")

    def _busy(self, label: str | None, total: float | None = None) -> None:
        """Show (or with None hide) the progress row."""
        self.set_class(label is not None, "-busy")
        if label is not None:
            self.query_one("#snapshots-progress-label", Label).update(label)
            self.query_one(ProgressBar).update(total=total, progress=0)

    def _require(self) -> Snapshot | None:
        snapshot = self.current()
        if snapshot is None:
            self.notify("No snapshot selected.", severity="warning")
        return snapshot

    def _require_completed(self) -> Snapshot | None:
        snapshot = self._require()
        if snapshot is not None and snapshot.status != SnapshotStatus.COMPLETED:
            self.notify(f"{snapshot.id} is {snapshot.status.value}.", severity="warning")
            return None
        return snapshot

    @on(Progressed)
    def _progressed(self, event: Progressed) -> None:
        self.query_one(ProgressBar).update(total=event.total, progress=event.done)

    @on(Finished)
    def _finished(self, event: Finished) -> None:
        self._busy(None)
        if event.note:
            self.notify(event.note)
        self.caged.live.poke()
        if event.open_sandbox is not None:
            from caged_tui.screens.detail.screen import SandboxDetailScreen

            self.app.push_screen(SandboxDetailScreen(event.open_sandbox))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A long action that failed hides its progress (the failure is notified)."""
        failed = event.state in (WorkerState.ERROR, WorkerState.CANCELLED)
        if failed and event.worker.group == "snapshots.long":
            self._busy(None)
        super().on_worker_state_changed(event)

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        """Back to where the snapshots were opened from."""
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.caged.go("sandboxes")

    def action_refresh(self) -> None:
        """Fetch the list again now."""
        self.caged.live.poke()

    def action_create(self) -> None:
        """Snapshot the sandbox's workspace now (name and description asked)."""
        sandbox_id = self.context_sandbox_id
        if sandbox_id is None:
            self.notify(
                "Open the snapshots of a sandbox (s on it) to create one.", severity="warning"
            )
            return

        def answered(values: dict[str, str] | None) -> None:
            if values is not None:
                self._busy(f"Snapshotting {sandbox_id}…")
                self.create(sandbox_id, values["name"], values["description"])

        fields = [
            Field("name", "Name", placeholder="e.g. before refactor", required=False),
            Field("description", "Description", required=False),
        ]
        self.app.push_screen(
            FormDialog(f"Snapshot {sandbox_id}", fields, "Snapshot"), callback=answered
        )

    @work(group="snapshots.long", exit_on_error=False, description="Creating a snapshot")
    async def create(self, sandbox_id: str, name: str, description: str) -> None:
        """Create the snapshot; the list shows it until it is completed."""
        snapshot = await self.client.snapshots.create(sandbox_id, name or None, description or None)
        self._awaited = snapshot.id
        self.caged.live.poke()

    def action_restore(self) -> None:
        """Restore the snapshot into this sandbox or another (confirmation first)."""
        snapshot = self._require_completed()
        if snapshot is None:
            return
        sandboxes: list[Sandbox] = self.caged.live.current(SANDBOXES.name) or []
        if not sandboxes:
            self._confirm_restore(snapshot, snapshot.sandbox_id)
            return

        def picked(target: str | None) -> None:
            if target is not None:
                self._confirm_restore(snapshot, target)

        self.app.push_screen(
            SandboxPicker(
                f"Restore {snapshot.id} into which sandbox?",
                sandboxes,
                self.now(),
                selected=snapshot.sandbox_id,
            ),
            callback=picked,
        )

    def _confirm_restore(self, snapshot: Snapshot, target: str) -> None:
        def answered(choice: str | None) -> None:
            if choice in ("snapshot_first", "restore"):
                self._busy(f"Restoring {snapshot.id} into {target}…")
                self.restore(snapshot, target, snapshot_first=choice == "snapshot_first")

        self.app.push_screen(
            ChoiceDialog(
                f"Restore into {target}?",
                f"The files in {target}'s /workspace will be replaced by those of "
                f"{snapshot.id} ({printable(snapshot.name)}). "
                "Files not in the snapshot are deleted. "
                "Snapshot first saves the target's files as they are, then restores.",
                [
                    Choice("snapshot_first", "Snapshot first", "s", "primary"),
                    Choice("restore", "Restore", "r", "error"),
                    Choice("cancel", "Cancel", "c"),
                ],
            ),
            callback=answered,
        )

    @work(group="snapshots.long", exit_on_error=False, description="Restoring a snapshot")
    async def restore(self, snapshot: Snapshot, target: str, *, snapshot_first: bool) -> None:
        """Restore ``snapshot`` into ``target`` (snapshotting the target first if asked)."""
        note = ""
        if snapshot_first:
            before = await self.client.snapshots.create(
                target, f"before restore of {snapshot.id}", None
            )
            note = f" (its files before are in {before.id})"
        await self.client.snapshots.restore(snapshot.id, target)
        self.post_message(self.Finished(f"Restored {snapshot.id} into {target}{note}"))

    def action_fork(self) -> None:
        """A new sandbox like the snapshot's, restored from it, opened once running."""
        snapshot = self._require_completed()
        if snapshot is not None:
            self._busy(f"Forking {snapshot.id}: creating a sandbox like {snapshot.sandbox_id}…")
            self.fork(snapshot)

    @work(group="snapshots.long", exit_on_error=False, description="Forking a snapshot")
    async def fork(self, snapshot: Snapshot) -> None:
        """Fork the snapshot into a new sandbox."""
        sandbox = await self.client.snapshots.fork(snapshot.id)
        self.post_message(
            self.Finished(f"Forked {snapshot.id} into {sandbox.id}", open_sandbox=sandbox.id)
        )

    def action_download(self) -> None:
        """Download the archive to a local path (asked), with a progress bar."""
        snapshot = self._require_completed()
        if snapshot is None:
            return
        # The id comes from the server: only its safe characters name a local file.
        default = str(Path.cwd() / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', snapshot.id)}.tar.gz")

        def answered(values: dict[str, str] | None) -> None:
            if values is not None:
                target = Path(values["path"]).expanduser()
                self._busy(f"Downloading {snapshot.id} to {target}", snapshot.size_bytes or None)
                self.download(snapshot, target)

        self.app.push_screen(
            FormDialog(f"Download {snapshot.id}", [Field("path", "Save as", default)], "Download"),
            callback=answered,
        )

    @work(group="snapshots.long", exit_on_error=False, description="Downloading a snapshot")
    async def download(self, snapshot: Snapshot, target: Path) -> None:
        """Stream the archive to ``target`` and check its size and gzip header."""
        path = await self.client.snapshots.download_to(
            snapshot.id,
            target,
            progress=lambda done, total: self.post_message(
                self.Progressed(done, total or snapshot.size_bytes or None)
            ),
        )
        size = path.stat().st_size
        with path.open("rb") as archive:
            magic = archive.read(2)
        if snapshot.size_bytes and size != snapshot.size_bytes:
            self.notify(
                f"{path} is {size:,} bytes but the snapshot is {snapshot.size_bytes:,}.",
                title="Download size mismatch",
                severity="error",
            )
            self.post_message(self.Finished(""))
            return
        if magic != GZIP_MAGIC:
            self.notify(f"{path} is not a gzip archive.", severity="error")
            self.post_message(self.Finished(""))
            return
        self.post_message(self.Finished(f"Downloaded {path} ({size:,} bytes, size checked)"))

    def action_delete(self) -> None:
        """Delete the snapshot after confirmation (Cancel is the default)."""
        snapshot = self._require()
        if snapshot is None:
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.delete(snapshot)

        self.app.push_screen(
            ConfirmDialog(
                f"Delete {snapshot.id}?",
                f"{printable(snapshot.name)}\n\nThe archive is deleted. It cannot be undone.",
                confirm_label="Delete",
            ),
            callback=confirmed,
        )

    @work(group="snapshots.action", exit_on_error=False, description="Deleting a snapshot")
    async def delete(self, snapshot: Snapshot) -> None:
        """Delete one snapshot."""
        await self.client.snapshots.delete(snapshot.id)
        self.post_message(self.Finished(f"Deleted {snapshot.id}"))

    def action_copy_url(self) -> None:
        """Copy the archive's download URL (OSC 52)."""
        snapshot = self._require_completed()
        if snapshot is not None:
            self.copy_url(snapshot)

    @work(group="snapshots.action", exit_on_error=False, description="Getting the download URL")
    async def copy_url(self, snapshot: Snapshot) -> None:
        """Fetch the (expiring) URL and copy it."""
        link = await self.client.snapshots.download(snapshot.id)
        url = self.client.base_url + link.url if link.url.startswith("/") else link.url
        self.app.copy_to_clipboard(url)
        minutes = link.expires_in_seconds // 60
        self.notify(f"Copied {url} (valid {minutes} min)")
