"""Input validation and conversion shared by every public indicator function.

Kernels only ever see C-contiguous float64 arrays of one length and parameters that are
already range-checked; this module is the one place that turns what a user passes
(numpy arrays of any numeric dtype, lists, pandas Series/DataFrames, 1-D or 2-D) into
that, and that puts a pandas index back on the results. Every error is a ``ValueError``
naming the offending argument, because a quant swapping ``talib`` for MoonLight must
see at once which argument is wrong.

pandas is never imported here: an object can only be a pandas object if pandas is
already in ``sys.modules``, so a numpy-only user never pays pandas' import time.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_FLOAT64 = np.dtype(np.float64)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Converted inputs of one call plus what is needed to shape the outputs.

    ``arrays`` are C-contiguous float64, all 1-D of length ``bars`` or all 2-D of shape
    ``(bars, series)``. ``index``/``columns`` are the pandas labels of the first pandas
    input (None for numpy input); ``frame`` tells whether that input was a DataFrame.
    """

    arrays: tuple[FloatArray, ...]
    index: Any
    columns: Any
    frame: bool

    @property
    def ndim(self) -> int:
        return int(self.arrays[0].ndim)


def _pandas_kind(value: object) -> str | None:
    """``"series"``, ``"frame"`` or None, without importing pandas."""
    pd = sys.modules.get("pandas")
    if pd is None:
        return None
    if isinstance(value, pd.Series):
        return "series"
    if isinstance(value, pd.DataFrame):
        return "frame"
    return None


def as_float_array(name: str, value: object) -> FloatArray:
    """Convert one input to a C-contiguous float64 array of 1 or 2 dimensions.

    Integers and float32 are converted; booleans, strings, objects, complex numbers,
    scalars and arrays of 3 or more dimensions raise ``ValueError`` naming ``name``.
    """
    kind = _pandas_kind(value)
    if kind is not None:
        raw = value.to_numpy()  # type: ignore[attr-defined]
    else:
        try:
            raw = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: cannot be read as a numeric array ({exc})") from exc
    dtype = raw.dtype
    if dtype.kind not in "iuf":
        raise ValueError(
            f"{name}: expected numeric data (float or integer), got dtype {dtype} "
            f"({type(value).__name__})"
        )
    if raw.ndim not in (1, 2):
        raise ValueError(
            f"{name}: expected a 1-D array (bars) or a 2-D array (bars x series), "
            f"got {raw.ndim} dimension(s) with shape {raw.shape}"
        )
    return np.ascontiguousarray(raw, dtype=_FLOAT64)


def prepare(names: Sequence[str], values: Sequence[object]) -> Prepared:
    """Convert every input of one call and check that their shapes agree."""
    arrays: list[FloatArray] = []
    index: Any = None
    columns: Any = None
    frame = False
    found_pandas = False
    for name, value in zip(names, values, strict=True):
        kind = _pandas_kind(value)
        if kind is not None and not found_pandas:
            found_pandas = True
            index = value.index  # type: ignore[attr-defined]
            frame = kind == "frame"
            columns = value.columns if frame else None  # type: ignore[attr-defined]
        arrays.append(as_float_array(name, value))
    first = arrays[0]
    for name, array in zip(names[1:], arrays[1:], strict=True):
        if array.shape != first.shape:
            raise ValueError(
                f"{name}: shape {array.shape} differs from {names[0]}'s shape {first.shape}; "
                "every input must have the same number of bars (and series)"
            )
    return Prepared(tuple(arrays), index, columns, frame)


def wrap(prepared: Prepared, outputs: Sequence[npt.NDArray[Any]], names: Sequence[str]) -> Any:
    """Return outputs as the caller expects: pandas labels back on, one array or a tuple.

    A Series input gives Series on the same index (a tuple of them, each named after its
    output, for several outputs -- TA-Lib's order); a DataFrame input gives DataFrames
    with the same index and columns.
    """
    if prepared.index is None:
        result: list[Any] = list(outputs)
    else:
        import pandas as pd  # type: ignore[import-untyped, unused-ignore]  # already imported

        if prepared.frame:
            result = [
                pd.DataFrame(out, index=prepared.index, columns=prepared.columns) for out in outputs
            ]
        elif len(outputs) == 1:
            result = [pd.Series(outputs[0], index=prepared.index)]
        else:
            result = [
                pd.Series(out, index=prepared.index, name=name)
                for out, name in zip(outputs, names, strict=True)
            ]
    return result[0] if len(result) == 1 else tuple(result)


def check_int(name: str, value: object, minimum: int | None, maximum: int | None) -> int:
    """Return ``value`` as an int inside [minimum, maximum] or raise ``ValueError``.

    Integral floats (``3.0``) are accepted as TA-Lib's wrapper accepts them; booleans,
    fractions and anything non-numeric are refused.
    """
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{name}: expected an integer, got a boolean ({value!r})")
    integral = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer()
    )
    if not integral:
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    number = int(value)  # type: ignore[call-overload]
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(f"{name}={number} is out of range [{minimum}, {maximum}]")
    return number  # type: ignore[no-any-return]


def check_float(name: str, value: object, minimum: float | None, maximum: float | None) -> float:
    """Return ``value`` as a finite float inside [minimum, maximum] or raise ``ValueError``."""
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{name}: expected a number, got a boolean ({value!r})")
    if not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name}: expected a finite number, got {number!r}")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(f"{name}={number!r} is out of range [{minimum}, {maximum}]")
    return number
