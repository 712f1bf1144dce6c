"""The strategy host isolates strategy code: errors are counted and become no signal."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from moonlight.core.strategy.api import (
    WARMUP_SIGNAL,
    Bar,
    BarLike,
    FloatArray,
    IndicatorArray,
    IndicatorNeed,
    IndicatorValue,
    Signal,
    SignalDirection,
    Strategy,
    StrategyParams,
)
from moonlight.core.strategy.host import (
    ERROR_REASON,
    ERROR_SIGNAL,
    IncompatibleStrategyError,
    StrategyGroup,
    StrategyHost,
)


class _Scaled:
    """A tiny streaming indicator: the input times k."""

    def __init__(self, k: float) -> None:
        self.k = k

    def update(self, value: float) -> float:
        return value * self.k


class FakeSource:
    """An indicator source with one indicator, ``scaled(real, k)``."""

    def inputs(self, name: str) -> tuple[str, ...]:
        assert name == "scaled"
        return ("real",)

    def batch(self, name: str, real: FloatArray, **params: float | int) -> IndicatorArray:
        return real * params["k"]

    def stream(self, name: str, **params: float | int) -> _Scaled:
        return _Scaled(float(params["k"]))


class Params(StrategyParams):
    k: float = 2.0


class Rising(Strategy[Params]):
    """Up when the scaled close rose since the previous bar, down when it fell."""

    name = "rising"
    summary = "test strategy"
    params_model = Params
    reasons = ("", "rose", "fell")

    def __init__(self, params: Params | None = None) -> None:
        super().__init__(params)
        self._previous = float("nan")

    def indicator_needs(self) -> tuple[IndicatorNeed, ...]:
        return (IndicatorNeed.of("scaled", k=self.params.k),)

    @property
    def warmup_bars(self) -> int:
        return 2

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        value = indicators[self.needs[0].key]
        assert isinstance(value, float)
        previous, self._previous = self._previous, value
        if value > previous:
            return Signal(SignalDirection.UP, 1.0, "rose")
        if value < previous:
            return Signal(SignalDirection.DOWN, 0.5, "fell")
        return Signal(SignalDirection.NONE, 0.0, "")

    def evaluate_arrays(
        self, prices: Mapping[str, FloatArray], indicators: Mapping[str, IndicatorArray]
    ) -> tuple[np.ndarray, FloatArray, np.ndarray]:
        value = indicators[self.needs[0].key]
        assert isinstance(value, np.ndarray)
        previous = np.r_[np.nan, value[:-1]]
        up, down = value > previous, value < previous
        direction = np.where(up, 1, np.where(down, -1, 0))
        return (
            direction,
            np.where(up, 1.0, np.where(down, 0.5, 0.0)),
            np.where(up, 1, np.where(down, 2, 0)),
        )


class Exploding(Rising):
    """Raises on every third bar; its vectorised path always raises."""

    name = "exploding"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Signal:
        self.calls += 1
        if self.calls % 3 == 0:
            raise ZeroDivisionError("boom")
        return super().evaluate(bar, indicators, **kwargs)

    def evaluate_arrays(self, prices: Any, indicators: Any) -> Any:
        raise RuntimeError("vectorised boom")


class Liar(Rising):
    """Returns values that are not valid signals."""

    name = "liar"

    def evaluate(
        self, bar: BarLike, indicators: Mapping[str, IndicatorValue], **kwargs: Any
    ) -> Any:
        super().evaluate(bar, indicators)
        return [
            Signal(SignalDirection.UP, 1.5, ""),
            "up",
            Signal(SignalDirection.UP, float("nan")),
            Signal(SignalDirection.UP, "0.5"),  # type: ignore[arg-type]
            Signal(["up"], 0.5),  # type: ignore[arg-type]
            Signal("sideways", 0.5),  # type: ignore[arg-type]
        ][self._count()]

    def _count(self) -> int:
        self.n = getattr(self, "n", -1) + 1
        return self.n % 6


def _bars(n: int, seed: int = 0) -> list[Bar]:
    closes = 100 + np.cumsum(np.random.default_rng(seed).normal(size=n))
    return [Bar(c, c + 1, c - 1, c) for c in closes]


def test_streaming_equals_vectorised_through_the_host() -> None:
    bars = _bars(50)
    group = StrategyGroup([Rising()], FakeSource())
    streamed = [group.on_bar(bar)[0] for bar in bars]
    frame = {c: np.array([getattr(b, c) for b in bars]) for c in ("open", "high", "low", "close")}
    series = StrategyHost(Rising()).history(frame, source=FakeSource())
    assert streamed[:2] == [WARMUP_SIGNAL, WARMUP_SIGNAL]
    assert streamed == [series.signal_at(i) for i in range(len(bars))]


def test_a_raising_strategy_is_isolated_counted_and_gives_no_signal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors: list[tuple[str, BaseException | None]] = []
    group = StrategyGroup(
        [Rising(), Exploding()], FakeSource(), on_error=lambda n, e: errors.append((n, e))
    )
    reference = StrategyGroup([Rising()], FakeSource())
    bars = _bars(30, seed=1)
    with caplog.at_level(logging.ERROR, logger="moonlight.strategy"):
        results = [group.on_bar(bar) for bar in bars]
    good = [r[0] for r in results]
    assert good == [reference.on_bar(bar)[0] for bar in bars]  # neighbour unaffected
    bad = [r[1] for r in results]
    assert [i for i, s in enumerate(bad) if s == ERROR_SIGNAL] == list(range(2, 30, 3))
    exploding = group.hosts[1]
    assert exploding.errors == 10 and len(errors) == 10
    assert errors[0][0] == "exploding" and isinstance(errors[0][1], ZeroDivisionError)
    assert "ZeroDivisionError: boom" in (exploding.last_error or "")
    logged = [r for r in caplog.records if "exploding" in r.getMessage()]
    assert len(logged) == 3 and logged[0].exc_info is not None  # then summarised
    assert any(s.direction is not SignalDirection.NONE for s in bad)  # it keeps working


def test_a_failing_vectorised_evaluation_becomes_no_signal() -> None:
    host = StrategyHost(Exploding())
    frame = {c: np.linspace(1, 2, 20) for c in ("open", "high", "low", "close")}
    series = host.history(frame, source=FakeSource())
    assert len(series) == 20 and not series.direction.any()
    assert {series.signal_at(i).reason for i in range(20)} == {ERROR_REASON}
    assert host.errors == 1


def test_invalid_return_values_are_counted_as_errors() -> None:
    host = StrategyHost(Liar())
    host.warmup_bars = 0
    signals = [host.on_bar(bar, {"scaled(k=2.0)": bar.close * 2}) for bar in _bars(6)]
    assert signals == [ERROR_SIGNAL] * 6 and host.errors == 6


def test_a_broken_indicator_feed_gives_no_signal_for_everyone() -> None:
    group = StrategyGroup([Rising(), Rising()], FakeSource())
    assert group.on_bar(Bar(1, 1, 1, "x")) == [ERROR_SIGNAL, ERROR_SIGNAL]  # type: ignore[arg-type]
    assert group.feed_errors == 1
    assert group.hosts[0].bars_seen == 1


def test_a_strategy_for_another_interface_version_is_refused() -> None:
    class Future(Rising):
        interface_version = 99

    with pytest.raises(IncompatibleStrategyError, match="interface_version 99"):
        StrategyHost(Future())


def test_reset_restarts_warm_up_and_state() -> None:
    group = StrategyGroup([Rising()], FakeSource())
    bars = _bars(10, seed=3)
    first = [group.on_bar(b)[0] for b in bars]
    group.reset()
    assert [group.on_bar(b)[0] for b in bars] == first


def test_plain_string_directions_are_normalised_to_the_enum() -> None:
    class Stringly(Rising):
        def evaluate(self, bar: BarLike, indicators: Any, **kwargs: Any) -> Any:
            return Signal("down", 1, "r")  # type: ignore[arg-type]

    host = StrategyHost(Stringly())
    host.warmup_bars = 0
    signal = host.on_bar(Bar(1, 1, 1, 1), {})
    assert signal == Signal(SignalDirection.DOWN, 1.0, "r")
    assert signal.direction is SignalDirection.DOWN and host.errors == 0


def test_features_snapshot_is_json_ready() -> None:
    import json

    group = StrategyGroup([Rising(), Exploding()], FakeSource())
    signals = group.on_bar(Bar(1.0, 1.0, 1.0, 1.5))
    features = group.features(signals)
    assert features["indicators"] == {"scaled(k=2.0)": 3.0}
    assert features["signals"]["exploding"] == {
        "direction": "none",
        "strength": 0.0,
        "reason": "warm-up",
    }
    json.dumps(features, allow_nan=False)


def test_keyword_context_reaches_the_strategy() -> None:
    seen: list[dict[str, Any]] = []

    class Curious(Rising):
        def evaluate(self, bar: BarLike, indicators: Any, **kwargs: Any) -> Signal:
            seen.append(kwargs)
            return super().evaluate(bar, indicators)

    group = StrategyGroup([Curious()], FakeSource())
    group.on_bar(Bar(1, 1, 1, 1), instrument="EURUSD")
    group.on_bar(Bar(1, 1, 1, 2))
    assert seen == [{"instrument": "EURUSD"}, {}]
