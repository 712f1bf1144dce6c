"""schemathesis against the live OpenAPI schema, with the token: no 5xx, no violation.

The real engine trades paper on a simulated clock (30× real time) behind the real
uvicorn on 127.0.0.1; schemathesis generates requests for every documented operation
(valid and invalid ones) and checks status codes, content types, headers and bodies
against the schema the server itself publishes at /api/v1/openapi.json.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis not installed")
requests = pytest.importorskip("requests", reason="schemathesis not installed")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402

from tests.server.support import LiveServer, load, write_config  # noqa: E402

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("MOONLIGHT_FUZZ_EXAMPLES", "20"))
"""Generated requests per operation and mode (raise it for a deeper hunt)."""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, host) -> Iterator[LiveServer]:
    tmp_path: Path = tmp_path_factory.mktemp("contract")
    # generated requests include deliberately wrong credentials: no lockout here
    config = load(write_config(tmp_path, server={"auth_failures_max": 10_000}), host)
    with LiveServer(config, host, speed=30) as server:
        yield server


@pytest.fixture(scope="module")
def auth(live: LiveServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {live.token}"}


@pytest.fixture(scope="module")
def api_schema(live: LiveServer, auth: dict[str, str]) -> Any:
    with httpx.Client(base_url=live.base_url, headers=auth, trust_env=False) as client:
        document = client.get("/api/v1/openapi.json").raise_for_status().json()
    return schemathesis.openapi.from_dict(document)


@pytest.fixture(scope="module")
def session() -> Iterator[Any]:
    with requests.Session() as http:
        http.trust_env = False  # 127.0.0.1 only, whatever proxy the environment names
        yield http


def _operations(api_schema: Any) -> list[Any]:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20  # every documented route, not an empty schema
    return operations


def _fuzz(operation: Any, mode: Any, call: dict[str, Any]) -> None:
    """Run Hypothesis over one operation's generated requests with every check."""
    excluded = []
    if (operation.method.upper(), operation.path) == ("PUT", "/api/v1/overrides"):
        # a JSON-schema-valid tree can still be an invalid configuration (unknown plugin,
        # permit window...): 422 with every issue is the contract of that operation
        excluded.append(schemathesis.checks.positive_data_acceptance)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.call_and_validate(excluded_checks=excluded, timeout=30, **call)

    check()


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_live_schema_holds(
    api_schema: Any, live: LiveServer, auth: dict[str, str], session: Any, mode: str
) -> None:
    """Every operation, with valid (positive) and invalid (negative) generated requests.

    schemathesis' own pytest integration is not used: its lazy fixture loader does not
    work with this pytest version, so each operation's strategy is driven by Hypothesis
    directly (the same checks run through ``call_and_validate``).
    """
    call = {"base_url": live.base_url, "session": session, "headers": auth}
    failures: list[str] = []
    for operation in _operations(api_schema):
        try:
            _fuzz(operation, schemathesis.GenerationMode(mode), call)
        except Unsatisfiable:
            assert mode == "negative"  # an operation without inputs has no invalid request
        except Exception as error:  # collect every operation's failure, then report
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert not failures, "\n\n".join(failures)
