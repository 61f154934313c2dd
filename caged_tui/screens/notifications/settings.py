"""The settings tab of the notifications screen: channels, webhooks and email.

Webhook URLs are credentials: the platform never returns them, only whether one is
stored and a hint of its end (``...abcd``). So their inputs are masked and start
empty, with the hint as placeholder; leaving one empty keeps what is stored, typing
replaces it, and **Remove** sends the contract's ``"__clear__"`` (after asking).
``ctrl+s`` saves only the fields that changed; the platform's refusals are shown
with its reason.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Static, TabbedContent, TabPane

from caged_core.models import NotificationChannel, NotificationConfig, NotificationConfigUpdate
from caged_tui.protocol import HostAccess
from caged_tui.safe_text import printable
from caged_tui.widgets.dialogs import ConfirmDialog

#: The channels, in the order their boxes are shown.
CHANNELS: tuple[str, ...] = tuple(channel.value for channel in NotificationChannel)
#: The webhooks: (config prefix, label).
WEBHOOKS: tuple[tuple[str, str], ...] = (("slack", "Slack"), ("discord", "Discord"))


def stored(config: NotificationConfig, name: str) -> str:
    """The placeholder of a webhook input: the stored URL's hint, or that there is none."""
    if getattr(config, f"{name}_webhook_configured"):
        hint = printable(getattr(config, f"{name}_webhook_hint") or "…")
        return f"stored: {hint} — type a new URL to replace it"
    return "not set — paste the webhook URL"


class SettingsPanel(HostAccess, TabPane):
    """The notification settings form (see the module docstring)."""

    TITLE: ClassVar[str] = "Settings"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save settings", id="notification_settings.save"),
    ]

    def __init__(self) -> None:
        super().__init__("Settings", id="notifications-settings")
        self.config: NotificationConfig | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="settings-form"):
            yield Label("Channels", classes="settings-heading")
            with Horizontal(classes="settings-row"):
                for channel in CHANNELS:
                    yield Checkbox(channel, id=f"channel-{channel}")
            for name, label in WEBHOOKS:
                yield Label(f"{label} webhook URL", classes="settings-heading")
                with Horizontal(classes="settings-row"):
                    yield Input(password=True, id=f"webhook-{name}", classes="webhook")
                    yield Button("Remove", id=f"remove-{name}", variant="error", classes="remove")
            yield Label("Slack channel id", classes="settings-heading")
            yield Input(id="settings-slack-channel")
            yield Label("Email address", classes="settings-heading")
            yield Input(id="settings-email", placeholder="alerts@example.com")
            with Horizontal(classes="settings-row"):
                yield Button("Save (ctrl+s)", id="settings-save", variant="primary")
                yield Static(id="settings-error")

    def on_mount(self) -> None:
        self.load()

    def reveal(self) -> None:
        """Bring the tab to the front with the focus on its first box."""
        self.query_ancestor(TabbedContent).active = "notifications-settings"
        self.call_after_refresh(self.query(Checkbox).first().focus)

    @work(group="settings.load", exclusive=True, exit_on_error=False, description="Settings")
    async def load(self) -> None:
        """Fetch the settings (they change only when saved)."""
        self.show(await self.client.notifications.get_config())

    def show(self, config: NotificationConfig) -> None:
        """Fill the form from ``config``; webhook inputs start empty."""
        self.config = config
        for channel in CHANNELS:
            self.query_one(f"#channel-{channel}", Checkbox).value = (
                channel in config.enabled_channels
            )
        for name, _ in WEBHOOKS:
            box = self.query_one(f"#webhook-{name}", Input)
            box.value = ""
            box.placeholder = stored(config, name)
            self.query_one(f"#remove-{name}", Button).disabled = not getattr(
                config, f"{name}_webhook_configured"
            )
        self.query_one("#settings-slack-channel", Input).value = config.slack_channel_id
        self.query_one("#settings-email", Input).value = config.email_address
        self.query_one("#settings-error", Static).update("")

    def changes(self) -> dict[str, Any]:
        """The fields that differ from the stored settings (ValueError: what is wrong)."""
        config = self.config
        if config is None:
            return {}
        body: dict[str, Any] = {}
        channels = [c for c in CHANNELS if self.query_one(f"#channel-{c}", Checkbox).value]
        if set(channels) != set(config.enabled_channels):
            body["enabled_channels"] = channels
        for name, label in WEBHOOKS:
            url = self.query_one(f"#webhook-{name}", Input).value.strip()
            if url:
                if not url.startswith(("https://", "http://")):
                    raise ValueError(f"The {label} webhook must be an http(s) URL.")
                body[f"{name}_webhook_url"] = url
        channel_id = self.query_one("#settings-slack-channel", Input).value.strip()
        if channel_id != config.slack_channel_id:
            body["slack_channel_id"] = channel_id
        email = self.query_one("#settings-email", Input).value.strip()
        if email != config.email_address:
            if email and "@" not in email:
                raise ValueError(f"{email!r} is not an email address.")
            body["email_address"] = email
        return body

    @on(Button.Pressed, "#settings-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        """Check the form and save what changed."""
        error = self.query_one("#settings-error", Static)
        try:
            body = self.changes()
        except ValueError as problem:
            error.update(str(problem))
            return
        if not body:
            error.update("Nothing changed.")
            return
        error.update("")
        self.save(body)

    @on(Button.Pressed, ".remove")
    def _remove_pressed(self, event: Button.Pressed) -> None:
        name = (event.button.id or "").removeprefix("remove-")
        label = dict(WEBHOOKS)[name]

        def answered(remove: bool | None) -> None:
            if remove:
                self.save({f"{name}_webhook_url": NotificationConfigUpdate.CLEAR})

        self.app.push_screen(
            ConfirmDialog(
                f"Remove the {label} webhook?",
                f"Alerts will no longer be posted to {label}.",
                confirm_label="Remove",
            ),
            callback=answered,
        )

    @work(group="settings.save", exclusive=True, exit_on_error=False, description="Saving")
    async def save(self, body: dict[str, Any]) -> None:
        """``PUT /notifications/config`` with ``body``; the form shows what was stored."""
        self.show(await self.client.notifications.update_config(**body))
        self.notify("Saved the notification settings")
