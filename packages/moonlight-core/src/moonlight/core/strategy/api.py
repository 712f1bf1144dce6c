"""The strategy plugin API: what a strategy declares, what it returns, how it is called.

A strategy is a small class. It declares

* ``params_model`` -- a frozen pydantic model whose fields carry their valid ranges
  (``Field(ge=..., le=...)``); configuration ``strategies[].params`` is validated
  against it;
* ``indicator_needs()`` -- the indicators it reads, by catalogue name and parameters
  (:class:`IndicatorNeed`); MoonLight core never imports an indicator library, it only
  asks an :class:`~moonlight.core.strategy.indicators.IndicatorSource` for them;
* ``warmup_bars`` -- how many leading bars give no signal (at least the longest
  indicator look-back, plus whatever settling the rule needs);

and implements two evaluations that must agree bar by bar:

* ``evaluate(bar, indicators, **kwargs)`` -- the streaming path: called once per closed
  bar, in order, with that bar's streaming indicator values; returns a :class:`Signal`;
* ``evaluate_arrays(prices, indicators)`` -- the vectorised path over a whole history
  (numpy), returning direction, strength and reason codes; :meth:`Strategy.
  evaluate_history` wraps it into a :class:`SignalSeries`.

A strategy whose per-bar cost is dominated by one call that batches well (a model's
inference) may also override ``evaluate_many(items)``, the streaming path for many
workers at one instant, with ``batch_key()`` saying which instances share that call;
:func:`moonlight.core.strategy.batch.evaluate_grouped` makes one such call per group.
The default loops over ``evaluate``, so a strategy that does not opt in is unchanged.

"Agree" means identical: same direction, same strength (bit for bit) and same reason at
every bar. Both paths therefore use only IEEE-exact operations on the same indicator
values (``+ - * /``, comparisons, ``min``/``max``/``abs``), never ``exp``/``tanh`` whose
numpy and libm results can differ in the last bit.

The host (:mod:`moonlight.core.strategy.host`) calls both on behalf of the engine: it
masks the warm-up, validates what user code returns and turns any exception into "no
signal". ``interface_version`` lets the host refuse strategies written for a different
contract; callbacks take ``**kwargs`` so later versions can pass more context.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from moonlight.core.strategy.vocabulary import (  # re-exported: part of the contract
    PRICE_COLUMNS as PRICE_COLUMNS,
    TIME_COLUMN as TIME_COLUMN,
    BarLike as BarLike,
    FloatArray as FloatArray,
    IndicatorArray as IndicatorArray,
    IndicatorNeed as IndicatorNeed,
    IndicatorValue as IndicatorValue,
)

if TYPE_CHECKING:
    from moonlight.core.strategy.indicators import IndicatorSource

#: The strategy contract version implemented by this module.
INTERFACE_VERSION = 1


class SignalDirection(StrEnum):
    """Which way a strategy votes: up, down, or not at all."""

    UP = "up"
    DOWN = "down"
    NONE = "none"


#: Module-level aliases: ``SignalDirection.UP`` goes through the enum metaclass on every
#: access (~0.1 µs), a module global does not -- the hot path uses these.
UP = SignalDirection.UP
DOWN = SignalDirection.DOWN
NONE = SignalDirection.NONE

#: The vote of each direction as a number: up +1, down -1, none 0.
DIRECTION_SIGN: Mapping[SignalDirection, int] = {
    SignalDirection.UP: 1,
    SignalDirection.DOWN: -1,
    SignalDirection.NONE: 0,
}
_DIRECTION_OF_SIGN = {1: SignalDirection.UP, -1: SignalDirection.DOWN, 0: SignalDirection.NONE}


class Signal(NamedTuple):
    """A strategy's verdict on one closed bar.

    ``strength`` in [0, 1] says how strongly the rule fires (0 for no signal);
    ``reason`` is a short, fixed text naming the rule that fired (no formatted numbers,
    so the streaming and vectorised paths can agree exactly and it costs nothing).
    A NamedTuple: creating one costs a fraction of a microsecond on the hot path.
    """

    direction: SignalDirection
    strength: float
    reason: str = ""

    @property
    def sign(self) -> int:
        """+1 for up, -1 for down, 0 for no signal."""
        return DIRECTION_SIGN[self.direction]


#: The neutral verdict: the rule does not fire on this bar.
NO_SIGNAL = Signal(NONE, 0.0, "")
#: What the host returns while the strategy is still warming up.
WARMUP_REASON = "warm-up"
WARMUP_SIGNAL = Signal(NONE, 0.0, WARMUP_REASON)


@dataclass(frozen=True, slots=True)
class Bar:
    """A plain closed bar, for tests, research and replay (any BarLike works).

    ``start_ts`` is the bar's open time in epoch seconds, as on the connector's
    ``Candle``; only indicators with a timestamp input (anchored VWAP) read it.
    """

    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0
    start_ts: float = math.nan


class StrategyParams(BaseModel):
    """Base of every strategy's parameter model: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True, slots=True)
class SignalSeries:
    """Signals over a history, one per bar, as arrays (the vectorised path's output).

    ``direction`` holds +1 / -1 / 0, ``strength`` the float strengths, ``reason_code``
    indexes ``reasons``. :meth:`signal_at` rebuilds the :class:`Signal` of one bar, which
    is what the streaming path must have returned for that bar.
    """

    direction: npt.NDArray[np.int8]
    strength: FloatArray
    reason_code: npt.NDArray[np.int16]
    reasons: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.direction.shape[0])

    def signal_at(self, index: int) -> Signal:
        """The signal of bar ``index``."""
        return Signal(
            _DIRECTION_OF_SIGN[int(self.direction[index])],
            float(self.strength[index]),
            self.reasons[int(self.reason_code[index])],
        )

    def signed(self) -> FloatArray:
        """direction × strength per bar: the strategy's vote in [-1, 1]."""
        return self.direction.astype(np.float64) * self.strength

    @classmethod
    def none(cls, bars: int, reason: str = "") -> SignalSeries:
        """``bars`` bars of no signal, all with the same reason."""
        return cls(np.zeros(bars, np.int8), np.zeros(bars), np.zeros(bars, np.int16), (reason,))


P = TypeVar("P", bound=StrategyParams)


class Strategy(ABC, Generic[P]):
    """Base class of every strategy plugin (see the module docstring for the contract).

    Subclasses set the class attributes ``name``, ``summary``, ``params_model`` and
    ``reasons`` (code 0 must be the "no signal" reason, usually ``""``), implement
    :meth:`indicator_needs`, :attr:`warmup_bars`, :meth:`evaluate` and
    :meth:`evaluate_arrays`, and keep any state the streaming path carries from bar to
    bar (previous values for crossings) resettable through :meth:`reset`.
    """

    interface_version: ClassVar[int] = INTERFACE_VERSION
    name: ClassVar[str]
    summary: ClassVar[str]
    params_model: ClassVar[type[StrategyParams]]
    reasons: ClassVar[tuple[str, ...]] = ("",)

    def __init__(self, params: P | None = None) -> None:
        self.params: P = params if params is not None else self.params_model()  # type: ignore[assignment]
        self.needs: tuple[IndicatorNeed, ...] = tuple(self.indicator_needs())

    # -- declarations ------------------------------------------------------------------

    @abstractmethod
    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        """The indicators this strategy reads, for the current parameters."""

    @property
    @abstractmethod
    def warmup_bars(self) -> int:
        """Leading bars that give no signal (the host masks them on both paths)."""

    # -- streaming path ----------------------------------------------------------------

    @abstractmethod
    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        """Verdict on the bar just closed, from its streaming indicator values.

        Called on every bar in order, warm-up included (results during warm-up are
        discarded by the host), so state kept between calls stays in step.
        """

    def reset(self) -> None:
        """Forget streaming state (a new instrument, a gap the engine will not bridge)."""

    # -- batched streaming path (many workers, one instant) -----------------------------

    def batch_key(self) -> Hashable:
        """Which instances of this class one :meth:`evaluate_many` call may serve.

        :func:`~moonlight.core.strategy.batch.evaluate_grouped` groups items by
        ``(type(strategy), strategy.batch_key())``. The default is the instance itself:
        a strategy that does not batch is evaluated on its own, so a failure in it
        touches no other worker. A batching strategy returns what its instances share
        (the learned strategy: its model server).
        """
        return self

    @classmethod
    def evaluate_many(cls, items: Sequence[StrategyItem]) -> list[Signal]:
        """Verdicts for several workers' bars at one instant, one per item, in order.

        Every item's strategy is an instance of ``cls`` with the same :meth:`batch_key`.
        An override must return exactly what ``evaluate`` would return item by item
        (same signals, each strategy's streaming state advanced once) -- only cheaper.
        The default does exactly that loop.
        """
        return [strategy.evaluate(bar, indicators) for strategy, bar, indicators in items]

    # -- vectorised path ---------------------------------------------------------------

    @abstractmethod
    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> tuple[npt.NDArray[np.integer[Any]], FloatArray, npt.NDArray[np.integer[Any]]]:
        """Direction (+1/-1/0), strength and reason code for every bar of a history.

        ``prices`` holds float64 arrays for :data:`PRICE_COLUMNS`; ``indicators`` holds
        the batch values of every need under its key. Warm-up is masked by the caller.
        """

    def default_indicator_source(self) -> IndicatorSource:
        """Where :meth:`evaluate_history` gets batch indicators when given none.

        The default asks the installed indicator plugins through the plugin registry;
        a strategy package that depends on an indicator library may return it directly.
        """
        from moonlight.core.strategy.indicators import registry_indicator_source

        return registry_indicator_source()

    def evaluate_history(
        self,
        frame: Mapping[str, Any] | Any,
        *,
        source: IndicatorSource | None = None,
        indicators: Mapping[str, IndicatorArray] | None = None,
    ) -> SignalSeries:
        """Signals for every bar of ``frame`` (a DataFrame or a mapping of columns).

        Indicators are computed in batch from ``source`` (default:
        :meth:`default_indicator_source`) unless ``indicators`` are given. The first
        :attr:`warmup_bars` bars are "no signal" with the warm-up reason, exactly as the
        host returns them on the streaming path.
        """
        prices = price_arrays(frame)
        if indicators is None:
            from moonlight.core.strategy.indicators import compute_batch

            indicators = compute_batch(
                self.needs, prices, source or self.default_indicator_source()
            )
        direction, strength, codes = self.evaluate_arrays(prices, indicators)
        return mask_warmup(
            np.asarray(direction, np.int8),
            np.asarray(strength, np.float64),
            np.asarray(codes, np.int16),
            self.reasons,
            self.warmup_bars,
        )


#: One streaming evaluation: the strategy, the bar just closed, its indicator values.
StrategyItem = tuple[Strategy[Any], BarLike, Mapping[str, IndicatorValue]]


def price_arrays(frame: Mapping[str, Any] | Any) -> dict[str, FloatArray]:
    """Contiguous float64 arrays of the OHLCV columns of ``frame``, plus bar times.

    ``frame`` is a pandas DataFrame or any mapping of column name to array; a missing
    ``volume`` column becomes zeros, any other missing OHLC column is a ValueError.
    Bar open times (:data:`TIME_COLUMN`, epoch seconds) come from a ``start_ts`` column,
    else a ``timestamp`` column, else a datetime index; without any, they are NaN.
    """
    arrays: dict[str, FloatArray] = {}
    length: int | None = None
    for column in PRICE_COLUMNS:
        values = _column(frame, column)
        if values is None:
            if column == "volume" and length is not None:
                arrays[column] = np.zeros(length)
                continue
            raise ValueError(f"price history has no {column!r} column")
        array = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
        if array.ndim != 1:
            raise ValueError(f"column {column!r} must be 1-D, got shape {array.shape}")
        if length is not None and array.shape[0] != length:
            raise ValueError(f"column {column!r} has {array.shape[0]} rows, expected {length}")
        length = array.shape[0]
        arrays[column] = array
    assert length is not None
    arrays[TIME_COLUMN] = _epoch_seconds(frame, length)
    return arrays


def _column(frame: Mapping[str, Any] | Any, name: str) -> Any | None:
    try:
        return frame[name]
    except (KeyError, IndexError):
        return None


def _epoch_seconds(frame: Mapping[str, Any] | Any, length: int) -> FloatArray:
    """Bar open times as float64 epoch seconds (NaN when the frame has none).

    pandas datetimes (naive = UTC, or timezone-aware) and numpy ``datetime64`` are
    converted; numbers are taken as epoch seconds already.
    """
    values = _column(frame, TIME_COLUMN)
    if values is None:
        values = _column(frame, "timestamp")
    if values is None:
        index = getattr(frame, "index", None)
        if getattr(getattr(index, "dtype", None), "kind", "") == "M":
            values = index
    if values is None:
        return np.full(length, np.nan)
    if getattr(getattr(values, "dtype", None), "kind", "") == "M" and hasattr(values, "to_numpy"):
        array = values.to_numpy(dtype="datetime64[ns]")  # pandas, any timezone: UTC
    else:
        array = np.asarray(values)
    if array.dtype.kind == "M":
        nanoseconds = array.astype("datetime64[ns]").astype(np.int64)
        seconds = np.where(np.isnat(array), np.nan, nanoseconds / 1e9)
    elif array.dtype.kind in "iuf":
        seconds = array.astype(np.float64)
    else:
        raise ValueError(f"bar times of dtype {array.dtype} are neither datetimes nor numbers")
    if seconds.shape != (length,):
        raise ValueError(f"bar times have shape {seconds.shape}, expected ({length},)")
    return np.ascontiguousarray(seconds)


def mask_warmup(
    direction: npt.NDArray[np.int8],
    strength: FloatArray,
    codes: npt.NDArray[np.int16],
    reasons: tuple[str, ...],
    warmup_bars: int,
) -> SignalSeries:
    """A SignalSeries whose first ``warmup_bars`` bars are the warm-up "no signal"."""
    table = (*reasons, WARMUP_REASON)
    if warmup_bars > 0:
        direction = direction.copy()
        strength = strength.copy()
        codes = codes.copy()
        head = slice(0, min(warmup_bars, direction.shape[0]))
        direction[head] = 0
        strength[head] = 0.0
        codes[head] = len(reasons)
    return SignalSeries(direction, strength, codes, table)


def is_valid_signal(signal: object) -> bool:
    """True for a Signal with a known direction and a finite strength in [0, 1]."""
    try:
        return (
            isinstance(signal, Signal)
            and signal.direction in DIRECTION_SIGN
            and isinstance(signal.strength, float | int)
            and not isinstance(signal.strength, bool)
            and 0.0 <= signal.strength <= 1.0
            and not math.isnan(signal.strength)
            and isinstance(signal.reason, str)
        )
    except TypeError:  # an unhashable direction, say
        return False
