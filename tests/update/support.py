"""Wheels of the workspace at two versions, and installations made from them.

The update tests need a package source with the MoonLight distributions at 0.1.0 and
at 0.2.0, built here from this workspace offline (hatchling without build isolation):

* ``base`` -- every distribution as it is in the workspace, relabelled 0.1.0;
* ``good`` -- the same sources at 0.2.0;
* ``broken`` -- 0.2.0 whose server answers ``/health`` with 503 (a bad release);
* ``migrating`` -- 0.2.0 whose core ships one more Alembic migration, with the broken
  server (so the update migrates, then has to roll back and restore).

Third-party dependencies (numpy, numba, FastAPI, ...) are not rebuilt: the tests put a
directory of links to the workspace environment's third-party packages on
``PYTHONPATH`` (no MoonLight distribution in it, no ``.pth`` processing), so pip in a
new environment finds them installed and takes only the MoonLight wheels from the
local source -- the part an update changes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECTS = {
    "moonlight-core": ROOT / "packages" / "moonlight-core",
    "moonlight-indicators": ROOT / "packages" / "moonlight-indicators",
    "moonlight-strategies-basic": ROOT / "packages" / "moonlight-strategies-basic",
    "moonlight-connector-olymp": ROOT / "packages" / "moonlight-connector-olymp",
    "moonlight-connector-deriv": ROOT / "packages" / "moonlight-connector-deriv",
    "moonlight-server": ROOT / "apps" / "moonlight-server",
}
OLD, NEW = "0.1.0", "0.2.0"
HEALTH_LINE = (
    'return schemas.HealthOut(status="ok" if context.lifecycle == "running" else "stopping")'
)
PROBE_MIGRATION = '''"""Test-only migration: one table, so an update has a schema change to make."""

import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("update_probe", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("update_probe")
'''
_IGNORE = shutil.ignore_patterns("__pycache__", "build", "dist", "*.egg-info", ".venv")


def build_wheel(project: Path, out: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(out), str(project)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip


def versioned_copy(
    name: str, version: str, scratch: Path, patch: Callable[[Path], None] | None = None
) -> Path:
    """A copy of a workspace project at ``version`` (and patched)."""
    copy = scratch / f"{name}-{version}-{patch.__name__ if patch else 'plain'}"
    shutil.copytree(PROJECTS[name], copy, ignore=_IGNORE)
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert f'version = "{OLD}"' in text, f"{name} is not at {OLD}: relabel the test"
    pyproject.write_text(text.replace(f'version = "{OLD}"', f'version = "{version}"', 1))
    if patch is not None:
        patch(copy)
    return copy


def unhealthy_server(copy: Path) -> None:
    """A server whose /health always answers 503."""
    pages = copy / "src" / "moonlight" / "server" / "routes" / "pages.py"
    text = pages.read_text(encoding="utf-8")
    assert HEALTH_LINE in text, "the health route changed: update the test's patch"
    broken = 'from fastapi import HTTPException\n    raise HTTPException(503, "bad release")'
    pages.write_text(text.replace(HEALTH_LINE, broken), encoding="utf-8")


def core_with_migration(copy: Path) -> None:
    """A core shipping one more migration (after the workspace's newest one)."""
    versions = copy / "src" / "moonlight" / "core" / "storage" / "migrations" / "versions"
    heads = sorted(p.stem.split("_")[0] for p in versions.glob("[0-9]*_*.py"))
    migration = PROBE_MIGRATION.format(head=heads[-1])
    (versions / "9001_update_probe.py").write_text(migration, encoding="utf-8")


def build_sources(scratch: Path) -> dict[str, Path]:
    """The four wheel directories (base, good, broken, migrating); see the module doc."""
    wheels = {kind: scratch / kind for kind in ("old", "new", "broken", "migrating")}
    for name, project in PROJECTS.items():
        build_wheel(project, wheels["old"])
        build_wheel(versioned_copy(name, NEW, scratch), wheels["new"])
    build_wheel(
        versioned_copy("moonlight-server", NEW, scratch, unhealthy_server), wheels["broken"]
    )
    build_wheel(
        versioned_copy("moonlight-core", NEW, scratch, core_with_migration), wheels["migrating"]
    )
    sources = {
        "base": _source(scratch / "src-base", wheels["old"]),
        "good": _source(scratch / "src-good", wheels["old"], wheels["new"]),
        "broken": _source(scratch / "src-broken", wheels["old"], wheels["new"], wheels["broken"]),
        "migrating": _source(
            scratch / "src-migrating", wheels["old"], wheels["new"], wheels["broken"],
            wheels["migrating"],
        ),
    }  # fmt: skip
    return sources


def _source(target: Path, *layers: Path) -> Path:
    """A wheel directory: later layers replace earlier ones' wheels of the same name."""
    target.mkdir()
    chosen: dict[str, Path] = {}
    for layer in layers:
        for wheel in layer.glob("*.whl"):
            chosen[wheel.name.split("-")[0] + wheel.name.split("-")[1]] = wheel
    for wheel in chosen.values():
        (target / wheel.name).symlink_to(wheel)
    return target


def third_party_dir(target: Path) -> Path:
    """Links to every third-party package of this environment (no MoonLight, no pip)."""
    target.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        lowered = entry.name.lower()
        if (
            "moonlight" in lowered
            or lowered.endswith(".pth")
            or lowered.startswith(("pip", "__editable__", "_virtualenv"))
        ):
            continue
        (target / entry.name).symlink_to(entry)
    return target
