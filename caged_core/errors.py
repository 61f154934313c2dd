"""One error hierarchy for everything ``caged_core`` raises.

::

    CagedError                      anything from caged_core
    ├── CagedConfigError            no key / bad profile / no keyring backend
    ├── CagedConnectionError        could not reach the platform (DNS, refused, TLS, dropped)
    │   └── CagedTimeoutError       no answer within the budget in force (``.timeout``)
    ├── CagedProtocolError          a peer broke the wire protocol (bad frame, JSON-RPC error)
    │   └── MCPError                a JSON-RPC error answer from the MCP server (``.code``)
    ├── CagedCommandError           a command the client ran in a sandbox failed (``.exit_code``)
    └── CagedAPIError               the platform answered with an HTTP error (``.status``)
        ├── CagedValidationError    400 / 422
        ├── CagedAuthError          401 / 403
        │   └── CagedPlanLimitError reason.code == "plan_limit_reached" (any status)
        ├── CagedNotFoundError      404
        ├── CagedRateLimitError     429 (``.retry_after`` seconds)
        └── CagedServerError        >= 500

Messages never contain the API key or a socket credential: :func:`redact`
scrubs them, and every error built by the client goes through it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CagedAPIError",
    "CagedAuthError",
    "CagedCommandError",
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
    "ErrorReason",
    "MCPError",
    "RedactingFilter",
    "holds_no_secret",
    "redact",
    "redact_json",
]

# (pattern, replacement): Caged keys and tickets keep their kind; a credential-looking
# name=value (token=, GITHUB_TOKEN=, OPENAI_API_KEY=, password=, a URL's ?key=) keeps its
# name; a bearer header its scheme; a URL's user:password@ its user.
_SECRET_PATTERNS = (
    (re.compile(r"caged_(sk|wst)_[A-Za-z0-9_\-]+"), r"caged_\1_***"),
    (
        re.compile(
            r"(?i)\b([a-z0-9_]*(?:token|ticket|secret|password|passwd|api_?key|access_?key))"
            r"=[^&\s\"']+"
        ),
        r"\1=***",
    ),
    (re.compile(r"(?i)([?&]key)=[^&\s\"']+"), r"\1=***"),
    (re.compile(r"(?i)(bearer\s+)[^\s\"']+"), r"\1***"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]+:)[^/\s@]+@"), r"\1***@"),
)


# Any of them: most text holds no secret, and one search says so (every string of every
# stored event is redacted).
_ANY_SECRET = re.compile(
    "|".join(
        f"(?i:{p.pattern.removeprefix('(?i)')})" if p.pattern.startswith("(?i)") else p.pattern
        for p, _ in _SECRET_PATTERNS
    )
)


def holds_no_secret(text: str) -> bool:
    """True when :func:`redact` would certainly return ``text`` unchanged (one search)."""
    # Every pattern needs one of these literals ("caged_", "=", "bearer", "@"): plain
    # substring checks rule most text out ~30x faster than the combined pattern, whose
    # leading [a-z0-9_]* is tried at every position.
    if "=" not in text and "@" not in text and "caged_" not in text:
        lowered = text.lower()
        if "bearer" not in lowered:
            return True
    return _ANY_SECRET.search(text) is None


def redact(text: str) -> str:
    """Remove secrets from ``text``: Caged API keys and socket tickets, credential-looking
    ``name=value`` pairs (``token=``, ``GITHUB_TOKEN=``, ``password=``, ``?key=``),
    bearer credentials and passwords in URLs.

    The one redaction of the project: client errors, the platform's logs (through
    :class:`RedactingFilter`) and its recorded session events (:func:`redact_json`).
    """
    if holds_no_secret(text):
        return text
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_json(value: Any) -> Any:
    """``value`` (decoded JSON) with :func:`redact` applied to every string in it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that passes every record through :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # The traceback is formatted later from exc_info; format and redact it now.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class CagedError(Exception):
    """Base class of every error raised by ``caged_core``."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self)


class CagedConfigError(CagedError):
    """Configuration is missing or wrong (no key, unknown profile, no keyring)."""


class CagedConnectionError(CagedError):
    """The platform could not be reached, or the connection dropped."""


class CagedTimeoutError(CagedConnectionError):
    """No answer within the time budget in force for that call."""

    def __init__(self, message: str, *, timeout: float | None = None) -> None:
        super().__init__(message)
        self.timeout = timeout


class CagedProtocolError(CagedError):
    """A peer sent something the protocol does not allow."""


class MCPError(CagedProtocolError):
    """A JSON-RPC error answer from the MCP server."""

    def __init__(self, message: str, *, code: int, data: Any = None) -> None:
        super().__init__(f"{message} (JSON-RPC {code})")
        self.code = code
        self.data = data


class CagedCommandError(CagedError):
    """A command the client ran inside a sandbox (a workspace verb the REST API
    lacks, built on exec) failed; ``exit_code`` is None when its answer was unreadable."""

    def __init__(self, message: str, *, exit_code: int | None) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class ErrorReason:
    """The machine-readable ``reason`` of a classified refusal."""

    code: str = ""
    message: str = ""
    action: str = ""
    subject_type: str = ""
    subject_id: str = ""

    @classmethod
    def from_json(cls, value: Any) -> ErrorReason | None:
        if not isinstance(value, dict):
            return None
        return cls(**{k: str(value.get(k) or "") for k in cls.__dataclass_fields__})


class CagedAPIError(CagedError):
    """The platform answered with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        title: str = "",
        type: str = "",
        reason: ErrorReason | None = None,
        body: str = "",
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.type = type
        self.reason = reason
        self.body = redact(body)
        self.request_id = request_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={str(self)!r})"


class CagedValidationError(CagedAPIError):
    """400/422: the request was malformed or out of range."""


class CagedAuthError(CagedAPIError):
    """401/403: missing, wrong or insufficient credentials."""


class CagedPlanLimitError(CagedAuthError):
    """The account's plan does not allow this (``reason.code == plan_limit_reached``)."""


class CagedNotFoundError(CagedAPIError):
    """404: no such resource."""


class CagedRateLimitError(CagedAPIError):
    """429: too many requests; ``retry_after`` says how long to wait (seconds)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class CagedServerError(CagedAPIError):
    """5xx: the platform failed."""
