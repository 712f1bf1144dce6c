"""Render the configuration reference (docs/reference/configuration.md) from the models.

The page is generated, not written by hand, so it cannot drift: a test regenerates it
and compares. Regenerate with ``moonlight config reference > docs/reference/configuration.md``.
"""

from __future__ import annotations

from pathlib import PurePath
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from moonlight.core.config.models import MoonlightConfig
from moonlight.core.timeframes import Timeframe

HEADER = """# Configuration reference

Generated from the configuration models (`moonlight config reference`); do not edit by
hand. Every key can also be set from the environment: `MOONLIGHT_` + the path in upper
case with `__` between levels (`MOONLIGHT_STORAGE__URL`, `MOONLIGHT_SERVER__PORT`).
Precedence, highest first: runtime overrides > environment > `config.yaml` > defaults.
Keys that look like secrets (password, token, secret, api_key, cookie) are refused
anywhere in the file; see `moonlight secrets`.
"""


def render_markdown() -> str:
    """The whole reference page."""
    sections: list[str] = [HEADER]
    _section(MoonlightConfig, "", sections, seen=set())
    return "\n".join(sections).rstrip() + "\n"


def _section(model: type[BaseModel], path: str, out: list[str], *, seen: set[str]) -> None:
    title = f"`{path}`" if path else "Top level"
    doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
    out.append(f"## {title}\n\n{doc}\n")
    out.append("| key | type | default | description |\n|---|---|---|---|")
    nested: list[tuple[type[BaseModel], str]] = []
    for name, field in model.model_fields.items():
        key = f"{path}.{name}" if path else name
        sub = _model_of(field.annotation)
        if sub is not None and key not in seen:
            seen.add(key)
            suffix = "[]" if get_origin(field.annotation) is list else ""
            nested.append((sub, key + suffix))
        out.append(
            f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} |"
            f" {(field.description or '').replace('|', '/')} |"
        )
    out.append("")
    for sub, key in nested:
        _section(sub, key, out, seen=seen)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _type_name(annotation: Any) -> str:
    if annotation == Timeframe:
        return "timeframe (5s, 1m, 1h...)"
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        return " or ".join(_type_name(a) for a in get_args(annotation))
    if origin is not None and get_args(annotation):
        inner = ", ".join(_type_name(a) for a in get_args(annotation))
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{inner}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation)).replace("|", "/")


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined:
        if field.default_factory is not None:
            value = field.default_factory()  # type: ignore[call-arg]
            return "(section defaults)" if isinstance(value, BaseModel) else f"`{value!r}`"
        return "**required**"
    if isinstance(field.default, PurePath):
        return f"`{field.default.as_posix()}`"
    return f"`{field.default!r}`" if field.default is not None else "`null`"
