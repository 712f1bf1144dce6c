"""Entry point ``deriv``: registers the Deriv connector through the connector hook.

The factory is called by the host as ``factory(config, *, secrets=None, clock=None,
sessions=None, **_)``. The API token is read from ``secrets`` under the name in
``config.api_token_secret_name`` -- lazily, at each (re)connect, so a rotated token is
picked up and a missing one is reported as :class:`AuthFailed` when connecting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from moonlight.connectors.deriv.config import DerivConfig
from moonlight.core.plugins.markers import hookimpl
from moonlight.core.plugins.specs import ComponentSpec

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from moonlight.connectors.deriv.connector import DerivConnector
    from moonlight.core.runtime.clock import Clock


def make_deriv(
    config: DerivConfig,
    *,
    secrets: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    sessions: sessionmaker[Session] | None = None,
    **_: Any,
) -> DerivConnector:
    """Build a :class:`DerivConnector`; the token comes from ``secrets`` by name, and
    ``sessions`` (the engine's storage) tells lookups which contracts orders own.

    The connector (websockets, SQLAlchemy) is imported here, when a configuration uses it.
    """
    from moonlight.connectors.deriv.connector import DerivConnector

    store: Mapping[str, str] = secrets if secrets is not None else {}
    name = config.api_token_secret_name

    def token() -> str:
        return store[name]

    return DerivConnector(config, token=token, clock=clock, sessions=sessions)


@hookimpl
def moonlight_register_connectors() -> Sequence[ComponentSpec]:
    """The ``deriv`` connector."""
    return [
        ComponentSpec(
            name="deriv",
            factory=make_deriv,
            summary="Deriv's documented WebSocket API (rise/fall contracts), demo by default",
            config_model=DerivConfig,
        )
    ]
