"""A write whose body has cross-field rules (a model validator: a repair needs a household, lat goes
with lng, ...) says so in its operation description, where a client author reads it."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from pydantic import BaseModel

import api
import services
from tests.api.openapi_spec import operations

WRITES = {"POST", "PUT", "PATCH"}


def _models() -> dict[str, list[type[BaseModel]]]:
    """Every Pydantic model of api/ and services/ by class name (the component schema's name)."""
    out: dict[str, list[type[BaseModel]]] = {}
    for package in (api, services):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == info.name:
                    out.setdefault(value.__name__, []).append(value)
    return out


def _ruled(model: Any, seen: set[type]) -> bool:
    """The model, or a model nested in its fields, has a model validator."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)) or model in seen:
        return False
    seen.add(model)
    if model.__pydantic_decorators__.model_validators:
        return True
    return any(
        _ruled(arg, seen)
        for field in model.model_fields.values()
        for arg in [field.annotation, *getattr(field.annotation, "__args__", ())]
    )


def _ruled_writes_without_description() -> tuple[list[str], list[str]]:
    models = _models()
    ruled, bare = [], []
    for method, _, op in operations():
        if method not in WRITES:
            continue
        for content in op.get("requestBody", {}).get("content", {}).values():
            name = str(content.get("schema", {}).get("$ref", "")).rsplit("/", 1)[-1]
            if any(_ruled(m, set()) for m in models.get(name, [])):
                ruled.append(op["operationId"])
                if not op.get("description", "").strip():
                    bare.append(op["operationId"])
    return sorted(ruled), sorted(bare)


def test_writes_with_cross_field_rules_have_a_description() -> None:
    ruled, bare = _ruled_writes_without_description()
    assert {"createTicket", "checkInShift", "createPoll"} <= set(ruled)  # the scan finds them
    assert bare == []
