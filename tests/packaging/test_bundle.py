"""The PyInstaller bundle, built here from the workspace and run as an operator would.

One test, so the bundle is built once per run -- the expensive part (measured on the
shared 2-core machine: the build 2.5 to 3.5 min, the whole test 10 min at a load of 10
to 14); every check after it reuses the same folder. The bundle runs with a clean
environment (no ``PYTHONPATH``, the workspace's ``.venv`` not on ``PATH``), so what it
finds -- plugins, migrations, the dashboard -- is what it carries, plus a plugin
installed afterwards into its side directory ``plugins``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.console.support import ROOT, free_port, wait_http
from tests.support.exploration import trade_on_exploration

pytestmark = [
    pytest.mark.slow,
    pytest.mark.subprocess,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM/SIGINT to a child is POSIX"),
]


def _load_build_script():  # packaging/ is a folder of scripts, not an importable package
    spec = importlib.util.spec_from_file_location("bundle_build", ROOT / "packaging" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_BUILD = _load_build_script()
build, executable = _BUILD.build, _BUILD.executable
EXAMPLE = ROOT / "examples" / "moonlight-strategy-example"
FIRST_PARTY = {
    "moonlight-core",
    "moonlight-indicators",
    "moonlight-strategies-basic",
    "moonlight-connector-olymp",
    "moonlight-connector-deriv",
    "moonlight-server",
}
PAPER_RUN_S = 20.0
START_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 90.0


def _env() -> dict[str, str]:
    """The environment of a machine where only the bundle is installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MOONLIGHT_"))}
    env.pop("VIRTUAL_ENV", None)
    env.pop("NUMBA_CACHE_DIR", None)
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    return env


def _moonlight(bundle: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(executable(bundle)), *args],
        capture_output=True, text=True, env=_env(), cwd=cwd, timeout=600,
    )  # fmt: skip


def _config(tmp_path: Path, port: int) -> Path:
    data = yaml.safe_load((ROOT / "configs" / "config.yaml").read_text(encoding="utf-8"))
    data["data_dir"] = str(tmp_path / "data")
    data["server"]["port"] = port
    trade_on_exploration(data)  # the 20-second run must write orders
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _run_then_signal(
    bundle: Path, config: Path, port: int, sig: signal.Signals, seconds: float, log: Path
) -> tuple[int, str]:
    """``moonlight run CONFIG --speed 60`` for ``seconds`` after it serves, then ``sig``."""
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [str(executable(bundle)), "run", str(config), "--speed", "60"],
            cwd=config.parent, env=_env(), stdin=subprocess.DEVNULL,
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_http(f"http://127.0.0.1:{port}/health", START_TIMEOUT_S)
            time.sleep(seconds)
            process.send_signal(sig)
            code = process.wait(STOP_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(STOP_TIMEOUT_S)
    return code, log.read_text(encoding="utf-8")


def _orders(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute("select count(*) from orders").fetchone()[0])


def test_bundle_builds_and_runs_like_an_install(tmp_path: Path) -> None:
    bundle = build(tmp_path / "dist", tmp_path / "work")
    assert executable(bundle).is_file()

    # version: every first-party distribution, from the bundled metadata
    result = _moonlight(bundle, "version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {line.split()[0] for line in result.stdout.splitlines()} >= FIRST_PARTY

    # a plugin installed after the build, into the side directory beside the executable
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(bundle / "plugins"), str(EXAMPLE)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    result = _moonlight(bundle, "plugins", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    for name in ("indicators", "strategies", "olymp", "deriv", "server"):
        assert plugins[name]["status"] == "loaded", plugins[name]
    assert plugins["sma_trend_example"]["status"] == "loaded"
    assert plugins["sma_trend_example"]["distribution"] == "moonlight-strategy-example"

    port = free_port()
    config = _config(tmp_path, port)
    result = _moonlight(bundle, "config", "check", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout

    # the migrations travel with the bundle
    result = _moonlight(bundle, "db", "upgrade", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "empty ->" in result.stdout

    # 20 s of paper trading (60x simulated time), then SIGTERM: a clean exit
    code, text = _run_then_signal(
        bundle, config, port, signal.SIGTERM, PAPER_RUN_S, tmp_path / "run-term.log"
    )
    assert code == 0, text
    assert "stopping: no new orders" in text, text
    assert "Traceback" not in text, text
    database = tmp_path / "data" / "moonlight.db"
    assert _orders(database) > 0
    # Numba's cache was written beside the data, not into the bundle
    cache = tmp_path / "data" / "numba-cache"
    assert any(cache.rglob("*.nbi")), "no Numba cache index under data_dir"
    assert not any(bundle.rglob("*.nbi"))

    # NSSM stops a console service with Ctrl+C: SIGINT takes the same graceful path
    before = _orders(database)
    code, text = _run_then_signal(
        bundle, config, port, signal.SIGINT, 5.0, tmp_path / "run-int.log"
    )
    assert code == 0, text
    assert "stopping: no new orders" in text, text
    assert "KeyboardInterrupt" not in text and "Traceback" not in text, text
    assert _orders(database) >= before
