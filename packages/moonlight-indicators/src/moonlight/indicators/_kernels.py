"""Small Numba helpers every kernel uses to follow TA-Lib's Python-wrapper conventions.

TA-Lib's wrapper (``talib/_func.pxi``) skips the leading bars where *any* input is NaN
(``check_begidx1..4``: the first bar where all inputs are non-NaN, or the last bar when
there is none), runs the C function on the rest, and writes NaN into the first
``begin + lookback`` outputs. NaN that appears later is not special-cased: the C
arithmetic decides (a running sum stays NaN forever, a max() comparison ignores it), so
kernels reproduce it by doing the C code's operations in the C code's order.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from math import isfinite
from typing import Any

import numpy as np
import numpy.typing as npt
from llvmlite import ir  # type: ignore[import-untyped]
from numba import config as numba_config
from numba.core import cgutils, types
from numba.extending import intrinsic

from moonlight.indicators._jit import jit

FloatArray = npt.NDArray[np.float64]


def py_func(dispatcher: Any) -> Any:
    """The Python body of a ``@jit`` function (itself under ``NUMBA_DISABLE_JIT=1``), so
    metadata and stream states are computed without compiling anything."""
    return getattr(dispatcher, "py_func", dispatcher)


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


# ---------------------------------------------------------------------------------------
# Fused multiply-add
# ---------------------------------------------------------------------------------------


@intrinsic
def _llvm_fma(typingctx: object, a: types.Type, b: types.Type, c: types.Type) -> Any:
    """``llvm.fma.f64``: ``a * b + c`` rounded once, in compiled code."""
    signature = types.float64(types.float64, types.float64, types.float64)

    def codegen(context: object, builder: Any, sig: object, args: list[Any]) -> object:
        function_type = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()] * 3)
        function = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module, function_type, "llvm.fma.f64"
        )
        return builder.call(function, args)

    return signature, codegen


def fma_py(a: float, b: float, c: float) -> float:
    """``a * b + c`` rounded once, exactly, in Python (warm-up paths, no-JIT runs)."""
    if isfinite(a) and isfinite(b) and isfinite(c):
        try:
            return float(Fraction(a) * Fraction(b) + Fraction(c))
        except OverflowError:
            pass
    return a * b + c


#: ``fma(a, b, c)`` for kernels: TA-Lib 0.8.2's C build contracts some ``a * b + c``
#: into one fused operation (KAMA's smoothing, for one); kernels that port such a line
#: call this to stay bit-identical. Python's version under ``NUMBA_DISABLE_JIT=1``.
fma: Callable[[float, float, float], float] = (
    fma_py if numba_config.DISABLE_JIT else _llvm_fma  # type: ignore[attr-defined, assignment]
)
