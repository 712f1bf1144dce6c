"""The CLI imports a command's module only when that command runs.

``moonlight --help`` must answer without the engine, storage, numpy or pydantic: the
test asserts the *set of modules* a fresh interpreter has imported after ``--help``
(never a time); likewise ``moonlight plugins`` must describe every plugin without
importing their implementations (Numba kernels, storage, server, network clients). The
help text it prints for the lazy commands is kept equal to the
commands' own.
"""

from __future__ import annotations

import json
import subprocess
import sys

import click
import click.testing
import pytest

from moonlight.core.cli.app import LAZY_COMMANDS, cli, lazy_short_help

PROBE = """
import json, sys
from moonlight.core.cli.app import cli
try:
    cli.main(sys.argv[1:], prog_name="moonlight", standalone_mode=False)
except SystemExit:
    pass
sys.stdout.flush()
print()
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(*arguments: str) -> set[str]:
    """Modules a fresh interpreter holds after running ``moonlight ARGUMENTS``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_help_imports_click_and_the_cli_module_only() -> None:
    modules = imported_by("--help")
    third_party = {name.split(".")[0] for name in modules if not name.startswith("_")} - set(
        sys.stdlib_module_names
    )
    assert third_party == {"click", "moonlight"}
    ours = {name for name in modules if name.startswith("moonlight.")}
    assert ours <= {"moonlight.core", "moonlight.core.cli", "moonlight.core.cli.app",
                    "moonlight.core.telemetry", "moonlight.core.telemetry.pii"}  # fmt: skip


def test_a_command_imports_its_own_module_and_no_other_command_module() -> None:
    modules = imported_by("plugins", "--json")
    command_modules = {module for module, _, _ in LAZY_COMMANDS.values()}
    assert not modules & command_modules
    modules = imported_by("config", "--help")
    assert modules & command_modules == {"moonlight.core.cli.config_cmd"}


#: What the plugins' implementations need and describing them must not: the indicator
#: kernels (Numba), storage (SQLAlchemy, Alembic), the server (FastAPI, uvicorn), the
#: connectors' network clients (httpx, websockets) and the engine.
HEAVY = ("numba", "sqlalchemy", "alembic", "fastapi", "uvicorn", "httpx", "websockets")
ENGINE = ("moonlight.core.runtime.engine", "moonlight.core.storage.models")


def test_plugins_are_described_without_their_implementations() -> None:
    modules = imported_by("plugins", "--json")
    assert {"moonlight.indicators.plugin", "moonlight.server.plugin"} <= modules
    heavy = {name for name in modules if name.split(".")[0] in HEAVY}
    assert not heavy, sorted(heavy)[:10]
    assert not modules & set(ENGINE)
    assert not {name for name in modules if name.startswith("moonlight.indicators.overlap")}


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_lazy_help_is_the_commands_own(name: str) -> None:
    ctx = click.Context(cli)
    command = cli.get_command(ctx, name)
    assert isinstance(command, click.Command) and command.name == name
    for limit in (30, 45, 80, 400):
        assert lazy_short_help(name, limit) == (command.get_short_help_str(limit))


def test_help_lists_every_command() -> None:
    result = click.testing.CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = result.output.split("Commands:")[1]
    for name in (*LAZY_COMMANDS, "plugins", "version"):
        assert f"\n  {name} " in listed
