"""caged_core: everything in caged-tui that is not UI.

The Caged API client (:class:`AsyncCaged`, the blocking :class:`Caged`), the
wire-contract models, the error hierarchy, configuration and the embedded
local platform. It never imports Textual.
"""

from caged_core.client import AsyncCaged, Caged, __version__
from caged_core.errors import (
    CagedAPIError,
    CagedAuthError,
    CagedConfigError,
    CagedConnectionError,
    CagedError,
    CagedNotFoundError,
    CagedPlanLimitError,
    CagedProtocolError,
    CagedRateLimitError,
    CagedServerError,
    CagedTimeoutError,
    CagedValidationError,
    MCPError,
)
from caged_core.models import EventPayload

__all__ = [
    "AsyncCaged",
    "Caged",
    "CagedAPIError",
    "CagedAuthError",
    "CagedConfigError",
    "CagedConnectionError",
    "CagedError",
    "CagedNotFoundError",
    "CagedPlanLimitError",
    "CagedProtocolError",
    "CagedRateLimitError",
    "CagedServerError",
    "CagedTimeoutError",
    "CagedValidationError",
    "EventPayload",
    "MCPError",
    "__version__",
]
