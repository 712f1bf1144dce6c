"""Small Numba helpers every kernel uses to follow TA-Lib's Python-wrapper conventions.

TA-Lib's wrapper (``talib/_func.pxi``) skips the leading bars where *any* input is NaN
(``check_begidx1..4``: the first bar where all inputs are non-NaN, or the last bar when
there is none), runs the C function on the rest, and writes NaN into the first
``begin + lookback`` outputs. NaN that appears later is not special-cased: the C
arithmetic decides (a running sum stays NaN forever, a max() comparison ignores it), so
kernels reproduce it by doing the C code's operations in the C code's order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from moonlight.indicators._jit import jit

FloatArray = npt.NDArray[np.float64]


@jit
def begin1(a: FloatArray) -> int:
    """First bar where ``a`` is not NaN (TA-Lib ``check_begidx1``); last bar if none."""
    n = a.shape[0]
    for i in range(n):
        if a[i] == a[i]:
            return i
    return n - 1  # type: ignore[no-any-return]


@jit
def begin2(a: FloatArray, b: FloatArray) -> int:
    """First bar where neither input is NaN (TA-Lib ``check_begidx2``); last bar if none."""
    n = a.shape[0]
    for i in range(n):
        if a[i] == a[i] and b[i] == b[i]:
            return i
    return n - 1  # type: ignore[no-any-return]


@jit
def begin3(a: FloatArray, b: FloatArray, c: FloatArray) -> int:
    """First bar where no input is NaN (TA-Lib ``check_begidx3``); last bar if none."""
    n = a.shape[0]
    for i in range(n):
        if a[i] == a[i] and b[i] == b[i] and c[i] == c[i]:
            return i
    return n - 1  # type: ignore[no-any-return]


@jit
def begin4(a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray) -> int:
    """First bar where no input is NaN (TA-Lib ``check_begidx4``); last bar if none."""
    n = a.shape[0]
    for i in range(n):
        if a[i] == a[i] and b[i] == b[i] and c[i] == c[i] and d[i] == d[i]:
            return i
    return n - 1  # type: ignore[no-any-return]


@jit
def fill_nan(out: FloatArray, stop: int) -> None:
    """Write NaN into ``out[:stop]`` (clipped to the array): the warm-up bars."""
    m = min(stop, out.shape[0])
    for i in range(m):
        out[i] = np.nan


@jit
def fill_zero(out: npt.NDArray[np.int32], stop: int) -> None:
    """Write 0 into ``out[:stop]``: warm-up of integer outputs, as TA-Lib's ``make_int_array``."""
    m = min(stop, out.shape[0])
    for i in range(m):
        out[i] = 0
