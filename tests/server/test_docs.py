"""The HTTP API reference documents every route the server publishes."""

from __future__ import annotations

from pathlib import Path

from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.control import EngineControl
from moonlight.server.app import create_app
from tests.server.support import ROOT, START, load, running_engine, write_config

REFERENCE = ROOT / "docs" / "reference" / "http-api.md"


async def test_every_route_is_in_the_reference(tmp_path: Path, host) -> None:
    config = load(write_config(tmp_path), host)
    async with running_engine(config, host, FastForwardClock(START)) as engine:
        schema = create_app(EngineControl(engine)).openapi()
    text = REFERENCE.read_text(encoding="utf-8")
    documented = {
        f"`{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
    }
    missing = sorted(entry for entry in documented if entry not in text)
    assert not missing
    assert "`GET /api/v1/openapi.json`" in text and "/api/v1/ws" in text
