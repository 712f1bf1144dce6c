"""Volatility indicators: trange, atr, natr, supertrend, kc (alias keltner) and donchian.

Each kernel reproduces TA-Lib 0.8.2 (C library 0.8.1) operation for operation, so values
match bit for bit, not only within tolerance:

* leading bars where any input is NaN are skipped, as TA-Lib's Python wrapper does;
* the True Range starts from ``high - low`` and is replaced by ``|close[t-1] - high|`` then
  ``|close[t-1] - low|`` only on a strict ``>`` -- a NaN previous close is ignored, a NaN
  high or low gives NaN, exactly as in C;
* Wilder smoothing is TA-Lib 0.8's two-coefficient step ``beta * prev + alpha * tr`` with
  ``beta = (period - 1) / period`` and ``alpha = 1 - beta``, which the C build contracts
  into one fused multiply-add (:func:`fma`); the seed is a sum from 0.0 divided once;
* kc's EMA step ``(tp - prev) * k + prev`` is likewise one fused multiply-add;
* the unstable periods (``set_unstable_period("ATR"/"NATR"/"EMA", n)``) lengthen the
  warm-up the way TA-Lib does.

Kernels are plain loops over 1-D float64 arrays writing into caller-supplied outputs; they
are importable so a strategy's own ``@njit`` code can call them. Each stream class does the
same floating-point operations in the same order; the fused steps go through tiny jitted
helpers (:func:`wilder_tr`, :func:`ema_step`) because Python has no fused multiply-add.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from llvmlite import ir  # type: ignore[import-untyped]
from numba import config as numba_config
from numba import prange
from numba.core import cgutils, types
from numba.extending import intrinsic

from moonlight.indicators._define import Stream, compiled, define, float_param, int_param
from moonlight.indicators._jit import jit, parallel_jit
from moonlight.indicators._kernels import begin2, begin3, fill_nan, fill_zero

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]

NAN = math.nan
#: TA-Lib's ``TA_REAL_MAX``: the upper bound of its real-valued parameters.
TA_REAL_MAX = 3e37

_SOURCE = "TA-Lib C 0.8.1 ta_{}.c via the ta-lib 0.8.2 Python wrapper"

# ---------------------------------------------------------------------------------------------
# fused multiply-add and the shared True Range / Wilder steps
# ---------------------------------------------------------------------------------------------


@intrinsic
def _llvm_fma(
    typingctx: object, a: types.Type, b: types.Type, c: types.Type
) -> tuple[object, object]:
    """``llvm.fma.f64``: ``a * b + c`` rounded once, in compiled code."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context: object, builder: Any, signature: object, args: list[Any]) -> object:
        fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()] * 3)
        fn = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module, fnty, "llvm.fma.f64"
        )
        return builder.call(fn, args)

    return sig, codegen


def _python_fma(a: float, b: float, c: float) -> float:
    """``a * b + c`` rounded once, in pure Python (for ``NUMBA_DISABLE_JIT=1`` runs)."""
    if math.isfinite(a) and math.isfinite(b) and math.isfinite(c):
        try:
            return float(Fraction(a) * Fraction(b) + Fraction(c))
        except OverflowError:
            pass
    return a * b + c


#: ``fma(a, b, c)`` = ``a * b + c`` rounded once, for kernels. TA-Lib 0.8's C library is
#: compiled with floating-point contraction, so an expression ``x * y + z`` written as one
#: C statement is a fused multiply-add there; reproducing it bit for bit needs the same
#: fused operation here (fastmath stays off everywhere else). With ``NUMBA_DISABLE_JIT=1``
#: kernels run as Python and get an exact pure-Python equivalent.
fma = cast(
    Callable[[float, float, float], float],
    _python_fma if numba_config.DISABLE_JIT else _llvm_fma,  # type: ignore[attr-defined]
)


@jit
def fused(a: float, b: float, c: float) -> float:
    """:func:`fma` callable from Python (streams): ``a * b + c`` rounded once."""
    return fma(a, b, c)


@jit
def true_range(high: float, low: float, prev_close: float) -> float:
    """TA-Lib's True Range of one bar, comparison order and NaN behaviour included."""
    greatest = high - low
    val2 = abs(prev_close - high)
    if val2 > greatest:
        greatest = val2
    val3 = abs(prev_close - low)
    if val3 > greatest:
        greatest = val3
    return greatest


def _true_range(high: float, low: float, prev_close: float) -> float:
    """Pure-Python twin of :func:`true_range` (same operations, same NaN behaviour)."""
    greatest = high - low
    val2 = abs(prev_close - high)
    if val2 > greatest:
        greatest = val2
    val3 = abs(prev_close - low)
    if val3 > greatest:
        greatest = val3
    return greatest


@jit
def wilder_tr(
    prev: float, high: float, low: float, prev_close: float, alpha: float, beta: float
) -> float:
    """One Wilder step of the ATR: ``fma(beta, prev, alpha * TR)`` (TA-Lib 0.8's order)."""
    return fma(beta, prev, alpha * true_range(high, low, prev_close))


@jit
def ema_step(prev: float, value: float, k: float) -> float:
    """One EMA step as TA-Lib 0.8 computes it: ``fma(value - prev, k, prev)``."""
    return fma(value - prev, k, prev)


@jit
def atr_steady_step(st: FloatArray, high: float, low: float, close: float) -> float:
    """One ATR/NATR bar for the stream's steady state, ``st = [atr, prev close, alpha, beta,
    normalise]``: the fused Wilder step, then ``/ close * 100`` when ``normalise`` is set."""
    atr = fma(st[3], st[0], st[2] * true_range(high, low, st[1]))
    st[0] = atr
    st[1] = close
    if st[4] == 0.0:
        return atr
    return atr / close * 100.0 if close != 0.0 else 0.0


@jit
def kc_steady_step(
    st: FloatArray, high: float, low: float, close: float
) -> tuple[float, float, float]:
    """One Keltner bar for the stream's steady state, ``st = [atr, ema, prev close, alpha,
    beta, k, nbdev]``: the fused Wilder and EMA steps, then the bands (kernel's order)."""
    prev_close = st[2]
    atr = fma(st[4], st[0], st[3] * true_range(high, low, prev_close))
    ema = st[1]
    ema = fma((high + low + close) / 3.0 - ema, st[5], ema)
    st[0] = atr
    st[1] = ema
    st[2] = close
    width = atr * st[6]
    return ema + width, ema, ema - width


@jit
def supertrend_steady_step(
    st: FloatArray, high: float, low: float, close: float
) -> tuple[float, int]:
    """One SuperTrend bar for the stream's steady state, ``st = [atr, upper, lower, up,
    prev close, alpha, beta, multiplier]``, in the kernel's order of operations."""
    prev_close = st[4]
    atr = fma(st[6], st[0], st[5] * true_range(high, low, prev_close))
    st[0] = atr
    median = (high + low) / 2.0
    band = st[7] * atr
    basic_upper = median + band
    basic_lower = median - band
    upper = st[1]
    lower = st[2]
    if basic_upper < upper or prev_close > upper:
        upper = basic_upper
    if basic_lower > lower or prev_close < lower:
        lower = basic_lower
    st[1] = upper
    st[2] = lower
    up = st[3] != 0.0
    if up:
        if close < lower:
            up = False
    elif close > upper:
        up = True
    st[3] = 1.0 if up else 0.0
    st[4] = close
    if up:
        return lower, 1
    return upper, -1


class LazyEntry:
    """A class attribute that resolves a jitted helper's entry point on first call.

    Streams call helpers as ``self._helper(...)``; the first call swaps this descriptor on
    the owning class for the compiled entry point (:func:`~moonlight.indicators._define.
    compiled`, which skips Numba's type dispatch), so later calls go straight to it.
    Nothing compiles at import, and ``state()`` never sees it (it is not a slot).
    """

    def __init__(self, dispatcher: Any) -> None:
        self._dispatcher = dispatcher
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._owner = owner
        self._name = name

    def __get__(self, instance: object, owner: type | None = None) -> Callable[..., Any]:
        def first_call(*args: Any) -> Any:
            # Scalars are compiled as float64 whatever the first caller passed (an int
            # there must not turn every later float into an int); arrays keep their type.
            example = [arg if isinstance(arg, np.ndarray) else 0.0 for arg in args]
            entry = compiled(self._dispatcher, *example)
            setattr(self._owner, self._name, staticmethod(entry))
            return entry(*args)

        return first_call


def wilder_coefficients(timeperiod: int) -> tuple[float, float]:
    """``(alpha, beta)`` of TA-Lib 0.8's Wilder step; ``alpha + beta == 1`` exactly."""
    beta = (timeperiod - 1) / timeperiod
    return 1.0 - beta, beta


@jit
def atr_into(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    first_tr: int,
    start: int,
    out: FloatArray,
) -> None:
    """Wilder ATR seeded with the mean True Range of bars ``first_tr .. first_tr+period-1``.

    Writes ``out[start:]``; the bars between the seed and ``start`` are the unstable
    period. At period 1 the coefficients are (alpha, beta) = (1, 0): there is no True
    Range shortcut, so a NaN is carried forward exactly as TA-Lib carries it.
    """
    n = high.shape[0]
    h = high[first_tr:]
    lo = low[first_tr:]
    pc = close[first_tr - 1 : n - 1]
    o = out[first_tr:]
    total = 0.0
    for i in range(timeperiod):
        total += true_range(h[i], lo[i], pc[i])
    prev = total / timeperiod
    beta = (timeperiod - 1) / timeperiod
    alpha = 1.0 - beta
    first_out = start - first_tr
    for i in range(timeperiod, first_out + 1):
        prev = fma(beta, prev, alpha * true_range(h[i], lo[i], pc[i]))
    o[first_out] = prev
    for i in range(first_out + 1, n - first_tr):
        prev = fma(beta, prev, alpha * true_range(h[i], lo[i], pc[i]))
        o[i] = prev


# ---------------------------------------------------------------------------------------------
# trange
# ---------------------------------------------------------------------------------------------


@jit
def trange_kernel(high: FloatArray, low: FloatArray, close: FloatArray, out: FloatArray) -> None:
    """True Range: max(high - low, |prev close - high|, |prev close - low|); 1 bar warm-up."""
    n = high.shape[0]
    if n == 0:
        return
    start = begin3(high, low, close) + 1
    fill_nan(out, start)
    if start >= n:
        return
    # Zero-based loops over slices: the compiler then knows no index is negative, drops
    # the wrap-around test and vectorises (a loop from a run-time start keeps it).
    h = high[start:]
    lo = low[start:]
    prev_close = close[start - 1 : n - 1]
    o = out[start:]
    for i in range(n - start):
        o[i] = true_range(h[i], lo[i], prev_close[i])


@parallel_jit
def trange_kernel_2d(high: FloatArray, low: FloatArray, close: FloatArray, out: FloatArray) -> None:
    for j in prange(high.shape[1]):
        trange_kernel(high[:, j], low[:, j], close[:, j], out[:, j])


class TrangeStream(Stream):
    """Incremental True Range: NaN on the first bar, then the kernel's comparisons."""

    __slots__ = ("_prev_close", "_started")

    def __init__(self) -> None:
        self._started = False
        self._prev_close = NAN

    def update(self, high: float, low: float, close: float) -> float:
        prev_close = self._prev_close
        self._prev_close = close
        if not self._started:
            self._started = True
            return NAN
        return _true_range(high, low, prev_close)


trange = define(
    "trange",
    group="volatility",
    summary="True Range",
    inputs=("high", "low", "close"),
    outputs=("real",),
    params=(),
    lookback=lambda: 1,
    kernel=trange_kernel,
    kernel_2d=trange_kernel_2d,
    stream=TrangeStream,
    source=_SOURCE.format("TRANGE"),
)

# ---------------------------------------------------------------------------------------------
# atr and natr
# ---------------------------------------------------------------------------------------------


@jit
def atr_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    unstable: int,
    out: FloatArray,
) -> None:
    """Average True Range (Wilder); warm-up ``timeperiod + unstable`` bars."""
    n = high.shape[0]
    if n == 0:
        return
    lookback = timeperiod + unstable
    start = begin3(high, low, close) + lookback
    fill_nan(out, start)
    if start >= n:
        return
    atr_into(high, low, close, timeperiod, start - lookback + 1, start, out)


@parallel_jit
def atr_kernel_2d(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    unstable: int,
    out: FloatArray,
) -> None:
    for j in prange(high.shape[1]):
        atr_kernel(high[:, j], low[:, j], close[:, j], timeperiod, unstable, out[:, j])


class _AtrCore(Stream):
    """Shared state of the ATR-based streams: True Range seed, then Wilder steps.

    Bar 0 (the first valid bar) only provides the previous close; bars 1..timeperiod seed;
    the ``unstable`` bars after the seed are computed but reported as NaN. ``_count`` is
    the number of bars seen, saturating at ``lookback + 1`` (from then on every bar has a
    value).
    """

    __slots__ = (
        "_alpha",
        "_beta",
        "_count",
        "_lookback",
        "_period",
        "_prev",
        "_prev_close",
        "_st",
    )

    _wilder = LazyEntry(wilder_tr)

    def __init__(self, timeperiod: int, unstable: int = 0) -> None:
        self._period = timeperiod
        self._lookback = timeperiod + unstable
        self._alpha, self._beta = wilder_coefficients(timeperiod)
        self._count = 0
        self._prev = 0.0
        self._prev_close = NAN
        self._st: FloatArray | None = None

    def _step(self, high: float, low: float, close: float) -> float:
        """Advance one bar; return the ATR (NaN before the seed bar)."""
        i = self._count
        prev_close = self._prev_close
        self._prev_close = close
        if i > self._period:
            if i <= self._lookback:
                self._count = i + 1
            prev: float = self._wilder(self._prev, high, low, prev_close, self._alpha, self._beta)
            self._prev = prev
            return prev
        self._count = i + 1
        if i == 0:
            return NAN
        total = self._prev + _true_range(high, low, prev_close)
        if i < self._period:
            self._prev = total
            return NAN
        prev = total / self._period
        self._prev = prev
        return prev


class AtrStream(_AtrCore):
    """Incremental ATR (see :class:`_AtrCore`); from the first value on, one jitted step."""

    __slots__ = ()

    def update(self, high: float, low: float, close: float) -> float:
        value = self._step(high, low, close)
        if self._count <= self._lookback:
            return NAN
        self._st = np.array([value, close, self._alpha, self._beta, 0.0])
        self.__class__ = _AtrSteady
        return value


class _AtrSteady(AtrStream):
    """ATR (and NATR) after the first value: every update is :func:`atr_steady_step`."""

    __slots__ = ()

    _steady = LazyEntry(atr_steady_step)

    def update(self, high: float, low: float, close: float) -> float:
        return self._steady(self._st, high, low, close)  # type: ignore[no-any-return]


atr = define(
    "atr",
    group="volatility",
    summary="Average True Range (Wilder smoothing)",
    inputs=("high", "low", "close"),
    outputs=("real",),
    params=(int_param("timeperiod", 14, 1),),
    lookback=lambda timeperiod, unstable=0: timeperiod + unstable,
    kernel=atr_kernel,
    kernel_2d=atr_kernel_2d,
    stream=AtrStream,
    unstable=("ATR",),
    source=_SOURCE.format("ATR"),
)


@jit
def natr_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    unstable: int,
    out: FloatArray,
) -> None:
    """Normalised ATR: ``ATR / close * 100`` (0.0 where close is exactly 0).

    As in TA-Lib, ``timeperiod == 1`` returns the ATR(1) itself, not normalised.
    """
    n = high.shape[0]
    if n == 0:
        return
    lookback = timeperiod + unstable
    start = begin3(high, low, close) + lookback
    fill_nan(out, start)
    if start >= n:
        return
    atr_into(high, low, close, timeperiod, start - lookback + 1, start, out)
    if timeperiod <= 1:
        return
    o = out[start:]
    cl = close[start:]
    for i in range(n - start):
        c = cl[i]
        o[i] = o[i] / c * 100.0 if c != 0.0 else 0.0


@parallel_jit
def natr_kernel_2d(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    unstable: int,
    out: FloatArray,
) -> None:
    for j in prange(high.shape[1]):
        natr_kernel(high[:, j], low[:, j], close[:, j], timeperiod, unstable, out[:, j])


class NatrStream(_AtrCore):
    """Incremental NATR: the ATR stream divided by the bar's close, times 100."""

    __slots__ = ()

    def update(self, high: float, low: float, close: float) -> float:
        value = self._step(high, low, close)
        if self._count <= self._lookback:
            return NAN
        normalise = 1.0 if self._period > 1 else 0.0
        self._st = np.array([value, close, self._alpha, self._beta, normalise])
        self.__class__ = _NatrSteady
        if self._period <= 1:
            return value
        if close != 0.0:
            return value / close * 100.0
        return 0.0


class _NatrSteady(NatrStream):
    """NATR after the first value: every update is :func:`atr_steady_step`."""

    __slots__ = ()

    _steady = LazyEntry(atr_steady_step)

    def update(self, high: float, low: float, close: float) -> float:
        return self._steady(self._st, high, low, close)  # type: ignore[no-any-return]


natr = define(
    "natr",
    group="volatility",
    summary="Normalized Average True Range (ATR / close * 100)",
    inputs=("high", "low", "close"),
    outputs=("real",),
    params=(int_param("timeperiod", 14, 1),),
    lookback=lambda timeperiod, unstable=0: timeperiod + unstable,
    kernel=natr_kernel,
    kernel_2d=natr_kernel_2d,
    stream=NatrStream,
    unstable=("NATR",),
    source=_SOURCE.format("NATR"),
)

# ---------------------------------------------------------------------------------------------
# supertrend
# ---------------------------------------------------------------------------------------------


@jit
def supertrend_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    multiplier: float,
    unstable: int,
    out: FloatArray,
    trend: IntArray,
) -> None:
    """SuperTrend line and trend (+1 long, -1 short, 0 during warm-up), TA-Lib 0.8 rules.

    Bands are ``(high + low) / 2 ± multiplier · ATR``; each ratchets toward price and is
    released only by a previous close on its far side; the trend starts long on the first
    output bar and flips when the close crosses the band it follows.
    """
    n = high.shape[0]
    if n == 0:
        return
    lookback = timeperiod + unstable
    start = begin3(high, low, close) + lookback
    fill_nan(out, start)
    fill_zero(trend, start)
    if start >= n:
        return
    first_tr = start - lookback + 1
    hs = high[first_tr:]
    ls = low[first_tr:]
    pcs = close[first_tr - 1 : n - 1]
    total = 0.0
    for i in range(timeperiod):
        total += true_range(hs[i], ls[i], pcs[i])
    prev_atr = total / timeperiod
    beta = (timeperiod - 1) / timeperiod
    alpha = 1.0 - beta
    for i in range(timeperiod, lookback):
        prev_atr = fma(beta, prev_atr, alpha * true_range(hs[i], ls[i], pcs[i]))
    median = (high[start] + low[start]) / 2.0
    band = multiplier * prev_atr
    final_upper = median + band
    final_lower = median - band
    up = True
    prev_close = close[start]
    out[start] = final_lower
    trend[start] = 1
    hs = high[start + 1 :]
    ls = low[start + 1 :]
    cs = close[start + 1 :]
    os = out[start + 1 :]
    trs = trend[start + 1 :]
    for i in range(n - start - 1):
        h = hs[i]
        lo = ls[i]
        prev_atr = fma(beta, prev_atr, alpha * true_range(h, lo, prev_close))
        median = (h + lo) / 2.0
        band = multiplier * prev_atr
        basic_upper = median + band
        basic_lower = median - band
        if basic_upper < final_upper or prev_close > final_upper:
            final_upper = basic_upper
        if basic_lower > final_lower or prev_close < final_lower:
            final_lower = basic_lower
        c = cs[i]
        if up:
            if c < final_lower:
                up = False
        elif c > final_upper:
            up = True
        if up:
            os[i] = final_lower
            trs[i] = 1
        else:
            os[i] = final_upper
            trs[i] = -1
        prev_close = c


@parallel_jit
def supertrend_kernel_2d(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    multiplier: float,
    unstable: int,
    out: FloatArray,
    trend: IntArray,
) -> None:
    for j in prange(high.shape[1]):
        supertrend_kernel(
            high[:, j],
            low[:, j],
            close[:, j],
            timeperiod,
            multiplier,
            unstable,
            out[:, j],
            trend[:, j],
        )


class SupertrendStream(_AtrCore):
    """Incremental SuperTrend: the ATR warm-up in Python, then a jitted steady state.

    On the first output bar the bands are seeded and the stream turns into
    :class:`_SupertrendSteady`, whose update is one call of
    :func:`supertrend_steady_step` on the state array ``_st``.
    """

    __slots__ = ("_multiplier",)

    def __init__(self, timeperiod: int, multiplier: float, unstable: int = 0) -> None:
        super().__init__(timeperiod, unstable)
        self._multiplier = multiplier

    def update(self, high: float, low: float, close: float) -> tuple[float, int]:
        i = self._count
        atr_value = self._step(high, low, close)
        if i < self._lookback:
            return NAN, 0
        median = (high + low) / 2.0
        band = self._multiplier * atr_value
        lower = median - band
        self._st = np.array(
            [atr_value, median + band, lower, 1.0, close, self._alpha, self._beta, self._multiplier]
        )
        self.__class__ = _SupertrendSteady
        return lower, 1


class _SupertrendSteady(SupertrendStream):
    """SuperTrend after its first output: every update is one jitted step."""

    __slots__ = ()

    _steady = LazyEntry(supertrend_steady_step)

    def update(self, high: float, low: float, close: float) -> tuple[float, int]:
        return self._steady(self._st, high, low, close)  # type: ignore[no-any-return]


supertrend = define(
    "supertrend",
    group="volatility",
    summary="SuperTrend (ATR bands that ratchet with the trend) and its direction",
    inputs=("high", "low", "close"),
    outputs=("supertrend", "trend"),
    params=(
        int_param("timeperiod", 10, 2),
        float_param("multiplier", 3.0, 0.0, TA_REAL_MAX),
    ),
    lookback=lambda timeperiod, multiplier, unstable=0: timeperiod + unstable,
    kernel=supertrend_kernel,
    kernel_2d=supertrend_kernel_2d,
    stream=SupertrendStream,
    int_outputs=("trend",),
    unstable=("ATR",),
    source=_SOURCE.format("SUPERTREND") + "; first trend long as in ta4j",
)

# ---------------------------------------------------------------------------------------------
# kc (Keltner Channels)
# ---------------------------------------------------------------------------------------------


def kc_lookback(
    timeperiod: int, atrperiod: int, nbdev: float, ema_unstable: int = 0, atr_unstable: int = 0
) -> int:
    """TA_KC_Lookback: the longer of the EMA's and the ATR's lookbacks."""
    return max(timeperiod - 1 + ema_unstable, atrperiod + atr_unstable)


@jit
def kc_kernel(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    atrperiod: int,
    nbdev: float,
    ema_unstable: int,
    atr_unstable: int,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> None:
    """Keltner Channels: EMA(typical price) ± nbdev · ATR, TA-Lib 0.8 seeding.

    The warm-up is the longer of the two legs' lookbacks, and each leg is seeded at its own
    lookback before the first output -- so the shorter leg starts later than it would alone
    (TA_KC enters TA_EMA and TA_ATR at their own lookbacks).
    """
    n = high.shape[0]
    if n == 0:
        return
    ema_lookback = timeperiod - 1 + ema_unstable
    atr_lookback = atrperiod + atr_unstable
    lookback = max(ema_lookback, atr_lookback)
    start = begin3(high, low, close) + lookback
    fill_nan(upper, start)
    fill_nan(middle, start)
    fill_nan(lower, start)
    if start >= n:
        return
    # ATR leg into `upper` (scratch), then the EMA of the typical price into `middle`.
    atr_into(high, low, close, atrperiod, start - atr_lookback + 1, start, upper)
    k = 2.0 / (timeperiod + 1)
    first_tp = start - ema_lookback
    hs = high[first_tp:]
    ls = low[first_tp:]
    cs = close[first_tp:]
    ms = middle[first_tp:]
    total = 0.0
    for i in range(timeperiod):
        total += (hs[i] + ls[i] + cs[i]) / 3.0
    prev = total / timeperiod
    for i in range(timeperiod, ema_lookback + 1):
        prev = fma((hs[i] + ls[i] + cs[i]) / 3.0 - prev, k, prev)
    ms[ema_lookback] = prev
    for i in range(ema_lookback + 1, n - first_tp):
        prev = fma((hs[i] + ls[i] + cs[i]) / 3.0 - prev, k, prev)
        ms[i] = prev
    us = upper[start:]
    mids = middle[start:]
    lows = lower[start:]
    for i in range(n - start):
        width = us[i] * nbdev
        mid = mids[i]
        us[i] = mid + width
        lows[i] = mid - width


@parallel_jit
def kc_kernel_2d(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    atrperiod: int,
    nbdev: float,
    ema_unstable: int,
    atr_unstable: int,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> None:
    for j in prange(high.shape[1]):
        kc_kernel(
            high[:, j],
            low[:, j],
            close[:, j],
            timeperiod,
            atrperiod,
            nbdev,
            ema_unstable,
            atr_unstable,
            upper[:, j],
            middle[:, j],
            lower[:, j],
        )


class KcStream(Stream):
    """Incremental Keltner Channels: an EMA leg and an ATR leg, each seeded at its own bar.

    Bars are numbered from 0 at the first valid bar; with ``L`` the indicator's lookback,
    the ATR leg sums True Ranges from bar ``L - atr_lookback + 1`` and the EMA leg sums
    typical prices from bar ``L - ema_lookback``, exactly where the kernel seeds them.
    """

    __slots__ = (
        "_alpha",
        "_atr",
        "_atr_end",
        "_atr_start",
        "_atrperiod",
        "_beta",
        "_count",
        "_ema",
        "_ema_end",
        "_ema_start",
        "_k",
        "_lookback",
        "_nbdev",
        "_prev_close",
        "_st",
        "_timeperiod",
    )

    def __init__(
        self,
        timeperiod: int,
        atrperiod: int,
        nbdev: float,
        ema_unstable: int = 0,
        atr_unstable: int = 0,
    ) -> None:
        lookback = kc_lookback(timeperiod, atrperiod, nbdev, ema_unstable, atr_unstable)
        self._timeperiod = timeperiod
        self._atrperiod = atrperiod
        self._nbdev = nbdev
        self._lookback = lookback
        self._atr_start = lookback - atrperiod - atr_unstable + 1
        self._atr_end = self._atr_start + atrperiod - 1  # bar of the ATR seed
        self._ema_start = lookback - (timeperiod - 1 + ema_unstable)
        self._ema_end = self._ema_start + timeperiod - 1  # bar of the EMA seed
        self._alpha, self._beta = wilder_coefficients(atrperiod)
        self._k = 2.0 / (timeperiod + 1)
        self._count = 0
        self._atr = 0.0
        self._ema = 0.0
        self._prev_close = NAN
        self._st: FloatArray | None = None

    _wilder = LazyEntry(wilder_tr)
    _ema_step = LazyEntry(ema_step)

    def update(self, high: float, low: float, close: float) -> tuple[float, float, float]:
        i = self._count
        prev_close = self._prev_close
        self._prev_close = close
        self._count = i + 1
        if i >= self._atr_start:
            if i > self._atr_end:
                self._atr = self._wilder(self._atr, high, low, prev_close, self._alpha, self._beta)
            else:
                total = self._atr + _true_range(high, low, prev_close)
                self._atr = total / self._atrperiod if i == self._atr_end else total
        if i >= self._ema_start:
            typical = (high + low + close) / 3.0
            if i > self._ema_end:
                self._ema = self._ema_step(self._ema, typical, self._k)
            else:
                total = self._ema + typical
                self._ema = total / self._timeperiod if i == self._ema_end else total
        if i < self._lookback:
            return NAN, NAN, NAN
        ema = self._ema
        width = self._atr * self._nbdev
        st = [self._atr, ema, close, self._alpha, self._beta, self._k, self._nbdev]
        self._st = np.array(st)
        self.__class__ = _KcSteady
        return ema + width, ema, ema - width


class _KcSteady(KcStream):
    """Keltner Channels after the first output: every update is one jitted step."""

    __slots__ = ()

    _steady = LazyEntry(kc_steady_step)

    def update(self, high: float, low: float, close: float) -> tuple[float, float, float]:
        return self._steady(self._st, high, low, close)  # type: ignore[no-any-return]


kc = define(
    "kc",
    group="volatility",
    summary="Keltner Channels (EMA of typical price ± nbdev × ATR)",
    inputs=("high", "low", "close"),
    outputs=("upperband", "middleband", "lowerband"),
    params=(
        int_param("timeperiod", 20, 2),
        int_param("atrperiod", 10, 1),
        # TA-Lib takes any real nbdev; a negative band width is refused here (issue 3).
        float_param("nbdev", 2.0, 0.0, TA_REAL_MAX),
    ),
    lookback=kc_lookback,
    kernel=kc_kernel,
    kernel_2d=kc_kernel_2d,
    stream=KcStream,
    aliases=("keltner",),
    unstable=("EMA", "ATR"),
    source=_SOURCE.format("KC"),
)

# ---------------------------------------------------------------------------------------------
# donchian
# ---------------------------------------------------------------------------------------------


@jit
def _donchian_blocks(
    high: FloatArray,
    low: FloatArray,
    timeperiod: int,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> None:
    """Window extremes by van Herk / Gil-Werman blocks: O(n), three compares per bar.

    Within blocks of ``timeperiod`` bars, prefix extremes go into ``upper``/``lower`` and
    suffix extremes into ``middle``/a scratch array; the window ending at ``t`` spans at
    most two blocks, so its extreme is the better of the suffix at its first bar and the
    prefix at ``t``. No branch depends on the prices, unlike a deque (pops) or TA-Lib's
    cached extreme (rescans whenever the extreme leaves the window). Only for NaN-free
    input, where it gives TA-Lib's values exactly.
    """
    n = high.shape[0]
    p = timeperiod
    suffix_low = np.empty(n)
    for b in range(0, n, p):
        e = min(b + p, n)
        k = e - b
        hs = high[b:e]
        ls = low[b:e]
        us = upper[b:e]
        los = lower[b:e]
        ms = middle[b:e]
        ss = suffix_low[b:e]
        hi = hs[0]
        lo = ls[0]
        us[0] = hi
        los[0] = lo
        for i in range(1, k):
            v = hs[i]
            hi = v if v > hi else hi
            us[i] = hi
            w = ls[i]
            lo = w if w < lo else lo
            los[i] = lo
        hi = hs[k - 1]
        lo = ls[k - 1]
        ms[k - 1] = hi
        ss[k - 1] = lo
        for j in range(1, k):
            i = k - 1 - j
            v = hs[i]
            hi = v if v > hi else hi
            ms[i] = hi
            w = ls[i]
            lo = w if w < lo else lo
            ss[i] = lo
    # Backwards, so middle[i] (a suffix maximum) is read before middle[i + p - 1] is written.
    m = n - p + 1
    suffix_high = middle[:m]
    suffix_lo = suffix_low[:m]
    ub = upper[p - 1 :]
    lb = lower[p - 1 :]
    mb = middle[p - 1 :]
    for j in range(m):
        i = m - 1 - j
        a = suffix_high[i]
        g = ub[i]
        hi = a if a > g else g
        a = suffix_lo[i]
        g = lb[i]
        lo = a if a < g else g
        ub[i] = hi
        lb[i] = lo
        mb[i] = (hi + lo) / 2.0


@jit
def _donchian_scan(
    high: FloatArray,
    low: FloatArray,
    timeperiod: int,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> None:
    """TA-Lib's own algorithm, for input holding NaN: its NaN rules come with it.

    The extreme and its bar are cached and the window rescanned when that bar leaves it;
    so a NaN arriving is ignored (comparisons are false) but a rescan that starts on a
    NaN bar yields NaN until that bar leaves the window.
    """
    n = high.shape[0]
    p = timeperiod
    highest_idx = -1
    highest = 0.0
    lowest_idx = -1
    lowest = 0.0
    for today in range(p - 1, n):
        trailing = today - p + 1
        tmp = high[today]
        if highest_idx < trailing:
            highest_idx = trailing
            highest = high[trailing]
            for i in range(trailing + 1, today + 1):
                tmp = high[i]
                if tmp > highest:
                    highest_idx = i
                    highest = tmp
        elif tmp >= highest:
            highest_idx = today
            highest = tmp
        tmp = low[today]
        if lowest_idx < trailing:
            lowest_idx = trailing
            lowest = low[trailing]
            for i in range(trailing + 1, today + 1):
                tmp = low[i]
                if tmp < lowest:
                    lowest_idx = i
                    lowest = tmp
        elif tmp <= lowest:
            lowest_idx = today
            lowest = tmp
        upper[today] = highest
        lower[today] = lowest
        middle[today] = (highest + lowest) / 2.0


@jit
def donchian_kernel(
    high: FloatArray,
    low: FloatArray,
    timeperiod: int,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> None:
    """Donchian Channels: highest high, midpoint and lowest low of the last ``timeperiod`` bars.

    NaN-free input (the usual case) takes the O(n) block algorithm; input with a NaN
    after the first valid bar takes TA-Lib's scan so the NaN behaviour stays identical.
    """
    n = high.shape[0]
    if n == 0:
        return
    first = begin2(high, low)
    start = first + timeperiod - 1
    fill_nan(upper, start)
    fill_nan(middle, start)
    fill_nan(lower, start)
    if start >= n:
        return
    hs = high[first:]
    ls = low[first:]
    has_nan = False
    for i in range(n - first):
        if hs[i] != hs[i] or ls[i] != ls[i]:
            has_nan = True
            break
    if has_nan:
        _donchian_scan(hs, ls, timeperiod, upper[first:], middle[first:], lower[first:])
    else:
        _donchian_blocks(hs, ls, timeperiod, upper[first:], middle[first:], lower[first:])
        # The blocks' prefix pass wrote into the warm-up bars: put the NaN back.
        fill_nan(upper, start)
        fill_nan(middle, start)
        fill_nan(lower, start)


@parallel_jit
def donchian_kernel_2d(
    high: FloatArray,
    low: FloatArray,
    timeperiod: int,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> None:
    for j in prange(high.shape[1]):
        donchian_kernel(high[:, j], low[:, j], timeperiod, upper[:, j], middle[:, j], lower[:, j])


# Donchian stream state: ist = [period, t, h_head, h_tail, h_len, l_head, l_tail, l_len,
# highest bar, lowest bar, then the two deques' bar rings (capacity period + 1 each)];
# fst = [highest, lowest, then the two deques' value rings, then the raw high and low
# rings of the window (period each)].
_DONCHIAN_INTS = 10
_DONCHIAN_FLOATS = 2


def _donchian_state(timeperiod: int) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    cap = timeperiod + 1
    ist = np.zeros(_DONCHIAN_INTS + 2 * cap, dtype=np.int64)
    ist[0] = timeperiod
    ist[8] = -1
    ist[9] = -1
    fst = np.zeros(_DONCHIAN_FLOATS + 2 * cap + 2 * timeperiod)
    return fst, ist


@jit
def _donchian_push(
    fst: FloatArray, ist: npt.NDArray[np.int64], side: int, t: int, value: float
) -> None:
    """Push bar ``t`` into the max (side 0) or min (side 1) deque and drop the expired bar.

    The deque keeps equal values, so its front is the earliest bar of the extreme, as
    TA-Lib's strict-comparison rescan finds it; NaN bars are not pushed.
    """
    period = ist[0]
    cap = period + 1
    h = 2 + 3 * side
    head = ist[h]
    tail = ist[h + 1]
    size = ist[h + 2]
    bars = _DONCHIAN_INTS + side * cap
    vals = _DONCHIAN_FLOATS + side * cap
    if value == value:
        while size > 0:
            back = tail - 1 if tail > 0 else cap - 1
            last = fst[vals + back]
            if (last < value) if side == 0 else (last > value):
                tail = back
                size -= 1
            else:
                break
        ist[bars + tail] = t
        fst[vals + tail] = value
        tail = tail + 1 if tail + 1 < cap else 0
        size += 1
    if size > 0 and ist[bars + head] < t - period + 1:
        head = head + 1 if head + 1 < cap else 0
        size -= 1
    ist[h] = head
    ist[h + 1] = tail
    ist[h + 2] = size


@jit
def donchian_step(
    fst: FloatArray, ist: npt.NDArray[np.int64], high: float, low: float
) -> tuple[float, float, float]:
    """One Donchian bar for the stream: the deques answer TA-Lib's rescans (amortised O(1)).

    The cached ``(bar, extreme)`` pairs follow TA-Lib's rules exactly -- a rescan that
    starts on a NaN bar yields NaN, a NaN met otherwise is skipped -- which is what keeps
    the stream equal to the batch kernel on NaN input too.
    """
    period = ist[0]
    cap = period + 1
    t = ist[1]
    ist[1] = t + 1
    trailing = t - period + 1
    raw = _DONCHIAN_FLOATS + 2 * cap
    slot = t % period
    fst[raw + slot] = high
    fst[raw + period + slot] = low
    _donchian_push(fst, ist, 0, t, high)
    _donchian_push(fst, ist, 1, t, low)
    if trailing < 0:
        return NAN, NAN, NAN
    oldest = slot + 1 if slot + 1 < period else 0
    if ist[8] < trailing:
        first = fst[raw + oldest]
        if first == first:
            ist[8] = ist[_DONCHIAN_INTS + ist[2]]
            fst[0] = fst[_DONCHIAN_FLOATS + ist[2]]
        else:
            ist[8] = trailing
            fst[0] = first
    elif high >= fst[0]:
        ist[8] = t
        fst[0] = high
    if ist[9] < trailing:
        first = fst[raw + period + oldest]
        if first == first:
            ist[9] = ist[_DONCHIAN_INTS + cap + ist[5]]
            fst[1] = fst[_DONCHIAN_FLOATS + cap + ist[5]]
        else:
            ist[9] = trailing
            fst[1] = first
    elif low <= fst[1]:
        ist[9] = t
        fst[1] = low
    highest = fst[0]
    lowest = fst[1]
    return highest, (highest + lowest) / 2.0, lowest


class DonchianStream(Stream):
    """Incremental Donchian Channels: :func:`donchian_step` on two small state arrays.

    Deques of ``(bar, value)`` answer TA-Lib's rescans, so each update is amortised O(1)
    whatever the trend (TA-Lib's own stream rescans the window).
    """

    __slots__ = ("_fst", "_ist")

    _step_fn = LazyEntry(donchian_step)

    def __init__(self, timeperiod: int) -> None:
        self._fst, self._ist = _donchian_state(timeperiod)

    def update(self, high: float, low: float) -> tuple[float, float, float]:
        return self._step_fn(self._fst, self._ist, high, low)  # type: ignore[no-any-return]


donchian = define(
    "donchian",
    group="volatility",
    summary="Donchian Channels (highest high, midpoint, lowest low of the window)",
    inputs=("high", "low"),
    outputs=("upperband", "middleband", "lowerband"),
    params=(int_param("timeperiod", 20, 2),),
    lookback=lambda timeperiod: timeperiod - 1,
    kernel=donchian_kernel,
    kernel_2d=donchian_kernel_2d,
    stream=DonchianStream,
    source=_SOURCE.format("DONCHIAN") + "; O(n) van Herk/Gil-Werman window extremes",
)
