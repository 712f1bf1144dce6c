"""Built-in plugin: registers the ``mock`` and ``paper`` connectors through the same hook
as any third-party connector.

Factories are called as ``factory(config, *, secrets=None, clock=None, sessions=None,
source=None)``:

* ``clock`` — the engine's :class:`~moonlight.core.runtime.clock.Clock` (wall or
  simulated); default: the wall clock;
* ``sessions`` — storage sessions (``moonlight.core.storage.engine.session_factory``);
  the paper broker keeps its book there so it survives a restart (without them it keeps
  the book in memory);
* ``source`` — for ``paper``: the connector whose prices it settles on (paper mode on a
  real broker's data); default: a :class:`MockConnector` built from ``market``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from moonlight.core.connectors.contract import AccountKind, Connector
from moonlight.core.connectors.market import DEFAULT_SPECS, MarketSpec
from moonlight.core.connectors.mock import DEFAULT_DURATIONS_S, MockConnector
from moonlight.core.plugins.markers import hookimpl
from moonlight.core.plugins.specs import ComponentSpec
from moonlight.core.runtime.clock import Clock, WallClock

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from moonlight.core.connectors.paper import PaperBroker

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class MarketInstrument(BaseModel):
    """One simulated instrument of the random-walk market."""

    model_config = _FROZEN

    symbol: str = Field(pattern=r"^[A-Za-z0-9._-]{1,32}$", description="Instrument name.")
    start_price: float = Field(gt=0, description="Price at the market's origin.")
    daily_vol: float = Field(gt=0, le=1, description="Daily volatility, fraction (0.005).")
    digits: int = Field(default=5, ge=0, le=10, description="Price precision, decimals.")


class MockConnectorConfig(BaseModel):
    """The simulated broker: a seeded random-walk market and an in-memory book."""

    model_config = _FROZEN

    seed: int = Field(default=0, description="Seed of the market and of random faults.")
    instruments: list[MarketInstrument] = Field(
        default_factory=lambda: [
            MarketInstrument(
                symbol=s.symbol, start_price=s.start_price, daily_vol=s.daily_vol, digits=s.digits
            )
            for s in DEFAULT_SPECS
        ],
        min_length=1,
        description="Instruments of the simulated market.",
    )
    payout_pct: float = Field(
        default=82.0, gt=0, le=1000, description="Payout of every instrument, percent of stake."
    )
    stake_min: float = Field(default=1.0, gt=0, description="Smallest accepted stake.")
    stake_max: float = Field(default=1000.0, gt=0, description="Largest accepted stake.")
    durations_s: list[int] = Field(
        default_factory=lambda: list(DEFAULT_DURATIONS_S),
        min_length=1,
        description="Contract durations offered, in seconds.",
    )
    starting_balance: float = Field(
        default=10_000.0, ge=0, description="Balance of an account on first use."
    )
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3,5}$", description="Currency.")
    tick_interval_s: float = Field(default=1.0, gt=0, description="Seconds between ticks.")
    history_s: float = Field(
        default=2 * 86_400.0, ge=0, description="Price history available before start."
    )
    latency_s: float = Field(default=0.0, ge=0, description="Latency added to every call.")
    account_kind: AccountKind = Field(
        default=AccountKind.DEMO,
        description="What the simulated broker reports every account to be (demo or real);"
        " the engine checks it against each account's mode.",
    )
    state_path: Path | None = Field(
        default=None, description="JSON file keeping the mock's book across restarts."
    )

    def account_kind_for(self, account_id: str) -> AccountKind:
        """Every account of the simulated broker is ``account_kind`` (for config check)."""
        return self.account_kind


class PaperBrokerConfig(BaseModel):
    """MoonLight's paper broker: contracts settled on a source's prices, own book."""

    model_config = _FROZEN

    starting_balance: float = Field(
        default=10_000.0, ge=0, description="Paper balance of an account on first use."
    )
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3,5}$", description="Currency.")
    poll_interval_s: float = Field(
        default=0.5, gt=0, description="How often due contracts are checked and settled."
    )
    price_grace_s: float = Field(
        default=10.0, gt=0, description="Settle at the latest this long after expiry."
    )
    market: MockConnectorConfig = Field(
        default_factory=MockConnectorConfig,
        description="The simulated market used when no source connector is given.",
    )

    def account_kind_for(self, account_id: str) -> AccountKind:
        """Every account of the paper connector is MoonLight's own paper book."""
        return AccountKind.PAPER


def make_mock(
    config: MockConnectorConfig,
    *,
    secrets: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    **_: Any,
) -> MockConnector:
    """Build a :class:`MockConnector` from its configuration."""
    connector = MockConnector(
        seed=config.seed,
        specs=[
            MarketSpec(i.symbol, i.start_price, i.daily_vol, i.digits) for i in config.instruments
        ],
        clock=clock or WallClock(),
        payout_pct=config.payout_pct,
        stake_min=config.stake_min,
        stake_max=config.stake_max,
        durations_s=config.durations_s,
        starting_balance=config.starting_balance,
        currency=config.currency,
        tick_interval_s=config.tick_interval_s,
        history_s=config.history_s,
        state_path=config.state_path,
        account_kind=config.account_kind,
    )
    connector.faults.latency_s = config.latency_s
    return connector


def make_paper(
    config: PaperBrokerConfig,
    *,
    secrets: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    sessions: sessionmaker[Session] | None = None,
    source: Connector | None = None,
    **_: Any,
) -> PaperBroker:
    """Build a :class:`PaperBroker`; its book is persisted when ``sessions`` is given.

    The broker and its books (SQLAlchemy) are imported here, when a configuration uses
    the paper connector, not when the plugin is described.
    """
    from moonlight.core.connectors.paper import PaperBroker
    from moonlight.core.connectors.paper_book import MemoryPaperBook, PaperBook, SqlPaperBook

    engine_clock = clock or WallClock()
    book: PaperBook
    if sessions is not None:
        book = SqlPaperBook(
            sessions, starting_balance=config.starting_balance, currency=config.currency
        )
    else:
        book = MemoryPaperBook(starting_balance=config.starting_balance, currency=config.currency)
    owns_source = source is None
    market_source = source or make_mock(config.market, clock=engine_clock)
    return PaperBroker(
        source=market_source,
        book=book,
        clock=engine_clock,
        poll_interval_s=config.poll_interval_s,
        price_grace_s=config.price_grace_s,
        owns_source=owns_source,
    )


@hookimpl
def moonlight_register_connectors() -> Sequence[ComponentSpec]:
    """The built-in ``mock`` and ``paper`` connectors."""
    return [
        ComponentSpec(
            name="mock",
            factory=make_mock,
            summary="Deterministic simulated broker with run-time fault injection",
            config_model=MockConnectorConfig,
        ),
        ComponentSpec(
            name="paper",
            factory=make_paper,
            summary="Paper broker: fixed-time contracts settled on a source's prices",
            config_model=PaperBrokerConfig,
        ),
    ]
