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
from moonlight.indicators._define import define, int_param
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
