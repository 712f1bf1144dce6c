"""TA-Lib as the test oracle: input generators and the moonlight-vs-talib comparison.

The oracle is ta-lib 0.8.2 (pinned in the root ``pyproject.toml``; its wheel bundles the C
library the kernels are ported from). ``assert_matches_talib`` checks what issue 3 asks:
NaN positions identical, values within 1e-9 relative after warm-up, integer outputs
identical.

Generators return :class:`Bars` (open/high/low/close/volume arrays) so one data set
feeds any indicator: :func:`inputs_for` picks the arrays an indicator's catalogue entry
names (``real`` is the close).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import talib

import moonlight.indicators as mi
from moonlight.core.plugins import IndicatorSpec

FloatArray = npt.NDArray[np.float64]

#: 2024-01-01T00:00:00Z in epoch seconds.
EPOCH_2024_S = 1_704_067_200.0
#: Relative tolerance of issue 3 ("values equal to TA-Lib within 1e-9 relative").
RTOL = 1e-9

assert talib.__version__ == "0.8.2", f"oracle pinned to ta-lib 0.8.2, found {talib.__version__}"


@dataclass(frozen=True)
class Bars:
    """One OHLCV data set (float64 arrays of equal length)."""

    name: str
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    #: Bar open times in epoch seconds (1-minute bars from 2024-01-01) unless given.
    timestamp: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def column(self, name: str) -> FloatArray:
        if name == "real":
            return self.close
        if name == "timestamp" and self.timestamp is None:
            return EPOCH_2024_S + 60.0 * np.arange(len(self), dtype=np.float64)
        return getattr(self, name)  # type: ignore[no-any-return]


def random_walk(n: int = 500, seed: int = 1, scale: float = 1.0, name: str = "walk") -> Bars:
    """Seeded geometric-ish random walk around 100 with consistent OHLC and volume."""
    rng = np.random.default_rng(seed)
    close = 100.0 + np.cumsum(rng.standard_normal(n))
    close = np.abs(close) + 1.0
    open_ = np.r_[close[0], close[:-1]] + rng.standard_normal(n) * 0.1
    high = np.maximum(open_, close) + rng.random(n)
    low = np.minimum(open_, close) - rng.random(n)
    volume = rng.integers(100, 10_000, n).astype(np.float64)
    return Bars(name, open_ * scale, high * scale, low * scale, close * scale, volume)


def constant(n: int = 200, price: float = 5.0) -> Bars:
    """Every price equal (flat ranges, zero variance, zero changes)."""
    flat = np.full(n, price)
    return Bars("constant", flat, flat, flat, flat, np.full(n, 1000.0))


def zero_volume(n: int = 300, seed: int = 2) -> Bars:
    """A random walk without any traded volume (the EURUSD file has none)."""
    bars = random_walk(n, seed)
    return replace(bars, name="zero_volume", volume=np.zeros(n))


def nan_run(n: int = 300, seed: int = 3) -> Bars:
    """Leading NaN in one input, then a run of NaN mid-series in every input."""
    bars = random_walk(n, seed)
    arrays = {k: getattr(bars, k).copy() for k in ("open", "high", "low", "close", "volume")}
    arrays["close"][:4] = np.nan
    arrays["high"][:2] = np.nan
    for values in arrays.values():
        values[150:155] = np.nan
    return Bars("nan_run", **arrays)


def short(n: int = 6, seed: int = 4) -> Bars:
    """Fewer bars than most warm-ups: the output is all NaN (or 0 for integer outputs)."""
    return replace(random_walk(n, seed), name="short")


def extreme(scale: float) -> Bars:
    """Prices around 100 * scale (1e-8 and 1e8 in the suite)."""
    return replace(random_walk(300, 5, scale), name=f"scale_{scale:g}")


def standard_sets() -> list[Bars]:
    """The data sets every TA-Lib-exact indicator is compared on."""
    return [
        random_walk(),
        random_walk(800, seed=11, name="walk_long"),
        constant(),
        zero_volume(),
        nan_run(),
        short(),
        extreme(1e-8),
        extreme(1e8),
    ]


def talib_function(name: str) -> Callable[..., Any] | None:
    """TA-Lib's function of the same (upper-case) name, or None (ichimoku, anchored_vwap)."""
    function = getattr(talib, name.upper(), None)
    return function if callable(function) else None


def talib_exact_specs() -> list[IndicatorSpec]:
    """Catalogue entries that TA-Lib also has: the 38 exactness targets."""
    return [spec for spec in mi.catalog() if talib_function(spec.name) is not None]


def inputs_for(spec: IndicatorSpec, bars: Bars) -> tuple[FloatArray, ...]:
    return tuple(bars.column(name) for name in spec.inputs)


def _as_tuple(value: Any) -> tuple[npt.NDArray[Any], ...]:
    return tuple(value) if isinstance(value, tuple) else (value,)


def compare_outputs(label: str, ours: Any, theirs: Any, rtol: float = RTOL) -> Iterator[str]:
    """Yield a description of every difference (empty when the outputs agree)."""
    mine = _as_tuple(ours)
    other = _as_tuple(theirs)
    if len(mine) != len(other):
        yield f"{label}: {len(mine)} outputs, TA-Lib has {len(other)}"
        return
    for k, (a, b) in enumerate(zip(mine, other, strict=True)):
        a = np.asarray(a)
        b = np.asarray(b)
        if a.shape != b.shape:
            yield f"{label} output {k}: shape {a.shape} != {b.shape}"
            continue
        if b.dtype.kind in "iu":
            if not np.array_equal(a, b):
                bad = np.flatnonzero(a != b)[:5]
                yield f"{label} output {k}: integers differ at {bad.tolist()}"
            continue
        nan_a = np.isnan(a)
        nan_b = np.isnan(b)
        if not np.array_equal(nan_a, nan_b):
            bad = np.flatnonzero(nan_a != nan_b)[:5]
            yield f"{label} output {k}: NaN positions differ at {bad.tolist()}"
            continue
        valid = ~nan_b
        if not valid.any():
            continue
        x = a[valid]
        y = b[valid]
        # Relative to the value, floored by the output's typical size so that values
        # that cross zero (MACD histogram, oscillators at 0) are not held to 1e-9 of 0.
        floor = float(np.median(np.abs(y))) or float(np.max(np.abs(y))) or 1.0
        err = np.abs(x - y) / np.maximum(np.abs(y), floor)
        worst = int(np.argmax(err))
        if err[worst] > rtol:
            yield (
                f"{label} output {k}: relative error {err[worst]:.3g} at valid bar {worst} "
                f"({x[worst]!r} vs {y[worst]!r})"
            )


def assert_matches_talib(name: str, *inputs: FloatArray, **params: Any) -> None:
    """Assert ``moonlight.indicators.<name>`` equals ``talib.<NAME>`` on these inputs."""
    function = talib_function(name)
    assert function is not None, f"TA-Lib has no {name.upper()}"
    ours = getattr(mi, name)(*inputs, **params)
    theirs = function(*inputs, **params)
    problems = list(compare_outputs(f"{name}{params}", ours, theirs))
    assert not problems, "\n".join(problems)
