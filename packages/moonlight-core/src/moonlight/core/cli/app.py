"""The root ``moonlight`` command and its small commands (version, plugins).

The command modules are imported only when their command runs (:data:`LAZY_COMMANDS`):
``moonlight --help`` and ``moonlight plugins`` never load the engine, storage or the
backtester, so they answer in well under a second. ``--help`` lists each lazy command
with the one-line help kept here (a test keeps it equal to the command's own).

Every error a command ends with is printed through the log redaction
(:func:`moonlight.core.telemetry.pii.redact`): a broker error raised during start-up
often quotes the credential it refused, and stderr must not show it any more than the
log file does. An unexpected exception becomes a one-line masked message (exit 1); its
masked traceback goes to the log file when logging is configured.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from importlib.metadata import EntryPoint, distributions, entry_points
from typing import Any

import click

from moonlight.core import __version__
from moonlight.core.telemetry.pii import install_redacting_excepthooks, redact

log = logging.getLogger("moonlight.cli")

#: Command name → (module, attribute, help): imported when the command is used.
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "backtest": ("moonlight.core.cli.backtest_cmd", "backtest_cmd",
                 "Backtest CONFIG on candle files with the real engine; write a summary and "
                 "report."),
    "calibrate": ("moonlight.core.cli.calibrate_cmd", "calibrate_cmd",
                  "Refit the ensemble's Platt calibration and print Brier, log loss, ECE and "
                  "a table."),
    "config": ("moonlight.core.cli.config_cmd", "config_group",
               "Inspect and validate configuration."),
    "db": ("moonlight.core.cli.db_cmd", "db_group",
           "Create, upgrade and inspect the MoonLight database schema."),
    "overrides": ("moonlight.core.cli.overrides_cmd", "overrides_group",
                  "Show or clear the runtime overrides stored through the API."),
    "run": ("moonlight.core.cli.run_cmd", "run_cmd",
            "Run the engine (paper trading on the embedded SQLite unless CONFIG says "
            "otherwise)."),
    "secrets": ("moonlight.core.cli.secrets_cmd", "secrets_group",
                "Store broker credentials in the OS keyring (never in config files)."),
    "trading": ("moonlight.core.cli.trading_cmd", "trading_group",
                "Act on the trading of a running engine (through its local API)."),
    "update": ("moonlight.core.cli.update_cmd", "update_group",
               "Find, apply and roll back updates of MoonLight and its plugins."),
}  # fmt: skip


def lazy_short_help(name: str, limit: int) -> str:
    """The ``--help`` line of a lazy command, shortened as click shortens its own."""
    return click.Command(name, help=LAZY_COMMANDS[name][2]).get_short_help_str(limit)


def plugin_commands() -> dict[str, EntryPoint]:
    """Commands that installed distributions add through the ``moonlight.cli`` entry-point
    group (for example ``moonlight train`` from moonlight-strategies-ml), by name; the
    built-in commands win a name clash. Nothing is imported to list them."""
    return {
        point.name: point
        for point in entry_points(group="moonlight.cli")
        if point.name not in LAZY_COMMANDS
    }


def plugin_short_help(point: EntryPoint, limit: int) -> str:
    """The ``--help`` line of a plugin command, without importing it."""
    source = point.dist.name if point.dist is not None else point.value
    return click.Command(point.name, help=f"Added by {source}.").get_short_help_str(limit)


def load_plugin_command(point: EntryPoint) -> click.Command | None:
    """The plugin's click command, or None (logged) when it fails to load: a broken
    plugin never breaks the rest of the CLI."""
    try:
        command = point.load()
    except Exception:
        log.exception("CLI extension %s failed to load; skipped", point.value)
        return None
    return command if isinstance(command, click.Command) else None


class RedactingGroup(click.Group):
    """A click group whose commands' errors are masked before anything prints them, and
    whose :data:`LAZY_COMMANDS` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS, *plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        lazy = LAZY_COMMANDS.get(cmd_name)
        if lazy is not None:
            module, attribute, _ = lazy
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        point = plugin_commands().get(cmd_name)
        return None if point is None else load_plugin_command(point)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, lazy commands described without importing them."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in LAZY_COMMANDS and name not in self.commands:
                rows.append((name, lazy_short_help(name, limit)))
            elif name in plugin_commands() and name not in self.commands:
                rows.append((name, plugin_short_help(plugin_commands()[name], limit)))
            else:
                command = self.get_command(ctx, name)
                if command is None or command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
            from moonlight.core.telemetry.logging_setup import current_setup

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
    from moonlight.core.plugins import build_plugin_host

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
    from moonlight.core.plugins import build_plugin_host

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


def main() -> None:
    """Console-script entry point."""
    install_redacting_excepthooks()
    sys.exit(cli.main(standalone_mode=True))


if __name__ == "__main__":
    main()
