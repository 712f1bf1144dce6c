"""The API binds loopback only unless the configuration explicitly allows otherwise.

The configuration refuses a non-loopback ``server.host``; a server started on the
default address cannot be reached through this machine's other interfaces. (The bind
check itself and its warning are unit-tested in tests/server/test_service.py.)
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from moonlight.core.config import ConfigError, load_config
from moonlight.core.runtime.clock import FastForwardClock
from tests.server.support import START, load, running_engine, server_host, serving, write_config


def config_with_host(tmp_path: Path, host: str, allow: bool = False) -> Path:
    path = tmp_path / "config.yaml"
    flag = "true" if allow else "false"
    server = f"{{host: '{host}', allow_non_loopback: {flag}}}"
    path.write_text(f"data_dir: {tmp_path / 'data'}\nserver: {server}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "203.0.113.7", "example.com", ""]
)
def test_non_loopback_host_is_refused_unless_allowed(tmp_path: Path, host: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(config_with_host(tmp_path, host))
    assert any(
        issue.path == "server" and "allow_non_loopback" in issue.message
        for issue in refused.value.issues
    ), refused.value.issues
    assert load_config(config_with_host(tmp_path, host, allow=True)).server.host == host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_are_accepted(tmp_path: Path, host: str) -> None:
    assert load_config(config_with_host(tmp_path, host)).server.host == host


@pytest.mark.parametrize("host", ["127.attacker.example", "127.0.0.1.attacker.example"])
def test_a_host_name_that_merely_starts_with_127_is_refused(tmp_path: Path, host: str) -> None:
    with pytest.raises(ConfigError):
        load_config(config_with_host(tmp_path, host))


def outward_address() -> str | None:
    """This host's address on its default route (no packet is sent), if not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routing lookup only
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


async def test_default_server_is_unreachable_from_other_interfaces(tmp_path: Path) -> None:
    address = outward_address()
    if address is None:
        pytest.skip("no non-loopback IPv4 address available on this machine to try")
    host = server_host()
    config = load(write_config(tmp_path), host)
    async with (
        running_engine(config, host, FastForwardClock(START)) as engine,
        serving(engine) as handle,
    ):
        with socket.create_connection(("127.0.0.1", handle.port), timeout=5):
            pass  # reachable on loopback
        with pytest.raises(OSError):
            socket.create_connection((address, handle.port), timeout=5).close()
