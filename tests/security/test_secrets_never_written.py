"""Secrets never reach a log, a response or the database: a whole run is scanned.

Known test secrets are registered the way an operator would: a broker token in the OS
keyring (a test-only in-memory backend standing in for it) and a password in
``MOONLIGHT_SECRET_*``. The configuration names them (``*_secret_name``). A connector
plugin uses them like a real one does — it sends them, logs its auth frames at DEBUG,
puts credentials in a URL, and fails with errors that quote them. The engine trades
with that connector behind the real API server (uvicorn on 127.0.0.1, access log on),
logging at DEBUG; the test calls the API with the token, with near-miss wrong tokens,
and with credentials in the query string. Then EVERY file the run wrote under
data_dir — the database and its WAL, logs, worker snapshots, state files — and every
response is searched for each secret. Only ``<data_dir>/api-token`` may hold the API
token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import stat
import string
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from moonlight.core.config import load_config
from moonlight.core.connectors.contract import AuthFailed, Disconnected
from moonlight.core.connectors.mock import MockConnector
from moonlight.core.connectors.plugin import MockConnectorConfig, make_mock
from moonlight.core.plugins import ComponentSpec, PluginHost, build_plugin_host, hookimpl
from moonlight.core.plugins.registry import ComponentKind
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.engine import Engine
from moonlight.core.runtime.session import run_engine
from moonlight.core.secrets import set_secret
from moonlight.core.telemetry.logging_setup import configure_from_config, teardown_logging
from moonlight.core.telemetry.pii import clear_sensitive
from moonlight.server import plugin as server_plugin
from moonlight.server.settings import ServerSettings
from tests.server.support import ROOT, START, serving
from tests.support.memory_keyring import installed

log = logging.getLogger("moonlight.connectors.vault")


def random_secret(prefix: str) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(28))


class VaultConnectorConfig(MockConnectorConfig):
    """The mock broker, plus the secrets a real connector needs (named, never inline)."""

    token_secret_name: str
    password_secret_name: str
    refuse_login: bool = False


class VaultConnector(MockConnector):
    """A mock broker that handles credentials the way real connectors do."""

    token: str = ""
    password: str = ""
    refuse_login: bool = False

    async def connect(self) -> None:
        if self.refuse_login:  # as brokers do: the refusal quotes what was presented
            raise AuthFailed(f"login refused: token {self.token} is not valid")
        log.debug("auth frame %s", json.dumps({"e": 1, "d": {"token": self.token}}))
        log.debug("Authorization: Bearer %s", self.token)
        log.info("connecting to wss://trader:%s@broker.example/ws", self.password)
        await super().connect()

    async def candles(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().candles(*args, **kwargs)
        except Disconnected as error:
            raise Disconnected(f"{error} (session token={self.token})") from error


def make_vault(config: VaultConnectorConfig, *, secrets: Any = None, **kwargs: Any) -> Any:
    connector = make_mock(config, **kwargs)
    connector.__class__ = VaultConnector
    connector.token = secrets[config.token_secret_name]
    connector.password = secrets[config.password_secret_name]
    connector.refuse_login = config.refuse_login
    return connector


class VaultPlugin:
    @hookimpl
    def moonlight_register_connectors(self) -> Sequence[ComponentSpec]:
        return [
            ComponentSpec(
                "vault",
                make_vault,
                "mock broker with credentials",
                config_model=VaultConnectorConfig,
            )
        ]


@pytest.fixture
def known_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    values = {"broker_token": random_secret("tok"), "broker_password": random_secret("pw")}
    with installed():
        set_secret("broker_token", values["broker_token"])  # the "OS keyring"
        monkeypatch.setenv("MOONLIGHT_SECRET_BROKER_PASSWORD", values["broker_password"])
        try:
            yield values
        finally:
            clear_sensitive()


def write_config(tmp_path: Path, *, refuse_login: bool = False) -> Path:
    data = {
        "data_dir": str(tmp_path / "data"),
        "accounts": [
            {
                "id": "paper-vault",
                "connector": "vault",
                "mode": "paper",
                "products": ["EURUSD", "GBPUSD"],
                "timeframes": ["15s", "1m"],
                "connector_options": {
                    "seed": 5,
                    "token_secret_name": "broker_token",
                    "password_secret_name": "broker_password",
                    "refuse_login": refuse_login,
                },
            }
        ],
        "strategies": [{"name": "ema_rsi"}, {"name": "bollinger_reversion"}],
        "ensemble": {"paper_prior": {"a": -3.0}},
        "risk": {
            "threshold": 0.5,
            "margin": 0.0,
            "sizing": {"policy": "fixed", "params": {"stake_amount": 1.0}},
        },
        "telemetry": {"log_level": "DEBUG"},
        "plugins": {"server": {"access_log": True, "auth_failures_max": 1000}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


async def exercise_api(base_url: str, token: str) -> list[str]:
    """Authenticated, wrong and query-string calls; returns every response as text."""
    seen: list[str] = []
    auth = {"Authorization": f"Bearer {token}"}
    near_miss = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=30) as client:
        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("GET", "/api/v1/status", {"headers": auth}),
            ("GET", "/api/v1/orders", {"headers": auth}),
            ("GET", "/api/v1/results/export.csv", {"headers": auth}),
            ("GET", "/api/v1/config", {"headers": auth}),
            ("GET", "/api/v1/alarms", {"headers": auth}),
            ("GET", "/metrics", {"headers": auth}),
            ("GET", "/api/v1/status", {"headers": {"Authorization": f"Bearer {near_miss}"}}),
            ("GET", "/api/v1/status", {"headers": {"Authorization": near_miss}}),
            ("GET", "/api/v1/status", {"params": {"token": token}}),
            ("GET", "/api/v1/status", {"params": {"access_token": token}, "headers": auth}),
            ("POST", "/api/v1/session", {"json": {"token": near_miss}}),
            ("POST", "/api/v1/session", {"json": {"token": token}}),
            (
                "POST",
                "/api/v1/kill-switch/engage",
                {"headers": auth, "json": {"operator": "ann", "reason": "rotation drill"}},
            ),
            ("POST", "/api/v1/kill-switch/re-arm", {"headers": auth, "json": {"operator": "ann"}}),
        ]
        for method, path, kwargs in calls:
            response = await client.request(method, path, **kwargs)
            assert response.status_code < 500, (path, response.text)
            seen.append(f"{response.status_code} {dict(response.headers)} {response.text}")
    seen.append(near_miss)  # not a response: what the scan must also not find
    return seen


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def occurrences(secret: str, paths: list[Path]) -> list[str]:
    needles = {secret.encode(), json.dumps(secret).encode()}
    return [str(p) for p in paths if any(n in p.read_bytes() for n in needles)]


@pytest.fixture(scope="module")
def vault_host() -> PluginHost:
    """Installed plugins + the vault connector (+ the server if not installed as a plugin)."""
    extra: list[tuple[str, object]] = [("vault", VaultPlugin())]
    services = build_plugin_host().registry.registrations(ComponentKind.SERVICE)
    if not any(registration.name == "server" for registration in services):
        extra.append(("server", server_plugin))
    return build_plugin_host(extra_plugins=extra)


async def test_no_secret_in_any_file_or_response(
    tmp_path: Path, known_secrets: dict[str, str], vault_host: PluginHost
) -> None:
    config = load_config(write_config(tmp_path), registry=vault_host.registry)
    configure_from_config(config, console=False)
    responses: list[str] = []
    try:
        clock = FastForwardClock(START)
        engine = Engine.create(config, vault_host, clock=clock, snapshots=True)
        await engine.start()
        try:
            await clock.sleep_until(START + 4 * 60)
            engine.accounts["paper-vault"].market.drop_connection()  # errors quoting the token
            await clock.sleep_until(START + 6 * 60)
            settings = ServerSettings(access_log=True, auth_failures_max=1000)
            # an earlier server in this process without an access log switched uvicorn's
            # access logger off for good (uvicorn sets propagate=False); turn it back on
            logging.getLogger("uvicorn.access").propagate = True
            async with serving(engine, settings) as handle:
                token = (config.data_dir / "api-token").read_text(encoding="ascii").strip()
                responses = await exercise_api(handle.base_url, token)
            await asyncio.sleep(0)
        finally:
            await engine.stop("test finished")
    finally:
        teardown_logging()

    written = files_under(config.data_dir)
    names = {p.relative_to(config.data_dir).as_posix() for p in written}
    assert {"moonlight.db", "logs/moonlight.log", "api-token"} <= names, names
    log_text = (config.data_dir / "logs" / "moonlight.log").read_text(encoding="utf-8")
    assert "auth frame" in log_text and "connecting to wss://" in log_text  # paths ran
    assert "uvicorn.access" in log_text or "GET /api/v1/status" in log_text
    if sys.platform != "win32":  # only the owner may read the token file
        assert stat.S_IMODE((config.data_dir / "api-token").stat().st_mode) == 0o600
    leaks = {name: occurrences(value, written) for name, value in known_secrets.items()}
    api_token = (config.data_dir / "api-token").read_text(encoding="ascii").strip()
    leaks["api token"] = [p for p in occurrences(api_token, written) if not p.endswith("api-token")]
    leaks["wrong token"] = occurrences(responses[-1], written)
    assert leaks == {name: [] for name in leaks}, leaks
    everything = "\n".join(responses[:-1])
    for name, value in [*known_secrets.items(), ("api token", api_token)]:
        assert value not in everything, name


async def test_run_masks_account_ids_and_named_secrets_in_the_log(
    tmp_path: Path, known_secrets: dict[str, str], vault_host: PluginHost
) -> None:
    config = load_config(write_config(tmp_path), registry=vault_host.registry)
    setup = configure_from_config(config, console=False)  # what `moonlight run` does
    try:
        stop = asyncio.Event()
        run = asyncio.create_task(run_engine(config, vault_host, speed=60.0, stop=stop))
        for _ in range(600):  # until the engine has started (bounded, real time)
            if "engine started" in setup.log_path.read_text(encoding="utf-8") or run.done():
                break
            await asyncio.sleep(0.05)
        log.warning("broker refused %s for %s", known_secrets["broker_token"], "paper-vault")
        stop.set()
        await asyncio.wait_for(run, 60)
    finally:
        teardown_logging()
    text = setup.log_path.read_text(encoding="utf-8")
    assert "engine started" in text
    assert known_secrets["broker_token"] not in text
    assert "paper-vault" not in text


LAUNCHER = """
import sys
from moonlight.core.cli import app, loading
from moonlight.core.plugins import build_plugin_host
from tests.security.test_secrets_never_written import VaultPlugin

loading.build_plugin_host = lambda: build_plugin_host(extra_plugins=[("vault", VaultPlugin())])
sys.argv = ["moonlight", "run", sys.argv[1]]
app.main()
"""


@pytest.mark.subprocess
def test_a_start_failing_on_a_broker_error_that_quotes_the_secret_prints_it_masked(
    tmp_path: Path,
) -> None:
    """Finding 14.6: the log file masked it, stderr (a raw traceback) did not."""
    token, password = random_secret("tok"), random_secret("pw")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path]),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",  # never the real one
        "MOONLIGHT_SECRET_BROKER_TOKEN": token,
        "MOONLIGHT_SECRET_BROKER_PASSWORD": password,
    }
    path = write_config(tmp_path, refuse_login=True)
    failed = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert failed.returncode == 1, failed.stderr
    assert "AuthFailed: login refused: token <secret> is not valid" in failed.stderr
    assert token not in failed.stderr + failed.stdout
    log_text = (tmp_path / "data" / "logs" / "moonlight.log").read_text(encoding="utf-8")
    assert "login refused" in log_text and token not in log_text
