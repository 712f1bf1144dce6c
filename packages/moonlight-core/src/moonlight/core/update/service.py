"""Around the switch: pause the running engine, wait for flat, stop and start the
service, and probe the new version's health.

The engine is reached through its local API (as ``moonlight trading resume`` does):
``POST /api/v1/workers/pause`` stops new decisions so the open orders can only go down.
When no engine answers, there is nothing to pause and only the database is watched.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import click

from moonlight.core.cli.trading_cmd import api_base_url, call_api
from moonlight.core.config.models import MoonlightConfig
from moonlight.core.update.errors import UpdateError

COMMAND_TIMEOUT_S = 300.0
POLL_S = 1.0


def set_workers_paused(config: MoonlightConfig, paused: bool) -> str:
    """Pause or resume every worker of the running engine; what happened, in words."""
    path = "/api/v1/workers/pause" if paused else "/api/v1/workers/resume"
    try:
        call_api(config, "POST", path, {"all": True, "operator": "moonlight update"})
    except click.ClickException as error:
        return f"no running engine answered ({error.message})"
    return "workers paused" if paused else "workers resumed"


def wait_flat(count: Callable[[], int], timeout_s: float) -> int:
    """Poll ``count`` (open orders) until it is 0 or the timeout passes; the last count."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = count()
        if left == 0 or time.monotonic() >= deadline:
            return left
        time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))


def run_service_command(argv: list[str], what: str) -> None:
    """Run the configured stop or start command; UpdateError when it fails."""
    if not argv:
        raise UpdateError(f"update.service.{what} is not configured")
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UpdateError(f"service {what} ({argv[0]}): {error}") from None
    if done.returncode != 0:
        raise UpdateError(
            f"service {what} exited {done.returncode}: {(done.stderr or done.stdout).strip()}"
        )


def wait_healthy(config: MoonlightConfig, timeout_s: float) -> str | None:
    """None once ``GET /health`` says ok; else why not, after ``timeout_s``."""
    url = api_base_url(config) + "/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with opener.open(url, timeout=5.0) as response:
                if response.status == 200 and b'"ok"' in response.read():
                    return None
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            last = str(getattr(error, "reason", error))
        time.sleep(POLL_S)
    return f"{url} not healthy within {timeout_s:.0f} s (last: {last})"
