"""The install root: side-by-side versions, the ``current`` link and the update state.

::

    <root>/versions/<label>/   one complete install each: a virtual environment
                               (bin/moonlight, Scripts\\moonlight.exe) or a bundle folder
    <root>/current             link to the version the service runs
    <root>/backups/            database copies taken before a migration
    <root>/update-state.json   current, previous, the backup to restore on rollback
    <root>/update-journal.jsonl  every update step (also audited in the database)

The service runs ``<root>/current/bin/moonlight run CONFIG`` (bundle:
``<root>/current/moonlight``), so switching versions is replacing one link: a symbolic
link replaced atomically on POSIX, a directory junction on Windows (no administrator
right needed; untested here).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from moonlight.core.update.errors import UpdateError

_EXE = ".exe" if sys.platform == "win32" else ""


@dataclass
class UpdateState:
    """What the last update left behind, for a rollback."""

    current: str | None = None
    previous: str | None = None
    backup: str | None = None
    revision_before: str | None = None
    last_attempt: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class InstallRoot:
    """One installation's folder of versions."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions = root / "versions"
        self.current = root / "current"
        self.backups = root / "backups"
        self.state_file = root / "update-state.json"
        self.journal_file = root / "update-journal.jsonl"

    def version_dir(self, label: str) -> Path:
        return self.versions / label

    def active_label(self) -> str | None:
        """The version ``current`` points at, or None before the first switch."""
        if not self.current.exists():
            return None
        return Path(os.path.realpath(self.current)).name

    def switch(self, label: str) -> None:
        """Point ``current`` at ``versions/<label>``."""
        target = self.version_dir(label)
        if moonlight_executable(target) is None:
            raise UpdateError(f"{target} holds no moonlight executable")
        if sys.platform == "win32":  # pragma: no cover - Windows only
            _switch_junction(self.current, target)
            return
        temporary = self.root / f".current-{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(target.relative_to(self.root), target_is_directory=True)
        os.replace(temporary, self.current)

    def load_state(self) -> UpdateState:
        if not self.state_file.exists():
            return UpdateState(current=self.active_label())
        return UpdateState(**json.loads(self.state_file.read_text(encoding="utf-8")))

    def save_state(self, state: UpdateState) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(state), indent=2), encoding="utf-8")
        os.replace(temporary, self.state_file)

    def prune(self, keep: set[str], count: int) -> list[str]:
        """Remove the oldest versions beyond ``count``, never one in ``keep``."""
        if not self.versions.is_dir():
            return []
        folders = [p for p in self.versions.iterdir() if p.is_dir()]
        removable = sorted((p for p in folders if p.name not in keep), key=_modified)
        removed = []
        for path in removable[: max(0, len(folders) - count)]:
            shutil.rmtree(path)
            removed.append(path.name)
        return removed


def _modified(path: Path) -> float:
    return path.stat().st_mtime


def moonlight_executable(install: Path) -> Path | None:
    """The ``moonlight`` program of an install: virtual environment or bundle folder."""
    for candidate in (
        install / "bin" / "moonlight",
        install / "Scripts" / f"moonlight{_EXE}",
        install / f"moonlight{_EXE}",
    ):
        if candidate.is_file():
            return candidate
    return None


def _switch_junction(link: Path, target: Path) -> None:  # pragma: no cover - Windows only
    import _winapi

    if link.exists() or link.is_symlink():
        os.rmdir(link)  # removes the junction, not what it points at
    _winapi.CreateJunction(str(target), str(link))  # type: ignore[attr-defined]
