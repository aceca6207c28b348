"""The date and date-time fields of the app's pydantic models, found by walking their annotations (used by the
unit test that no model has a bare `date` or `datetime` field, and by the integration tests that send bad dates
to every route that takes one)."""
from __future__ import annotations

import datetime as dt
import importlib
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def all_models() -> list[type]:
    """Every pydantic model class defined in chalicelib, after importing every models and routes module."""
    from pydantic import BaseModel

    for path in sorted((ROOT / "chalicelib").rglob("*.py")):
        if path.stem in ("models", "routes"):
            importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
    seen: dict[type, None] = {}
    todo = [BaseModel]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen[sub] = None
                todo.append(sub)
    return [m for m in seen if m.__module__.startswith("chalicelib.")]


def _iso_checks() -> dict[type, Any]:
    from chalicelib.core import models

    return {dt.date: models._iso_date, dt.datetime: models._iso_datetime}


def _walk(annotation: Any, metadata: list[Any]) -> Iterator[tuple[type, bool]]:
    """(date or datetime, whether the ISO string check applies to it) for each one the annotation holds."""
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        yield from _walk(inner, [*metadata, *extra])
        return
    if annotation in (dt.date, dt.datetime):
        check = _iso_checks()[annotation]
        yield annotation, any(getattr(m, "func", None) is check for m in metadata)
        return
    for arg in typing.get_args(annotation):
        if not isinstance(arg, (str, int, bool)) and arg is not type(None):
            yield from _walk(arg, [])


def date_fields(model: type) -> dict[str, tuple[str, bool]]:
    """Field name as a client writes it (its alias) -> ("date" | "datetime", whether it is ISO-checked). A field
    of a nested model is not listed: that model is listed on its own."""
    model.model_rebuild()
    out: dict[str, tuple[str, bool]] = {}
    for name, info in model.model_fields.items():
        for kind, checked in _walk(info.annotation, list(info.metadata)):
            key = info.alias or name
            prev = out.get(key, (kind.__name__, True))
            out[key] = (prev[0], prev[1] and checked)
    return out
