"""Helpers for the server tests: configs, engines, in-process and live servers.

* :func:`ensure_server_package` makes ``moonlight.server`` importable from the working
  tree when the environment has not installed it yet (it is an installable
  distribution; this only guards a stale environment).
* :func:`server_host` is a plugin host with the server plugin registered — through its
  entry point when installed, else directly.
* :func:`write_config` writes a paper config derived from ``configs/config.yaml``.
* :func:`api_client` talks to an app in process (httpx ASGI transport, no socket);
  :func:`serving` runs the real uvicorn on 127.0.0.1 on the current loop;
  :class:`LiveServer` runs engine + uvicorn on a loop in a background thread for
  synchronous clients (schemathesis, Playwright, the benchmark).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVER_SRC = ROOT / "apps" / "moonlight-server" / "src"
START = 1_767_600_000.0  # 2026-01-05 08:00 UTC, a Monday morning
CLIENT = ("127.0.0.1", 50_000)
BASE_URL = "http://127.0.0.1:8765"
WAIT_S = 30.0


def ensure_server_package() -> None:
    """Add the server's ``src`` folder to ``sys.path`` if it cannot be imported."""
    try:
        found = importlib.util.find_spec("moonlight.server") is not None
    except ModuleNotFoundError:
        found = False
    if not found and str(SERVER_SRC) not in sys.path:
        sys.path.insert(0, str(SERVER_SRC))
        importlib.invalidate_caches()


ensure_server_package()

from moonlight.core.config import MoonlightConfig, load_config  # noqa: E402
from moonlight.core.plugins import PluginHost, build_plugin_host  # noqa: E402
from moonlight.core.plugins.registry import ComponentKind  # noqa: E402
from moonlight.core.runtime.clock import Clock, ScaledClock  # noqa: E402
from moonlight.core.runtime.control import EngineControl  # noqa: E402
from moonlight.core.runtime.engine import Engine  # noqa: E402
from moonlight.server import plugin as server_plugin  # noqa: E402
from moonlight.server.app import create_app  # noqa: E402
from moonlight.server.service import ServerHandle  # noqa: E402
from moonlight.server.settings import ServerSettings, settings_from  # noqa: E402
from tests.support.exploration import trade_on_exploration  # noqa: E402


def server_host() -> PluginHost:
    """All installed plugins, plus the server plugin if no entry point provided it."""
    host = build_plugin_host()
    if any(r.name == "server" for r in host.registry.registrations(ComponentKind.SERVICE)):
        return host
    return build_plugin_host(extra_plugins=[("server", server_plugin)])


def write_config(
    tmp_path: Path,
    *,
    server: dict[str, Any] | None = None,
    drop_guards: tuple[str, ...] = (),
    accounts: list[dict[str, Any]] | None = None,
) -> Path:
    """A paper config in ``tmp_path`` (data in ``tmp_path/data``)."""
    data = yaml.safe_load((ROOT / "configs" / "config.yaml").read_text(encoding="utf-8"))
    data["data_dir"] = str(tmp_path / "data")
    trade_on_exploration(data)  # these tests need orders
    data["risk"]["guards"] = [g for g in data["risk"]["guards"] if g["name"] not in drop_guards]
    if accounts is not None:
        data["accounts"] = accounts
    if server is not None:
        data.setdefault("plugins", {})["server"] = server
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def load(path: Path, host: PluginHost) -> MoonlightConfig:
    return load_config(path, registry=host.registry)


def token_of(config: MoonlightConfig) -> str:
    return (config.data_dir / "api-token").read_text(encoding="ascii").strip()


def api_client(
    app: Any, token: str | None = None, *, client: tuple[str, int] = CLIENT, **kwargs: Any
) -> httpx.AsyncClient:
    """An httpx client calling ``app`` in process, as 127.0.0.1, optionally with the token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=client),
        base_url=BASE_URL,
        headers=headers,
        **kwargs,
    )


@contextlib.asynccontextmanager
async def running_engine(
    config: MoonlightConfig, host: PluginHost, clock: Clock
) -> AsyncIterator[Engine]:
    engine = Engine.create(config, host, clock=clock, snapshots=False)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop("test finished")


@contextlib.asynccontextmanager
async def serving(
    engine: Engine, settings: ServerSettings | None = None
) -> AsyncIterator[ServerHandle]:
    """The real uvicorn on 127.0.0.1, a free port, on the current loop."""
    app = create_app(EngineControl(engine), settings=settings)
    handle = ServerHandle(app, host="127.0.0.1", port=0, settings=settings or ServerSettings())
    await handle.start()
    try:
        yield handle
    finally:
        await handle.stop()


async def wait_for(predicate: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    """Poll ``predicate`` (real time) until true; fail after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.02)


class LiveServer:
    """Engine + uvicorn on their own loop in a background thread (for sync clients).

    ``with LiveServer(config, host, speed=30) as live:`` — ``live.base_url``,
    ``live.token``, ``live.engine``; :meth:`call` runs a coroutine function on the
    server's loop and returns its result.
    """

    def __init__(
        self,
        config: MoonlightConfig,
        host: PluginHost,
        *,
        speed: float = 30.0,
        start: float = START,
        settings: ServerSettings | None = None,
    ) -> None:
        self.config = config
        self.host = host
        self.speed = speed
        self.start_ts = start
        self.settings = settings
        self.engine: Engine | None = None
        self.handle: ServerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="live moonlight", daemon=True)

    @property
    def base_url(self) -> str:
        assert self.handle is not None
        return self.handle.base_url

    @property
    def token(self) -> str:
        return token_of(self.config)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        if not self._ready.wait(60.0):
            raise TimeoutError("live server did not start")
        if self._error is not None:
            raise RuntimeError("live server failed to start") from self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60.0)

    def call(self, make: Callable[[], Any], timeout_s: float = WAIT_S) -> Any:
        """Run ``make()`` (a coroutine) on the server's loop; its result."""
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(make(), self.loop)
        return future.result(timeout_s)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            self.engine = Engine.create(
                self.config, self.host, clock=ScaledClock(self.start_ts, self.speed),
                snapshots=False,
            )  # fmt: skip
            await self.engine.start()
            settings = self.settings or settings_from(self.config.plugins)
            app = create_app(EngineControl(self.engine), settings=settings)
            self.handle = ServerHandle(app, host="127.0.0.1", port=0, settings=settings)
            await self.handle.start()
        except BaseException as error:  # reported to the test thread
            self._error = error
            self._ready.set()
            if self.engine is not None:
                await self.engine.stop("failed start")
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.handle.stop()
            await self.engine.stop("test finished")


@contextlib.contextmanager
def live_server(config: MoonlightConfig, host: PluginHost, **kwargs: Any) -> Iterator[LiveServer]:
    with LiveServer(config, host, **kwargs) as live:
        yield live
