"""The install root (versions, the ``current`` link, pruning), the schedule, and the
promise that ``moonlight --help`` does not load the update machinery."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from moonlight.core.config import load_config
from moonlight.core.update.errors import UpdateError
from moonlight.core.update.layout import InstallRoot, UpdateState, moonlight_executable
from moonlight.core.update.procedure import Updater

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="symbolic links are POSIX here")


def _version(root: InstallRoot, label: str, *, bundle: bool = False) -> Path:
    folder = root.version_dir(label)
    program = folder / "moonlight" if bundle else folder / "bin" / "moonlight"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n", encoding="ascii")
    return folder


def test_switch_moves_current_between_versions(tmp_path: Path) -> None:
    root = InstallRoot(tmp_path)
    assert root.active_label() is None
    _version(root, "a")
    _version(root, "b", bundle=True)
    root.switch("a")
    assert root.active_label() == "a"
    root.switch("b")
    assert root.active_label() == "b"
    assert moonlight_executable(root.current) == root.current / "moonlight"
    assert os.readlink(root.current) == os.path.join("versions", "b")  # relative: movable


def test_switch_refuses_a_folder_without_moonlight(tmp_path: Path) -> None:
    root = InstallRoot(tmp_path)
    root.version_dir("empty").mkdir(parents=True)
    with pytest.raises(UpdateError, match="no moonlight executable"):
        root.switch("empty")
    assert root.active_label() is None


def test_prune_keeps_current_and_previous(tmp_path: Path) -> None:
    root = InstallRoot(tmp_path)
    for index, label in enumerate(["old", "previous", "other", "current"]):
        folder = _version(root, label)
        os.utime(folder, (1_000_000 + index, 1_000_000 + index))
    os.utime(root.version_dir("previous"), (1, 1))  # the oldest, but still kept
    removed = root.prune({"current", "previous"}, 2)
    assert sorted(removed) == ["old", "other"]
    assert sorted(p.name for p in root.versions.iterdir()) == ["current", "previous"]


def test_state_round_trips(tmp_path: Path) -> None:
    root = InstallRoot(tmp_path)
    state = UpdateState(current="b", previous="a", backup="/x.db", revision_before="0001")
    root.save_state(state)
    assert root.load_state() == state


def _updater(tmp_path: Path, schedule: str) -> Updater:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        f"data_dir: {tmp_path / 'data'}\nupdate:\n  root: {tmp_path / 'root'}\n"
        f"  schedule: {schedule}\n",
        encoding="utf-8",
    )
    return Updater(load_config(config_file), config_file, lambda _: None)


def test_schedule_is_opt_in_and_spaced(tmp_path: Path) -> None:
    assert _updater(tmp_path, "{enabled: false}").due() == "update.schedule.enabled is false"
    updater = _updater(tmp_path, "{enabled: true, every_h: 6}")
    assert updater.due() is None
    updater.root.save_state(UpdateState(last_attempt=time.time() - 3600))
    assert updater.due() == "last attempt less than 6 h ago"
    updater.root.save_state(UpdateState(last_attempt=time.time() - 7 * 3600))
    assert updater.due() is None


def test_apply_needs_an_install_root(tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    with pytest.raises(UpdateError, match=r"update\.root is not set"):
        Updater(load_config(config_file), config_file, lambda _: None)


def test_cli_help_does_not_import_the_update_machinery() -> None:
    script = (
        "import sys\n"
        "from moonlight.core.cli.app import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('moonlight.core.update.'))\n"
        "print('LOADED:' + ','.join(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().split("\n")[-1].removeprefix("LOADED:")
    loaded = set(filter(None, line.split(",")))
    assert loaded <= {"moonlight.core.update.settings"}  # the configuration model at most
