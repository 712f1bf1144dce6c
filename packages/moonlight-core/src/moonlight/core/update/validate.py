"""Run the new version against the current configuration before anything switches.

``moonlight config check CONFIG`` with the new version's ``moonlight`` (its plugins, its
configuration models), then a migrations dry run: on SQLite the new version upgrades a
copy of the database (so a failing migration is found on the copy); on PostgreSQL,
where no copy is taken here, ``db current --check`` tells whether a migration is due.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from moonlight.core.config.models import MoonlightConfig
from moonlight.core.update.database import copy_sqlite, revision, sqlite_file, sqlite_url
from moonlight.core.update.errors import UpdateError

STEP_TIMEOUT_S = 600.0


@dataclass(frozen=True, slots=True)
class Validation:
    """What the dry run found: whether the new version migrates the schema, and from where."""

    needs_migration: bool
    revision_before: str | None
    revision_after: str | None


def run_moonlight(
    executable: Path, *args: str, storage_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a ``moonlight`` command of some version (storage URL overridden if given)."""
    env = dict(os.environ)
    if storage_url is not None:
        env["MOONLIGHT_STORAGE__URL"] = storage_url
    try:
        return subprocess.run(
            [str(executable), *args], capture_output=True, text=True, env=env,
            timeout=STEP_TIMEOUT_S, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UpdateError(f"{executable} {args[0]}: {error}") from None


def require_ok(done: subprocess.CompletedProcess[str], what: str) -> str:
    """The output of a command that must succeed; UpdateError with its last lines if not."""
    if done.returncode != 0:
        lines = (done.stderr + done.stdout).strip().splitlines()[-6:]
        raise UpdateError(f"{what} failed (exit {done.returncode}): {' | '.join(lines)}")
    return done.stdout


def validate(
    executable: Path, config: MoonlightConfig, config_file: Path, scratch: Path
) -> Validation:
    """Config check and migrations dry run with the new version; UpdateError on failure."""
    require_ok(run_moonlight(executable, "config", "check", str(config_file)), "config check")
    database = sqlite_file(config)
    if database is None:
        before = revision(config.storage_url())
        done = run_moonlight(executable, "db", "current", "--config", str(config_file), "--check")
        if done.returncode not in (0, 1):
            require_ok(done, "db current")
        return Validation(done.returncode == 1, before, None)
    copy = scratch / "dry-run.db"
    copy.unlink(missing_ok=True)
    if database.exists():
        copy_sqlite(database, copy)
    try:
        before = revision(sqlite_url(copy))
        upgrade = run_moonlight(
            executable, "db", "upgrade", "--config", str(config_file), storage_url=sqlite_url(copy)
        )
        require_ok(upgrade, "migrations dry run (on a copy of the database)")
        after = revision(sqlite_url(copy))
    finally:
        for leftover in scratch.glob("dry-run.db*"):
            leftover.unlink()
    return Validation(before != after, before, after)
