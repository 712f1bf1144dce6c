"""The strategy host: every call into strategy code goes through here.

One bad strategy must never take a worker down (Freqtrade's ``IStrategy`` wrapper is the
model). :class:`StrategyHost` wraps one strategy:

* an exception from ``evaluate`` or ``evaluate_history`` is logged (with traceback for
  the first :data:`TRACEBACKS_LOGGED` errors of a strategy, then one line every
  :data:`LOG_EVERY`-th error so a strategy failing on every bar cannot flood the log),
  counted in :attr:`StrategyHost.errors` and passed to the optional ``on_error``
  callback (the runtime's metric counter), and the bar gets :data:`ERROR_SIGNAL`;
* a return value that is not a valid :class:`Signal` (wrong type, unknown direction,
  strength outside [0, 1] or NaN) is treated the same way;
* the first ``warmup_bars`` bars return :data:`WARMUP_SIGNAL` -- ``evaluate`` is still
  called on them so state kept between bars stays in step with the vectorised path.

:class:`StrategyGroup` is what a worker holds: its strategies' hosts and one shared
:class:`IndicatorFeed`, turning a closed bar into one signal per strategy.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from moonlight.core.strategy.api import (
    DOWN,
    INTERFACE_VERSION,
    NONE,
    UP,
    WARMUP_SIGNAL,
    BarLike,
    IndicatorArray,
    IndicatorValue,
    Signal,
    SignalDirection,
    SignalSeries,
    Strategy,
    is_valid_signal,
    price_arrays,
)
from moonlight.core.strategy.indicators import IndicatorFeed, IndicatorSource

log = logging.getLogger("moonlight.strategy")

#: Reason carried by the "no signal" that replaces a failed or invalid evaluation.
ERROR_REASON = "strategy error"
ERROR_SIGNAL = Signal(NONE, 0.0, ERROR_REASON)
#: Errors of one strategy logged with a full traceback before switching to summaries.
TRACEBACKS_LOGGED = 3
#: After that, one log line per this many errors.
LOG_EVERY = 1000
#: The base class's item-by-item ``evaluate_many``: a strategy that keeps it does not batch.
_DEFAULT_EVALUATE_MANY = Strategy.__dict__["evaluate_many"].__func__

ErrorCallback = Callable[[str, BaseException | None], None]


class IncompatibleStrategyError(TypeError):
    """A strategy declares an ``interface_version`` this core does not implement."""


class StrategyHost:
    """One strategy, isolated: counted errors become "no signal", never an exception."""

    def __init__(
        self,
        strategy: Strategy[Any],
        *,
        label: str | None = None,
        on_error: ErrorCallback | None = None,
    ) -> None:
        version = getattr(strategy, "interface_version", None)
        if version != INTERFACE_VERSION:
            raise IncompatibleStrategyError(
                f"strategy {label or type(strategy).__name__!r} implements interface_version"
                f" {version!r}; this MoonLight core implements {INTERFACE_VERSION}"
            )
        self.strategy = strategy
        self.label: str = label or str(getattr(strategy, "name", type(strategy).__name__))
        self.warmup_bars = int(strategy.warmup_bars)
        self.on_error = on_error
        #: True when the strategy evaluates several workers in one call (it overrides
        #: :meth:`~.api.Strategy.evaluate_many`); the decision step batches those.
        self.batches: bool = (
            type(strategy).evaluate_many.__func__  # type: ignore[attr-defined]
            is not _DEFAULT_EVALUATE_MANY
        )
        #: Bars seen on the streaming path since the last reset.
        self.bars_seen = 0
        #: Evaluations that raised or returned something invalid.
        self.errors = 0
        self.last_error: str | None = None

    def on_bar(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        """The strategy's signal for the bar just closed (never raises)."""
        try:
            if kwargs:
                signal = self.strategy.evaluate(bar, indicators, **kwargs)
            else:  # the usual case: no keyword dict to build on the hot path
                signal = self.strategy.evaluate(bar, indicators)
        except Exception as exc:  # user code: isolate it
            self.bars_seen += 1
            return self._failed(f"evaluate raised {type(exc).__name__}: {exc}", exc)
        return self.accept(signal)

    def accept(self, signal: object) -> Signal:
        """Count the bar and apply the host's rules (warm-up, validation) to a verdict
        the strategy already gave -- :meth:`on_bar` after ``evaluate``, or the decision
        step after a batched call (whose failure arrives as :data:`ERROR_SIGNAL`)."""
        self.bars_seen += 1
        if signal is ERROR_SIGNAL:
            return self._failed("batched evaluate_many failed (logged above)", None)
        if self.bars_seen <= self.warmup_bars:
            return WARMUP_SIGNAL
        # fast path for the common case, full check (and normalisation) otherwise
        if (
            type(signal) is Signal
            and type(signal[1]) is float
            and 0.0 <= signal[1] <= 1.0
            and (signal[0] is UP or signal[0] is DOWN or signal[0] is NONE)
        ):
            return signal
        if is_valid_signal(signal):  # e.g. direction given as the plain string "up"
            raw: Any = signal
            return Signal(SignalDirection(raw[0]), float(raw[1]), str(raw[2]))
        return self._failed(f"evaluate returned an invalid signal {signal!r}", None)

    def history(
        self,
        frame: Mapping[str, Any] | Any,
        *,
        source: IndicatorSource | None = None,
        indicators: Mapping[str, IndicatorArray] | None = None,
    ) -> SignalSeries:
        """The vectorised signals over ``frame``; all "no signal" if the strategy fails."""
        bars = len(price_arrays(frame)["close"])
        try:
            series = self.strategy.evaluate_history(frame, source=source, indicators=indicators)
        except Exception as exc:  # user code: isolate it
            self._failed(f"evaluate_history raised {type(exc).__name__}: {exc}", exc)
            return SignalSeries.none(bars, ERROR_REASON)
        if not isinstance(series, SignalSeries) or len(series) != bars:
            self._failed(f"evaluate_history returned {type(series).__name__} of wrong length", None)
            return SignalSeries.none(bars, ERROR_REASON)
        return series

    def reset(self) -> None:
        """Start the streaming path again from bar zero (warm-up included)."""
        self.bars_seen = 0
        try:
            self.strategy.reset()
        except Exception as exc:  # user code: isolate it
            self._failed(f"reset raised {type(exc).__name__}: {exc}", exc)

    def _failed(self, message: str, exc: BaseException | None) -> Signal:
        self.errors += 1
        self.last_error = message
        if self.errors <= TRACEBACKS_LOGGED:
            log.error("strategy %r: %s", self.label, message, exc_info=exc)
        elif self.errors % LOG_EVERY == 0:
            log.error("strategy %r: %d errors so far; latest: %s", self.label, self.errors, message)
        if self.on_error is not None:
            try:
                self.on_error(self.label, exc)
            except Exception:  # a failing metrics callback must not break isolation
                log.exception("on_error callback failed for strategy %r", self.label)
        return ERROR_SIGNAL


class StrategyGroup:
    """All strategies of one worker and their shared streaming indicators.

    ``on_bar(bar)`` updates the feed once and returns the signals in strategy order. If
    the feed itself fails (a broken indicator plugin), every strategy gets
    :data:`ERROR_SIGNAL` for that bar and :attr:`feed_errors` counts it.
    """

    def __init__(
        self,
        strategies: Iterable[Strategy[Any]],
        source: IndicatorSource,
        *,
        on_error: ErrorCallback | None = None,
    ) -> None:
        self.hosts: list[StrategyHost] = [StrategyHost(s, on_error=on_error) for s in strategies]
        self._source = source
        self.feed = self._new_feed()
        self.feed_errors = 0

    def _new_feed(self) -> IndicatorFeed:
        return IndicatorFeed((n for host in self.hosts for n in host.strategy.needs), self._source)

    @property
    def names(self) -> list[str]:
        """Labels of the strategies, in order."""
        return [host.label for host in self.hosts]

    def update(self, bar: BarLike) -> Mapping[str, IndicatorValue] | None:
        """Feed the bar to the indicators; None (every strategy's bar counted, no signal)
        when the feed fails. The decision step evaluates the strategies itself."""
        try:
            return self.feed.update(bar)
        except Exception:  # an indicator plugin is user code too
            self.feed_errors += 1
            if self.feed_errors <= TRACEBACKS_LOGGED:
                log.exception("indicator feed failed; no signals on this bar")
            for host in self.hosts:
                host.bars_seen += 1
            return None

    def on_bar(self, bar: BarLike, **kwargs: Any) -> Sequence[Signal]:
        """One signal per strategy for the bar just closed (never raises)."""
        values = self.update(bar)
        if values is None:
            return [ERROR_SIGNAL] * len(self.hosts)
        if kwargs:
            return [host.on_bar(bar, values, **kwargs) for host in self.hosts]
        return [host.on_bar(bar, values) for host in self.hosts]

    def features(self, signals: Sequence[Signal]) -> dict[str, dict[str, Any]]:
        """What the last bar's decision saw, JSON-ready, for the ``features`` table.

        ``indicators`` maps each need's key to its value (a list for several outputs,
        None for NaN); ``signals`` maps each strategy to direction, strength and reason.
        """
        indicators = {key: _plain(value) for key, value in self.feed.values.items()}
        described = {
            host.label: {
                "direction": str(sig.direction),
                "strength": sig.strength,
                "reason": sig.reason,
            }
            for host, sig in zip(self.hosts, signals, strict=True)
        }
        return {"indicators": indicators, "signals": described}

    def reset(self) -> None:
        """Start again from bar zero: fresh indicator streams, strategies reset."""
        self.feed = self._new_feed()
        for host in self.hosts:
            host.reset()


def _plain(value: Any) -> Any:
    """A JSON-ready copy of an indicator value: floats, lists of floats, NaN as None."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    number = float(value)
    return None if math.isnan(number) else number
