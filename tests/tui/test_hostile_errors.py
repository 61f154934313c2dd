"""The central error handler shows a failure's message as text: messages carry what a sandbox
said (the last line of a workspace command's stderr, a path in the platform's reason), so
their control characters are escaped and their brackets are not Textual markup."""

from __future__ import annotations

from dataclasses import dataclass

from fake_platform import fake_app
from test_app import SIZE, loaded
from textual.worker import WorkerState

from caged_core.errors import CagedCommandError

# Sets the host's clipboard, then a markup link to a local file over the text "details".
SAID = "rm: cannot remove \x1b]52;c;aGk=\x07: [link=file:///etc/passwd]details[/link]"


@dataclass
class _FailedWorker:
    """What the handler reads of a worker that failed."""

    error: BaseException
    state: WorkerState = WorkerState.ERROR
    description: str = "Deleting"
    name: str = "delete"


async def test_a_sandboxs_words_in_an_error_toast_are_text() -> None:
    app = fake_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await loaded(pilot)
        error = CagedCommandError(f"deleting x failed: {SAID}", exit_code=1)
        app.report_worker_failure(_FailedWorker(error))  # type: ignore[arg-type]
        await pilot.pause()
        [toast] = [n for n in app._notifications if n.title == "CommandError"]
        assert "\x1b" not in toast.message and "\x07" not in toast.message
        assert not toast.markup  # the brackets are shown, never a link
        assert r"\x1b]52;c;aGk=\x07: [link=file:///etc/passwd]details[/link]" in toast.message


async def test_every_toast_is_text() -> None:
    """Screens notify with names from the sandbox (copied, created, renamed, deleted, saved
    paths): every toast of the app is drawn as text, its control characters escaped."""
    app = fake_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await loaded(pilot)
        app.screen.notify(f"Copied /workspace/{SAID} [/]\nsecond line", title="Copied \x1b[2J")
        await pilot.pause()
        [toast] = [n for n in app._notifications if n.title.startswith("Copied")]
        assert not toast.markup
        assert "\x1b" not in toast.message + toast.title and "\x07" not in toast.message
        assert toast.message.endswith("[/]\nsecond line")  # newlines stay lines
