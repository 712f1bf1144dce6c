"""Ctrl+C on ``python3 dev.py run``: the engine stops cleanly and nothing prints a traceback.

A terminal's Ctrl+C sends SIGINT to the whole foreground process group -- dev.py and
the engine it started. The test starts dev.py in its own process group on a temporary
config (free port, own data directory), waits until the engine serves, sends SIGINT to
the group as the terminal would, and reads everything both processes printed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.console.support import ROOT, free_port, paper_config, wait_http

pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT are POSIX"),
]

STOP_TIMEOUT_S = 60.0


def test_ctrl_c_on_dev_run_exits_quietly(tmp_path: Path) -> None:
    port = free_port()
    config = paper_config(tmp_path, port, drop_guards=())
    output = tmp_path / "output.txt"
    with output.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [sys.executable, "dev.py", "run", str(config), "--speed", "10"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/health")
            time.sleep(1.0)  # let it trade a little: shutdown has orders to persist
            os.killpg(process.pid, signal.SIGINT)
            code = process.wait(STOP_TIMEOUT_S)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(STOP_TIMEOUT_S)
    text = output.read_text(encoding="utf-8")
    assert code == 0, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert re.search(r"stopping: no new orders", text), text
