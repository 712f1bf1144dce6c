"""Fixtures of the update tests: the wheel sources (once per session) and, per test, an
installation of 0.1.0 under its own install root, run by a fake service manager."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from moonlight.core.update.index import Source
from moonlight.core.update.installer import build_environment
from moonlight.core.update.layout import InstallRoot
from tests.console.support import free_port, wait_http
from tests.update.support import OLD, PROJECTS, build_sources, third_party_dir

FAKE_SERVICE = Path(__file__).with_name("fake_service.py")
START_TIMEOUT_S = 240.0


@dataclass
class Installation:
    """An install root with 0.1.0 current, its config, and its (fake) service."""

    root: InstallRoot
    config: Path
    state: Path
    port: int

    @property
    def database(self) -> Path:
        return self.config.parent / "data" / "moonlight.db"

    def moonlight(self, *args: str, timeout: float = 900.0) -> subprocess.CompletedProcess[str]:
        """The current version's ``moonlight`` (what an operator types)."""
        return subprocess.run(
            [str(self.root.current / "bin" / "moonlight"), *args],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def service(self, action: str) -> None:
        args = [str(self.root.root), str(self.config), str(self.state)]
        argv = [
            sys.executable,
            str(FAKE_SERVICE),
            action,
            *(args if action == "start" else args[2:]),
        ]
        subprocess.run(argv, check=True, timeout=300)

    def wait_healthy(self) -> None:
        wait_http(f"http://127.0.0.1:{self.port}/health", START_TIMEOUT_S)


def service_command(action: str, installation: Installation) -> list[str]:
    """The fake service manager's command line for ``start`` or ``stop``."""
    if action == "stop":
        return [sys.executable, str(FAKE_SERVICE), "stop", str(installation.state)]
    return [sys.executable, str(FAKE_SERVICE), "start", str(installation.root.root),
            str(installation.config), str(installation.state)]  # fmt: skip


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_sources(tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="session")
def third_party(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return third_party_dir(tmp_path_factory.mktemp("deps") / "site")


@pytest.fixture
def make_installation(
    tmp_path: Path, sources: dict[str, Path], third_party: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[object]:
    """``make_installation(source, **update)``: 0.1.0 installed, migrated and running."""
    monkeypatch.setenv("PYTHONPATH", str(third_party))
    for variable in ("MOONLIGHT_STORAGE__URL", "MOONLIGHT_DISABLE_PLUGINS", "VIRTUAL_ENV"):
        monkeypatch.delenv(variable, raising=False)
    made: list[Installation] = []

    def make(source: str, **update: object) -> Installation:
        root = InstallRoot(tmp_path / "install")
        build_environment(
            root.version_dir(f"{OLD}-base"), dict.fromkeys(PROJECTS, OLD),
            Source("", sources["base"]), "pip",
        )  # fmt: skip
        root.switch(f"{OLD}-base")
        port = free_port()
        installation = Installation(root, tmp_path / "config.yaml", tmp_path / "service", port)
        settings = {
            "root": str(root.root),
            "find_links": str(sources[source]),
            "flat_timeout_s": 60.0,
            "health_timeout_s": 120.0,
            "service": {a: service_command(a, installation) for a in ("stop", "start")},
            **update,
        }
        config = {
            "data_dir": str(tmp_path / "data"),
            "server": {"port": port},
            "accounts": [],
            "strategies": [],
            "update": settings,
        }
        installation.config.write_text(yaml.safe_dump(config), encoding="utf-8")
        done = installation.moonlight("db", "upgrade", "--config", str(installation.config))
        assert done.returncode == 0, done.stderr
        installation.service("start")
        made.append(installation)
        installation.wait_healthy()
        return installation

    yield make
    for installation in made:
        installation.service("stop")
