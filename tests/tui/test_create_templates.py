"""The create form offers what the platform it talks to offers (a real local platform)."""

from __future__ import annotations

from typing import Any

from test_live import SIZE, live_app, until
from textual.widgets import Select, Static

from caged_platform.runtime import templates
from caged_tui.screens.create import CreateScreen
from caged_tui.screens.sandboxes import SandboxesScreen


async def test_the_form_lists_offered_templates_and_says_why_others_are_not(
    platform: Any,
) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SandboxesScreen))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, CreateScreen))
        form = app.screen
        note = form.query_one("#create-templates-note", Static)
        await until(pilot, lambda: note.display)
        choices = [value for _label, value in form.query_one("#create-template", Select)._options]
        assert [c for c in choices if c is not Select.BLANK] == list(templates.OFFERED)
        shown = str(note.render())
        for name in templates.REFUSED:
            assert f"{name} is not offered here" in shown
