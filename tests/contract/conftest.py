"""Parametrises ``contract_env`` / ``connector`` over every factory in ``factories/``."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import pytest

from moonlight.core.connectors.contract import Connector
from tests.contract import factories
from tests.contract.env import ContractEnv


def _factory_modules() -> list[ModuleType]:
    names = sorted(info.name for info in pkgutil.iter_modules(factories.__path__))
    return [importlib.import_module(f"{factories.__name__}.{name}") for name in names]


FACTORIES = _factory_modules()


def _missing(module: ModuleType) -> str | None:
    for requirement in getattr(module, "REQUIRES", ()):
        if importlib.util.find_spec(requirement) is None:
            return f"{module.NAME}: {requirement} is not installed"
    return None


@pytest.fixture(params=FACTORIES, ids=[m.NAME for m in FACTORIES])
async def contract_env(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ContractEnv]:
    """A connected connector of every installed kind, closed after the test."""
    module: ModuleType = request.param
    reason = _missing(module)
    if reason is not None:
        pytest.skip(reason)
    async with module.make_env(tmp_path) as env:
        yield env


@pytest.fixture
def connector(contract_env: ContractEnv) -> Connector:
    """The connector under test."""
    return contract_env.connector
