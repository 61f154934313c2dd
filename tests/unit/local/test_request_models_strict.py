"""Request bodies never coerce numbers (issue 10): ``true`` and ``"2"`` are not numbers to
the hosted platform's decoder either, so every numeric or boolean field is strict."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel

from caged_core import models
from caged_platform.http import bodies

_SCALARS = (bool, int, float)


def _request_models() -> list[type[BaseModel]]:
    found = {
        value
        for module in (models, bodies)
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, models.RequestModel)
        and value is not models.RequestModel
    }
    return sorted(found, key=lambda model: model.__name__)


def _is_scalar(annotation: object) -> bool:
    args = typing.get_args(annotation)
    return annotation in _SCALARS or any(arg in _SCALARS for arg in args)


@pytest.mark.parametrize("model", _request_models(), ids=lambda model: model.__name__)
def test_every_numeric_and_boolean_field_is_strict(model: type[BaseModel]) -> None:
    for name, info in model.model_fields.items():
        if _is_scalar(info.annotation):
            assert any(getattr(m, "strict", False) for m in info.metadata) or info.strict, (
                f"{model.__name__}.{name} would coerce booleans or strings"
            )


def test_the_template_is_required() -> None:
    assert models.SandboxCreate.model_fields["template"].is_required()
