"""A really full disk under the whole engine: its data_dir on a 16 MB tmpfs, filled to the
last byte while three accounts trade.

The database, its WAL and the JSON log all live on that filesystem. Linux only, and only
where the test may create a private mount namespace and mount a tmpfs (root, or a user
namespace that allows it); elsewhere it is skipped with the reason, and the injected
SQLite error of ``test_storage_faults.py`` covers the same path above the driver.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chaos.support import record_figures, write_config

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.subprocess


def can_mount_tmpfs(directory: Path) -> bool:
    """True when a private mount namespace with a tmpfs can be created here."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs '{directory}'"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return probe.returncode == 0


def test_engine_on_a_full_filesystem_halts_alarms_and_loses_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if not can_mount_tmpfs(data_dir):
        pytest.skip("tmpfs mount unavailable here: needs Linux, unshare and root")
    script = (
        f"mount -t tmpfs -o size=16m tmpfs '{data_dir}'"
        f" && exec '{sys.executable}' -m tests.chaos.engine_child diskfull '{config}' '{tmp_path}'"
    )
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        cwd=ROOT,
        capture_output=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    seen = json.loads((tmp_path / "diskfull.json").read_text(encoding="utf-8"))
    record_figures(
        "disk full (16 MB tmpfs filled to the last byte)",
        orders=seen["orders"],
        filler_bytes=seen["filler_bytes"],
        duplicates=seen["duplicates"],
        lost_results=seen["lost_results"],
        failed=seen["failed"],
        placed_while_full=len(seen["placed_while_full"]),
        halted=seen["halted"],
        resume_refused=seen["resume_refused"],
    )
    assert seen["filler_bytes"] > 0
    assert seen["problems"] == [] and seen["duplicates"] == 0 and seen["lost_results"] == 0
    # every account stopped trading with the reason. SQLite keeps writing into the space
    # its WAL file already holds, so orders may still go out until a write needs a new
    # block -- but none unrecorded: the verdict above found every broker contract stored.
    assert all(r and "storage unavailable (disk_full)" in r for r in seen["halted"].values())
    assert "storage_unavailable" in seen["alarms"]
    # after the operator resumed, trading went on; no worker crashed on the way (an
    # account whose halt outlives the fault is the known bug shown in test_storage_faults)
    assert seen["resumed"] > 0
    assert len(seen["resume_refused"]) < len(seen["halted"])
    assert seen["worker_failures"] == 0
