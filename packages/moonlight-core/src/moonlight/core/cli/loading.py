"""Shared by commands that start something: plugins + configuration, fail-closed."""

from __future__ import annotations

from pathlib import Path

import click

from moonlight.core.config import ConfigError, MoonlightConfig, load_config
from moonlight.core.config.runtime_overrides import stored_overrides
from moonlight.core.plugins import PluginHost, build_plugin_host


def load_or_exit(config_file: Path | None) -> tuple[MoonlightConfig, PluginHost]:
    """Load plugins and the configuration; print every problem and exit 1 if invalid."""
    host = build_plugin_host()
    try:
        config = load_config(config_file, registry=host.registry)
        overrides = stored_overrides(config)
        if overrides is not None:  # set through the API: the top precedence layer
            config = load_config(config_file, overrides=overrides, registry=host.registry)
    except ConfigError as exc:
        click.echo(f"{config_file or 'configuration'}: {len(exc.issues)} problem(s)", err=True)
        for issue in exc.issues:
            click.echo(f"  - {issue}", err=True)
        for broken in host.broken():
            click.echo(
                f"  note: plugin {broken.name!r} ({broken.distribution}) failed to load:"
                f" {broken.error}",
                err=True,
            )
        raise SystemExit(1) from None
    return config, host
