"""The root ``moonlight`` command and its small commands (version, plugins)."""

from __future__ import annotations

import json
import sys
from importlib.metadata import distributions

import click

from moonlight.core import __version__
from moonlight.core.cli.backtest_cmd import backtest_cmd
from moonlight.core.cli.calibrate_cmd import calibrate_cmd
from moonlight.core.cli.config_cmd import config_group
from moonlight.core.cli.db_cmd import db_group
from moonlight.core.cli.run_cmd import run_cmd
from moonlight.core.cli.secrets_cmd import secrets_group
from moonlight.core.plugins import build_plugin_host


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """MoonLight: a plugin framework for automated fixed-time trading."""


def installed_versions() -> dict[str, str]:
    """Each MoonLight distribution once: the core, every ``moonlight-*`` distribution
    installed (the server and console included, plugins or not) and every distribution
    that provides a plugin, by name."""
    found = {"moonlight-core": __version__}
    for dist in distributions():
        name = _canonical(dist.metadata["Name"] or "")
        if name.startswith("moonlight-"):
            found.setdefault(name, dist.version)
    for info in build_plugin_host().plugins.values():
        if not info.builtin:
            found.setdefault(_canonical(info.distribution), info.version)
    core = found.pop("moonlight-core")
    return {"moonlight-core": core, **dict(sorted(found.items()))}


def _canonical(name: str) -> str:
    """A distribution name as PyPI compares them (case, ``_`` and ``.`` do not matter)."""
    return name.strip().lower().replace("_", "-").replace(".", "-")


@cli.command("version")
def version_cmd() -> None:
    """Print the versions of the installed MoonLight distributions, each once."""
    for name, number in installed_versions().items():
        click.echo(f"{name} {number}")


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_cmd(as_json: bool) -> None:
    """List every plugin: distribution, version, status and what it registers."""
    host = build_plugin_host()
    described = host.describe()
    if as_json:
        conflicts = [
            {"kind": kind.value, "name": name, "plugins": providers}
            for (kind, name), providers in host.registry.conflicts().items()
        ]
        click.echo(json.dumps({"plugins": described, "conflicts": conflicts}, indent=2))
        return
    for plugin in described:
        status = "" if plugin["status"] == "loaded" else f"  [{plugin['status'].upper()}]"
        click.echo(f"{plugin['name']}  ({plugin['distribution']} {plugin['version']}){status}")
        if plugin["error"]:
            click.echo(f"    error: {plugin['error']}")
        for kind, items in plugin["provides"].items():
            names = ", ".join(item["name"] for item in items)
            click.echo(f"    {kind} ({len(items)}): {names}")
    for (kind, name), providers in host.registry.conflicts().items():
        click.echo(f"CONFLICT: {kind.value} {name!r} registered by {', '.join(providers)}")


cli.add_command(config_group)
cli.add_command(db_group)
cli.add_command(calibrate_cmd)
cli.add_command(run_cmd)
cli.add_command(backtest_cmd)
cli.add_command(secrets_group)


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(standalone_mode=True))


if __name__ == "__main__":
    main()
