"""Overlap studies: moving averages and bands drawn on the price scale.

TA-Lib-exact ports (TA-Lib C sources ``src/ta_func/ta_<NAME>.c``, called through the
ta-lib 0.8.2 Python wrapper): sma, ema, wma, dema, tema, trima, kama, t3, bbands, macd,
linearreg, stoch.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import prange

from moonlight.indicators import _ma
from moonlight.indicators._define import define, float_param, int_param
from moonlight.indicators._jit import jit, parallel_jit
from moonlight.indicators._kernels import begin1, fill_nan

FloatArray = npt.NDArray[np.float64]

_TA = "TA-Lib C ta_{}.c via the ta-lib 0.8.2 Python wrapper"

# ---------------------------------------------------------------------------------------
# sma
# ---------------------------------------------------------------------------------------


@jit
def sma_kernel(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    """Simple moving average of ``real`` over ``timeperiod`` bars into ``out``."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + timeperiod - 1
    fill_nan(out, first)
    _ma.sma_core(real[beg:], 0, n - beg - 1, timeperiod, out[first:])


@parallel_jit
def sma_kernel_2d(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        sma_kernel(real[:, j], timeperiod, out[:, j])


sma = define(
    "sma",
    group="overlap",
    summary="Simple moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=_ma.sma_lookback,
    kernel=sma_kernel,
    kernel_2d=sma_kernel_2d,
    stream=_ma.SmaStream,
    source=_TA.format("SMA"),
)

# ---------------------------------------------------------------------------------------
# ema
# ---------------------------------------------------------------------------------------


@jit
def ema_kernel(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    """Exponential moving average (k = 2/(timeperiod+1), seeded with the SMA)."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + timeperiod - 1 + unstable
    fill_nan(out, first)
    k = 2.0 / (timeperiod + 1)
    _ma.ema_core(real[beg:], 0, n - beg - 1, timeperiod, k, unstable, out[first:])


@parallel_jit
def ema_kernel_2d(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        ema_kernel(real[:, j], timeperiod, unstable, out[:, j])


ema = define(
    "ema",
    group="overlap",
    summary="Exponential moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=_ma.ema_lookback,
    kernel=ema_kernel,
    kernel_2d=ema_kernel_2d,
    stream=_ma.EmaStream,
    source=_TA.format("EMA"),
    unstable=("EMA",),
)

# ---------------------------------------------------------------------------------------
# wma
# ---------------------------------------------------------------------------------------


@jit
def wma_kernel(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    """Linearly weighted moving average (weights 1..timeperiod, newest heaviest)."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + timeperiod - 1
    fill_nan(out, first)
    _ma.wma_core(real[beg:], 0, n - beg - 1, timeperiod, out[first:])


@parallel_jit
def wma_kernel_2d(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        wma_kernel(real[:, j], timeperiod, out[:, j])


wma = define(
    "wma",
    group="overlap",
    summary="Weighted moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=lambda timeperiod: timeperiod - 1,
    kernel=wma_kernel,
    kernel_2d=wma_kernel_2d,
    stream=_ma.WmaStream,
    source=_TA.format("WMA"),
)

# ---------------------------------------------------------------------------------------
# dema
# ---------------------------------------------------------------------------------------


@jit
def dema_kernel(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    """Double EMA (Mulloy): 2*EMA - EMA(EMA)."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + 2 * (timeperiod - 1 + unstable)
    fill_nan(out, first)
    _ma.dema_core(real[beg:], 0, n - beg - 1, timeperiod, unstable, out[first:])


@parallel_jit
def dema_kernel_2d(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        dema_kernel(real[:, j], timeperiod, unstable, out[:, j])


dema = define(
    "dema",
    group="overlap",
    summary="Double exponential moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=lambda timeperiod, unstable: 2 * (timeperiod - 1 + unstable),
    kernel=dema_kernel,
    kernel_2d=dema_kernel_2d,
    stream=_ma.DemaStream,
    source=_TA.format("DEMA"),
    unstable=("EMA",),
)

# ---------------------------------------------------------------------------------------
# tema
# ---------------------------------------------------------------------------------------


@jit
def tema_kernel(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    """Triple EMA (Mulloy): 3*EMA - 3*EMA(EMA) + EMA(EMA(EMA))."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + 3 * (timeperiod - 1 + unstable)
    fill_nan(out, first)
    _ma.tema_core(real[beg:], 0, n - beg - 1, timeperiod, unstable, out[first:])


@parallel_jit
def tema_kernel_2d(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        tema_kernel(real[:, j], timeperiod, unstable, out[:, j])


tema = define(
    "tema",
    group="overlap",
    summary="Triple exponential moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=lambda timeperiod, unstable: 3 * (timeperiod - 1 + unstable),
    kernel=tema_kernel,
    kernel_2d=tema_kernel_2d,
    stream=_ma.TemaStream,
    source=_TA.format("TEMA"),
    unstable=("EMA",),
)

# ---------------------------------------------------------------------------------------
# trima
# ---------------------------------------------------------------------------------------


@jit
def trima_kernel(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    """Triangular moving average (an SMA of an SMA, computed in one pass)."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + timeperiod - 1
    fill_nan(out, first)
    _ma.trima_core(real[beg:], 0, n - beg - 1, timeperiod, out[first:])


@parallel_jit
def trima_kernel_2d(real: FloatArray, timeperiod: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        trima_kernel(real[:, j], timeperiod, out[:, j])


trima = define(
    "trima",
    group="overlap",
    summary="Triangular moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=lambda timeperiod: timeperiod - 1,
    kernel=trima_kernel,
    kernel_2d=trima_kernel_2d,
    stream=_ma.TrimaStream,
    source=_TA.format("TRIMA"),
)

# ---------------------------------------------------------------------------------------
# kama
# ---------------------------------------------------------------------------------------


@jit
def kama_kernel(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    """Kaufman adaptive moving average (fast 2, slow 30, efficiency over timeperiod)."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + (unstable if timeperiod == 1 else timeperiod + unstable)
    fill_nan(out, first)
    _ma.kama_core(real[beg:], 0, n - beg - 1, timeperiod, unstable, out[first:])


@parallel_jit
def kama_kernel_2d(real: FloatArray, timeperiod: int, unstable: int, out: FloatArray) -> None:
    for j in prange(real.shape[1]):
        kama_kernel(real[:, j], timeperiod, unstable, out[:, j])


kama = define(
    "kama",
    group="overlap",
    summary="Kaufman adaptive moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 30, 1),),
    lookback=_ma.kama_lookback,
    kernel=kama_kernel,
    kernel_2d=kama_kernel_2d,
    stream=_ma.KamaStream,
    source=_TA.format("KAMA"),
    unstable=("KAMA",),
)

# ---------------------------------------------------------------------------------------
# t3
# ---------------------------------------------------------------------------------------


@jit
def t3_kernel(
    real: FloatArray, timeperiod: int, vfactor: float, unstable: int, out: FloatArray
) -> None:
    """Tillson T3: six cascaded EMAs combined with the volume factor ``vfactor``."""
    n = real.shape[0]
    if n == 0:
        return
    beg = begin1(real)
    first = beg + 6 * (timeperiod - 1) + unstable
    fill_nan(out, first)
    _ma.t3_core(real[beg:], 0, n - beg - 1, timeperiod, vfactor, unstable, out[first:])


@parallel_jit
def t3_kernel_2d(
    real: FloatArray, timeperiod: int, vfactor: float, unstable: int, out: FloatArray
) -> None:
    for j in prange(real.shape[1]):
        t3_kernel(real[:, j], timeperiod, vfactor, unstable, out[:, j])


t3 = define(
    "t3",
    group="overlap",
    summary="Tillson T3 moving average",
    inputs=("real",),
    outputs=("real",),
    params=(int_param("timeperiod", 5, 1), float_param("vfactor", 0.7, 0.0, 1.0)),
    lookback=lambda timeperiod, vfactor, unstable: 6 * (timeperiod - 1) + unstable,
    kernel=t3_kernel,
    kernel_2d=t3_kernel_2d,
    stream=_ma.T3Stream,
    source=_TA.format("T3"),
    unstable=("T3",),
)
