"""Load configuration from its four sources and report every problem at once.

Precedence, highest first: runtime ``overrides`` > environment variables
(``MOONLIGHT_STORAGE__URL``...) > the YAML file > defaults in the models. Sources are
deep-merged (a nested key from the environment replaces only that key).

The file is read within limits (size, nesting, alias expansion; see
:mod:`~moonlight.core.config.yaml_source`), must hold a mapping, may not repeat a key,
and no number anywhere may be infinite or NaN (:mod:`~moonlight.core.config.finite`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import EnvSettingsSource

from moonlight.core.config.errors import ConfigError, ConfigIssue
from moonlight.core.config.finite import non_finite_issues
from moonlight.core.config.models import EnvironmentSettings, MoonlightConfig
from moonlight.core.config.yaml_source import parse_yaml, read_text
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
    not_finite = non_finite_issues(merged)
    issues.extend(not_finite)
    known = {issue.path for issue in not_finite}  # their range errors would only confuse
    try:
        config = MoonlightConfig.model_validate(merged, context={"registry": registry})
    except ValidationError as exc:
        issues.extend(i for i in _issues_from(exc) if i.path not in known)
        raise ConfigError(issues) from None
    issues.extend(i for i in non_finite_issues(config.model_dump()) if i.path not in known)
    if issues:
        raise ConfigError(issues)
    return config


def _read_yaml(path: Path, issues: list[ConfigIssue]) -> dict[str, Any]:
    """The file's top-level mapping; a file that cannot be used raises at once."""
    text, problems = read_text(path)
    if text is not None:
        data, problems = parse_yaml(text, str(path))
    if text is None or data is None:
        raise ConfigError(issues + problems)
    if not isinstance(data, dict):
        problems.append(ConfigIssue("", "the top level must be a mapping of keys", str(path)))
        raise ConfigError(issues + problems)
    issues.extend(problems)  # duplicate keys: reported with everything else
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
