"""``moonlight run [CONFIG] [--speed N]``: the engine, paper mode by default."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from moonlight.core.cli.loading import load_or_exit
from moonlight.core.runtime.session import registered_services, run_engine
from moonlight.core.telemetry.logging_setup import configure_from_config


@click.command("run")
@click.argument("config_file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.001),
    help="Run simulated time N times faster than real time (paper mode).",
)
def run_cmd(config_file: Path | None, speed: float) -> None:
    """Run the engine (paper trading on the embedded SQLite unless CONFIG says otherwise)."""
    config, host = load_or_exit(config_file)
    if speed != 1 and any(a.mode != "paper" for a in config.accounts):
        raise click.ClickException("--speed is only allowed when every account is in paper mode")
    configure_from_config(config)
    asyncio.run(run_engine(config, host, speed=speed, companions=registered_services(host)))
