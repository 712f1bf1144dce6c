"""Shared by commands that start something: plugins + configuration, fail-closed."""

from __future__ import annotations

from pathlib import Path

import click

from moonlight.core.config import ConfigError, MoonlightConfig, load_config
from moonlight.core.config.runtime_overrides import CLEAR_HINT, SOURCE, stored_overrides
from moonlight.core.plugins import PluginHost, build_plugin_host
from moonlight.core.runtime.numba_cache import place_before_plugins


def load_or_exit(config_file: Path | None) -> tuple[MoonlightConfig, PluginHost]:
    """Load plugins and the configuration with its stored runtime overrides; print every
    problem and exit 1 if invalid.

    When the file is valid but the overrides stored through the API make it invalid,
    the report says so — which overrides, who set them — and names the command that
    removes them (the API that set them is not running when the start fails).
    """
    config, host = load_base_or_exit(config_file)
    stored = stored_overrides(config)
    if stored is None:
        return config, host
    try:
        return load_config(config_file, overrides=stored.overrides, registry=host.registry), host
    except ConfigError as exc:
        click.echo(
            f"{config_file or 'configuration'} is valid, but the runtime overrides stored"
            f" in its storage make it invalid: {stored.describe()}",
            err=True,
        )
        _report(exc, host, source=SOURCE)
        hint = CLEAR_HINT.format(config=config_file or "")
        click.echo(f"  remove them with: {hint.strip()}  (or set valid ones)", err=True)
        raise SystemExit(1) from None


def load_base_or_exit(config_file: Path | None) -> tuple[MoonlightConfig, PluginHost]:
    """Plugins and the configuration file (+ environment), without stored overrides."""
    place_before_plugins(config_file)
    host = build_plugin_host()
    try:
        return load_config(config_file, registry=host.registry), host
    except ConfigError as exc:
        _report(exc, host, source=str(config_file or "configuration"))
        raise SystemExit(1) from None


def _report(exc: ConfigError, host: PluginHost, *, source: str) -> None:
    click.echo(f"{source}: {len(exc.issues)} problem(s)", err=True)
    for issue in exc.issues:
        click.echo(f"  - {issue}", err=True)
    for broken in host.broken():
        click.echo(
            f"  note: plugin {broken.name!r} ({broken.distribution}) failed to load:"
            f" {broken.error}",
            err=True,
        )
