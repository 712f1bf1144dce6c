"""The machinery that turns one kernel + one stream class into a complete indicator.

How to declare an indicator (notes for everyone writing an indicator module)
============================================================================

An indicator module (``overlap.py``, ``momentum.py``...) contains, per indicator:

1. ``<name>_kernel`` -- a ``@jit`` function (from ``moonlight.indicators._jit``) taking
   ``(*inputs, *params, *outputs)`` in that order: inputs and outputs are 1-D float64
   arrays of the same length (integer outputs: int32), params are ints/floats already
   range-checked. It writes EVERY element of every output and allocates nothing. It
   follows TA-Lib's Python wrapper exactly: skip leading bars where any input is NaN
   (``_kernels.begin1..4``), fill the first ``begin + lookback`` outputs with NaN
   (``_kernels.fill_nan``; 0 for int outputs with ``fill_zero``), then run the port of
   the C function on ``inputs[begin:]``. Mid-series NaN is not special-cased: do the C
   code's arithmetic in the C code's order and NaN propagates exactly as in TA-Lib.
   Kernels are public (strategies call them from their own ``@njit`` code).
2. Optionally ``<name>_kernel_2d`` -- a ``@parallel_jit`` driver with the same signature
   on 2-D ``(bars, series)`` arrays::

       @parallel_jit
       def sma_kernel_2d(real, timeperiod, out):
           for j in prange(real.shape[1]):
               sma_kernel(real[:, j], timeperiod, out[:, j])

   (Numba cannot cache a generic driver that takes the kernel as an argument, so each
   indicator has its own four lines.) Without it, 2-D input loops the 1-D kernel over
   columns from Python -- correct, slower.
3. A stream class: subclass of :class:`Stream` with ``__slots__``; ``__init__`` takes
   the parameters as keyword arguments (already validated); ``update(*bar)`` takes one
   float per input and returns the bar's output (a float, or a tuple in output order),
   bit-identical to the kernel at every bar, NaN warm-up included -- so do the same
   floating-point operations in the same order as the kernel. Keep state in slots as
   floats/ints/bools/None, lists or tuples of those (ring buffers), 1-D numeric numpy
   arrays, or nested :class:`Stream` objects: :meth:`Stream.state` /
   :meth:`Stream.from_state` and pickling work from the slots, nothing else to write.
   No allocation per update (preallocate lists/arrays).

   Speed (measured on this machine, Python 3.11): a CPython float operation costs
   ~20 ns, so a pure-Python update with more than ~8-10 float operations loses to a
   ``@jit`` step function taking a float64 state array (``step(st, x) -> value``),
   called through :func:`compiled` (the overload's entry point, skipping Numba's type
   dispatch) from a method costs ~0.25 us in total -- close to TA-Lib's ``talib.stream``
   update. Pattern used in overlap.py: a general warm-up class in Python, and on the
   first visible value ``self.__class__ = _Steady`` (a subclass with ``__slots__ = ()``)
   whose ``update`` is the bare recurrence (Python for tiny ones, a jitted step on
   ``self._st`` for heavy ones).
4. One call to :func:`define`::

       sma = define(
           "sma",
           group="overlap",
           summary="Simple moving average",
           inputs=("real",),
           outputs=("real",),
           params=(int_param("timeperiod", 30, 2),),
           lookback=lambda timeperiod: timeperiod - 1,
           kernel=sma_kernel,
           kernel_2d=sma_kernel_2d,
           stream=SmaStream,
           source="TA-Lib 0.6 ta_SMA.c (Python wrapper ta-lib 0.8.2)",
       )

   ``define`` generates the public batch function with TA-Lib's exact signature
   (``sma(real, timeperiod=30)``), registers the ``IndicatorSpec`` (catalogue, plugin
   hook), the stream factory ``moonlight.indicators.stream.sma(*history, **params)``
   and aliases. ``lookback`` is TA-Lib's ``TA_<NAME>_Lookback`` as a function of ALL the
   parameters by keyword: the number of leading NaN on clean input. ``check`` (optional)
   receives the validated parameters by keyword and raises ``ValueError`` for
   combinations the ranges cannot express. ``int_outputs`` names outputs that are int32
   (TA-Lib's integer outputs, 0 during warm-up).

   Unstable period (TA-Lib's ``set_unstable_period``): ``unstable=("ATR",)`` names the
   TA-Lib function ids whose setting the indicator follows. Their current values
   (:func:`get_unstable_period`) are passed, in that order, as extra int arguments to the
   kernel right after the parameters (before the outputs), and as keyword arguments to
   the stream class and to ``lookback``: named ``unstable`` when one id is declared,
   ``<id lower-case>_unstable`` (``ema_unstable``, ``atr_unstable``) when several are;
   pass a mapping ``{"kwarg_name": "ID"}`` to choose the names yourself.

Two traps found while porting (TA-Lib 0.8.2 bundles a recent C library): some functions
rebuild running sums periodically (WMA every ``8*period`` outputs, LINEARREG and the
variance family every ``32*period``), which is visible as NaN *recovery* after a NaN in
the middle of the input -- test NaN mid-series against TA-Lib; and Numba's on-disk cache
does not track dependencies across modules, so after editing a shared helper (``_ma``,
``_kernels``) delete the ``__pycache__/*.nbi``/``*.nbc`` files before re-testing.

``moonlight/indicators/__init__.py`` imports every indicator module and exposes every
registered name (and alias) as ``moonlight.indicators.<name>``; the test suite
``tests/indicators/test_catalog_contract.py`` then checks each indicator against this
contract (metadata, invalid parameters, 2-D, pandas, stream == batch, state round trip).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt

from moonlight.core.plugins import IndicatorSpec, ParamSpec
from moonlight.indicators import _inputs

__all__ = [
    "REGISTRY",
    "UNSTABLE_IDS",
    "Indicator",
    "Stream",
    "compiled",
    "define",
    "float_param",
    "get_threads",
    "get_unstable_period",
    "int_param",
    "lookup",
    "set_threads",
    "set_unstable_period",
]

#: TA-Lib's usual upper bound for periods (``TA_INTEGER_MAX`` is larger, but every
#: period parameter of the functions we mirror is declared 1..100000 or 2..100000).
MAX_PERIOD = 100_000
#: Float parameters without an explicit bound still have to be finite.
_FLOAT_MAX = 1.7976931348623157e308


def int_param(name: str, default: int, minimum: int, maximum: int = MAX_PERIOD) -> ParamSpec:
    """An integer parameter with TA-Lib's name, default and valid closed range."""
    return ParamSpec(name=name, default=default, minimum=minimum, maximum=maximum, kind=int)


def float_param(
    name: str, default: float, minimum: float | None = None, maximum: float | None = None
) -> ParamSpec:
    """A float parameter; ``None`` bounds mean "any finite value"."""
    return ParamSpec(name=name, default=default, minimum=minimum, maximum=maximum, kind=float)


# ---------------------------------------------------------------------------------------
# Unstable periods (TA-Lib ``TA_SetUnstablePeriod``)
# ---------------------------------------------------------------------------------------

#: TA-Lib 0.8.2's function ids that have an unstable-period setting ("ALL" sets them all).
UNSTABLE_IDS: tuple[str, ...] = (
    "ADX",
    "ATR",
    "CMO",
    "DX",
    "EMA",
    "HT_DCPERIOD",
    "HT_DCPHASE",
    "HT_PHASOR",
    "HT_SINE",
    "HT_TRENDLINE",
    "HT_TRENDMODE",
    "KAMA",
    "MAMA",
    "MINUS_DI",
    "MINUS_DM",
    "NATR",
    "PLUS_DI",
    "PLUS_DM",
    "RSI",
    "T3",
    "RMA",
    "HA",
    "RVI",
)

#: Current setting per id; read by every batch call and stream construction.
UNSTABLE: dict[str, int] = dict.fromkeys(UNSTABLE_IDS, 0)


def set_unstable_period(name: str, period: int) -> None:
    """TA-Lib's ``set_unstable_period``: extra warm-up bars for functions of id ``name``.

    Process-wide, like TA-Lib's global. ``name`` is a TA-Lib id (``"EMA"``, ``"ATR"``...)
    or ``"ALL"``. Affects batch calls made and streams created afterwards.
    """
    value = _inputs.check_int("period", period, 0, 2**31 - 1)
    if name == "ALL":
        for key in UNSTABLE:
            UNSTABLE[key] = value
        return
    if name not in UNSTABLE:
        raise ValueError(f"name: {name!r} has no unstable period; use one of {UNSTABLE_IDS}")
    UNSTABLE[name] = value


def get_unstable_period(name: str) -> int:
    """The current unstable period of TA-Lib id ``name`` (0 unless set)."""
    if name not in UNSTABLE:
        raise ValueError(f"name: {name!r} has no unstable period; use one of {UNSTABLE_IDS}")
    return UNSTABLE[name]


def _unstable_names(unstable: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    """kwarg name -> TA-Lib id, in kernel-argument order."""
    if isinstance(unstable, Mapping):
        named = dict(unstable)
    elif len(unstable) == 1:
        named = {"unstable": unstable[0]}
    else:
        named = {f"{uid.lower()}_unstable": uid for uid in unstable}
    for uid in named.values():
        if uid not in UNSTABLE:
            raise ValueError(f"unknown unstable-period id {uid!r}")
    return named


# ---------------------------------------------------------------------------------------
# Compiled entry points for stream steps
# ---------------------------------------------------------------------------------------

_ENTRY_POINTS: dict[tuple[Any, ...], Callable[..., Any]] = {}


def compiled(dispatcher: Any, *example: Any) -> Callable[..., Any]:
    """The machine-code entry point of a ``@jit`` function for these argument types.

    Calling a Numba dispatcher costs ~0.45 us of type dispatch; the compiled overload's
    entry point, called directly, ~0.2 us. Stream steady states keep it as a class
    attribute. Compiles (or loads from cache) on first use; with
    ``NUMBA_DISABLE_JIT=1`` the plain Python function is returned.
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
# Streams
# ---------------------------------------------------------------------------------------

_STATE_FORMAT = 1


def _encode(value: Any) -> Any:
    if isinstance(value, Stream):
        return value.state()
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, tuple):
        return {"tuple": [_encode(item) for item in value]}
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or value.dtype.kind not in "iuf":
            raise TypeError(
                f"stream slot array must be 1-D numeric, got {value.dtype} {value.shape}"
            )
        return {"ndarray": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(
        f"stream slot value of type {type(value).__name__} cannot be saved: use floats, "
        "ints, bools, None, lists, tuples, 1-D numeric arrays or nested Stream objects"
    )


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "ndarray" in value:
            return np.array(value["ndarray"], dtype=np.dtype(value["dtype"]))
        if "tuple" in value:
            return tuple(_decode(item) for item in value["tuple"])
        return Stream.from_state(value)
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def _slot_names(cls: type) -> tuple[str, ...]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        slots = klass.__dict__.get("__slots__", ())
        if isinstance(slots, str):
            slots = (slots,)
        names.extend(s for s in slots if s not in names)
    return tuple(names)


def _restore(state: Mapping[str, Any]) -> Stream:
    """Pickle support: rebuild a stream from :meth:`Stream.state`."""
    return Stream.from_state(state)


class Stream:
    """Base of every incremental indicator: one ``update`` per bar, O(1), no allocation.

    Subclasses declare ``__slots__`` for all their state and define
    ``update(<one float per input>)`` returning the bar's output (a float, or a tuple
    in output order); its parameters are named after the inputs, hence typed here as
    any callable. The base class derives ``state()``/``from_state()``/pickling/
    ``copy()`` from the slots, so a worker can persist an indicator and resume it after
    a restart without recomputing history.
    """

    __slots__ = ()

    #: The registered indicator name (set by :func:`define`; "" for helper streams).
    indicator: ClassVar[str] = ""

    #: Consume one bar (one float per input) and return that bar's output.
    update: Callable[..., Any]

    def run(self, *inputs: Iterable[float]) -> Any:
        """Feed whole arrays bar by bar; return the outputs as arrays shaped like the batch.

        Useful to warm a stream from history and in tests. Integer outputs come back as
        int32 arrays, float outputs as float64.
        """
        columns = [np.asarray(values, dtype=np.float64).tolist() for values in inputs]
        # ``self.update`` is looked up per bar: the leading-NaN gate swaps the class.
        results = [self.update(*bar) for bar in zip(*columns, strict=True)]
        if results and isinstance(results[0], tuple):
            return tuple(_column(list(col)) for col in zip(*results, strict=True))
        return _column(results)

    def state(self) -> dict[str, Any]:
        """A JSON-ready snapshot: ``{"format", "class", "indicator", "leading", "slots"}``.

        ``leading`` is true while the stream is still skipping leading NaN bars.
        """
        cls = type(self)
        leading = cls in _UNGATED
        if leading:
            cls = _UNGATED[cls]
        return {
            "format": _STATE_FORMAT,
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "indicator": cls.indicator,
            "leading": leading,
            "slots": {name: _encode(getattr(self, name)) for name in _slot_names(cls)},
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Self:
        """Rebuild a stream from :meth:`state` (on the base class or the exact class)."""
        if state.get("format") != _STATE_FORMAT:
            raise ValueError(f"state: unknown format {state.get('format')!r}")
        module_name, _, qualname = str(state["class"]).partition(":")
        if not module_name.startswith("moonlight."):
            raise ValueError(f"state: class {state['class']!r} is not a MoonLight stream")
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
        if not (isinstance(target, type) and issubclass(target, cls)):
            raise ValueError(f"state: {state['class']!r} is not a {cls.__name__}")
        if state.get("leading"):
            target = _GATED[target]
        obj = target.__new__(target)
        slots = state["slots"]
        for name in _slot_names(target):
            setattr(obj, name, _decode(slots[name]))
        return obj  # type: ignore[no-any-return]

    def copy(self) -> Self:
        """An independent copy (same state, no shared buffers)."""
        return type(self).from_state(self.state())

    def __reduce__(self) -> tuple[Callable[[Mapping[str, Any]], Stream], tuple[Any, ...]]:
        return (_restore, (self.state(),))


#: stream class -> its leading-NaN gate subclass, and back.
_GATED: dict[type[Stream], type[Stream]] = {}
_UNGATED: dict[type[Stream], type[Stream]] = {}


def _make_gate(cls: type[Stream], lead_value: Any) -> type[Stream]:
    """A subclass that skips leading bars with any NaN input, then becomes ``cls``.

    TA-Lib's wrapper starts the computation at the first bar where no input is NaN; the
    gate returns the warm-up value (NaN, 0 for integer outputs) for those bars and, on
    the first complete bar, reassigns ``__class__`` to ``cls`` (same slot layout) so
    every later update runs the indicator's own code with no extra test.
    """
    base_update = cls.update

    def update(self: Stream, *bar: float) -> Any:
        for value in bar:
            if value != value:
                return lead_value
        self.__class__ = cls
        return base_update(self, *bar)

    gate = type(
        f"{cls.__name__}Leading",
        (cls,),
        {"__slots__": (), "update": update, "__module__": cls.__module__},
    )
    _GATED[cls] = gate
    _UNGATED[gate] = cls
    return gate


def _column(values: list[Any]) -> npt.NDArray[Any]:
    if values and isinstance(values[0], int) and not isinstance(values[0], bool):
        return np.asarray(values, dtype=np.int32)
    return np.asarray(values, dtype=np.float64)


# ---------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Indicator:
    """Everything the package knows about one indicator (the spec plus the internals)."""

    spec: IndicatorSpec
    group: str
    kernel: Callable[..., None]
    kernel_2d: Callable[..., None] | None
    stream_class: type[Stream]
    int_outputs: frozenset[str]
    check: Callable[..., None] | None
    validate: Callable[..., dict[str, Any]] = field(repr=False)
    #: kwarg name -> TA-Lib unstable-period id, in kernel-argument order.
    unstable: Mapping[str, str] = field(default_factory=dict)

    def unstable_values(self) -> dict[str, int]:
        """The current unstable periods this indicator follows, by kwarg name."""
        return {kw: UNSTABLE[uid] for kw, uid in self.unstable.items()}

    @property
    def name(self) -> str:
        return self.spec.name


#: name -> Indicator, in declaration order (aliases are not keys here).
REGISTRY: dict[str, Indicator] = {}
#: alias -> canonical name.
ALIASES: dict[str, str] = {}


def lookup(name: str) -> Indicator:
    """The indicator registered under ``name`` or one of its aliases."""
    key = ALIASES.get(name, name)
    try:
        return REGISTRY[key]
    except KeyError:
        raise KeyError(f"no indicator named {name!r}") from None


# ---------------------------------------------------------------------------------------
# Code generation of the public batch function
# ---------------------------------------------------------------------------------------


def _param_guard(p: ParamSpec, index: int) -> str:
    """Source of the fast in-range test for one parameter (falls back to the checker)."""
    if p.kind is int:
        return (
            f"    if type({p.name}) is not int or {p.name} < {p.minimum} "
            f"or {p.name} > {p.maximum}:\n"
            f"        {p.name} = _check_{index}({p.name})\n"
        )
    low = -_FLOAT_MAX if p.minimum is None else float(p.minimum)
    high = _FLOAT_MAX if p.maximum is None else float(p.maximum)
    return (
        f"    if type({p.name}) is not float or not ({low!r} <= {p.name} <= {high!r}):\n"
        f"        {p.name} = _check_{index}({p.name})\n"
    )


def _checker(p: ParamSpec) -> Callable[[object], Any]:
    if p.kind is int:
        low_i = None if p.minimum is None else int(p.minimum)
        high_i = None if p.maximum is None else int(p.maximum)
        return lambda value: _inputs.check_int(p.name, value, low_i, high_i)
    low_f = -_FLOAT_MAX if p.minimum is None else float(p.minimum)
    high_f = _FLOAT_MAX if p.maximum is None else float(p.maximum)
    return lambda value: _inputs.check_float(p.name, value, low_f, high_f)


def _docstring(
    name: str,
    summary: str,
    inputs: Sequence[str],
    outputs: Sequence[str],
    params: Sequence[ParamSpec],
    source: str,
) -> str:
    lines = [f"{summary}.", ""]
    lines.append("Inputs: " + ", ".join(inputs) + " (1-D bars or 2-D bars x series; pandas ok).")
    if params:
        lines.append("Parameters:")
        for p in params:
            lines.append(f"    {p.name}: {p.default!r}  (range {p.minimum}..{p.maximum})")
    lines.append("Outputs: " + ", ".join(outputs) + ".")
    lines.append(f"Streaming: moonlight.indicators.stream.{name}(*history, **params).")
    if source:
        lines.append(f"Source: {source}.")
    return "\n".join(lines)


#: Threads a 2-D call may use (``numba.set_num_threads`` around the ``prange`` driver).
#: One by default: measured on the shared 2-core machine, two OpenMP/workqueue threads
#: competing with other processes made a 500 x 200 call 5-40x slower than one thread,
#: while one thread already beats a Python loop of TA-Lib calls by several times.
_THREADS = [1]


def set_threads(count: int) -> None:
    """Threads for 2-D (bars x series) calls; raise it on a machine with idle cores."""
    from numba import config

    limit = int(config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    _THREADS[0] = _inputs.check_int("count", count, 1, limit)


def get_threads() -> int:
    """Threads 2-D calls use (see :func:`set_threads`)."""
    return _THREADS[0]


def _run_2d(kernel_2d: Callable[..., None], *args: Any) -> None:
    """Call a ``prange`` driver with :func:`get_threads` threads."""
    import numba

    threads = _THREADS[0]
    try:
        previous = numba.get_num_threads()
    except (RuntimeError, ValueError):  # pragma: no cover - no threading layer available
        kernel_2d(*args)
        return
    if previous == threads:
        kernel_2d(*args)
        return
    numba.set_num_threads(threads)
    try:
        kernel_2d(*args)
    finally:
        numba.set_num_threads(previous)


def _general(ind: Indicator, values: tuple[object, ...], params: tuple[Any, ...]) -> Any:
    """Slow path: conversion, pandas, 2-D. The generated function handles plain 1-D.

    ``params`` already include the unstable periods (after the parameters).
    """
    spec = ind.spec
    prepared = _inputs.prepare(spec.inputs, values)
    arrays = prepared.arrays
    shape = arrays[0].shape
    outs = [
        np.empty(shape, dtype=np.int32 if name in ind.int_outputs else np.float64)
        for name in spec.outputs
    ]
    if prepared.ndim == 1:
        ind.kernel(*arrays, *params, *outs)
    elif ind.kernel_2d is not None:
        _run_2d(ind.kernel_2d, *arrays, *params, *outs)
    else:
        for j in range(shape[1]):
            columns = [np.ascontiguousarray(a[:, j]) for a in arrays]
            col_outs = [np.empty(shape[0], dtype=o.dtype) for o in outs]
            ind.kernel(*columns, *params, *col_outs)
            for o, c in zip(outs, col_outs, strict=True):
                o[:, j] = c
    return _inputs.wrap(prepared, outs, spec.outputs)


def _make_batch(
    name: str,
    inputs: Sequence[str],
    outputs: Sequence[str],
    params: Sequence[ParamSpec],
    int_outputs: frozenset[str],
    holder: dict[str, Any],
    unstable: Mapping[str, str],
) -> Callable[..., Any]:
    """Generate ``def <name>(<inputs>, <param>=<default>...)`` with a fast numpy path."""
    namespace: dict[str, Any] = {
        "_nd": np.ndarray,
        "_F64": np.dtype(np.float64),
        "_empty": np.empty,
        "_I32": np.int32,
        "_general": _general,
        "_holder": holder,
        "_U": UNSTABLE,
    }
    for i, p in enumerate(params):
        namespace[f"_check_{i}"] = _checker(p)
    signature = ", ".join([*inputs, *(f"{p.name}={p.default!r}" for p in params)])
    unstable_args = [f"_U[{uid!r}]" for uid in unstable.values()]
    param_names = ", ".join([*(p.name for p in params), *unstable_args])
    first = inputs[0]
    body = [f"def {name}({signature}):\n"]
    body.extend(_param_guard(p, i) for i, p in enumerate(params))
    body.append("    _ind = _holder['indicator']\n")
    body.append("    if _ind.check is not None:\n")
    body.append("        _ind.check(" + ", ".join(f"{p.name}={p.name}" for p in params) + ")\n")
    fast = " and ".join(
        [f"type({x}) is _nd" for x in inputs]
        + [f"{x}.dtype is _F64" for x in inputs]
        + [f"{first}.ndim == 1"]
        + [f"{x}.shape == {first}.shape" for x in inputs[1:]]
    )
    body.append(f"    if {fast}:\n")
    body.append(f"        _n = {first}.shape[0]\n")
    out_names = []
    for k, out in enumerate(outputs):
        dtype = ", _I32" if out in int_outputs else ""
        body.append(f"        _o{k} = _empty(_n{dtype})\n")
        out_names.append(f"_o{k}")
    call_args = ", ".join([*inputs, *(p.name for p in params), *unstable_args, *out_names])
    body.append(f"        _holder['kernel']({call_args})\n")
    if len(out_names) == 1:
        body.append(f"        return {out_names[0]}\n")
    else:
        body.append(f"        return ({', '.join(out_names)})\n")
    params_tuple = f"({param_names},)" if param_names else "()"
    body.append(f"    return _general(_ind, ({', '.join(inputs)},), {params_tuple})\n")
    source = "".join(body)
    exec(compile(source, f"<moonlight.indicators.{name}>", "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    return function


# ---------------------------------------------------------------------------------------
# Stream factory
# ---------------------------------------------------------------------------------------


def _is_array_like(value: object) -> bool:
    return not isinstance(value, int | float | np.number | bool)


def _make_factory(ind_holder: dict[str, Any], name: str) -> Callable[..., Stream]:
    def factory(*args: Any, **kwargs: Any) -> Stream:
        ind: Indicator = ind_holder["indicator"]
        n_inputs = len(ind.spec.inputs)
        history: tuple[Any, ...] = ()
        if args and _is_array_like(args[0]):
            if len(args) < n_inputs:
                raise ValueError(
                    f"{name}: history needs {n_inputs} arrays "
                    f"({', '.join(ind.spec.inputs)}), got {len(args)}"
                )
            history, args = args[:n_inputs], args[n_inputs:]
        names = [p.name for p in ind.spec.params]
        if len(args) > len(names):
            raise ValueError(f"{name}: too many positional parameters ({len(args)})")
        for pname, value in zip(names, args, strict=False):
            if pname in kwargs:
                raise ValueError(f"{name}: parameter {pname} given twice")
            kwargs[pname] = value
        params = ind.validate(**kwargs)
        stream = _GATED[ind.stream_class](**params, **ind.unstable_values())
        if history:
            prepared = _inputs.prepare(ind.spec.inputs, history)
            if prepared.ndim != 1:
                raise ValueError(f"{name}: stream history must be 1-D arrays")
            stream.run(*prepared.arrays)
        return stream

    factory.__name__ = name
    factory.__qualname__ = name
    return factory


# ---------------------------------------------------------------------------------------
# define()
# ---------------------------------------------------------------------------------------


def define(
    name: str,
    *,
    group: str,
    summary: str,
    inputs: Sequence[str],
    outputs: Sequence[str],
    params: Sequence[ParamSpec],
    lookback: Callable[..., int],
    kernel: Callable[..., None],
    stream: type[Stream],
    source: str,
    kernel_2d: Callable[..., None] | None = None,
    aliases: Sequence[str] = (),
    int_outputs: Sequence[str] = (),
    check: Callable[..., None] | None = None,
    unstable: Sequence[str] | Mapping[str, str] = (),
) -> Callable[..., Any]:
    """Declare one indicator; return its public batch function (see the module notes)."""
    if name in REGISTRY or name in ALIASES:
        raise ValueError(f"indicator {name!r} is already defined")
    for alias in aliases:
        if alias in REGISTRY or alias in ALIASES:
            raise ValueError(f"alias {alias!r} of {name!r} is already taken")
    params = tuple(params)
    unknown = set(int_outputs) - set(outputs)
    if unknown:
        raise ValueError(f"{name}: int_outputs {sorted(unknown)} are not outputs")
    defaults = {p.name: p.default for p in params}
    checkers = {p.name: _checker(p) for p in params}

    def validate(**given: Any) -> dict[str, Any]:
        """Fill defaults, range-check every parameter, run ``check``; return them all."""
        extra = set(given) - set(defaults)
        if extra:
            raise ValueError(f"{name}: unknown parameter(s) {sorted(extra)}")
        values = {key: checkers[key](given.get(key, default)) for key, default in defaults.items()}
        if check is not None:
            check(**values)
        return values

    unstable_named = _unstable_names(unstable)

    def warmup(**given: Any) -> int:
        """Leading NaN bars on clean input, at the current unstable-period settings."""
        current = {kw: UNSTABLE[uid] for kw, uid in unstable_named.items()}
        return int(lookback(**validate(**given), **current))

    holder: dict[str, Any] = {"kernel": kernel}
    batch = _make_batch(
        name, inputs, outputs, params, frozenset(int_outputs), holder, unstable_named
    )
    batch.__doc__ = _docstring(name, summary, inputs, outputs, params, source)
    batch.__module__ = stream.__module__
    factory = _make_factory(holder, name)
    factory.__doc__ = (
        f"Streaming {summary.lower()}: ``{name}(*history, "
        + ", ".join(f"{p.name}={p.default!r}" for p in params)
        + ")``; history arrays optional. Returns a stream whose ``update("
        + ", ".join(inputs)
        + ")`` returns the bar's "
        + ("value." if len(outputs) == 1 else "(" + ", ".join(outputs) + ").")
    )
    factory.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("history", inspect.Parameter.VAR_POSITIONAL)]
        + [
            inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default)
            for p in params
        ]
    )
    factory.__module__ = "moonlight.indicators.stream"
    spec = IndicatorSpec(
        name=name,
        batch=batch,
        stream=factory,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        params=params,
        warmup=warmup,
        summary=summary,
        aliases=tuple(aliases),
        source=source,
        extra={
            "group": group,
            "int_outputs": tuple(int_outputs),
            "unstable": tuple(unstable_named.values()),
        },
    )
    indicator = Indicator(
        spec=spec,
        group=group,
        kernel=kernel,
        kernel_2d=kernel_2d,
        stream_class=stream,
        int_outputs=frozenset(int_outputs),
        check=check,
        validate=validate,
        unstable=unstable_named,
    )
    holder["indicator"] = indicator
    stream.indicator = name
    float_lead = float("nan")
    leads = tuple(0 if out in int_outputs else float_lead for out in outputs)
    _make_gate(stream, leads[0] if len(leads) == 1 else leads)
    batch.kernel = kernel  # type: ignore[attr-defined]
    batch.spec = spec  # type: ignore[attr-defined]
    REGISTRY[name] = indicator
    for alias in aliases:
        ALIASES[alias] = name
    return batch
