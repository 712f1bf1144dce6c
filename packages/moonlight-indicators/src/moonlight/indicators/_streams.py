"""Streaming state: one series (:class:`Stream`) or many at once (:class:`BatchedStream`).

Every indicator streams through one Numba *step*, ``<name>_step(state, at, *bar)``: it
advances the indicator's state, stored as floats in ``state[at:]``, by one bar and
returns that bar's outputs -- bit for bit the batch kernel's values, warm-up NaN
included. Steps compose (Bollinger's step calls the MA step at its own offset) and hold
no Python objects, so:

* a :class:`Stream` is a float64 array plus the step's compiled entry point: its
  ``update`` is that entry point bound to the array, one C call a bar with no Python
  code in between (about TA-Lib's ``talib.stream`` update time);
* a :class:`BatchedStream` is a 2-D array, one row per series, and one compiled call per
  instant updates any subset of rows -- the synchronous decision core's
  "indicator state for all series at once";
* ``state()`` is the array as a list, so persisting and restoring either needs nothing
  indicator-specific.

Slot 0 of a row is TA-Lib's leading-NaN gate (see :mod:`._codegen`); the step's own
state starts at slot 1.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MethodType
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from moonlight.indicators import _codegen

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int64]

#: Version of the ``state()`` dictionaries (1 was the class-and-slots format).
STATE_FORMAT = 2

# ---------------------------------------------------------------------------------------
# Compiled entry points
# ---------------------------------------------------------------------------------------

_ENTRY_POINTS: dict[tuple[Any, ...], Callable[..., Any]] = {}


def compiled(dispatcher: Any, *example: Any) -> Callable[..., Any]:
    """The machine-code entry point of a ``@jit`` function for these argument types.

    Calling a Numba dispatcher costs ~0.45 us of type dispatch; the compiled overload's
    entry point, called directly, ~0.2 us. Compiles (or loads from cache) on first use;
    with ``NUMBA_DISABLE_JIT=1`` the plain Python function is returned. The caller must
    then always pass arguments of the example's types (C-contiguous arrays stay so).
    """
    if not hasattr(dispatcher, "overloads"):
        return dispatcher  # type: ignore[no-any-return]
    from numba import typeof

    signature = tuple(typeof(value) for value in example)  # type: ignore[no-untyped-call]
    key = (dispatcher, signature)
    entry = _ENTRY_POINTS.get(key)
    if entry is None:
        dispatcher.compile(signature)
        entry = dispatcher.overloads[signature].entry_point
        _ENTRY_POINTS[key] = entry
    return entry


# ---------------------------------------------------------------------------------------
# One indicator's stream machinery
# ---------------------------------------------------------------------------------------


@dataclass(eq=False)
class StreamKernel:
    """What streaming one indicator takes: its step, its state layout, its drivers.

    ``initial_state(params)`` validates the parameters (including the unstable periods
    in force when the stream was made) and returns the state of a fresh series, gate
    slot included. The drivers are generated (:mod:`._codegen`) on first use.
    """

    indicator: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    int_outputs: frozenset[str]
    step: Any
    initial_state: Callable[[Mapping[str, Any]], FloatArray]

    @cached_property
    def update(self) -> Any:
        """The jitted ``update(state, *bar)`` (gate + step) for one series."""
        return _codegen.stream_update(
            self.indicator, self.step, self.inputs, self.outputs, self.int_outputs
        )

    @cached_property
    def update_many(self) -> Any:
        """The jitted ``update_many(states, index, seen, *inputs, *outputs)``."""
        return _codegen.stream_update_many(
            self.indicator, self.update, self.inputs, len(self.outputs)
        )

    def check_count(self, call: str, what: str, given: tuple[object, ...]) -> None:
        """Refuse a call that does not pass one value (or array) per input."""
        if len(given) != len(self.inputs):
            raise ValueError(
                f"{self.indicator}: {call} needs {len(self.inputs)} {what} "
                f"({', '.join(self.inputs)}), got {len(given)}"
            )

    def update_entry(self, state: FloatArray) -> Callable[..., Any]:
        """The compiled entry point of :attr:`update` (state row, then one float per input)."""
        return compiled(self.update, state, *(0.0 for _ in self.inputs))

    @cached_property
    def output_dtypes(self) -> tuple[np.dtype[Any], ...]:
        """Each output's dtype: int32 for TA-Lib's integer outputs, float64 otherwise."""
        return tuple(
            np.dtype(np.int32 if name in self.int_outputs else np.float64) for name in self.outputs
        )


#: indicator name -> its stream kernel (filled by ``_define.define``).
KERNELS: dict[str, StreamKernel] = {}


def _snapshot(
    kind: str, kernel: StreamKernel, params: Mapping[str, Any], values: FloatArray
) -> dict[str, Any]:
    """The JSON-ready ``state()`` of a stream (``kind`` "stream") or a batch ("batched")."""
    return {
        "format": STATE_FORMAT,
        "kind": kind,
        "indicator": kernel.indicator,
        "params": dict(params),
        "state": values.tolist(),
    }


def _from_snapshot(
    state: Mapping[str, Any], kind: str
) -> tuple[StreamKernel, dict[str, Any], FloatArray]:
    """Check a ``state()`` dictionary; return the kernel, the parameters and the values
    (one row per series for a batch), refusing anything a fresh state would not fit."""
    if state.get("format") != STATE_FORMAT:
        raise ValueError(
            f"state: unknown format {state.get('format')!r} (this version reads format "
            f"{STATE_FORMAT}; older snapshots must be rebuilt from history)"
        )
    if state.get("kind") != kind:
        raise ValueError(f"state: a {state.get('kind')!r} snapshot is not a {kind}")
    name = state.get("indicator")
    if name not in KERNELS:
        raise ValueError(f"state: no indicator named {name!r}")
    params = state.get("params")
    if not isinstance(params, Mapping):
        raise ValueError("state: params must be a mapping")
    kernel = KERNELS[str(name)]
    size = kernel.initial_state(params).shape[0]
    values = np.array(state.get("state"), dtype=np.float64)
    rows = values if kind == "batched" else values[None, ...]
    if rows.ndim != 2 or rows.shape[1] != size or rows.shape[0] < 1:
        raise ValueError(
            f"state: {name}{dict(params)} keeps {size} values a series, "
            f"the snapshot has shape {values.shape}"
        )
    return kernel, dict(params), np.ascontiguousarray(values)


def _restore_stream(state: Mapping[str, Any]) -> Stream:
    return Stream.from_state(state)


def _restore_batched(state: Mapping[str, Any]) -> BatchedStream:
    return BatchedStream.from_state(state)


def _as_outputs(results: list[Any], kernel: StreamKernel) -> Any:
    dtypes = kernel.output_dtypes
    if len(dtypes) == 1:
        return np.asarray(results, dtype=dtypes[0])
    columns = list(zip(*results, strict=True)) if results else [() for _ in dtypes]
    return tuple(np.asarray(col, dtype=dt) for col, dt in zip(columns, dtypes, strict=True))


# ---------------------------------------------------------------------------------------
# One series
# ---------------------------------------------------------------------------------------


class Stream:
    """One indicator's incremental state for one series: ``update(*bar)`` per bar, O(1).

    ``update`` takes one float per input (TA-Lib's input order) and returns the bar's
    output (a float, or a tuple in output order) -- the batch function's value at that
    bar, bit for bit. It is the step's compiled entry point bound to this stream's state
    array, so a call runs no Python code: arguments convert as ``float()`` converts
    them, and one that does not convert raises ``TypeError`` before the state changes.
    ``state()``/``from_state()``, pickling and ``copy()`` persist and clone a stream.
    """

    __slots__ = ("_kernel", "_params", "_state", "update")

    _kernel: StreamKernel
    _params: dict[str, Any]
    _state: FloatArray
    #: Consume one bar (one float per input) and return that bar's output.
    update: Callable[..., Any]

    def __init__(
        self,
        kernel: StreamKernel,
        params: Mapping[str, Any],
        state: FloatArray | None = None,
    ) -> None:
        self._kernel = kernel
        self._params = dict(params)
        self._state = kernel.initial_state(self._params) if state is None else state
        self.update = MethodType(kernel.update_entry(self._state), self._state)

    @property
    def indicator(self) -> str:
        """The indicator's registered name."""
        return self._kernel.indicator

    @property
    def params(self) -> dict[str, Any]:
        """The parameters, with the unstable periods in force when the stream was made."""
        return dict(self._params)

    @property
    def leading(self) -> bool:
        """True while every bar so far had a NaN input (TA-Lib's skipped leading bars)."""
        return bool(self._state[0] == 0.0)

    def run(self, *inputs: Iterable[float]) -> Any:
        """Feed whole arrays bar by bar; return the outputs shaped like the batch's.

        Used to warm a stream from history and in tests. Integer outputs come back as
        int32 arrays, float outputs as float64.
        """
        self._kernel.check_count("run()", "arrays", inputs)
        columns = [np.asarray(values, dtype=np.float64).tolist() for values in inputs]
        update = self.update
        results = [update(*bar) for bar in zip(*columns, strict=True)]
        return _as_outputs(results, self._kernel)

    def state(self) -> dict[str, Any]:
        """A JSON-ready snapshot: ``{"format", "kind", "indicator", "params", "state"}``."""
        return _snapshot("stream", self._kernel, self._params, self._state)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Self:
        """Rebuild a stream from :meth:`state` (after a restart, or from another process)."""
        return cls(*_from_snapshot(state, "stream"))

    def copy(self) -> Self:
        """An independent copy (same state, no shared buffers)."""
        return type(self)(self._kernel, self._params, self._state.copy())

    def __reduce__(self) -> tuple[Callable[[Mapping[str, Any]], Stream], tuple[Any, ...]]:
        return (_restore_stream, (self.state(),))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"<{self.indicator} stream({params})>"


# ---------------------------------------------------------------------------------------
# Many series
# ---------------------------------------------------------------------------------------


def _rows(index: object, series: int) -> IndexArray:
    """``index`` as a 1-D int64 array (an int selects one series); range checked later."""
    if isinstance(index, bool | np.bool_):
        raise ValueError("index: expected integer series numbers, got a boolean")
    if isinstance(index, numbers.Integral):
        return np.array([int(index)], dtype=np.int64)
    rows = np.asarray(index)
    if rows.ndim != 1 or (rows.size and rows.dtype.kind not in "iu"):
        raise ValueError(
            f"index: expected a 1-D array of integer series numbers in [0, {series}), "
            f"got dtype {rows.dtype} with shape {rows.shape}"
        )
    return np.ascontiguousarray(rows, dtype=np.int64)


_FLOAT64 = np.dtype(np.float64)


def _column(name: str, value: object, count: int) -> FloatArray:
    """One input for ``count`` series: a length-``count`` array, or a number for all."""
    if (
        type(value) is np.ndarray
        and value.dtype is _FLOAT64
        and value.shape == (count,)
        and value.flags.c_contiguous
    ):
        return value  # the usual case, checked first: it costs no conversion
    if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
        return np.full(count, float(value))
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{name}: expected numbers, got dtype {array.dtype}")
    if array.shape != (count,):
        raise ValueError(
            f"{name}: expected one value per updated series, shape ({count},), "
            f"got shape {array.shape}"
        )
    return np.ascontiguousarray(array, dtype=np.float64)


class BatchedStream:
    """One indicator's streaming state for many series, updated in one call per instant.

    Row ``j`` of the state is series ``j``'s stream: ``update(*values)`` feeds one bar to
    every series (arrays of length ``series``, or one number shared by all) and returns
    the outputs as arrays of that length; ``update(*values, index=rows)`` feeds only the
    series in ``rows`` (values and outputs then follow ``rows``' order). Every series
    gives exactly what a single :class:`Stream` with the same parameters gives for the
    same bars. ``reset`` and ``warm`` start series again without touching the others.
    Like a single stream, a batch is meant to be updated by one thread at a time.
    """

    __slots__ = ("_all", "_entry", "_initial", "_kernel", "_params", "_seen", "_states")

    _all: IndexArray
    _entry: Callable[..., Any] | None
    _initial: FloatArray
    _kernel: StreamKernel
    _params: dict[str, Any]
    _seen: npt.NDArray[np.uint8]
    _states: FloatArray

    def __init__(
        self,
        kernel: StreamKernel,
        params: Mapping[str, Any],
        series: int,
        states: FloatArray | None = None,
    ) -> None:
        if isinstance(series, bool) or not isinstance(series, numbers.Integral) or series < 1:
            raise ValueError(f"series: expected a positive integer, got {series!r}")
        self._kernel = kernel
        self._params = dict(params)
        self._initial = kernel.initial_state(self._params)
        count = int(series)
        if states is None:
            states = np.tile(self._initial, (count, 1))
        self._states = states
        self._seen = np.zeros(count, dtype=np.uint8)
        self._all = np.arange(count, dtype=np.int64)
        self._entry = None

    @property
    def indicator(self) -> str:
        """The indicator's registered name."""
        return self._kernel.indicator

    @property
    def params(self) -> dict[str, Any]:
        """The parameters, with the unstable periods in force when the batch was made."""
        return dict(self._params)

    @property
    def series(self) -> int:
        """How many series this batch holds."""
        return int(self._states.shape[0])

    def _driver(self) -> Callable[..., Any]:
        if self._entry is None:
            kernel = self._kernel
            example = [self._states, self._all, self._seen]
            example += [np.zeros(1) for _ in kernel.inputs]
            example += [np.zeros(1, dtype=dt) for dt in kernel.output_dtypes]
            self._entry = compiled(kernel.update_many, *example)
        return self._entry

    def _select(self, index: object) -> IndexArray:
        return self._all if index is None else _rows(index, self.series)

    def update(self, *values: object, index: object = None) -> Any:
        """One bar for the series in ``index`` (all by default); their outputs as arrays.

        ``values`` are one array per input (TA-Lib's input order) aligned with
        ``index``, or numbers shared by every updated series. An index out of range or
        repeated raises ``ValueError`` before any series is updated.
        """
        rows = self._select(index)
        kernel = self._kernel
        kernel.check_count("update()", "inputs", values)
        count = rows.shape[0]
        columns = [
            _column(name, value, count) for name, value in zip(kernel.inputs, values, strict=True)
        ]
        outputs = [np.empty(count, dtype) for dtype in kernel.output_dtypes]
        bad = self._driver()(self._states, rows, self._seen, *columns, *outputs)
        if bad >= 0:
            raise ValueError(
                f"index[{bad}]={rows[bad]} is out of range [0, {self.series}) or repeated; "
                "no series was updated"
            )
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def reset(self, index: object = None) -> None:
        """Put the series in ``index`` (all by default) back to a fresh stream's state."""
        rows = self._select(index)
        self._check_rows(rows)
        self._states[rows] = self._initial

    def warm(self, *history: object, index: object = None) -> None:
        """Reset the series in ``index`` (all by default), then feed them ``history``.

        ``history`` is one array per input, shaped ``(bars, len(index))`` -- or 1-D
        ``(bars,)`` when ``index`` names one series. The other series are untouched.
        """
        rows = self._select(index)
        self._check_rows(rows)
        kernel = self._kernel
        kernel.check_count("warm()", "history arrays", history)
        arrays = []
        for name, values in zip(kernel.inputs, history, strict=True):
            array = np.asarray(values)
            if array.ndim == 1 and rows.shape[0] == 1:
                array = array[:, None]
            if array.ndim != 2 or array.shape[1] != rows.shape[0] or array.dtype.kind not in "iuf":
                raise ValueError(
                    f"{name}: expected numeric history shaped (bars, {rows.shape[0]}), "
                    f"got dtype {array.dtype} with shape {array.shape}"
                )
            arrays.append(np.ascontiguousarray(array, dtype=np.float64))
        bars = {a.shape[0] for a in arrays}
        if len(bars) != 1:
            raise ValueError(f"history arrays differ in length: {sorted(bars)}")
        self._states[rows] = self._initial
        outputs = [np.empty(rows.shape[0], dtype=dt) for dt in kernel.output_dtypes]
        driver = self._driver()
        for t in range(bars.pop()):
            driver(self._states, rows, self._seen, *(a[t] for a in arrays), *outputs)

    def _check_rows(self, rows: IndexArray) -> None:
        bad = _codegen.bad_index(rows, self._seen, self.series)
        if bad >= 0:
            raise ValueError(
                f"index[{bad}]={rows[bad]} is out of range [0, {self.series}) or repeated"
            )

    def stream(self, series: int) -> Stream:
        """An independent single :class:`Stream` with series ``series``' current state."""
        rows = _rows(series, self.series)
        self._check_rows(rows)
        return Stream(self._kernel, self._params, self._states[int(rows[0])].copy())

    def state(self) -> dict[str, Any]:
        """A JSON-ready snapshot: one list of floats per series."""
        return _snapshot("batched", self._kernel, self._params, self._states)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Self:
        """Rebuild a batch from :meth:`state`."""
        kernel, params, values = _from_snapshot(state, "batched")
        return cls(kernel, params, values.shape[0], values)

    def copy(self) -> Self:
        """An independent copy of every series."""
        return type(self)(self._kernel, self._params, self.series, self._states.copy())

    def __reduce__(
        self,
    ) -> tuple[Callable[[Mapping[str, Any]], BatchedStream], tuple[Any, ...]]:
        return (_restore_batched, (self.state(),))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"<{self.indicator} batched stream({params}) x {self.series} series>"
