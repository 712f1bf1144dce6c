"""The configuration schema: frozen pydantic models, every field described.

Plugin names (connectors, strategies, sizing policies, guards, plugin sections) are
checked against the plugin registry when one is passed in the validation context
(``context={"registry": registry}``); their ``params`` are validated against the
plugin's own config model, so a typo in a strategy parameter fails like any other.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from moonlight.core.config.finite import reject_non_finite
from moonlight.core.connectors.contract import DeclaresAccountKind
from moonlight.core.plugins.registry import ComponentKind, ComponentLookupError, Registry
from moonlight.core.runtime.account_mode import static_mode_problem
from moonlight.core.timeframes import Timeframe
from moonlight.core.update.settings import UpdateConfig

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _registry(info: ValidationInfo) -> Registry | None:
    context = info.context or {}
    registry = context.get("registry")
    return registry if isinstance(registry, Registry) else None


def _check_name(kind: ComponentKind, name: str, info: ValidationInfo) -> str:
    registry = _registry(info)
    if registry is not None:
        try:
            registry.get(kind, name)
        except ComponentLookupError as exc:
            raise ValueError(str(exc)) from None
    return name


def _check_params(
    kind: ComponentKind, name: str | None, params: dict[str, Any], info: ValidationInfo
) -> dict[str, Any]:
    """Validate ``params`` against the named component's config model, if known."""
    registry = _registry(info)
    if registry is None or name is None:
        return params
    try:
        spec = registry.get(kind, name)
    except ComponentLookupError:
        return params  # the name itself is reported by its own validator
    model: type[BaseModel] | None = (
        spec if isinstance(spec, type) else getattr(spec, "config_model", None)
    )
    if model is None:
        if params:
            raise ValueError(f"{kind.value} {name!r} takes no parameters")
        return params
    try:
        reject_non_finite(model.model_validate(params).model_dump())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(params)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ValueError(f"invalid parameters for {kind.value} {name!r}: {problems}") from None
    return params


def _check_mode(
    connector: str | None, mode: str | None, options: dict[str, Any], info: ValidationInfo
) -> None:
    """Fail when the connector's options declare an account kind the mode may not trade
    (``mode: demo`` with options that select a real account, a demo account on the
    ``paper`` connector...): the same rules the engine enforces against the broker after
    connecting (:mod:`moonlight.core.runtime.account_mode`), checked before anything
    connects. Options whose kind cannot be told statically pass here."""
    registry = _registry(info)
    if registry is None or connector is None or mode is None:
        return
    model = registry.get(ComponentKind.CONNECTOR, connector).config_model
    if model is None:
        return
    validated = model.model_validate(options)
    if isinstance(validated, DeclaresAccountKind):
        problem = static_mode_problem(mode, validated.account_kind_for(info.data.get("id", "")))
        if problem is not None:
            raise ValueError(problem)


class StorageConfig(BaseModel):
    """Where MoonLight keeps orders, results, features, metrics and caches."""

    model_config = _FROZEN

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file moonlight.db in data_dir (WAL mode)."
        " PostgreSQL: postgresql+psycopg://user@host/db (password from the environment).",
    )
    busy_timeout_ms: int = Field(
        default=5000, ge=100, le=600_000, description="SQLite busy timeout in milliseconds."
    )

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, url: str | None) -> str | None:
        if url and "@" in url and ":" in url.split("://", 1)[-1].split("@", 1)[0]:
            raise ValueError(
                "storage.url must not contain a password; set MOONLIGHT_STORAGE__URL in the"
                " environment or use a passwordless (trust / .pgpass) connection"
            )
        return url


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1) -- never for a
    DNS name, whatever it starts with (``127.attacker.example`` resolves anywhere)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServerConfig(BaseModel):
    """The reference server's network binding."""

    model_config = _FROZEN

    host: str = Field(default="127.0.0.1", description="Bind address; loopback by default.")
    port: int = Field(default=8765, ge=1, le=65535, description="TCP port of the API.")
    allow_non_loopback: bool = Field(
        default=False,
        description="Permit binding a non-loopback address (exposes the API; logged as a"
        " warning). Off by default.",
    )

    @model_validator(mode="after")
    def _loopback_unless_allowed(self) -> ServerConfig:
        loopback = is_loopback_host(self.host)
        if not loopback and not self.allow_non_loopback:
            raise ValueError(
                f"server.host {self.host!r} is not a loopback address; set"
                " server.allow_non_loopback: true to expose the API deliberately"
            )
        return self


class AccountConfig(BaseModel):
    """One trading account: which connector, which mode, what it trades."""

    model_config = _FROZEN

    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Unique account id (letters, digits, _ . -), used in logs and storage.",
    )
    connector: str = Field(description="Name of the connector plugin (moonlight plugins).")
    mode: Literal["paper", "demo", "live"] = Field(
        default="paper",
        description="paper: orders settle in MoonLight's paper broker on the connector's"
        " prices; demo: the broker's demo account; live: real money.",
    )
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3,5}$", description="Account currency.")
    products: list[str] = Field(min_length=1, description="Instruments this account trades.")
    timeframes: list[Timeframe] = Field(
        min_length=1, description="Bar timeframes, one worker per product and timeframe."
    )
    expiry: Timeframe | None = Field(
        default=None, description="Contract duration; default: the worker's timeframe."
    )
    max_stake: float = Field(
        default=100.0, gt=0, description="Hard cap on one order's stake, in account currency."
    )
    connector_options: dict[str, Any] = Field(
        default_factory=dict, description="Options validated by the connector's config model."
    )

    @field_validator("connector")
    @classmethod
    def _known_connector(cls, name: str, info: ValidationInfo) -> str:
        return _check_name(ComponentKind.CONNECTOR, name, info)

    @field_validator("connector_options")
    @classmethod
    def _connector_options(cls, options: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        options = _check_params(ComponentKind.CONNECTOR, info.data.get("connector"), options, info)
        _check_mode(info.data.get("connector"), info.data.get("mode"), options, info)
        return options

    @field_validator("products", "timeframes")
    @classmethod
    def _unique_items(cls, items: list[str]) -> list[str]:
        duplicates = sorted({item for item in items if items.count(item) > 1})
        if duplicates:
            raise ValueError(f"listed more than once: {', '.join(duplicates)}")
        return items


class StrategyConfig(BaseModel):
    """One strategy in the ensemble, with its vote weight and parameters."""

    model_config = _FROZEN

    name: str = Field(description="Name of the strategy plugin.")
    weight: float = Field(default=1.0, ge=0, le=100, description="Vote weight in the ensemble.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Parameters, validated by the strategy's model."
    )

    @field_validator("name")
    @classmethod
    def _known_strategy(cls, name: str, info: ValidationInfo) -> str:
        return _check_name(ComponentKind.STRATEGY, name, info)

    @field_validator("params")
    @classmethod
    def _strategy_params(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return _check_params(ComponentKind.STRATEGY, info.data.get("name"), params, info)

    @model_validator(mode="after")
    def _indicators_available(self, info: ValidationInfo) -> StrategyConfig:
        """Fail closed when the strategy reads an indicator no installed plugin provides."""
        registry = _registry(info)
        if registry is None:
            return self
        spec = registry.get(ComponentKind.STRATEGY, self.name)
        model = spec.config_model
        built = spec.factory(model.model_validate(self.params)) if model else spec.factory()
        for need in getattr(built, "needs", ()):
            try:
                registry.get(ComponentKind.INDICATOR, need.name)
            except ComponentLookupError as exc:
                raise ValueError(
                    f"strategy {self.name!r} needs indicator {need.name!r}: {exc}"
                ) from None
        return self


class CalibrationConfig(BaseModel):
    """How the ensemble's score S is turned into a probability p̂ (Platt scaling)."""

    model_config = _FROZEN

    min_samples: int = Field(
        default=200,
        ge=10,
        description="Fewest (S, outcome) pairs for a per-instrument fit;"
        " below it the global fit is used.",
    )
    regularisation: float = Field(
        default=1e-3, ge=0, description="L2 penalty on (A, B) in the maximum-likelihood fit."
    )
    refit_every: int = Field(
        default=50,
        ge=1,
        description="Walk-forward: refit a key (and the global fit) after this many new"
        " shadow outcomes.",
    )
    window: int = Field(
        default=5000,
        ge=10,
        description="Walk-forward: each refit uses the newest this many outcomes.",
    )

    @model_validator(mode="after")
    def _window_holds_a_fit(self) -> CalibrationConfig:
        if self.window < self.min_samples:
            raise ValueError("calibration.window must be at least calibration.min_samples")
        return self


class PaperPrior(BaseModel):
    """Exploration mode: an assumed Platt mapping, used in paper mode until a fit exists.

    Trades made on it are marked ``exploration`` and left out of every reported edge."""

    model_config = _FROZEN

    a: float = Field(le=0, description="Slope A of p_up = 1/(1+exp(A·S+B)); negative.")
    b: float = Field(default=0.0, description="Offset B.")


class EnsembleConfig(BaseModel):
    """The weighted vote of the strategies."""

    model_config = _FROZEN

    weighting: Literal["config", "learned"] = Field(
        default="config",
        description="config: weights from strategies[].weight; learned: from each"
        " strategy's out-of-sample hit rate.",
    )
    calibration: CalibrationConfig = Field(
        default_factory=CalibrationConfig, description="Platt calibration fitting."
    )
    paper_prior: PaperPrior | None = Field(
        default=None,
        description="Exploration mode, paper only: an assumed calibration used until a"
        " walk-forward fit exists. Its trades are marked exploration and excluded from every"
        " reported edge; not needed to learn p̂ (shadow outcomes of every decision are)."
        " Refused when any account is demo or live.",
    )


class SizingConfig(BaseModel):
    """Which sizing policy decides the stake, and its parameters."""

    model_config = _FROZEN

    policy: str = Field(default="fixed", description="Name of the sizing policy plugin.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Parameters, validated by the policy's model."
    )

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, name: str, info: ValidationInfo) -> str:
        return _check_name(ComponentKind.SIZING_POLICY, name, info)

    @field_validator("params")
    @classmethod
    def _policy_params(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return _check_params(ComponentKind.SIZING_POLICY, info.data.get("policy"), params, info)


class GuardConfig(BaseModel):
    """One risk guard and its parameters."""

    model_config = _FROZEN

    name: str = Field(description="Name of the guard plugin.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Parameters, validated by the guard's model."
    )

    @field_validator("name")
    @classmethod
    def _known_guard(cls, name: str, info: ValidationInfo) -> str:
        return _check_name(ComponentKind.GUARD, name, info)

    @field_validator("params")
    @classmethod
    def _guard_params(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return _check_params(ComponentKind.GUARD, info.data.get("name"), params, info)


class RiskConfig(BaseModel):
    """Permit window, probability threshold, sizing and guards."""

    model_config = _FROZEN

    permit_min_pct: float = Field(
        default=70.0, ge=0, le=1000, description="Lowest acceptable payout, percent of stake."
    )
    permit_max_pct: float = Field(
        default=100.0, ge=0, le=1000, description="Highest acceptable payout, percent of stake."
    )
    threshold: float = Field(
        default=0.55, gt=0, lt=1, description="Minimum calibrated probability p̂ to trade."
    )
    margin: float = Field(
        default=0.02,
        ge=0,
        lt=0.5,
        description="p̂ must also beat break-even 1/(1+payout) by this much.",
    )
    timezone: str = Field(
        default="UTC", description="IANA timezone whose midnight resets daily guards."
    )
    sizing: SizingConfig = Field(default_factory=SizingConfig, description="Stake sizing policy.")
    guards: list[GuardConfig] = Field(default_factory=list, description="Active guards.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {name!r}") from None
        return name

    @model_validator(mode="after")
    def _permit_window(self) -> RiskConfig:
        if self.permit_min_pct > self.permit_max_pct:
            raise ValueError(
                f"permit_min_pct ({self.permit_min_pct}) must not exceed permit_max_pct"
                f" ({self.permit_max_pct})"
            )
        return self


class TelemetryConfig(BaseModel):
    """Logs, metrics snapshots and their retention."""

    model_config = _FROZEN

    log_level: Literal["DEBUG", "INFO", "WARN", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level written to data/logs/moonlight.log."
    )
    log_max_mb: int = Field(default=10, ge=1, le=1024, description="Rotate the log at this size.")
    log_backups: int = Field(default=7, ge=1, le=100, description="Rotated log files kept.")
    metrics_snapshot_s: float = Field(
        default=30.0, gt=0, description="Seconds between metric snapshots into storage."
    )


class RuntimeConfig(BaseModel):
    """Worker timing and the shared connector request budget."""

    model_config = _FROZEN

    settle_delay_s: float = Field(
        default=0.5, ge=0, le=60, description="Wait after a bar closes before fetching it."
    )
    max_decision_delay_s: float = Field(
        default=5.0, gt=0, description="A bar that arrives later than this is not traded."
    )
    catch_up_bars: int = Field(
        default=200,
        ge=1,
        le=100_000,
        description="Missed bars replayed after a gap; beyond it indicators are rebuilt.",
    )
    connector_rate_per_s: float = Field(
        default=20.0, gt=0, description="Requests per second shared by a connector's accounts."
    )
    connector_burst: int = Field(
        default=40, ge=1, description="Requests a connector may send at once after a pause."
    )
    restart_backoff_max_s: float = Field(
        default=60.0, gt=0, description="Longest pause before a failed worker restarts."
    )
    accounts: list[str] | None = Field(
        default=None,
        description="Account ids this process runs (scale-out: each engine process its own"
        " set over one PostgreSQL store); default: every account.",
    )


class MoonlightConfig(BaseModel):
    """The whole configuration of one MoonLight engine."""

    model_config = _FROZEN

    data_dir: Path = Field(
        default=Path("data"), description="Directory for the database, logs and API token."
    )
    storage: StorageConfig = Field(
        default_factory=StorageConfig, description="Database location and SQLite settings."
    )
    server: ServerConfig = Field(
        default_factory=ServerConfig, description="Network binding of the reference server."
    )
    accounts: list[AccountConfig] = Field(default_factory=list, description="Trading accounts.")
    strategies: list[StrategyConfig] = Field(
        default_factory=list, description="Strategies of the ensemble."
    )
    ensemble: EnsembleConfig = Field(
        default_factory=EnsembleConfig, description="Weighted vote and calibration."
    )
    risk: RiskConfig = Field(
        default_factory=RiskConfig, description="Permit, threshold, sizing and guards."
    )
    telemetry: TelemetryConfig = Field(
        default_factory=TelemetryConfig, description="Logs and metric snapshots."
    )
    runtime: RuntimeConfig = Field(
        default_factory=RuntimeConfig, description="Worker timing and request budget."
    )
    update: UpdateConfig = Field(
        default_factory=UpdateConfig, description="Side-by-side updates (`moonlight update`)."
    )
    plugins: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Plugin sections, validated by each plugin's model."
    )

    @field_validator("accounts")
    @classmethod
    def _unique_accounts(cls, accounts: list[AccountConfig]) -> list[AccountConfig]:
        ids = [account.id for account in accounts]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"account ids must be unique; repeated: {', '.join(duplicates)}")
        return accounts

    @field_validator("strategies")
    @classmethod
    def _unique_strategies(cls, strategies: list[StrategyConfig]) -> list[StrategyConfig]:
        names = [s.name for s in strategies]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"strategy listed more than once: {', '.join(duplicates)}")
        return strategies

    @model_validator(mode="after")
    def _paper_prior_only_on_paper(self) -> MoonlightConfig:
        if self.ensemble.paper_prior is not None:
            real = [a.id for a in self.accounts if a.mode != "paper"]
            if real:
                raise ValueError(
                    "ensemble.paper_prior is only allowed when every account is in paper"
                    f" mode; not paper: {', '.join(real)}"
                )
        return self

    @model_validator(mode="after")
    def _runtime_accounts_exist(self) -> MoonlightConfig:
        chosen = self.runtime.accounts
        if chosen is not None:
            unknown = sorted(set(chosen) - {a.id for a in self.accounts})
            if unknown or not chosen:
                raise ValueError(
                    f"runtime.accounts names accounts not configured: {', '.join(unknown)}"
                    if unknown
                    else "runtime.accounts is empty: list the account ids this process runs"
                )
        return self

    def owned_accounts(self) -> list[AccountConfig]:
        """The accounts this process runs: ``runtime.accounts``, else all of them."""
        chosen = self.runtime.accounts
        return [a for a in self.accounts if chosen is None or a.id in chosen]

    @field_validator("plugins")
    @classmethod
    def _plugin_sections(
        cls, sections: dict[str, dict[str, Any]], info: ValidationInfo
    ) -> dict[str, dict[str, Any]]:
        for section, values in sections.items():
            _check_name(ComponentKind.CONFIG_MODEL, section, info)
            _check_params(ComponentKind.CONFIG_MODEL, section, values, info)
        return sections

    def storage_url(self) -> str:
        """The storage URL in force: the configured one or SQLite in ``data_dir``."""
        if self.storage.url:
            return self.storage.url
        return f"sqlite:///{(self.data_dir / 'moonlight.db').as_posix()}"


class EnvironmentSettings(BaseSettings, MoonlightConfig):
    """The same schema, read from ``MOONLIGHT_*`` environment variables (``__`` nests).

    Only used to collect environment values; the merged result is validated by
    :class:`MoonlightConfig` itself, which (unlike a ``BaseSettings``) passes the
    validation context on to nested models.
    """

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix="MOONLIGHT_",
        env_nested_delimiter="__",
        case_sensitive=False,
    )
