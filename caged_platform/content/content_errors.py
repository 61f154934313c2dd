"""Typed failures of the local platform's content modules (files, snapshots, MCP).

The content modules (:mod:`caged_platform.content.files`, :mod:`caged_platform.content.snapshots`,
:mod:`caged_platform.services.mcp`) know nothing about HTTP. They raise these exceptions
and the server maps each one to an RFC 7807 answer with :meth:`ContentError.problem`
(or its own renderer using :attr:`~ContentError.status` and ``str(exc)``)::

    ContentError            base; ``status`` is the HTTP status to answer
    ├── InvalidInput        400  malformed input: NUL byte, empty path or message,
    │                            bad glob, "is a directory" / "not a directory"
    ├── PathRefused         403  the path leaves /workspace (``..``, absolute path
    │                            elsewhere, a symbolic link pointing out)
    ├── TokenRefused        403  a snapshot download link is forged or expired
    ├── LimitReached        403  a plan limit; carries ``reason`` (plan_limit_reached)
    ├── NotFound            404  no such file or directory
    ├── Conflict            409  not a git repository, nothing to commit
    ├── TooLarge            413  file over the read limit, snapshot over its size limit
    └── OperationFailed     500  git failed or timed out, restore could not complete

Every message is one sentence meant for the user; none contains host paths
outside the workspace (paths are shown as the cage sees them, ``/workspace/...``).
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "Conflict",
    "ContentError",
    "InvalidInput",
    "LimitReached",
    "NotFound",
    "OperationFailed",
    "PathRefused",
    "TokenRefused",
    "TooLarge",
]


class ContentError(Exception):
    """Base of every failure the content modules raise on purpose."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad Request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def reason(self) -> dict[str, str] | None:
        """The problem's ``reason`` object, for classified refusals only."""
        return None

    def problem(self) -> dict[str, Any]:
        """This failure as an RFC 7807 problem+json body."""
        body: dict[str, Any] = {
            "type": "https://caged.dev/errors/" + self.title.replace(" ", ""),
            "title": self.title,
            "status": self.status,
            "detail": self.message,
        }
        reason = self.reason()
        if reason is not None:
            body["reason"] = reason
        return body


class InvalidInput(ContentError):
    """The request itself is malformed (400)."""


class PathRefused(ContentError):
    """The path would leave the workspace (403)."""

    status = 403
    title = "Forbidden"


class TokenRefused(ContentError):
    """A snapshot download link is not valid or has expired (403)."""

    status = 403
    title = "Forbidden"


class LimitReached(ContentError):
    """A plan limit would be exceeded (403 with ``reason.code = plan_limit_reached``)."""

    status = 403
    title = "Forbidden"

    def __init__(
        self, message: str, *, action: str, subject_type: str = "", subject_id: str = ""
    ) -> None:
        super().__init__(message)
        self.action = action
        self.subject_type = subject_type
        self.subject_id = subject_id

    def reason(self) -> dict[str, str]:
        return {
            "code": "plan_limit_reached",
            "message": self.message,
            "action": self.action,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
        }


class NotFound(ContentError):
    """No such file or directory (404)."""

    status = 404
    title = "Not Found"


class Conflict(ContentError):
    """The request does not fit the workspace's current state (409)."""

    status = 409
    title = "Conflict"


class TooLarge(ContentError):
    """Content over a size limit (413)."""

    status = 413
    title = "Content Too Large"


class OperationFailed(ContentError):
    """A host tool failed or timed out, or a restore could not complete (500)."""

    status = 500
    title = "Internal Server Error"
