"""The server as a service: plugin registration, binding rules, start-up, graceful stop.

``moonlight run`` starts every registered service beside the engine; these tests run
that same path (``run_engine`` with ``registered_services``), in process and, for
SIGTERM, in a child process.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from moonlight.core.config import ConfigError
from moonlight.core.plugins.registry import ComponentKind
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.control import EngineControl
from moonlight.core.runtime.session import registered_services, run_engine
from moonlight.server.app import create_app
from moonlight.server.plugin import run_server
from moonlight.server.service import ServerHandle, check_bind, print_login_link, serve
from moonlight.server.settings import ServerSettings
from tests.server.support import (
    ROOT,
    START,
    load,
    running_engine,
    serving,
    token_of,
    write_config,
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def healthy(base_url: str) -> bool:
    try:
        async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=2) as client:
            return (await client.get("/health")).status_code == 200
    except httpx.TransportError:
        return False


def test_plugin_registers_the_service_and_its_config_section(host, tmp_path: Path) -> None:
    (service,) = [
        r for r in host.registry.registrations(ComponentKind.SERVICE) if r.name == "server"
    ]
    assert service.component.factory is run_server
    assert run_server in registered_services(host)
    assert host.registry.get(ComponentKind.CONFIG_MODEL, "server") is ServerSettings
    config = load(write_config(tmp_path, server={"auth_failures_max": 3}), host)
    assert config.plugins["server"] == {"auth_failures_max": 3}
    with pytest.raises(ConfigError) as invalid:
        load(write_config(tmp_path, server={"auth_failures_max": 0, "bogus": 1}), host)
    message = str(invalid.value)
    assert "config_model 'server'" in message
    assert "auth_failures_max" in message and "bogus" in message


def test_binding_is_loopback_unless_explicitly_allowed(caplog: pytest.LogCaptureFixture) -> None:
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        check_bind(host, allow_non_loopback=False)
    for host in ("0.0.0.0", "192.168.1.10", "::"):
        with pytest.raises(PermissionError, match="allow_non_loopback"):
            check_bind(host, allow_non_loopback=False)
    check_bind("0.0.0.0", allow_non_loopback=True)
    assert "exposed on 0.0.0.0" in caplog.text


async def test_serve_prints_a_working_one_time_link_and_stops_on_the_event(
    tmp_path: Path, host, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    config = load(write_config(tmp_path), host)
    port = free_port()
    config = config.model_copy(update={"server": config.server.model_copy(update={"port": port})})
    async with running_engine(config, host, FastForwardClock(START)) as engine:
        stop = asyncio.Event()
        task = asyncio.create_task(serve(engine, stop))
        base_url = f"http://127.0.0.1:{port}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not await healthy(base_url):
            assert loop.time() < deadline and not task.done()
            await asyncio.sleep(0.05)
        printed = capsys.readouterr().err
        match = re.search(rf"{re.escape(base_url)}/login#([A-Za-z0-9_-]+)", printed)
        assert match, printed
        code = match.group(1)
        async with httpx.AsyncClient(base_url=base_url, trust_env=False) as browser:
            assert (await browser.post("/api/v1/session", json={"code": code})).status_code == 200
            status = await browser.get("/api/v1/status")
            assert status.status_code == 200 and status.json()["engine"]["state"] == "running"
        stop.set()
        await asyncio.wait_for(task, 15)
        assert not await healthy(base_url)
    token = token_of(config)
    assert code not in caplog.text and token not in caplog.text
    assert "API server stopped" in caplog.text


async def test_requests_are_served_on_the_api_thread_never_on_the_engine_loop(
    tmp_path: Path, host
) -> None:
    """Finding 14.2: a request (an 8 MB body) used to be parsed on the engine's loop."""
    config = load(write_config(tmp_path), host)
    async with running_engine(config, host, FastForwardClock(START)) as engine:
        seen: list[str] = []
        app = create_app(EngineControl(engine))

        @app.middleware("http")
        async def note_thread(request, call_next):  # type: ignore[no-untyped-def]
            seen.append(threading.current_thread().name)
            return await call_next(request)

        handle = ServerHandle(app, host="127.0.0.1", port=0, settings=ServerSettings())
        await handle.start()
        try:
            headers = {"Authorization": f"Bearer {token_of(config)}"}
            async with httpx.AsyncClient(
                base_url=handle.base_url, headers=headers, trust_env=False
            ) as client:
                assert (await client.get("/health")).status_code == 200
                status = await client.get("/api/v1/status")
                assert status.status_code == 200 and status.json()["workers"]["total"] == 8
        finally:
            await handle.stop()
    engine_thread = threading.current_thread().name
    assert seen == ["moonlight-api", "moonlight-api"] and engine_thread != "moonlight-api"
    assert not handle.thread.is_alive()


async def test_login_link_names_the_token_file_not_the_token(tmp_path: Path, host) -> None:
    config = load(write_config(tmp_path), host)
    async with (
        running_engine(config, host, FastForwardClock(START)) as engine,
        serving(engine) as handle,
    ):
        out = io.StringIO()
        link = print_login_link(handle, stream=out)
        assert link.startswith(f"{handle.base_url}/login#")
        assert str(config.data_dir / "api-token") in out.getvalue()
        assert token_of(config) not in out.getvalue()


async def test_moonlight_run_path_starts_the_server_beside_the_engine(tmp_path: Path, host) -> None:
    port = free_port()
    path = write_config(tmp_path)
    config = load(path, host)
    config = config.model_copy(update={"server": config.server.model_copy(update={"port": port})})
    stop = asyncio.Event()
    run = asyncio.create_task(
        run_engine(config, host, speed=30, stop=stop, companions=registered_services(host))
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while not await healthy(base_url):
            assert loop.time() < deadline and not run.done()
            await asyncio.sleep(0.1)
        headers = {"Authorization": f"Bearer {token_of(config)}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, trust_env=False) as api:
            status = (await api.get("/api/v1/status")).json()
        assert status["workers"]["total"] == 8
        assert status["engine"]["simulated_clock"] is True
    finally:
        stop.set()
        engine = await asyncio.wait_for(run, 30)
    assert engine.supervisor.states() == {"stopped": 8}
    assert not await healthy(base_url)


LAUNCHER = """
import asyncio, sys
from pathlib import Path
from tests.server.support import server_host, load
from moonlight.core.runtime.session import registered_services, run_engine
from moonlight.core.telemetry.logging_setup import configure_from_config

host = server_host()
config = load(Path(sys.argv[1]), host)
configure_from_config(config, console=False)
asyncio.run(run_engine(config, host, speed=30, companions=registered_services(host)))
"""


@pytest.mark.subprocess
@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX (Windows: Ctrl+Break)")
def test_sigterm_stops_engine_and_server_gracefully(tmp_path: Path) -> None:
    port = free_port()
    path = write_config(tmp_path)
    text = path.read_text(encoding="utf-8").replace("port: 8765", f"port: {port}")
    path.write_text(text, encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])},
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "server did not come up"
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2, trust_env=False)
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
        stderr = child.communicate(timeout=10)[1]
    code = re.search(r"/login#([A-Za-z0-9_-]+)", stderr)
    assert code, stderr
    log = (tmp_path / "data" / "logs" / "moonlight.log").read_text(encoding="utf-8")
    assert "API server stopped" in log and "engine stopped" in log
    token = (tmp_path / "data" / "api-token").read_text(encoding="ascii").strip()
    assert token not in log and code.group(1) not in log


async def test_a_taken_port_raises_a_critical_alarm(tmp_path: Path, host) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        config = load(write_config(tmp_path), host)
        server = config.server.model_copy(update={"port": port})
        config = config.model_copy(update={"server": server})
        async with running_engine(config, host, FastForwardClock(START)) as engine:
            alarms: list = []
            engine.alarms.subscribe(alarms.append)
            with pytest.raises(RuntimeError, match="could not start"):
                await asyncio.wait_for(serve(engine, asyncio.Event()), 30)
            assert [(a.level.value, a.code) for a in alarms] == [("critical", "api_unavailable")]
            assert engine.supervisor.states().get("running") == 8  # trading continues
