"""The create form offers what the platform it talks to offers (a real local platform)."""

from __future__ import annotations

from typing import Any

from eventually import eventually_async
from test_live import SIZE, live_app, open_create_form
from textual.widgets import Select, Static

from caged_platform.runtime import templates


async def test_the_form_lists_offered_templates_and_says_why_others_are_not(
    platform: Any,
) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_create_form(pilot)
        note = form.query_one("#create-templates-note", Static)
        # The note is shown (empty) from the start: wait for what the platform's answer
        # writes into it, after the template choices were set from the same answer.
        await eventually_async(
            lambda: "is not offered here" in str(note.render()), pause=pilot.pause
        )
        choices = [value for _label, value in form.query_one("#create-template", Select)._options]
        assert [c for c in choices if c is not Select.BLANK] == list(templates.OFFERED)
        shown = str(note.render())
        for name in templates.REFUSED:
            assert f"{name} is not offered here" in shown
