"""``moonlight update apply | rollback``: the side-by-side update and its way back.

Apply: find newer versions (or take a bundle folder) → prepare ``versions/<label>`` →
run ``config check`` and the migrations dry run with it → pause the engine's workers
and wait until no order is open (else defer, with the reason, and resume) → stop the
service → back up the SQLite database if the schema changes → migrate with the new
version → switch ``current`` → start → health check; a failed health check rolls back
on its own: stop, restore the backup, switch back, start. Every step goes to the
:class:`~moonlight.core.update.journal.Journal`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from moonlight.core.config.models import MoonlightConfig
from moonlight.core.events import AlarmLevel
from moonlight.core.update import service
from moonlight.core.update.database import copy_sqlite, open_orders, revision, sqlite_file
from moonlight.core.update.errors import UpdateError
from moonlight.core.update.index import Candidate, Source, newer
from moonlight.core.update.installer import build_environment
from moonlight.core.update.journal import Journal
from moonlight.core.update.layout import InstallRoot, UpdateState, moonlight_executable
from moonlight.core.update.validate import Validation, require_ok, run_moonlight, validate

UPDATED, DEFERRED, ROLLED_BACK = 0, 3, 4


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a command ended: its exit code and one line for the operator."""

    code: int
    message: str


def installed_distributions(config: MoonlightConfig) -> dict[str, str]:
    """The MoonLight distributions and plugins installed here, plus ``update.include``."""
    from moonlight.core.cli.app import installed_versions

    found = installed_versions()
    for name in config.update.include:
        try:
            found.setdefault(name, version(name))
        except PackageNotFoundError:
            continue
    return found


def check(config: MoonlightConfig) -> list[Candidate]:
    """Newer versions the configured source offers for what is installed."""
    settings = config.update
    source = Source(settings.index_url, settings.find_links)
    return newer(source, installed_distributions(config), prereleases=settings.allow_prereleases)


class Updater:
    """Applies and rolls back updates of one installation (``update.root``)."""

    def __init__(
        self, config: MoonlightConfig, config_file: Path, echo: Callable[[str], None]
    ) -> None:
        if config.update.root is None:
            raise UpdateError("update.root is not set: see docs/how-to/update.md")
        self.config = config
        self.config_file = config_file
        self.root = InstallRoot(config.update.root)
        self.url = config.storage_url()
        self.journal = Journal(self.url, self.root, echo)

    def due(self) -> str | None:
        """Why a scheduled run should not apply now, or None when it should."""
        schedule = self.config.update.schedule
        if not schedule.enabled:
            return "update.schedule.enabled is false"
        last = self.root.load_state().last_attempt
        if last is not None and time.time() - last < schedule.every_h * 3600:
            return f"last attempt less than {schedule.every_h:g} h ago"
        return None

    def apply(self, bundle: Path | None = None, *, postgres_backup_done: bool = False) -> Outcome:
        """Update to the newest versions (or to ``bundle``); see the module docstring."""
        state = self.root.load_state()
        previous = self.root.active_label()
        if previous is None:
            raise UpdateError(
                f"{self.root.current} does not exist: install the running version under"
                f" {self.root.versions} and link it first (docs/how-to/update.md)"
            )
        state.last_attempt = time.time()
        self.root.save_state(state)
        label = self._prepare(bundle)
        if label is None:
            return Outcome(UPDATED, "already up to date")
        try:
            return self._switch_to(label, previous, postgres_backup_done)
        except UpdateError as error:
            self.journal.step("failed", str(error), alarm=AlarmLevel.CRITICAL, version=label)
            raise

    def rollback(self, *, restore_backup: bool = False) -> Outcome:
        """Go back to the previous version (operator's command)."""
        state = self.root.load_state()
        if state.previous is None or state.current != self.root.active_label():
            raise UpdateError("no previous version recorded: nothing to roll back to")
        self._rollback(state, restore_backup=restore_backup, why="requested by the operator")
        return Outcome(UPDATED, f"rolled back to {state.previous}")

    def _prepare(self, bundle: Path | None) -> str | None:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        if bundle is not None:
            if moonlight_executable(bundle) is None:
                raise UpdateError(f"{bundle} holds no moonlight executable")
            label = f"bundle-{stamp}"
            self.journal.step("prepare", f"copying bundle {bundle} to versions/{label}")
            shutil.copytree(bundle, self.root.version_dir(label), symlinks=True)
            return label
        candidates = check(self.config)
        settings = self.config.update
        if not candidates:
            self.journal.step("check", "every installed distribution is at its newest version")
            return None
        pins = installed_distributions(self.config)
        pins.update({c.name: c.latest for c in candidates})
        label = f"{pins['moonlight-core']}-{stamp}"
        changes = ", ".join(f"{c.name} {c.installed} -> {c.latest}" for c in candidates)
        self.journal.step("prepare", f"building versions/{label}: {changes}", pins=pins)
        source = Source(settings.index_url, settings.find_links)
        try:
            build_environment(self.root.version_dir(label), pins, source, settings.installer)
        except UpdateError as error:
            self.journal.step("failed", f"preparing {label}: {error}", alarm=AlarmLevel.CRITICAL)
            raise
        return label

    def _switch_to(self, label: str, previous: str, postgres_backup_done: bool) -> Outcome:
        target = self.root.version_dir(label)
        executable = moonlight_executable(target)
        if executable is None:
            raise UpdateError(f"{target} holds no moonlight executable")
        self.root.backups.mkdir(parents=True, exist_ok=True)
        try:
            checked = validate(executable, self.config, self.config_file, self.root.backups)
        except UpdateError:
            shutil.rmtree(target, ignore_errors=True)
            raise
        self.journal.step(
            "validated",
            f"{label}: config check passed; migration "
            + ("needed" if checked.needs_migration else "not needed"),
            revision_before=checked.revision_before,
            revision_after=checked.revision_after,
        )
        on_postgres = sqlite_file(self.config) is None
        if checked.needs_migration and on_postgres and not postgres_backup_done:
            shutil.rmtree(target, ignore_errors=True)
            return self._defer(
                "the new version migrates the PostgreSQL schema: take a pg_dump, then run"
                " apply with --postgres-backup-done",
                resume=False,
            )
        self.journal.step("pause", service.set_workers_paused(self.config, True))
        timeout = self.config.update.flat_timeout_s
        left = service.wait_flat(lambda: open_orders(self.url), timeout)
        if left:
            shutil.rmtree(target, ignore_errors=True)
            return self._defer(f"{left} order(s) still open after {timeout:g} s", resume=True)
        try:
            service.run_service_command(self.config.update.service.stop, "stop")
        except UpdateError:
            self.journal.step("resume", service.set_workers_paused(self.config, False))
            shutil.rmtree(target, ignore_errors=True)
            raise
        self.journal.step("stopped", f"service stopped, no order open; leaving {previous}")
        state = UpdateState(
            current=label,
            previous=previous,
            backup=self._backup(label, checked),
            revision_before=checked.revision_before,
            last_attempt=time.time(),
        )
        if checked.needs_migration:
            done = run_moonlight(executable, "db", "upgrade", "--config", str(self.config_file))
            try:
                self.journal.step("migrated", require_ok(done, "db upgrade").strip())
            except UpdateError as error:
                self.journal.step("failed", str(error), alarm=AlarmLevel.CRITICAL)
                self.root.save_state(state)
                self._rollback(state, restore_backup=True, why="the migration failed")
                return Outcome(ROLLED_BACK, f"migration failed, back on {previous}")
        self.root.switch(label)
        self.root.save_state(state)
        self.journal.step("switched", f"current -> versions/{label}")
        problem = self._start_and_probe()
        if problem is not None:
            self.journal.step("unhealthy", f"{label}: {problem}", alarm=AlarmLevel.CRITICAL)
            self._rollback(state, restore_backup=True, why="its health check failed")
            return Outcome(ROLLED_BACK, f"{label} failed its health check; back on {previous}")
        removed = self.root.prune({label, previous}, self.config.update.keep_versions)
        self.journal.step(
            "updated", f"now running {label} (previous: {previous})", alarm=AlarmLevel.INFO,
            removed=removed,
        )  # fmt: skip
        return Outcome(UPDATED, f"updated to {label}")

    def _defer(self, reason: str, *, resume: bool) -> Outcome:
        if resume:
            self.journal.step("resume", service.set_workers_paused(self.config, False))
        self.journal.step("deferred", f"not switching: {reason}", alarm=AlarmLevel.WARNING)
        return Outcome(DEFERRED, f"deferred: {reason}")

    def _backup(self, label: str, checked: Validation) -> str | None:
        database = sqlite_file(self.config)
        if not checked.needs_migration or database is None or not database.exists():
            return None
        backup = self.root.backups / f"{database.stem}-before-{label}.db"
        self.journal.mark()
        copy_sqlite(database, backup)
        self.journal.step("backup", f"database copied to {backup}", backup=str(backup))
        return str(backup)

    def _rollback(self, state: UpdateState, *, restore_backup: bool, why: str) -> None:
        assert state.previous is not None and state.current is not None
        failed = self.root.version_dir(state.current)
        service.run_service_command(self.config.update.service.stop, "stop")
        self.journal.step("rollback", f"rolling back from {state.current}: {why}")
        self._restore_schema(state, failed, restore_backup)
        self.root.switch(state.previous)
        self.root.save_state(
            UpdateState(current=state.previous, previous=None, last_attempt=state.last_attempt)
        )
        problem = self._start_and_probe()
        self.journal.step(
            "rolled-back",
            f"back on {state.previous} ({why})"
            + ("" if problem is None else f"; but it is not healthy either: {problem}"),
            alarm=AlarmLevel.CRITICAL,
        )

    def _start_and_probe(self) -> str | None:
        """Start the service; None once it is healthy, else what went wrong."""
        try:
            service.run_service_command(self.config.update.service.start, "start")
        except UpdateError as error:
            return str(error)
        return service.wait_healthy(self.config, self.config.update.health_timeout_s)

    def _restore_schema(self, state: UpdateState, failed: Path, restore_backup: bool) -> None:
        """Put the database back at the schema the previous version expects."""
        database = sqlite_file(self.config)
        if restore_backup and state.backup and database is not None:
            # even at the old revision: a migration that failed half-way left its DDL
            copy_sqlite(Path(state.backup), database)
            self.journal.rewrite()  # the restored copy predates this attempt's audit rows
            self.journal.step("restored", f"database restored from {state.backup}")
            return
        if revision(self.url) == state.revision_before:
            return
        executable = moonlight_executable(failed)
        if executable is None or state.revision_before is None:
            raise UpdateError("cannot restore the schema: no backup and no newer version left")
        done = run_moonlight(
            executable, "db", "downgrade", state.revision_before, "--yes",
            "--config", str(self.config_file),
        )  # fmt: skip
        self.journal.step("downgraded", require_ok(done, "db downgrade").strip())
