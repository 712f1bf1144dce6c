"""Plugin registration: the ``olymp`` connector through the ``moonlight`` entry point.

The factory reads the tokens from secrets **by name** (``access_token_secret_name`` and
``refresh_token_secret_name`` in the config); a missing access token fails at build
time with the command that stores it. The refresh token is optional.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from moonlight.connectors.olymp.config import OlympConfig
from moonlight.core.connectors.contract import AuthFailed
from moonlight.core.plugins.markers import hookimpl
from moonlight.core.plugins.specs import ComponentSpec
from moonlight.core.secrets import SecretsView, env_var_for

if TYPE_CHECKING:
    from moonlight.connectors.olymp.connector import OlympConnector


def _secret(secrets: Mapping[str, str], name: str) -> str | None:
    try:
        value = secrets[name]
    except KeyError:
        return None
    return value or None


def make_olymp(
    config: OlympConfig | None,
    *,
    secrets: Mapping[str, str] | None = None,
    **_: Any,
) -> OlympConnector:
    """Build an :class:`OlympConnector`; tokens come from ``secrets`` (keyring / env).

    The connector (httpx, websockets) is imported here, when a configuration uses it.
    """
    from moonlight.connectors.olymp.connector import OlympConnector

    options = config or OlympConfig()
    store: Mapping[str, str] = secrets if secrets is not None else SecretsView()
    access = _secret(store, options.access_token_secret_name)
    if access is None:
        name = options.access_token_secret_name
        raise AuthFailed(
            f"olymp access token secret {name!r} is not set: `moonlight secrets set {name}`"
            f" (or {env_var_for(name)} on a headless server)"
        )
    refresh_name = options.refresh_token_secret_name
    refresh = _secret(store, refresh_name) if refresh_name else None
    return OlympConnector(options, access_token=access, refresh_token=refresh)


@hookimpl
def moonlight_register_connectors() -> Sequence[ComponentSpec]:
    """The ``olymp`` connector (reverse-engineered protocol, demo account by default)."""
    return [
        ComponentSpec(
            name="olymp",
            factory=make_olymp,
            summary="Olymp Trade web protocol (reverse-engineered; demo by default)",
            config_model=OlympConfig,
        )
    ]
