"""The alert rule types' settings: one table for the platform that enforces them and the
TUI that checks them before sending.

The contract names each rule type's config keys (``PUT /alerts/rules/{id}`` changes
them, 0 meaning "the platform's default"); the defaults and accepted ranges here are the
local platform's. The hosted platform validates on its own, and its refusal is what the
user sees when it is stricter.
"""

from __future__ import annotations

from dataclasses import dataclass

from caged_core.models import AlertRuleType

__all__ = ["RULE_SETTINGS", "RuleSetting"]


@dataclass(frozen=True, slots=True)
class RuleSetting:
    """One config value of a rule type: its key, its default and its accepted range."""

    key: str
    default: float
    low: float
    high: float
    whole: bool = False


#: Each rule type's settings, in the order they are shown.
RULE_SETTINGS: dict[str, tuple[RuleSetting, ...]] = {
    AlertRuleType.BUDGET_EXCEEDED.value: (RuleSetting("threshold_percent", 80, 1, 100),),
    AlertRuleType.COST_ANOMALY.value: (RuleSetting("multiplier_threshold", 3, 1.01, 1000),),
    AlertRuleType.AGENT_STUCK.value: (RuleSetting("idle_minutes", 10, 1, 7 * 24 * 60),),
    AlertRuleType.ERROR_SPIKE.value: (
        RuleSetting("error_count_threshold", 5, 1, 100_000, whole=True),
        RuleSetting("window_minutes", 5, 1, 7 * 24 * 60),
    ),
    AlertRuleType.TRUST_SCORE_LOW.value: (RuleSetting("score_threshold", 70, 1, 100, whole=True),),
}
