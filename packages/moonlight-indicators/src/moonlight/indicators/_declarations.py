"""The one definition of every indicator: a table of declarations, light to import.

Each :class:`Declaration` is everything about an indicator except its computation: name,
group, summary, inputs, outputs, parameters with defaults and ranges, TA-Lib's lookback
as a function of the parameters, the unstable-period ids it follows, aliases, integer
outputs and the source it follows. From one row:

* the indicator modules' :func:`~moonlight.indicators._define.implement` builds the public
  batch function (TA-Lib's signature), its 2-D driver, the stream and batched-stream
  factories around the module's ``<name>_kernel`` (or ``_core``), ``_state`` and
  ``_step``;
* the plugin hook (:mod:`moonlight.indicators.plugin`) builds the same
  :class:`~moonlight.core.plugins.IndicatorSpec` without importing Numba or any kernel:
  its ``batch``/``stream`` import :mod:`moonlight.indicators` on their first call, so
  ``moonlight plugins`` describes every indicator for the price of this module.

This module imports numpy and the core's plugin specs only. The process-wide unstable
periods (TA-Lib's ``set_unstable_period``) live here too, because the warm-up a spec
reports depends on them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from moonlight.core.plugins.specs import IndicatorSpec, ParamSpec
from moonlight.indicators import _inputs

#: TA-Lib's usual upper bound for periods (``TA_INTEGER_MAX`` is larger, but every
#: period parameter of the functions we mirror is declared 1..100000 or 2..100000).
MAX_PERIOD = 100_000
#: Float parameters without an explicit bound still have to be finite.
FLOAT_MAX = 1.7976931348623157e308


def int_param(name: str, default: int, minimum: int, maximum: int = MAX_PERIOD) -> ParamSpec:
    """An integer parameter with TA-Lib's name, default and valid closed range."""
    return ParamSpec(name=name, default=default, minimum=minimum, maximum=maximum, kind=int)


def float_param(
    name: str, default: float, minimum: float | None = None, maximum: float | None = None
) -> ParamSpec:
    """A float parameter; ``None`` bounds mean "any finite value"."""
    return ParamSpec(name=name, default=default, minimum=minimum, maximum=maximum, kind=float)


def checker(p: ParamSpec) -> Callable[[object], Any]:
    """The range check of one parameter: returns the value converted, or raises."""
    if p.kind is int:
        low_i = None if p.minimum is None else int(p.minimum)
        high_i = None if p.maximum is None else int(p.maximum)
        return lambda value: _inputs.check_int(p.name, value, low_i, high_i)
    low_f = -FLOAT_MAX if p.minimum is None else float(p.minimum)
    high_f = FLOAT_MAX if p.maximum is None else float(p.maximum)
    return lambda value: _inputs.check_float(p.name, value, low_f, high_f)


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
# The declaration
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Declaration:
    """One indicator as the table declares it (see the module notes).

    ``lookback`` is TA-Lib's ``TA_<NAME>_Lookback`` as a function of ALL the parameters
    by keyword, plus the unstable periods: the number of leading NaN on clean input.
    ``check`` (optional) receives the validated parameters by keyword and raises
    ``ValueError`` for combinations the ranges cannot express. ``int_outputs`` names the
    outputs that are int32 (0 during warm-up). ``unstable`` names the TA-Lib ids whose
    unstable period the indicator follows; their current values are passed, in that
    order, to the kernel after the parameters and by keyword to ``lookback`` and the
    state function: named ``unstable`` when one id is declared, ``<id lower-case>_unstable``
    when several are, or as a mapping ``{"kwarg_name": "ID"}`` chooses.
    """

    name: str
    group: str
    summary: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: tuple[ParamSpec, ...]
    lookback: Callable[..., int]
    source: str
    check: Callable[..., None] | None = None
    aliases: tuple[str, ...] = ()
    int_outputs: tuple[str, ...] = ()
    unstable: Sequence[str] | Mapping[str, str] = ()
    #: kwarg name -> TA-Lib unstable-period id, in kernel-argument order.
    unstable_named: Mapping[str, str] = field(init=False, repr=False)
    _checkers: Mapping[str, Callable[[object], Any]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.int_outputs) - set(self.outputs)
        if unknown:
            raise ValueError(f"{self.name}: int_outputs {sorted(unknown)} are not outputs")
        object.__setattr__(self, "unstable_named", _unstable_names(self.unstable))
        object.__setattr__(self, "_checkers", {p.name: checker(p) for p in self.params})

    def validate(self, **given: Any) -> dict[str, Any]:
        """Fill defaults, range-check every parameter, run ``check``; return them all."""
        extra = set(given) - set(self._checkers)
        if extra:
            raise ValueError(f"{self.name}: unknown parameter(s) {sorted(extra)}")
        values = {p.name: self._checkers[p.name](given.get(p.name, p.default)) for p in self.params}
        if self.check is not None:
            self.check(**values)
        return values

    def unstable_values(self) -> dict[str, int]:
        """The current unstable periods this indicator follows, by kwarg name."""
        return {kw: UNSTABLE[uid] for kw, uid in self.unstable_named.items()}

    def warmup(self, **given: Any) -> int:
        """Leading NaN bars on clean input, at the current unstable-period settings."""
        return int(self.lookback(**self.validate(**given), **self.unstable_values()))

    def spec(
        self,
        batch: Callable[..., Any],
        stream: Callable[..., Any],
        batched: Callable[..., Any],
    ) -> IndicatorSpec:
        """The plugin-facing spec with these entry points (real ones or :func:`lazy`)."""
        return IndicatorSpec(
            name=self.name,
            batch=batch,
            stream=stream,
            inputs=self.inputs,
            outputs=self.outputs,
            params=self.params,
            warmup=self.warmup,
            summary=self.summary,
            aliases=self.aliases,
            source=self.source,
            extra={
                "group": self.group,
                "int_outputs": self.int_outputs,
                "unstable": tuple(self.unstable_named.values()),
                "batched": batched,
            },
        )

    def described(self) -> IndicatorSpec:
        """The spec with entry points that import :mod:`moonlight.indicators` when first
        called: what the plugin hook registers, Numba-free until an indicator is used."""
        return self.spec(
            lazy(self.name, "moonlight.indicators"),
            lazy(self.name, "moonlight.indicators.stream"),
            lazy(self.name, "moonlight.indicators.batched"),
        )


def lazy(name: str, module: str) -> Callable[..., Any]:
    """``module.name``, imported on the first call and called with the same arguments."""
    found: list[Callable[..., Any]] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        if not found:
            found.append(getattr(importlib.import_module(module), name))
        return found[0](*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``{module}.{name}``, imported on the first call."
    return call


# ---------------------------------------------------------------------------------------
# Lookbacks and checks shared by several declarations (plain Python: metadata only)
# ---------------------------------------------------------------------------------------

#: TA-Lib's ``TA_MAType`` code of MAMA, which MoonLight does not implement.
MA_MAMA = 7
#: MA types a ``matype`` parameter accepts: TA-Lib's 0..8 (7, MAMA, is refused by check).
MATYPE_MAX = 8
#: The unstable-period ids an indicator with a ``matype`` parameter follows.
MA_UNSTABLE = ("EMA", "KAMA", "T3")


def ma_lookback(
    period: int, matype: int, ema_unstable: int = 0, kama_unstable: int = 0, t3_unstable: int = 0
) -> int:
    """``TA_MA_Lookback``: leading bars an MA of this type and period consumes."""
    if period <= 1:
        return 0
    if matype == 1:
        return period - 1 + ema_unstable
    if matype == 3:
        return 2 * (period - 1 + ema_unstable)
    if matype == 4:
        return 3 * (period - 1 + ema_unstable)
    if matype == 6:
        return period + kama_unstable
    if matype == 8:
        return 6 * (period - 1) + t3_unstable
    return period - 1  # SMA, WMA, TRIMA


def check_matypes(**params: Any) -> None:
    """Refuse MAMA (code 7) in every ``*matype`` parameter: MoonLight does not implement
    the MESA adaptive average."""
    for name, value in params.items():
        if name.endswith("matype") and value == MA_MAMA:
            raise ValueError(
                f"{name}=7 (MAMA) is not supported by moonlight.indicators; use 0..6 or 8"
            )


def bbands_lookback(
    *, timeperiod: int, nbdevup: float, nbdevdn: float, matype: int, **unstable: int
) -> int:
    """The MA's lookback or the variance window's, whichever is longer."""
    return max(ma_lookback(timeperiod, matype, **unstable), timeperiod - 1)


def macd_lookback(fastperiod: int, slowperiod: int, signalperiod: int, unstable: int) -> int:
    """The slower EMA's lookback, then the signal EMA's."""
    return signalperiod - 1 + unstable + max(fastperiod, slowperiod) - 1 + unstable


def stoch_lookback(
    *, fastk_period: int, slowk_period: int, slowk_matype: int, slowd_period: int,
    slowd_matype: int, **unstable: int
) -> int:  # fmt: skip
    """%K's window, then the two MAs smoothing it."""
    slowk = ma_lookback(slowk_period, slowk_matype, **unstable)
    return fastk_period - 1 + slowk + ma_lookback(slowd_period, slowd_matype, **unstable)


def stochrsi_lookback(
    *, timeperiod: int, fastk_period: int, fastd_period: int, fastd_matype: int,
    unstable: int, **ma_unstable: int
) -> int:  # fmt: skip
    """The RSI's lookback, %K's window, then the %D MA."""
    ma = ma_lookback(fastd_period, fastd_matype, **ma_unstable)
    return timeperiod + unstable + fastk_period - 1 + ma


def di_lookback(timeperiod: int, unstable: int) -> int:
    """Wilder's smoothing window (one bar for a period of 1: the first difference)."""
    return timeperiod + unstable if timeperiod > 1 else 1


def kc_lookback(
    timeperiod: int, atrperiod: int, nbdev: float, ema_unstable: int = 0, atr_unstable: int = 0
) -> int:
    """TA_KC_Lookback: the longer of the EMA's and the ATR's lookbacks."""
    return max(timeperiod - 1 + ema_unstable, atrperiod + atr_unstable)


def ichimoku_lookback(
    tenkanperiod: int, kijunperiod: int, senkouperiod: int, displacement: int
) -> int:
    """First bar with all five lines: the longest window, then ``displacement`` bars more."""
    return max(tenkanperiod, kijunperiod, senkouperiod) - 1 + displacement


# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------

#: The TA-Lib sources the ports follow (the C library version differs between groups).
_TA = "TA-Lib C ta_{}.c via the ta-lib 0.8.2 Python wrapper"
_TA_081 = "TA-Lib C ta_{}.c (library 0.8.1 bundled with the ta-lib 0.8.2 Python wrapper)"
_TA_C081 = "TA-Lib C 0.8.1 ta_{}.c via the ta-lib 0.8.2 Python wrapper"

_DECLARED: tuple[Declaration, ...] = (
    # overlap
    Declaration(
        "sma",
        group="overlap",
        summary="Simple moving average",
        inputs=("real",),
        outputs=("real",),
        params=(int_param("timeperiod", 30, 1),),
        lookback=lambda timeperiod: timeperiod - 1,
        source=_TA.format("SMA"),
    ),
    Declaration(
        "ema",
        group="overlap",
        summary="Exponential moving average (k = 2/(timeperiod+1), seeded with the SMA)",
        inputs=("real",),
        outputs=("real",),
        params=(int_param("timeperiod", 30, 1),),
        lookback=lambda timeperiod, unstable: timeperiod - 1 + unstable,
        unstable=("EMA",),
        source=_TA.format("EMA"),
    ),
    Declaration(
        "wma",
        group="overlap",
        summary="Weighted moving average (weights 1..timeperiod, newest heaviest)",
        inputs=("real",),
        outputs=("real",),
        params=(int_param("timeperiod", 30, 1),),
        lookback=lambda timeperiod: timeperiod - 1,
        source=_TA.format("WMA"),
    ),
    Declaration(
        "dema",
        group="overlap",
        summary="Double exponential moving average (Mulloy): 2*EMA - EMA(EMA)",
        inputs=("real",),
        outputs=("real",),
        params=(int_param("timeperiod", 30, 1),),
        lookback=lambda timeperiod, unstable: 2 * (timeperiod - 1 + unstable),
        unstable=("EMA",),
        source=_TA.format("DEMA"),
    ),
    Declaration(
        "tema",
        group="overlap",
        summary="Triple exponential moving average (Mulloy): 3*EMA - 3*EMA(EMA) + EMA(EMA(EMA))",
        inputs=("real",),
        outputs=("real",),
        params=(int_param("timeperiod", 30, 1),),
        lookback=lambda timeperiod, unstable: 3 * (timeperiod - 1 + unstable),
        unstable=("EMA",),
        source=_TA.format("TEMA"),
    ),
    Declaration(
        "trima",
        group="overlap",
        summary="Triangular moving average (an SMA of an SMA, computed in one pass)",
        inputs=("real",),
        outputs=("real",),
        params=(int_param("timeperiod", 30, 1),),
        lookback=lambda timeperiod: timeperiod - 1,
        source=_TA.format("TRIMA"),
    ),
    Declaration(
        "kama",
        group="overlap",
        summary="Kaufman adaptive moving average (fast 2, slow 30, efficiency over timeperiod)",
        inputs=("real",),
        outputs=("real",),
        params=(int_param("timeperiod", 30, 1),),
        lookback=lambda timeperiod, unstable: (
            unstable if timeperiod == 1 else timeperiod + unstable
        ),
        unstable=("KAMA",),
        source=_TA.format("KAMA"),
    ),
    Declaration(
        "t3",
        group="overlap",
        summary="Tillson T3 moving average (six cascaded EMAs, volume factor vfactor)",
        inputs=("real",),
        outputs=("real",),
        params=(int_param("timeperiod", 5, 1), float_param("vfactor", 0.7, 0.0, 1.0)),
        lookback=lambda timeperiod, vfactor, unstable: 6 * (timeperiod - 1) + unstable,
        unstable=("T3",),
        source="TA-Lib C ta_T3.c via the ta-lib 0.8.2 Python wrapper",
    ),
    Declaration(
        "bbands",
        group="overlap",
        summary="Bollinger Bands",
        inputs=("real",),
        outputs=("upperband", "middleband", "lowerband"),
        params=(
            int_param("timeperiod", 20, 2),
            float_param("nbdevup", 2.0, 0.0, 3e37),
            float_param("nbdevdn", 2.0, 0.0, 3e37),
            int_param("matype", 0, 0, 8),
        ),
        lookback=bbands_lookback,
        check=check_matypes,
        unstable=("EMA", "KAMA", "T3"),
        source=_TA.format("BBANDS") + "; J. Bollinger, Bollinger on Bollinger Bands (2001)",
    ),
    Declaration(
        "macd",
        group="overlap",
        summary="Moving average convergence/divergence",
        inputs=("real",),
        outputs=("macd", "macdsignal", "macdhist"),
        params=(
            int_param("fastperiod", 12, 2),
            int_param("slowperiod", 26, 2),
            int_param("signalperiod", 9, 1),
        ),
        lookback=macd_lookback,
        unstable=("EMA",),
        source=_TA.format("MACD") + "; G. Appel, Technical Analysis: Power Tools (2005)",
    ),
    Declaration(
        "linearreg",
        group="overlap",
        summary="Linear regression (least-squares line value at the current bar)",
        inputs=("real",),
        outputs=("real",),
        params=(int_param("timeperiod", 14, 2),),
        lookback=lambda timeperiod: timeperiod - 1,
        source=_TA.format("LINEARREG"),
    ),
    Declaration(
        "stoch",
        group="overlap",
        summary="Stochastic oscillator (slow %K, %D)",
        inputs=("high", "low", "close"),
        outputs=("slowk", "slowd"),
        params=(
            int_param("fastk_period", 5, 1),
            int_param("slowk_period", 3, 1),
            int_param("slowk_matype", 0, 0, 8),
            int_param("slowd_period", 3, 1),
            int_param("slowd_matype", 0, 0, 8),
        ),
        lookback=stoch_lookback,
        check=check_matypes,
        unstable=("EMA", "KAMA", "T3"),
        source=_TA.format("STOCH") + "; G. Lane's stochastic oscillator",
    ),
    # momentum
    Declaration(
        "rsi",
        group="momentum",
        summary="Relative Strength Index (Wilder smoothing)",
        inputs=("real",),
        outputs=("real",),
        params=(int_param("timeperiod", 14, 2),),
        lookback=lambda timeperiod, unstable: timeperiod + unstable,
        unstable=("RSI",),
        source=_TA_081.format("RSI") + "; J. W. Wilder, New Concepts in Technical Trading Systems",
    ),
    Declaration(
        "cmo",
        group="momentum",
        summary="Chande Momentum Oscillator (on Wilder averages, as TA-Lib)",
        inputs=("real",),
        outputs=("real",),
        params=(int_param("timeperiod", 14, 2),),
        lookback=lambda timeperiod, unstable: timeperiod + unstable,
        unstable=("CMO",),
        source=_TA_081.format("CMO") + "; T. Chande, The New Technical Trader",
    ),
    Declaration(
        "mom",
        group="momentum",
        summary="Momentum: change over timeperiod bars",
        inputs=("real",),
        outputs=("real",),
        params=(int_param("timeperiod", 10, 1),),
        lookback=lambda timeperiod: timeperiod,
        source=_TA_081.format("MOM"),
    ),
    Declaration(
        "roc",
        group="momentum",
        summary="Rate of change in percent: (price / price n bars ago - 1) * 100",
        inputs=("real",),
        outputs=("real",),
        params=(int_param("timeperiod", 10, 1),),
        lookback=lambda timeperiod: timeperiod,
        source=_TA_081.format("ROC"),
    ),
    Declaration(
        "willr",
        group="momentum",
        summary="Williams' %R",
        inputs=("high", "low", "close"),
        outputs=("real",),
        params=(int_param("timeperiod", 14, 2),),
        lookback=lambda timeperiod: timeperiod - 1,
        source=_TA_081.format("WILLR") + "; L. Williams, How I Made One Million Dollars (1979)",
    ),
    Declaration(
        "stochrsi",
        group="momentum",
        summary="Stochastic RSI: fast %K of the RSI and its moving average %D",
        inputs=("real",),
        outputs=("fastk", "fastd"),
        params=(
            int_param("timeperiod", 14, 2),
            int_param("fastk_period", 5, 1),
            int_param("fastd_period", 3, 1),
            int_param("fastd_matype", 0, 0, 8),
        ),
        lookback=stochrsi_lookback,
        check=check_matypes,
        unstable={
            "unstable": "RSI",
            "ema_unstable": "EMA",
            "kama_unstable": "KAMA",
            "t3_unstable": "T3",
        },
        source=_TA_081.format("STOCHRSI")
        + (" (RSI then STOCHF); T. Chande and S. Kroll, Stocks & Commodities 11:5 (1993)"),
    ),
    Declaration(
        "cci",
        group="momentum",
        summary="Commodity Channel Index",
        inputs=("high", "low", "close"),
        outputs=("real",),
        params=(int_param("timeperiod", 14, 2),),
        lookback=lambda timeperiod: timeperiod - 1,
        source=_TA_081.format("CCI") + "; D. Lambert, Commodities magazine (1980)",
    ),
    Declaration(
        "mfi",
        group="momentum",
        summary="Money Flow Index (volume-weighted RSI of the typical price)",
        inputs=("high", "low", "close", "volume"),
        outputs=("real",),
        params=(int_param("timeperiod", 14, 2),),
        lookback=lambda timeperiod: timeperiod,
        source=_TA_081.format("MFI") + "; G. Quong and A. Soudack, Stocks & Commodities (1989)",
    ),
    Declaration(
        "ultosc",
        group="momentum",
        summary="Ultimate Oscillator (weights 4/2/1 on the shortest/middle/longest period)",
        inputs=("high", "low", "close"),
        outputs=("real",),
        params=(
            int_param("timeperiod1", 7, 1),
            int_param("timeperiod2", 14, 1),
            int_param("timeperiod3", 28, 1),
        ),
        lookback=lambda timeperiod1, timeperiod2, timeperiod3: max(
            timeperiod1, timeperiod2, timeperiod3
        ),
        source=_TA_081.format("ULTOSC") + "; L. Williams, Stocks & Commodities (1985)",
    ),
    # directional
    Declaration(
        "adx",
        group="directional",
        summary="Average Directional Movement Index",
        inputs=("high", "low", "close"),
        outputs=("real",),
        params=(int_param("timeperiod", 14, 2),),
        lookback=lambda timeperiod, unstable: 2 * timeperiod - 1 + unstable,
        unstable=("ADX",),
        source=_TA_081.format("ADX")
        + ("; J. W. Wilder, New Concepts in Technical Trading Systems (1978)"),
    ),
    Declaration(
        "plus_di",
        group="directional",
        summary="Plus Directional Indicator (+DI)",
        inputs=("high", "low", "close"),
        outputs=("real",),
        params=(int_param("timeperiod", 14, 1),),
        lookback=di_lookback,
        unstable=("PLUS_DI",),
        source=_TA_081.format("PLUS_DI")
        + ("; J. W. Wilder, New Concepts in Technical Trading Systems (1978)"),
    ),
    Declaration(
        "minus_di",
        group="directional",
        summary="Minus Directional Indicator (-DI)",
        inputs=("high", "low", "close"),
        outputs=("real",),
        params=(int_param("timeperiod", 14, 1),),
        lookback=di_lookback,
        unstable=("MINUS_DI",),
        source=_TA_081.format("MINUS_DI")
        + ("; J. W. Wilder, New Concepts in Technical Trading Systems (1978)"),
    ),
    Declaration(
        "aroon",
        group="directional",
        summary="Aroon down and up: bars since the lowest low and highest high",
        inputs=("high", "low"),
        outputs=("aroondown", "aroonup"),
        params=(int_param("timeperiod", 14, 2),),
        lookback=lambda timeperiod: timeperiod,
        source=_TA_081.format("AROON") + "; T. Chande, Stocks & Commodities (1995)",
    ),
    Declaration(
        "sar",
        group="directional",
        summary="Parabolic SAR (stop and reverse)",
        inputs=("high", "low"),
        outputs=("real",),
        params=(float_param("acceleration", 0.02, 0.0), float_param("maximum", 0.2, 0.0)),
        lookback=lambda acceleration, maximum: 1,
        source=_TA_081.format("SAR")
        + ("; J. W. Wilder, New Concepts in Technical Trading Systems (1978)"),
    ),
    # volatility
    Declaration(
        "trange",
        group="volatility",
        summary="True Range",
        inputs=("high", "low", "close"),
        outputs=("real",),
        params=(),
        lookback=lambda: 1,
        source=_TA_C081.format("TRANGE"),
    ),
    Declaration(
        "atr",
        group="volatility",
        summary="Average True Range (Wilder smoothing)",
        inputs=("high", "low", "close"),
        outputs=("real",),
        params=(int_param("timeperiod", 14, 1),),
        lookback=lambda timeperiod, unstable=0: timeperiod + unstable,
        unstable=("ATR",),
        source=_TA_C081.format("ATR"),
    ),
    Declaration(
        "natr",
        group="volatility",
        summary="Normalized Average True Range (ATR / close * 100)",
        inputs=("high", "low", "close"),
        outputs=("real",),
        params=(int_param("timeperiod", 14, 1),),
        lookback=lambda timeperiod, unstable=0: timeperiod + unstable,
        unstable=("NATR",),
        source=_TA_C081.format("NATR"),
    ),
    Declaration(
        "supertrend",
        group="volatility",
        summary="SuperTrend (ATR bands that ratchet with the trend) and its direction",
        inputs=("high", "low", "close"),
        outputs=("supertrend", "trend"),
        params=(int_param("timeperiod", 10, 2), float_param("multiplier", 3.0, 0.0, 3e37)),
        lookback=lambda timeperiod, multiplier, unstable=0: timeperiod + unstable,
        int_outputs=("trend",),
        unstable=("ATR",),
        source=_TA_C081.format("SUPERTREND") + "; first trend long as in ta4j",
    ),
    Declaration(
        "kc",
        group="volatility",
        summary="Keltner Channels (EMA of typical price ± nbdev × ATR)",
        inputs=("high", "low", "close"),
        outputs=("upperband", "middleband", "lowerband"),
        params=(
            int_param("timeperiod", 20, 2),
            int_param("atrperiod", 10, 1),
            float_param("nbdev", 2.0, 0.0, 3e37),
        ),
        lookback=kc_lookback,
        aliases=("keltner",),
        unstable=("EMA", "ATR"),
        source=_TA_C081.format("KC"),
    ),
    Declaration(
        "donchian",
        group="volatility",
        summary="Donchian Channels (highest high, midpoint, lowest low of the window)",
        inputs=("high", "low"),
        outputs=("upperband", "middleband", "lowerband"),
        params=(int_param("timeperiod", 20, 2),),
        lookback=lambda timeperiod: timeperiod - 1,
        source=_TA_C081.format("DONCHIAN") + "; O(n) van Herk/Gil-Werman window extremes",
    ),
    # volume
    Declaration(
        "obv",
        group="volume",
        summary="On Balance Volume",
        inputs=("real", "volume"),
        outputs=("real",),
        params=(),
        lookback=lambda: 0,
        source=_TA_C081.format("OBV"),
    ),
    Declaration(
        "ad",
        group="volume",
        summary="Chaikin Accumulation/Distribution line",
        inputs=("high", "low", "close", "volume"),
        outputs=("real",),
        params=(),
        lookback=lambda: 0,
        source=_TA_C081.format("AD"),
    ),
    Declaration(
        "adosc",
        group="volume",
        summary="Chaikin A/D Oscillator (fast EMA - slow EMA of the A/D line)",
        inputs=("high", "low", "close", "volume"),
        outputs=("real",),
        params=(int_param("fastperiod", 3, 2), int_param("slowperiod", 10, 2)),
        lookback=lambda fastperiod, slowperiod, unstable=0: (
            max(fastperiod, slowperiod) - 1 + unstable
        ),
        unstable=("EMA",),
        source=_TA_C081.format("ADOSC"),
    ),
    Declaration(
        "vwap",
        group="volume",
        summary="Volume Weighted Average Price, cumulative from the first bar (TA-Lib 0.8)",
        inputs=("high", "low", "close", "volume"),
        outputs=("real",),
        params=(),
        lookback=lambda: 0,
        source=_TA_C081.format("VWAP") + "; see anchored_vwap for session/day/week anchors",
    ),
    Declaration(
        "rvol",
        group="volume",
        summary="Relative volume (volume / mean volume of the previous timeperiod bars)",
        inputs=("volume",),
        outputs=("real",),
        params=(int_param("timeperiod", 20, 1),),
        lookback=lambda timeperiod: timeperiod,
        source=_TA_C081.format("RVOL"),
    ),
    # candles
    Declaration(
        "ha",
        group="candles",
        summary="Heikin-Ashi candles",
        inputs=("open", "high", "low", "close"),
        outputs=("haopen", "hahigh", "halow", "haclose"),
        params=(),
        lookback=lambda unstable=0: unstable,
        aliases=("heikin_ashi",),
        unstable=("HA",),
        source=_TA_C081.format("HA"),
    ),
    # beyond
    Declaration(
        "ichimoku",
        group="beyond",
        summary="Ichimoku Kinko Hyo (tenkan, kijun, senkou A/B leading spans, chikou)",
        inputs=("high", "low", "close"),
        outputs=("tenkan", "kijun", "senkou_a", "senkou_b", "chikou"),
        params=(
            int_param("tenkanperiod", 9, 1),
            int_param("kijunperiod", 26, 1),
            int_param("senkouperiod", 52, 1),
            int_param("displacement", 26, 0),
        ),
        lookback=ichimoku_lookback,
        source=(
            "Hosoda Goichi, Ichimoku Kinko Hyo (1969); formulas as in StockCharts' "
            "ChartSchool 'Ichimoku Cloud' and backtrader's Ichimoku (spans shifted 26 bars "
            "forward)"
        ),
    ),
    Declaration(
        "anchored_vwap",
        group="beyond",
        summary="VWAP anchored to the session, day or week (restarts at each boundary)",
        inputs=("high", "low", "close", "volume", "timestamp"),
        outputs=("real",),
        params=(
            int_param("anchor", 1, 0, 2),
            float_param("offset_s", 0.0, -604800.0, 604800.0),
            float_param("gap_s", 3600.0, 0.0, 1000000000000.0),
        ),
        lookback=lambda anchor, offset_s, gap_s: 0,
        source=(
            "Brian Shannon, 'Maximum Trading Gains With Anchored VWAP' (2023); session VWAP "
            "as in TA-Lib 0.8's VWAP notes (sum(typical price * volume) / sum(volume))"
        ),
    ),
)


def _by_name(declared: Sequence[Declaration]) -> dict[str, Declaration]:
    """name -> declaration, refusing a name or alias declared twice."""
    table: dict[str, Declaration] = {}
    taken: set[str] = set()
    for item in declared:
        for name in (item.name, *item.aliases):
            if name in taken:
                raise ValueError(f"indicator name {name!r} is declared twice")
            taken.add(name)
        table[item.name] = item
    return table


#: name -> declaration, in catalogue order (grouped as :data:`INDICATOR_MODULES`).
DECLARATIONS: dict[str, Declaration] = _by_name(_DECLARED)
#: alias -> canonical name.
ALIASES: dict[str, str] = {a: d.name for d in DECLARATIONS.values() for a in d.aliases}
