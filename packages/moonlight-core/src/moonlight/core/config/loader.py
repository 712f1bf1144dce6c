"""Load configuration from its four sources and report every problem at once.

Precedence, highest first: runtime ``overrides`` > environment variables
(``MOONLIGHT_STORAGE__URL``...) > the YAML file > defaults in the models. Sources are
deep-merged (a nested key from the environment replaces only that key).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_settings import EnvSettingsSource

from moonlight.core.config.errors import ConfigError, ConfigIssue
from moonlight.core.config.models import EnvironmentSettings, MoonlightConfig
from moonlight.core.plugins.registry import Registry

_SECRET_WORDS = re.compile(r"(password|passwd|passphrase|token|secret|api[_-]?key|cookie)", re.I)
SECRETS_HINT = (
    "secrets never go in config files: store it with `moonlight secrets set NAME` (OS"
    " keyring) or the environment variable MOONLIGHT_SECRET_<NAME>, and reference it by"
    " name in a key ending in _secret_name"
)


def load_config(
    path: Path | str | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
) -> MoonlightConfig:
    """Build the configuration; raise :class:`ConfigError` listing every problem.

    With ``registry``, plugin names and plugin parameters are checked too.
    """
    issues: list[ConfigIssue] = []
    file_data: dict[str, Any] = {}
    if path is not None:
        file_data = _read_yaml(Path(path), issues)
        issues.extend(find_secret_keys(file_data, source=str(path)))
    env_data = EnvSettingsSource(EnvironmentSettings)()
    merged = deep_merge(deep_merge(file_data, env_data), dict(overrides or {}))
    try:
        config = MoonlightConfig.model_validate(merged, context={"registry": registry})
    except ValidationError as exc:
        issues.extend(_issues_from(exc))
        raise ConfigError(issues) from None
    if issues:
        raise ConfigError(issues)
    return config


def _read_yaml(path: Path, issues: list[ConfigIssue]) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        issues.append(ConfigIssue("", f"cannot read config file: {exc.strerror}", str(path)))
        raise ConfigError(issues) from None
    try:
        data = yaml.safe_load(text)
    except ValueError as exc:  # PyYAML lets a bad timestamp (2001-13-45) escape this way
        issues.append(ConfigIssue("", f"not valid YAML: {exc}", str(path)))
        raise ConfigError(issues) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        issues.append(ConfigIssue("", f"not valid YAML{where}: {problem}", str(path)))
        raise ConfigError(issues) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        issues.append(ConfigIssue("", "the top level must be a mapping of keys", str(path)))
        raise ConfigError(issues)
    return data


def find_secret_keys(tree: Any, *, source: str = "", prefix: str = "") -> list[ConfigIssue]:
    """Every key in a YAML tree that looks like it holds a secret."""
    found: list[ConfigIssue] = []
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            name = str(key)
            if _SECRET_WORDS.search(name) and not name.lower().endswith("_secret_name"):
                found.append(ConfigIssue(path, SECRETS_HINT, source))
            found.extend(find_secret_keys(value, source=source, prefix=path))
    elif isinstance(tree, list):
        for index, item in enumerate(tree):
            found.extend(find_secret_keys(item, source=source, prefix=f"{prefix}[{index}]"))
    return found


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``top``, recursively for nested mappings."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _issues_from(exc: ValidationError) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors():
        path = ""
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (not part of the configuration schema)"
        issues.append(ConfigIssue(path, message))
    return issues
