"""The console is an API client only, installable on its own; its command line."""

from __future__ import annotations

import ast
import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest

from moonlight.console import cli

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "apps" / "moonlight-console"
FORBIDDEN = ("moonlight.core", "moonlight.server", "moonlight.indicators",
             "moonlight.strategies", "moonlight.connectors")  # fmt: skip


def test_it_imports_nothing_from_the_engine() -> None:
    sources = list((PACKAGE / "src" / "moonlight" / "console").rglob("*.py"))
    assert len(sources) > 10
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{source.name} imports {name}"


def test_it_depends_on_no_moonlight_distribution() -> None:
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [
        r for extra in project["optional-dependencies"].values() for r in extra
    ]
    assert not [r for r in requirements if r.startswith("moonlight")]
    assert project["scripts"]["moonlight-console"] == "moonlight.console.cli:main"
    assert (PACKAGE / "src" / "moonlight" / "console" / "py.typed").exists()
    assert not (PACKAGE / "src" / "moonlight" / "__init__.py").exists()  # PEP 420


def test_a_bad_server_address_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--web", "--server", "127.0.0.1:8765"]) == 2
    assert "not an http(s) server address" in capsys.readouterr().err


@pytest.mark.skipif(
    importlib.util.find_spec("flet_desktop") is not None, reason="the desktop extra is installed"
)
def test_the_window_without_the_desktop_extra_says_what_to_install(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert "moonlight-console[desktop]" in err and "--web" in err


def test_help_names_the_three_ways(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "--web" in out and "--server" in out and "--no-browser" in out


def test_the_windows_build_script(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("build_windows", PACKAGE / "build_windows.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    command = build.pack_command("flet")
    assert command[:3] == ["flet", "pack", str(PACKAGE / "windows_entry.py")]
    assert command[command.index("--name") + 1] == "moonlight-console"
    assert "keyring.backends.Windows" in command
    assert build.main(["--dry-run"]) == 0
    assert "flet pack" in capsys.readouterr().out
    if sys.platform != "win32":  # it refuses to pretend it can build elsewhere
        assert build.main([]) == 2
        assert "run it on Windows" in capsys.readouterr().err
