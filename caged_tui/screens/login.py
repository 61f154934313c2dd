"""Profiles: log in to the hosted platform with an API key, or go back to local.

The key is verified with ``GET /account`` before anything is stored; it is
then saved in the system keyring. Without a keyring the screen says so and
points to ``CAGED_API_KEY`` — the verified key is still used for this session.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Input, Label, Static

from caged_core import config
from caged_core.errors import CagedAuthError, CagedConfigError, CagedError
from caged_core.models import Account
from caged_tui.connect import Session
from caged_tui.screens.base import CagedScreen
from caged_tui.settings import LOCAL_PROFILE, Settings

HOSTED_PROFILE = config.CLOUD_PROFILE


@dataclass
class KeyVerified(Message):
    """The pasted key works; ``stored`` says whether the keyring kept it."""

    session: Session
    account: Account
    stored: bool


@dataclass
class NoKeyring(Message):
    """No keyring backend: a pasted key cannot be kept."""


def _store(profile: str, base_url: str, key: str) -> bool:
    """Save the key in the keyring and the profile in the config file; False without
    a keyring."""
    try:
        config.save_api_key(profile, key)
        config.save_profile(profile, base_url)
    except CagedConfigError:
        return False
    return True


@dataclass
class KeyRejected(Message):
    """The pasted key did not work."""

    reason: str


class LoginScreen(CagedScreen[None]):
    """Paste an API key for a hosted profile, or switch to the local platform."""

    SCREEN_TITLE = "Profiles"
    CSS_PATH = "login.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="login.back"),
        Binding("ctrl+s", "verify", "Verify and save", id="login.verify"),
        Binding("ctrl+l", "use_local", "Use local platform", id="login.local"),
    ]

    busy: reactive[bool] = reactive(False, init=False)

    def __init__(self, profile: str = HOSTED_PROFILE) -> None:
        super().__init__()
        self._profile = profile if profile != LOCAL_PROFILE else HOSTED_PROFILE

    def compose_body(self) -> ComposeResult:
        with Vertical(id="login-box"):
            yield Label("Log in to hosted Caged", id="login-title")
            yield Static(
                "Create a key at caged.dev → Settings → API keys, then paste it here. "
                "It is checked against the platform before it is saved in your keyring.",
                id="login-about",
            )
            yield Label("Profile")
            yield Input(self._profile, id="login-profile")
            yield Label("Base URL")
            yield Input(config.DEFAULT_BASE_URL, id="login-url")
            yield Label("API key")
            yield Input(placeholder="caged_sk_…", password=True, id="login-key")
            yield Static(id="login-result")
            with Horizontal(id="login-buttons"):
                yield Button("Verify and save", id="login-verify", variant="primary")
                yield Button("Use local platform", id="login-local")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#login-key", Input).focus()
        self.check_keyring()

    @work(thread=True, group="login.keyring", exit_on_error=False, description="Keyring")
    def check_keyring(self) -> None:
        """Whether a keyring exists (asking a backend can block: a thread, not the loop)."""
        if not config.keyring_available():
            self.post_message(NoKeyring())

    @on(NoKeyring)
    def _no_keyring(self) -> None:
        self._result(
            "No keyring on this machine: the key cannot be saved. It will work for this "
            "session; to keep it, set CAGED_API_KEY in your environment.",
            "-warning",
        )

    def watch_busy(self, busy: bool) -> None:
        self.set_class(busy, "-busy")
        self.query_one("#login-verify", Button).disabled = busy

    def _result(self, text: str, css_class: str) -> None:
        result = self.query_one("#login-result", Static)
        result.update(text)
        result.set_classes(css_class)

    @on(Button.Pressed, "#login-verify")
    @on(Input.Submitted, "#login-key")
    def action_verify(self) -> None:
        """Check the key with the platform, then store it and switch to the profile."""
        key = self.query_one("#login-key", Input).value.strip()
        if not key:
            self._result("Paste an API key first.", "-error")
            return
        self.busy = True
        self._result("Checking the key…", "-info")
        self.verify(
            self.query_one("#login-profile", Input).value.strip() or HOSTED_PROFILE,
            self.query_one("#login-url", Input).value.strip() or config.DEFAULT_BASE_URL,
            key,
        )

    @on(Button.Pressed, "#login-local")
    def action_use_local(self) -> None:
        """Switch to the embedded local platform."""
        self.caged.switch_profile(LOCAL_PROFILE)
        self.app.pop_screen()

    @work(exclusive=True, group="login", exit_on_error=False, description="Verifying the key")
    async def verify(self, profile: str, base_url: str, key: str) -> None:
        """``GET /account`` with the key; store it when it works."""
        client = self.caged.client_factory(api_key=key, base_url=base_url)
        try:
            account = await client.account.get()
        except CagedAuthError as error:
            await client.aclose()
            self.post_message(KeyRejected(f"The platform refused this key: {error}"))
            return
        except CagedError as error:
            await client.aclose()
            self.post_message(KeyRejected(str(error)))
            return
        # The keyring (D-Bus, a wallet that may ask to unlock) and the config file
        # block: off the event loop.
        stored = await asyncio.to_thread(_store, profile, base_url, key)
        settings = Settings(
            profile=profile,
            base_url=base_url,
            local=False,
            theme=self.app.theme,
            keymap=self.caged.settings.keymap,
        )
        self.post_message(KeyVerified(Session(client, settings), account, stored))

    @on(KeyRejected)
    def _rejected(self, event: KeyRejected) -> None:
        self.busy = False
        self._result(event.reason, "-error")

    @on(KeyVerified)
    def _verified(self, event: KeyVerified) -> None:
        self.busy = False
        who = event.account.email or event.account.name or event.account.id
        if not event.stored:
            self.notify(
                "No keyring: the key was not saved. Set CAGED_API_KEY to keep using it.",
                severity="warning",
                timeout=10,
            )
        self.caged.use_session(event.session, f"Logged in as {who} ({event.account.tier})")
        self.app.pop_screen()
