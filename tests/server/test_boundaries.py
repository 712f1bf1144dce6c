"""The server reaches the engine only through ``EngineControl`` (issue 16, deliverable 3).

An AST walk over every module of ``moonlight.server``: it may import from the core only
the modules that make up the operator's contract — the facade and its views, the
configuration, the storage *schema* (for read-only listings), events, plugin markers,
telemetry helpers — and it never names one of the engine's parts as an attribute. So
the engine's insides can be re-pointed in :mod:`moonlight.core.runtime.control` alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.server.support import SERVER_SRC

SERVER_PACKAGE = SERVER_SRC / "moonlight" / "server"

ALLOWED_CORE_MODULES = frozenset(
    {
        "moonlight.core",  # __version__
        "moonlight.core.runtime.control",
        "moonlight.core.runtime.control_views",
        "moonlight.core.ensemble.reliability",  # pure statistics over stored orders
        "moonlight.core.config",
        "moonlight.core.config.models",
        "moonlight.core.config.runtime_overrides",
        "moonlight.core.storage.models",
        "moonlight.core.storage.errors",
        "moonlight.core.events",
        "moonlight.core.plugins",
        "moonlight.core.telemetry.metrics",
        "moonlight.core.telemetry.pii",
    }
)
ENGINE_PARTS = frozenset(
    {"engine", "_engine", "supervisor", "risk", "executor", "trader", "sessions", "alarms"}
)


def modules() -> list[Path]:
    found = sorted(SERVER_PACKAGE.rglob("*.py"))
    assert len(found) >= 25  # the walk sees the real package
    return found


def core_imports(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [name for name in names if name.startswith("moonlight.core")]


def test_the_server_imports_only_the_operator_contract_from_the_core() -> None:
    wrong = {
        f"{path.relative_to(SERVER_SRC)}: {name}"
        for path in modules()
        for name in core_imports(ast.parse(path.read_text(encoding="utf-8")))
        if name not in ALLOWED_CORE_MODULES
    }
    assert not wrong, sorted(wrong)


def test_the_server_never_touches_an_engine_part() -> None:
    touches = [
        f"{path.relative_to(SERVER_SRC)}:{node.lineno} .{node.attr}"
        for path in modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in ENGINE_PARTS
    ]
    assert not touches, touches


def test_the_walk_would_notice_a_reach_in() -> None:
    """The checks above can fail: a route written the old way is caught by both."""
    old = ast.parse(
        "from moonlight.core.runtime.engine import Engine\n"
        "def status(context):\n    return context.engine.supervisor.workers\n"
    )
    assert core_imports(old) == ["moonlight.core.runtime.engine"]
    assert {n.attr for n in ast.walk(old) if isinstance(n, ast.Attribute)} & ENGINE_PARTS
