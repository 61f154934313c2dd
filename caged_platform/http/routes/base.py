"""The route table's building blocks: an :class:`Operation` per method+path, and the
:class:`Call` a handler receives once the request is authenticated.

One table drives the router, the read-only scope check and the OpenAPI
document, so the three cannot drift apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from caged_platform import jsontext
from caged_platform.errors import Problem
from caged_platform.jsontext import TooDeep
from caged_platform.platform import Platform
from caged_platform.services.auth import Principal

__all__ = [
    "MAX_JSON_BODY",
    "Call",
    "Handler",
    "Operation",
    "Query",
    "json_response",
    "no_content",
    "not_available",
]

M = TypeVar("M", bound=BaseModel)


#: Default request-body limit; operations that take files raise it for themselves.
MAX_JSON_BODY = 2 * 1024 * 1024
# Bodies larger than this are parsed on a worker thread: decoding megabytes of JSON on
# the event loop would stall every other request and socket meanwhile.
_PARSE_OFF_LOOP = 256 * 1024
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def _size(n: int) -> str:
    """``n`` bytes for a sentence: ``16 MiB`` when whole mebibytes, else bytes."""
    mib = 1024 * 1024
    return f"{n // mib} MiB" if n % mib == 0 else f"{n} bytes"


@dataclass(slots=True)
class Call:
    """An authenticated request, with the platform it runs against."""

    request: Request
    platform: Platform
    principal: Principal
    body_limit: int = MAX_JSON_BODY
    _raw: bytes | None = None

    def param(self, name: str) -> str:
        """A path parameter (already percent-decoded by the router)."""
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def query_int(self, name: str, default: int, *, low: int, high: int) -> int:
        """An integer query parameter within [low, high]; 400 naming it otherwise."""
        raw = self.request.query_params.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)  # "" (present but empty) is not an integer either
        except ValueError:
            raise Problem(400, f"query parameter {name!r} must be an integer") from None
        if not low <= value <= high:
            raise Problem(400, f"query parameter {name!r} must be between {low} and {high}")
        return value

    def query_bool(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter (``true``/``false``/``1``/``0``); 400 naming it otherwise."""
        raw = self.request.query_params.get(name)
        if raw is None:
            return default
        value = _BOOLEANS.get(raw.lower())
        if value is None:
            raise Problem(400, f"query parameter {name!r} must be true or false")
        return value

    async def raw_body(self) -> bytes:
        """The request body, refused with 413 past :attr:`body_limit` (checked as it streams)."""
        if self._raw is not None:
            return self._raw
        too_large = Problem(
            413, f"the request body exceeds this endpoint's limit of {_size(self.body_limit)}"
        )
        declared = self.request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.body_limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in self.request.stream():
            size += len(chunk)
            if size > self.body_limit:
                raise too_large
            chunks.append(chunk)
        self._raw = b"".join(chunks)
        return self._raw

    async def json(self) -> Any:
        """The request body parsed as JSON (400 when it is not JSON)."""
        raw = await self.raw_body()
        if not raw.strip():
            raise Problem(400, "a JSON request body is required")
        try:
            if len(raw) > _PARSE_OFF_LOOP:
                return await asyncio.to_thread(jsontext.loads, raw)
            return jsontext.loads(raw)
        except TooDeep as exc:
            raise Problem(400, f"the request body is refused: {exc}") from None
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise Problem(400, f"the request body is not valid JSON: {exc}") from None

    async def body(self, model: type[M], *, optional: bool = False) -> M:
        """The JSON body validated by ``model`` (400 naming the field when it is wrong).

        ``optional``: an empty body means ``{}`` (for endpoints whose fields are all optional).
        """
        if optional and not (await self.raw_body()).strip():
            data: Any = {}
        else:
            data = await self.json()
        if not isinstance(data, dict):
            raise Problem(400, "the request body must be a JSON object")
        return model.model_validate(data)


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Query:
    """A query parameter: how a handler reads it and how the OpenAPI document shows it,
    from one declaration so the two cannot drift apart.

    ``kind`` is ``"string"``, ``"integer"`` (within ``low``..``high``, else ``default``
    when absent) or ``"boolean"`` (``true``/``false``/``1``/``0``).
    """

    name: str
    kind: str = "string"
    description: str = ""
    required: bool = False
    default: int | bool | None = None
    low: int = 0
    high: int = 2**63 - 1

    def text(self, call: Call) -> str | None:
        """A string parameter's value (None when absent)."""
        return call.query(self.name)

    def integer(self, call: Call) -> int:
        """An integer parameter's value, its default when absent; 400 when out of range."""
        assert isinstance(self.default, int)
        return call.query_int(self.name, self.default, low=self.low, high=self.high)

    def boolean(self, call: Call) -> bool:
        """A boolean parameter's value, its default when absent; 400 when not a boolean."""
        return call.query_bool(self.name, bool(self.default))

    def schema(self) -> dict[str, Any]:
        """The parameter's OpenAPI object."""
        schema: dict[str, Any] = {"type": self.kind}
        if self.kind == "integer":
            schema |= {"minimum": self.low, "maximum": self.high}
        if self.default is not None:
            schema["default"] = self.default
        parameter: dict[str, Any] = {"name": self.name, "in": "query", "schema": schema}
        if self.required:
            parameter["required"] = True
        if self.description:
            parameter["description"] = self.description
        return parameter


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path of the REST API (paths relative to ``/v1``).

    ``write`` marks operations a ``read_only`` key may not call (by default every
    method but GET). ``request``/``response`` feed the OpenAPI document;
    ``response_many`` says the response is an array of ``response``; ``query`` lists
    the query parameters; ``hosted_only`` documents the 501 of a feature only the
    hosted platform has.
    """

    method: str
    path: str
    handler: Handler
    summary: str
    status: int = 200
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    response_many: bool = False
    write: bool | None = None
    max_body_size: int = MAX_JSON_BODY
    tag: str = ""
    query: tuple[Query, ...] = ()
    hosted_only: bool = False

    @property
    def needs_write(self) -> bool:
        return self.method != "GET" if self.write is None else self.write


def json_response(
    value: BaseModel | Sequence[BaseModel] | dict[str, Any], status: int = 200
) -> Response:
    """Serialise a model, a list of models or a plain mapping as JSON."""
    if isinstance(value, BaseModel):
        content: Any = value.model_dump(mode="json")
    elif isinstance(value, dict):
        content = value
    else:
        content = [item.model_dump(mode="json") for item in value]
    return JSONResponse(content, status_code=status)


def no_content() -> Response:
    """The 204 answer of deletes and actions."""
    return Response(status_code=204)


def not_available(what: str, why: str) -> Handler:
    """A handler answering an honest 501 for a feature the local platform lacks."""

    async def handler(call: Call) -> Response:
        raise Problem(501, f"{what} {why}")

    return handler
