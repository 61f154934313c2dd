"""The one place LLM prices live: USD per million tokens, by model.

An ``llm_call`` event's cost is its payload's ``cost_usd`` when the agent reports
one (it knows its own discounts, caching and batch pricing better than we do);
otherwise ``tokens_in``/``tokens_out`` are priced with :data:`PRICES`.

Model names are matched case-insensitively, first exactly, then by the longest
table entry the name starts with — so dated or suffixed names
(``claude-sonnet-4-20250514``, ``gpt-4o-2024-08-06``) take their family's
price. A model not in the table costs 0 and :func:`llm_cost` says it was not
priced, rather than guessing.

Prices are the providers' published list prices for standard (non-batch,
non-cached) input and output tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["PRICES", "LLMUsage", "Price", "llm_usage", "price_for"]


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million input and output tokens."""

    input_per_mtok: float
    output_per_mtok: float


#: Model (or model-family prefix) → price. Edit here, nowhere else.
PRICES: dict[str, Price] = {
    # Anthropic
    "claude-opus-4": Price(15.0, 75.0),
    "claude-4-opus": Price(15.0, 75.0),
    "claude-sonnet-4": Price(3.0, 15.0),
    "claude-4-sonnet": Price(3.0, 15.0),
    "claude-4": Price(3.0, 15.0),  # the contract's example name; priced as Sonnet 4
    "claude-3-7-sonnet": Price(3.0, 15.0),
    "claude-3-5-sonnet": Price(3.0, 15.0),
    "claude-3-5-haiku": Price(0.8, 4.0),
    "claude-haiku-3-5": Price(0.8, 4.0),
    "claude-3-opus": Price(15.0, 75.0),
    "claude-3-haiku": Price(0.25, 1.25),
    # OpenAI
    "gpt-4o-mini": Price(0.15, 0.6),
    "gpt-4o": Price(2.5, 10.0),
    "gpt-4.1-nano": Price(0.1, 0.4),
    "gpt-4.1-mini": Price(0.4, 1.6),
    "gpt-4.1": Price(2.0, 8.0),
    "o4-mini": Price(1.1, 4.4),
    "o3-mini": Price(1.1, 4.4),
    "o3": Price(2.0, 8.0),
    "o1": Price(15.0, 60.0),
    # Google
    "gemini-2.5-pro": Price(1.25, 10.0),
    "gemini-2.5-flash": Price(0.3, 2.5),
    "gemini-2.0-flash": Price(0.1, 0.4),
}

# Longest prefix first, so "gpt-4o-mini" wins over "gpt-4o".
_BY_PREFIX = sorted(PRICES.items(), key=lambda item: len(item[0]), reverse=True)

# Token counts go by different names depending on the provider's SDK.
_TOKENS_IN_KEYS = ("tokens_in", "input_tokens", "prompt_tokens")
_TOKENS_OUT_KEYS = ("tokens_out", "output_tokens", "completion_tokens")


def price_for(model: str) -> Price | None:
    """The price of ``model``: exact match, else longest matching prefix, else None."""
    name = model.strip().lower()
    if name in PRICES:
        return PRICES[name]
    for prefix, price in _BY_PREFIX:
        if name.startswith(prefix):
            return price
    return None


@dataclass(frozen=True, slots=True)
class LLMUsage:
    """What one ``llm_call`` payload says about tokens and cost."""

    model: str | None
    tokens_in: int
    tokens_out: int
    cost_usd: float
    priced: bool  # False when neither cost_usd nor a table price was available


def _count(payload: dict[str, Any], keys: tuple[str, ...]) -> int:
    for key in keys:
        value = payload.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and value >= 0:
            return value
        if isinstance(value, float) and math.isfinite(value) and value >= 0:
            return int(value)
    return 0


def llm_usage(payload: dict[str, Any]) -> LLMUsage:
    """Tokens and cost of an ``llm_call`` payload (see the module docstring)."""
    model_value = payload.get("model")
    model = model_value if isinstance(model_value, str) and model_value else None
    tokens_in = _count(payload, _TOKENS_IN_KEYS)
    tokens_out = _count(payload, _TOKENS_OUT_KEYS)
    reported = payload.get("cost_usd")
    if (
        isinstance(reported, int | float)
        and not isinstance(reported, bool)
        and math.isfinite(reported)
        and reported >= 0
    ):
        return LLMUsage(model, tokens_in, tokens_out, float(reported), True)
    price = price_for(model) if model else None
    if price is None:
        return LLMUsage(model, tokens_in, tokens_out, 0.0, False)
    cost = (tokens_in * price.input_per_mtok + tokens_out * price.output_per_mtok) / 1_000_000
    return LLMUsage(model, tokens_in, tokens_out, cost, True)
