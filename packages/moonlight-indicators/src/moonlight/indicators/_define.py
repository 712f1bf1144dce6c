"""The machinery that turns one declaration into a complete indicator.

How to declare an indicator (notes for everyone writing an indicator module)
============================================================================

An indicator module (``overlap.py``, ``momentum.py``...) contains, per indicator, the
computation only -- everything else is generated from its row in the table of declarations:

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
2. The stream, as a *step* and its *state*:

   * ``<name>_step(st, at, *bar)`` -- a ``@jit`` function advancing the indicator by one
     bar (one float per input) with all its state in ``st[at:]`` (a float64 array), and
     returning the bar's output (a float, or a tuple in output order) -- bit-identical
     to the kernel at every bar, NaN warm-up included, so do the same floating-point
     operations in the same order. It allocates nothing. Steps compose: a step calls
     another step on its own part of ``st`` (the MA steps of ``_ma`` serve bbands,
     stoch, stochrsi...). Leading bars with a NaN input never reach the step: the
     generated gate skips them as TA-Lib's wrapper does.
   * ``<name>_state(**params) -> list[float]`` -- the initial ``st[at:]`` for these
     parameters (and unstable periods, see below): ring buffers sized by the periods,
     counters at zero, constants the step reads back. Document the layout next to it.

3. One row in the table of :mod:`._declarations` (name, group, summary, inputs,
   outputs, parameters with defaults and ranges, ``lookback``, ``check``, aliases,
   integer outputs, unstable-period ids, source -- see
   :class:`~moonlight.indicators._declarations.Declaration`), and one line in the
   module that binds it to the computation::

       sma = implement("sma", globals())

   :func:`implement` takes ``<name>_kernel`` (or ``<name>_core``), ``<name>_state`` and
   ``<name>_step`` from the namespace given (a keyword names another function where
   indicators share one: ``natr = implement("natr", globals(), state=atr_state)``) and
   generates the public batch function with TA-Lib's exact signature
   (``sma(real, timeperiod=30)``) and its pandas/2-D handling, the 2-D ``prange``
   driver over the kernel, the stream factory
   ``moonlight.indicators.stream.sma(*history, **params)`` (a
   :class:`~moonlight.indicators._streams.Stream`), the batched factory
   ``moonlight.indicators.batched.sma(series, **params)`` (a
   :class:`~moonlight.indicators._streams.BatchedStream`) and registers the
   ``IndicatorSpec`` (catalogue). The Numba drivers are written as source by
   :mod:`._codegen` and compiled on first use. The plugin hook builds the same spec
   from the table alone, so describing the indicators imports no kernel.

   Unstable periods (TA-Lib's ``set_unstable_period``): their current values are passed,
   in the declared order, as extra int arguments to the kernel right after the
   parameters (before the outputs), and as keyword arguments to the state function and
   to ``lookback`` (names: see ``Declaration``).

Speed: a stream's ``update`` is the compiled entry point of the generated gate + step,
bound to the stream's state array -- one C call a bar (~0.2 us, TA-Lib's
``talib.stream`` update takes about as long), whatever the step does in Python terms.

Two traps found while porting (TA-Lib 0.8.2 bundles a recent C library): some functions
rebuild running sums periodically (WMA every ``8*period`` outputs, LINEARREG and the
variance family every ``32*period``), which is visible as NaN *recovery* after a NaN in
the middle of the input -- test NaN mid-series against TA-Lib; and Numba's on-disk cache
does not track dependencies across modules, so after editing a shared helper (``_ma``,
``_kernels``, or a lookback in ``_declarations``: the moving averages' generated kernels
compile it in) delete the ``__pycache__/*.nbi``/``*.nbc`` files before re-testing.

``moonlight/indicators/__init__.py`` imports every indicator module on first use
(``load()``), checks that every declaration is implemented, and exposes every name (and
alias) as ``moonlight.indicators.<name>``; the test suite
``tests/indicators/test_catalog_contract.py`` then checks each indicator against this
contract (metadata, invalid parameters, 2-D, pandas, stream == batch, batched == single
streams, state round trip).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from moonlight.core.plugins import IndicatorSpec, ParamSpec
from moonlight.indicators import _codegen, _inputs
from moonlight.indicators._declarations import (
    ALIASES,
    DECLARATIONS,
    FLOAT_MAX,
    UNSTABLE,
    Declaration,
    checker,
    get_unstable_period,
    set_unstable_period,
)
from moonlight.indicators._streams import KERNELS, BatchedStream, Stream, StreamKernel

__all__ = [
    "ALIASES",
    "REGISTRY",
    "Indicator",
    "define",
    "get_threads",
    "get_unstable_period",
    "implement",
    "lookup",
    "set_threads",
    "set_unstable_period",
]

# ---------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Indicator:
    """Everything the package knows about one indicator (the spec plus the internals)."""

    spec: IndicatorSpec
    declaration: Declaration
    kernel: Callable[..., None]
    stream: StreamKernel
    _generated: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def group(self) -> str:
        return self.declaration.group

    @property
    def int_outputs(self) -> frozenset[str]:
        return frozenset(self.declaration.int_outputs)

    @property
    def check(self) -> Callable[..., None] | None:
        return self.declaration.check

    @property
    def unstable(self) -> Mapping[str, str]:
        """kwarg name -> TA-Lib unstable-period id, in kernel-argument order."""
        return self.declaration.unstable_named

    def validate(self, **given: Any) -> dict[str, Any]:
        """Fill defaults, range-check every parameter, run ``check``; return them all."""
        return self.declaration.validate(**given)

    def unstable_values(self) -> dict[str, int]:
        """The current unstable periods this indicator follows, by kwarg name."""
        return self.declaration.unstable_values()

    @property
    def kernel_2d(self) -> Callable[..., None]:
        """The generated ``prange`` driver running :attr:`kernel` on every column."""
        found = self._generated.get("kernel_2d")
        if found is None:
            spec = self.spec
            found = _codegen.kernel_2d(self.kernel, len(spec.inputs), len(spec.outputs))
            self._generated["kernel_2d"] = found
        return found  # type: ignore[no-any-return]


#: name -> Indicator, in the order the modules implement them (aliases are not keys).
REGISTRY: dict[str, Indicator] = {}


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
    low = -FLOAT_MAX if p.minimum is None else float(p.minimum)
    high = FLOAT_MAX if p.maximum is None else float(p.maximum)
    return (
        f"    if type({p.name}) is not float or not ({low!r} <= {p.name} <= {high!r}):\n"
        f"        {p.name} = _check_{index}({p.name})\n"
    )


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
    else:
        _run_2d(ind.kernel_2d, *arrays, *params, *outs)
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
        namespace[f"_check_{i}"] = checker(p)
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
# Stream and batched-stream factories
# ---------------------------------------------------------------------------------------


def _is_array_like(value: object) -> bool:
    return not isinstance(value, int | float | np.number | bool)


def _bind(ind: Indicator, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Positional and keyword parameters of a factory call, validated, with defaults."""
    names = [p.name for p in ind.spec.params]
    if len(args) > len(names):
        raise ValueError(f"{ind.name}: too many positional parameters ({len(args)})")
    for pname, value in zip(names, args, strict=False):
        if pname in kwargs:
            raise ValueError(f"{ind.name}: parameter {pname} given twice")
        kwargs[pname] = value
    return {**ind.validate(**kwargs), **ind.unstable_values()}


def _make_stream_factory(holder: dict[str, Any], name: str) -> Callable[..., Stream]:
    def factory(*args: Any, **kwargs: Any) -> Stream:
        ind: Indicator = holder["indicator"]
        n_inputs = len(ind.spec.inputs)
        history: tuple[Any, ...] = ()
        if args and _is_array_like(args[0]):
            if len(args) < n_inputs:
                raise ValueError(
                    f"{name}: history needs {n_inputs} arrays "
                    f"({', '.join(ind.spec.inputs)}), got {len(args)}"
                )
            history, args = args[:n_inputs], args[n_inputs:]
        stream = Stream(ind.stream, _bind(ind, args, kwargs))
        if history:
            prepared = _inputs.prepare(ind.spec.inputs, history)
            if prepared.ndim != 1:
                raise ValueError(f"{name}: stream history must be 1-D arrays")
            stream.run(*prepared.arrays)
        return stream

    factory.__name__ = name
    factory.__qualname__ = name
    return factory


def _make_batched_factory(holder: dict[str, Any], name: str) -> Callable[..., BatchedStream]:
    def factory(series: int, *args: Any, **kwargs: Any) -> BatchedStream:
        ind: Indicator = holder["indicator"]
        return BatchedStream(ind.stream, _bind(ind, args, kwargs), series)

    factory.__name__ = name
    factory.__qualname__ = name
    return factory


def _signature(params: Sequence[ParamSpec], first: inspect.Parameter) -> inspect.Signature:
    return inspect.Signature(
        [first]
        + [
            inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default)
            for p in params
        ]
    )


def _stream_kernel(
    name: str,
    inputs: Sequence[str],
    outputs: Sequence[str],
    int_outputs: frozenset[str],
    state: Callable[..., Sequence[float]],
    step: Any,
    validate: Callable[..., dict[str, Any]],
    unstable: Mapping[str, str],
) -> StreamKernel:
    """The indicator's :class:`StreamKernel`; its ``initial_state`` re-validates the
    parameters, so a snapshot from elsewhere cannot build a malformed state."""

    def initial_state(params: Mapping[str, Any]) -> npt.NDArray[np.float64]:
        given = dict(params)
        periods = {}
        for kw in unstable:
            if kw not in given:
                raise ValueError(f"{name}: unstable period {kw} missing from the parameters")
            periods[kw] = _inputs.check_int(kw, given.pop(kw), 0, 2**31 - 1)
        cells = np.asarray(state(**validate(**given), **periods), dtype=np.float64)
        return np.concatenate((np.zeros(1), cells))

    return StreamKernel(
        indicator=name,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        int_outputs=int_outputs,
        step=step,
        initial_state=initial_state,
    )


# ---------------------------------------------------------------------------------------
# define() and implement()
# ---------------------------------------------------------------------------------------


def define(
    declaration: Declaration,
    *,
    state: Callable[..., Sequence[float]],
    step: Any,
    kernel: Callable[..., None] | None = None,
    core: Callable[..., Any] | None = None,
) -> Callable[..., Any]:
    """Bind one declaration to its computation; return its public batch function.

    Give the ``kernel``, or -- for a one-input, one-output indicator computed by a
    TA-Lib-style ``core(x, start, end, *params, *unstable, out)`` -- the ``core``, and the
    kernel (``batch.kernel``) is generated around it.
    """
    name = declaration.name
    if (kernel is None) == (core is None):
        raise ValueError(f"{name}: give exactly one of kernel= and core=")
    if name in REGISTRY:
        raise ValueError(f"indicator {name!r} is already implemented")
    inputs, outputs, params = declaration.inputs, declaration.outputs, declaration.params
    summary, unstable_named = declaration.summary, declaration.unstable_named
    int_outputs = frozenset(declaration.int_outputs)
    if kernel is None:
        if inputs != ("real",) or len(outputs) != 1:
            raise ValueError(f"{name}: core= serves one input named real and one output")
        arguments = [*(p.name for p in params), *unstable_named]
        kernel = _codegen.core_kernel(name, core, declaration.lookback, arguments, summary + ".")

    holder: dict[str, Any] = {"kernel": kernel}
    batch = _make_batch(name, inputs, outputs, params, int_outputs, holder, unstable_named)
    batch.__doc__ = _docstring(name, summary, inputs, outputs, params, declaration.source)
    batch.__module__ = getattr(kernel, "__module__", __name__)
    stream_factory = _make_stream_factory(holder, name)
    returns = "value." if len(outputs) == 1 else "(" + ", ".join(outputs) + ")."
    stream_factory.__doc__ = (
        f"Streaming {summary.lower()}: ``{name}(*history, "
        + ", ".join(f"{p.name}={p.default!r}" for p in params)
        + ")``; history arrays optional. Returns a stream whose ``update("
        + ", ".join(inputs)
        + ")`` returns the bar's "
        + returns
    )
    stream_factory.__signature__ = _signature(  # type: ignore[attr-defined]
        params, inspect.Parameter("history", inspect.Parameter.VAR_POSITIONAL)
    )
    stream_factory.__module__ = "moonlight.indicators.stream"
    batched_factory = _make_batched_factory(holder, name)
    batched_factory.__doc__ = (
        f"{summary} streamed for many series: ``{name}(series, "
        + ", ".join(f"{p.name}={p.default!r}" for p in params)
        + ")``. Returns a batched stream whose ``update("
        + ", ".join(inputs)
        + ", index=None)`` takes one array per input (one value per series) and returns "
        + "the bar's "
        + ("values." if len(outputs) == 1 else "(" + ", ".join(outputs) + ") arrays.")
    )
    batched_factory.__signature__ = _signature(  # type: ignore[attr-defined]
        params, inspect.Parameter("series", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    )
    batched_factory.__module__ = "moonlight.indicators.batched"
    spec = declaration.spec(batch, stream_factory, batched_factory)
    stream_kernel = _stream_kernel(
        name, inputs, outputs, int_outputs, state, step, declaration.validate, unstable_named
    )
    indicator = Indicator(spec=spec, declaration=declaration, kernel=kernel, stream=stream_kernel)
    holder["indicator"] = indicator
    batch.kernel = kernel  # type: ignore[attr-defined]
    batch.spec = spec  # type: ignore[attr-defined]
    REGISTRY[name] = indicator
    KERNELS[name] = stream_kernel
    return batch


def implement(name: str, namespace: Mapping[str, Any], **functions: Any) -> Callable[..., Any]:
    """:func:`define` the declared indicator ``name`` from ``namespace``'s functions.

    ``<name>_kernel`` (or ``<name>_core``), ``<name>_state`` and ``<name>_step`` are
    taken from ``namespace`` (a module's ``globals()``, or ``vars(module)``); a keyword
    (``kernel=``, ``core=``, ``state=``, ``step=``) names a function shared with another
    indicator instead.
    """
    try:
        declaration = DECLARATIONS[name]
    except KeyError:
        raise ValueError(
            f"{name!r} is not declared in moonlight.indicators._declarations"
        ) from None
    unknown = set(functions) - {"kernel", "core", "state", "step"}
    if unknown:
        raise ValueError(f"{name}: unknown function role(s) {sorted(unknown)}")
    found: dict[str, Any] = {
        role: functions.get(role, namespace.get(f"{name}_{role}"))
        for role in ("kernel", "core", "state", "step")
    }
    if found["kernel"] is not None and "core" not in functions:
        found["core"] = None
    for role in ("state", "step"):
        if found[role] is None:
            raise ValueError(f"{name}: no {name}_{role} (nor {role}=) to implement it with")
    return define(
        declaration,
        state=found["state"],
        step=found["step"],
        kernel=found["kernel"],
        core=found["core"],
    )


# ---------------------------------------------------------------------------------------
# The factory modules (``moonlight.indicators.stream`` and ``.batched``)
# ---------------------------------------------------------------------------------------


def factories(kind: str) -> dict[str, Callable[..., Any]]:
    """Every indicator's (and alias's) ``"stream"`` or ``"batched"`` factory by name."""

    def pick(ind: Indicator) -> Callable[..., Any]:
        factory: Callable[..., Any] = (
            ind.spec.stream if kind == "stream" else ind.spec.extra["batched"]
        )
        return factory

    found = {name: pick(ind) for name, ind in REGISTRY.items()}
    found.update({alias: pick(REGISTRY[name]) for alias, name in ALIASES.items()})
    return found


def factory_lookup(module: str, kind: str) -> Callable[[str], Callable[..., Any]]:
    """A module ``__getattr__`` serving indicators registered after the module's import."""

    def lookup_factory(name: str) -> Callable[..., Any]:
        found = factories(kind)
        if name in found:
            return found[name]
        raise AttributeError(f"module {module!r} has no indicator named {name!r}")

    return lookup_factory
