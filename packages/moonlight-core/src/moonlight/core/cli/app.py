"""The root ``moonlight`` command and its small commands (version, plugins).

Every error a command ends with is printed through the log redaction
(:func:`moonlight.core.telemetry.pii.redact`): a broker error raised during start-up
often quotes the credential it refused, and stderr must not show it any more than the
log file does. An unexpected exception becomes a one-line masked message (exit 1); its
masked traceback goes to the log file when logging is configured.
"""

from __future__ import annotations

import json
import logging
import sys
from importlib.metadata import distributions
from typing import Any

import click

from moonlight.core import __version__
from moonlight.core.cli.backtest_cmd import backtest_cmd
from moonlight.core.cli.calibrate_cmd import calibrate_cmd
from moonlight.core.cli.config_cmd import config_group
from moonlight.core.cli.db_cmd import db_group
from moonlight.core.cli.overrides_cmd import overrides_group
from moonlight.core.cli.run_cmd import run_cmd
from moonlight.core.cli.secrets_cmd import secrets_group
from moonlight.core.cli.trading_cmd import trading_group
from moonlight.core.cli.update_cmd import update_group
from moonlight.core.plugins import build_plugin_host
from moonlight.core.telemetry.logging_setup import current_setup
from moonlight.core.telemetry.pii import install_redacting_excepthooks, redact

log = logging.getLogger("moonlight.cli")


class RedactingGroup(click.Group):
    """A click group whose commands' errors are masked before anything prints them."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except click.ClickException as error:
            masked = redact(error.message)
            if masked == error.message:
                raise
            raise click.ClickException(masked) from None
        except Exception as error:
            if current_setup() is not None:  # masked by the handlers' filters
                log.error("moonlight %s failed", ctx.invoked_subcommand, exc_info=error)
            raise click.ClickException(redact(f"{type(error).__name__}: {error}")) from None


@click.group(cls=RedactingGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
cli.add_command(overrides_group)
cli.add_command(trading_group)
cli.add_command(update_group)


def main() -> None:
    """Console-script entry point."""
    install_redacting_excepthooks()
    sys.exit(cli.main(standalone_mode=True))


if __name__ == "__main__":
    main()
