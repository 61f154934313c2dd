"""The OpenAPI 3.1 document of the local platform, generated from the route table.

Schemas come from the pydantic models the handlers emit and validate with, so
the document describes exactly what is served.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from caged_platform.http.routes.base import Operation

__all__ = ["openapi_document"]

_PARAM = re.compile(r"{(\w+)}")
_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "reason": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def _models(operations: tuple[Operation, ...]) -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {}
    for op in operations:
        for model in (op.request, op.response):
            if model is not None:
                seen.setdefault(model.__name__, model)
    return list(seen.values())


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation_id(op: Operation) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", _PARAM.sub(r"by_\1", op.path)).strip("_")
    return f"{op.method.lower()}_{words}"


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _operation(op: Operation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "summary": op.summary,
        "operationId": _operation_id(op),
        "tags": [op.tag] if op.tag else [],
        "parameters": [
            *(
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(op.path)
            ),
            *(query.schema() for query in op.query),
        ],
        "responses": {"default": _problem("An RFC 7807 problem")},
    }
    if op.request is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.request)}},
        }
    success: dict[str, Any] = {"description": "Success"}
    if op.response is not None:
        schema: dict[str, Any] = _ref(op.response)
        if op.response_many:
            schema = {"type": "array", "items": schema}
        success["content"] = {"application/json": {"schema": schema}}
    doc["responses"][str(op.status)] = success
    if op.hosted_only:
        doc["responses"]["501"] = _problem("Only the hosted Caged platform has this feature")
    if op.needs_write:
        doc["description"] = "Needs a key with the full scope."
    return doc


def openapi_document(operations: tuple[Operation, ...], *, version: str) -> dict[str, Any]:
    """The OpenAPI document for ``operations`` (paths are served under ``/v1``)."""
    _, defs = models_json_schema(
        [(m, "serialization") for m in _models(operations)],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Problem"] = _PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault("/v1" + op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Caged API — local platform",
            "version": version,
            "description": (
                "The Caged wire contract as served by `caged-tui serve`. WebSockets: "
                "/v1/sandboxes/{id}/terminal (subprotocol terminal) and "
                "/v1/sandboxes/{id}/mcp (subprotocol mcp), authenticated with ?token=."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": paths,
    }
