"""Real processes for the console's end-to-end tests: ``moonlight run`` and the console.

:class:`EngineProcess` starts ``moonlight run CONFIG --speed N`` (paper, simulated time)
as a child process on a free 127.0.0.1 port with its own data directory, and captures
the one-time login link it prints. :class:`ConsoleProcess` starts
``moonlight-console --web --no-browser`` against it. Both are stopped the way an
operator stops them (Ctrl+C / SIGTERM), and killed only if that does not end them in
time. :func:`launch_chromium` opens Debian's chromium through Playwright.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.exploration import trade_on_exploration

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
LOGIN_LINK = re.compile(r"MoonLight dashboard: (http://\S+/login#\S+)")


def chromium_path() -> str | None:
    """Debian's chromium, if installed (never a downloaded browser)."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def paper_config(tmp_path: Path, port: int, *, drop_guards: tuple[str, ...]) -> Path:
    """``configs/config.yaml`` with its own data dir and port, minus some guards."""
    data = yaml.safe_load((ROOT / "configs" / "config.yaml").read_text(encoding="utf-8"))
    trade_on_exploration(data)  # these tests need orders
    data["data_dir"] = str(tmp_path / "data")
    data["server"]["port"] = port
    data["risk"]["guards"] = [g for g in data["risk"]["guards"] if g["name"] not in drop_guards]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


class _Child:
    """A child process whose stderr is collected line by line (bounded waits)."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self.lines: list[str] = []
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        with self.log.open("a", encoding="utf-8") as out:
            for line in self.process.stderr:
                self.lines.append(line)
                out.write(line)

    def wait_for_line(self, pattern: re.Pattern[str], timeout_s: float = START_TIMEOUT_S) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = pattern.search(line)
                if found:
                    return found.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern.pattern!r}; see {self.log}")

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Signal, wait (bounded), kill if it is still there; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)
        self._reader.join(STOP_TIMEOUT_S)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return int(self.process.returncode)


def wait_http(url: str, timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll ``url`` until it answers 200 (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")


class EngineProcess(_Child):
    """``moonlight run CONFIG --speed N`` in paper mode; ``login_link``, ``token``, ``api``."""

    def __init__(self, config: Path, port: int, *, speed: float, log: Path) -> None:
        super().__init__(
            [sys.executable, "-m", "moonlight.core.cli.app", "run", str(config),
             "--speed", str(speed)],
            log,
        )  # fmt: skip
        self.config = config
        self.base_url = f"http://127.0.0.1:{port}"
        self.login_link = self.wait_for_line(LOGIN_LINK)
        wait_http(self.base_url + "/health")
        data_dir = Path(yaml.safe_load(config.read_text(encoding="utf-8"))["data_dir"])
        self.token = (data_dir / "api-token").read_text(encoding="ascii").strip()

    def api(self, path: str) -> Any:
        """GET an API path with the token (the test's own view of the truth)."""
        response = httpx.get(
            f"{self.base_url}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10.0,
        )
        response.raise_for_status()
        return response.json()


class ConsoleProcess(_Child):
    """``moonlight-console --web --no-browser`` for ``server``, on a free port."""

    def __init__(self, server: str, *, log: Path) -> None:
        port = free_port()
        super().__init__(
            [sys.executable, "-m", "moonlight.console.cli", "--web", "--no-browser",
             "--port", str(port), "--server", server],
            log,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{port}/"
        wait_http(self.url)


def launch_chromium(playwright: Any) -> Any:
    """Debian's chromium with the flags that keep it off the network."""
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
    )


def screenshot_dir(tmp_path: Path, name: str) -> Path:
    """Where screenshots go: ``MOONLIGHT_SCREENSHOTS/<name>`` when set (the docs'
    pictures are made so), else the test's temporary directory."""
    root = os.environ.get("MOONLIGHT_SCREENSHOTS")
    folder = Path(root) / name if root else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
