"""The platform's refusal: raised by any layer, answered as problem+json by ``http``.

It lives outside ``http`` so that services can refuse (a missing sandbox, a state that does
not allow the operation) without depending on the web layer that renders the answer.
"""

from __future__ import annotations

__all__ = ["Problem"]


class Problem(Exception):
    """An HTTP error answer: ``status`` plus a one-sentence ``detail``.

    ``reason`` is the contract's machine-readable classification (``code``,
    ``message``, ``action``, …) and is only given for classified refusals.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        reason: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.reason = reason
        self.headers = headers or {}
