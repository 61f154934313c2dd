"""The rules tab of the alerts screen: each rule type, its enabled switch and settings.

The rules are listed in a :class:`VirtualTable`; the one under the cursor is edited in
the form below it. Values are checked here first against :mod:`caged_core.alert_rules`
(a number, whole where the platform wants one, within the range it accepts, 0 meaning
the platform's default), then saved with ``PUT /alerts/rules/{id}`` sending only what
changed; a refusal shows the platform's reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static, Switch, TabbedContent, TabPane

from caged_core.alert_rules import RULE_SETTINGS, RuleSetting
from caged_core.models import AlertRule
from caged_tui import formatting as fmt
from caged_tui.protocol import HostAccess
from caged_tui.widgets.virtual_table import Cell, Column, ListSource, VirtualTable

#: What each setting is called in the form.
LABELS: dict[str, str] = {
    "threshold_percent": "Warn at % of the budget",
    "multiplier_threshold": "Times the usual session",
    "idle_minutes": "Minutes without events",
    "error_count_threshold": "Errors",
    "window_minutes": "Within minutes",
    "score_threshold": "Score below",
}


def parse(setting: RuleSetting, text: str) -> float:
    """The value typed, or ValueError saying what is wrong (empty or 0: the default)."""
    label = LABELS.get(setting.key, setting.key)
    try:
        value = float(text.strip()) if text.strip() else 0.0
    except ValueError:
        raise ValueError(f"{label}: {text.strip()!r} is not a number") from None
    if setting.whole and not value.is_integer():
        raise ValueError(f"{label} must be a whole number")
    if value != 0 and not setting.low <= value <= setting.high:
        raise ValueError(
            f"{label} must be from {setting.low:g} to {setting.high:g} (0 means the default)"
        )
    return value


#: What each rule type watches, for the form's heading.
ABOUT: dict[str, str] = {
    "budget_exceeded": "A sandbox's spend against its budget (critical at 95 %; stopped at 100 %).",
    "cost_anomaly": "A session costing far more than the usual session of its kind.",
    "agent_stuck": "An active session with no events for a while.",
    "error_spike": "A burst of error events from one sandbox or session.",
    "trust_score_low": "A session's trust score falling (below 30 the sandbox is paused).",
}


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def settings_text(rule: AlertRule) -> str:
    """A rule's config in one cell: ``threshold_percent=80``."""
    return ", ".join(f"{k}={_number(v)}" for k, v in sorted(rule.config.items())) or fmt.DASH


def rule_cells(rule: AlertRule, now: datetime) -> tuple[Cell, ...]:
    """A rule's row."""
    enabled = ("on", "rules-table--on") if rule.enabled else ("off", "rules-table--off")
    return ((rule.type.value, ""), enabled, (settings_text(rule), ""))


class RulesTable(VirtualTable):
    """The rules, one per type."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "rules-table--on",
        "rules-table--off",
    }
    DEFAULT_CSS = """
    RulesTable { height: 8; }
    RulesTable > .rules-table--on { color: $success; text-style: bold; }
    RulesTable > .rules-table--off { color: $text-muted; }
    """


class RulesPanel(HostAccess, TabPane):
    """The rules tab (see the module docstring)."""

    TITLE: ClassVar[str] = "Rules"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save rule", id="rules.save"),
        Binding("ctrl+e", "flip_enabled", "Enable/disable", id="rules.toggle"),
    ]

    def __init__(self) -> None:
        super().__init__("Rules", id="alerts-rules")
        self._source: ListSource[AlertRule] = ListSource(
            lambda rule: rule.id, rule_cells, datetime.now()
        )
        self._editing: AlertRule | None = None

    def compose(self) -> ComposeResult:
        yield RulesTable(
            (Column("type", "RULE", 16), Column("enabled", "ON", 3), Column("config", "SETTINGS")),
            self._source,
            id="rules-table",
        )
        with Vertical(id="rules-form"):
            yield Label("", id="rules-about")
            with Horizontal(classes="rules-row"):
                yield Label("Enabled", classes="rules-label")
                yield Switch(id="rules-enabled")
            for settings in RULE_SETTINGS.values():
                for setting in settings:
                    with Horizontal(classes="rules-row", id=f"row-{setting.key}"):
                        yield Label(LABELS.get(setting.key, setting.key), classes="rules-label")
                        yield Input(
                            id=f"rule-{setting.key}",
                            placeholder=f"{setting.default:g} (0 = default)",
                        )
            with Horizontal(classes="rules-row"):
                yield Button("Save (ctrl+s)", id="rules-save", variant="primary")
                yield Static(id="rules-error")

    def on_mount(self) -> None:
        self.load()

    @property
    def table(self) -> RulesTable:
        """The rules list."""
        return self.query_one(RulesTable)

    def reveal(self) -> None:
        """Bring the tab to the front with the focus on the rules list."""
        self.query_ancestor(TabbedContent).active = "alerts-rules"
        self.call_after_refresh(self.table.focus)

    @work(group="rules.load", exclusive=True, exit_on_error=False, description="Loading rules")
    async def load(self) -> None:
        """Fetch the rules (once: they change only when edited here or by the API)."""
        rules = list(await self.client.alerts.list_rules())
        self.table.source_changed(self._source.update(rules))
        self._edit(self._current())

    def _current(self) -> AlertRule | None:
        key = self.table.cursor_key
        return self._source.get(key) if key is not None else None

    @on(VirtualTable.CursorMoved)
    def _cursor_moved(self, event: VirtualTable.CursorMoved) -> None:
        if event.table is self.table:
            self._edit(self._current())

    def _edit(self, rule: AlertRule | None) -> None:
        """Fill the form with ``rule``'s values; show only its own settings."""
        self._editing = rule
        self.query_one("#rules-error", Static).update("")
        if rule is None:
            return
        own = {setting.key for setting in RULE_SETTINGS.get(rule.type.value, ())}
        about = ABOUT.get(rule.type.value, "")
        self.query_one("#rules-about", Label).update(f"{rule.type.value} — {about}")
        self.query_one("#rules-enabled", Switch).value = rule.enabled
        for settings in RULE_SETTINGS.values():
            for setting in settings:
                self.query_one(f"#row-{setting.key}").display = setting.key in own
                if setting.key in own:
                    value = rule.config.get(setting.key, 0)
                    self.query_one(f"#rule-{setting.key}", Input).value = _number(value)

    def changes(self) -> dict[str, Any]:
        """What the form changes of the rule: ``{"enabled"?, "config"?}``; ValueError
        naming the first value that is wrong."""
        rule = self._editing
        if rule is None:
            return {}
        body: dict[str, Any] = {}
        enabled = self.query_one("#rules-enabled", Switch).value
        if enabled != rule.enabled:
            body["enabled"] = enabled
        config: dict[str, float | int] = {}
        for setting in RULE_SETTINGS.get(rule.type.value, ()):
            value = parse(setting, self.query_one(f"#rule-{setting.key}", Input).value)
            number = int(value) if value.is_integer() else value
            if number != rule.config.get(setting.key, 0):
                config[setting.key] = number
        if config:
            body["config"] = config
        return body

    def action_flip_enabled(self) -> None:
        """Flip the rule's enabled switch (saved with ctrl+s)."""
        switch = self.query_one("#rules-enabled", Switch)
        switch.value = not switch.value

    @on(Button.Pressed, "#rules-save")
    def _save_pressed(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        """Check the form and save the rule's changes."""
        rule = self._editing
        error = self.query_one("#rules-error", Static)
        try:
            body = self.changes()
        except ValueError as problem:
            error.update(str(problem))
            return
        if rule is None or not body:
            error.update("Nothing changed.")
            return
        error.update("")
        self.save(rule.id, body)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    @work(group="rules.save", exclusive=True, exit_on_error=False, description="Saving the rule")
    async def save(self, rule_id: str, body: dict[str, Any]) -> None:
        """``PUT /alerts/rules/{id}`` with ``body``; the list shows what the platform kept."""
        saved = await self.client.alerts.update_rule(
            rule_id, enabled=body.get("enabled"), config=body.get("config")
        )
        change = self._source.update([saved if r.id == saved.id else r for r in self._source.items])
        self.table.source_changed(change)
        self._edit(saved)
        self.notify(f"Saved the {saved.type.value} rule")
