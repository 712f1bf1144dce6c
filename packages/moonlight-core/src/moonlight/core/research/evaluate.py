"""evaluate(): a strategy or an ensemble over a whole history, vectorised.

The result is what the event-driven backtest produces on the same data and
configuration -- the same orders (bar, direction, stake, p̂), the same outcomes and
PnL -- computed in one pass:

1. the same timeline as the backtest (:func:`moonlight.core.backtest.runner.plan_timeline`:
   warm-up, start, stop, settlement phase);
2. strategies, vote and p̂ per decided bar, segment by segment as the worker rebuilds
   after long gaps (:mod:`moonlight.core.research.signals`);
3. the stateless rules vectorised (a direction, the payout permit, the p̂ threshold);
4. each candidate's contract priced on bar closes exactly as the paper broker does with
   the replay's feed (:mod:`moonlight.core.backtest.feed`): entry at the close in force
   at the decision, exit at the close in force at expiry, a push when no bar closed in
   between, "open" when the history ends before the expiry's price is known;
5. the sequential rest -- guards, sizing, balance, open orders, the paper book -- in
   :mod:`moonlight.core.research.risk_sim`.

``Evaluation.bars`` is a pandas DataFrame with one row per decided bar (signals, S,
p̂, what was decided and why, the outcome and PnL); ``Evaluation.trades`` the orders;
``Evaluation.summary`` the same figures as the backtest's ``summary.json``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moonlight.core.backtest.engine import POLL_INTERVAL_S
from moonlight.core.backtest.runner import Timeline, plan_timeline
from moonlight.core.backtest.summary import summarize
from moonlight.core.backtest.trades import (
    ABORT,
    LOSE,
    OPEN,
    OUTCOMES,
    PUSH,
    WIN,
    OrderIds,
    TradeLog,
)
from moonlight.core.backtest.verdict import edge_summary
from moonlight.core.config.models import AccountConfig, MoonlightConfig
from moonlight.core.data.candles import CandleSeries
from moonlight.core.data.optional import DataFrame, pandas
from moonlight.core.data.resample import resample
from moonlight.core.decisions.replay import shadow_moves, walk_forward_p_up
from moonlight.core.decisions.store import DecisionOutcomes
from moonlight.core.ensemble.online import OnlineCalibrator
from moonlight.core.research import kernels as k
from moonlight.core.research.risk_sim import (
    Account,
    Candidates,
    Simulated,
    builtin_plan,
    simulate_builtin,
    simulate_exact,
)
from moonlight.core.research.setup import ResearchSetup, SetupSpec, build_setup
from moonlight.core.research.signals import EnsembleArrays, ensemble_arrays, segments
from moonlight.core.runtime.worker import WorkerTiming
from moonlight.core.timeframes import timeframe_seconds

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`; see the module docstring.

    ``rows`` are the decided bars (positions in ``ensemble.index``) that were
    candidates; ``simulated`` and ``contracts`` describe them. The per-bar view
    (:attr:`bars`) is built from these on demand.
    """

    setup: ResearchSetup
    instrument: str
    timeline: Timeline
    ensemble: EnsembleArrays
    series: CandleSeries
    rows: npt.NDArray[np.int64]
    simulated: Simulated
    contracts: Contracts
    stateless_reason: npt.NDArray[np.int64]
    trades: TradeLog
    summary: dict[str, Any]
    #: Every decided bar's p̂, direction, shadow outcome and whether it was traded.
    decisions: DecisionOutcomes = field(default_factory=DecisionOutcomes.empty)
    #: Per trade: made on an unfitted (exploration) calibration, so never evidence.
    exploration: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))

    def per_bar(self) -> dict[str, Any]:
        """Decision, reason, stake, outcome, prices, PnL and settlement per decided bar."""
        n = self.ensemble.index.size
        rows, sim, contracts = self.rows, self.simulated, self.contracts
        status = sim.status
        traded = status == k.TRADED
        aborted = status == k.ABORTED
        sent = traded | aborted
        known = traded & (contracts.code != k.OUT_OPEN)
        decision = np.zeros(n, np.int8)  # 0 none, 1 refused, 2 trade, 3 abort
        decision[rows] = np.where(traded, 2, np.where(aborted, 3, 1))
        reasons = (*STATELESS_REASONS, *sim.reasons[1:])
        shift = np.r_[0, np.arange(1, len(sim.reasons)) + len(STATELESS_REASONS) - 1]
        reason = self.stateless_reason.copy()
        refused = status == k.REFUSED
        reason[rows[refused]] = shift[sim.reason_code[refused]]
        outcome = np.zeros(n, np.int8)
        codes = np.where(aborted, ABORT, _TRADE_CODE[contracts.code])
        outcome[rows[sent]] = codes[sent] + 1
        columns: dict[str, Any] = {"decision": decision, "reason": reason, "outcome": outcome,
                                   "reasons": reasons}  # fmt: skip
        for name, values in (
            ("stake", sim.stake),
            ("pnl", sim.pnl),
            ("settled_ts", sim.settled_ts),
        ):
            full = np.zeros(n) if name == "stake" else np.full(n, np.nan)
            full[rows] = values
            columns[name] = full
        for name, values in (("entry_price", contracts.entry), ("exit_price", contracts.exit)):
            full = np.full(n, np.nan)
            full[rows[known]] = values[known]
            columns[name] = full
        return columns

    @property
    def bars(self) -> DataFrame:
        """One row per decided bar, indexed by the bar's close time (UTC)."""
        pd = pandas()
        index = self.ensemble.index
        s = self.series
        close_ts = s.end_ts[index]
        frame: dict[str, Any] = {
            "open": s.open[index],
            "high": s.high[index],
            "low": s.low[index],
            "close": s.close[index],
            "volume": s.volume[index],
        }
        for name, signals in zip(self.setup.names, self.ensemble.signals, strict=True):
            frame[f"signal:{name}"] = signals.signed()
        per_bar = self.per_bar()
        frame.update(
            {
                "S": self.ensemble.score,
                "confidence": self.ensemble.confidence,
                "direction": self.ensemble.direction,
                "p_up": self.ensemble.p_up,
                "p_hat": self.ensemble.p_hat,
                "decision": pd.Categorical.from_codes(
                    per_bar["decision"], ["none", "refused", "trade", "abort"]
                ),
                "reason": pd.Categorical.from_codes(per_bar["reason"], per_bar["reasons"]),
                "stake": per_bar["stake"],
                "outcome": pd.Categorical.from_codes(per_bar["outcome"], BAR_OUTCOMES),
                "entry_price": per_bar["entry_price"],
                "exit_price": per_bar["exit_price"],
                "pnl": per_bar["pnl"],
                "settled_at": pd.to_datetime(per_bar["settled_ts"], unit="s", utc=True),
            }
        )
        out = pd.DataFrame(frame, index=pd.to_datetime(close_ts, unit="s", utc=True))
        out.index.name = "close_time"
        return out

    def orders(self) -> DataFrame:
        """The orders as a DataFrame (one row per order, the columns of the trade log)."""
        pd = pandas()
        return pd.DataFrame(self.trades.rows())


def _series(data: Any, instrument: str | None) -> CandleSeries:
    if isinstance(data, CandleSeries):
        return data
    if isinstance(data, str | Path):
        from moonlight.core.data.load import load_candles

        return load_candles(data, instrument=instrument)
    return CandleSeries.from_frame(data, instrument or "INSTRUMENT")


@dataclass(frozen=True)
class Decided:
    """The bars a worker decides on, with the ensemble's verdict on each."""

    instrument: str
    account: AccountConfig
    timeframe: str
    duration_s: int
    #: The data as given (the paper broker's prices) and the worker's bars.
    series: CandleSeries
    bars: CandleSeries
    timeline: Timeline
    arrays: EnsembleArrays
    close_ts: FloatArray
    decide_ts: FloatArray


def warmup_bars(setup: ResearchSetup) -> int:
    """Bars a worker of ``setup`` replays before trading (at its own timeframe)."""
    longest = max((int(s.warmup_bars) for s in setup.strategies), default=0)
    return longest + WorkerTiming().warmup_extra_bars


def decide_bars(data: Any, setup: ResearchSetup, *, instrument: str | None = None) -> Decided:
    """Timeline, segments, signals, vote and p̂ of every bar the worker decides on."""
    series = _series(data, instrument)
    name = instrument or series.instrument
    if name != series.instrument:
        series = replace(series, instrument=name, _report=series._report)
    series.require_ordered()
    account = setup.account.model_copy(update={"products": [name]})
    timeframe = account.timeframes[0]
    tf_s = timeframe_seconds(timeframe)
    bars = series if tf_s == series.timeframe_s else resample(series, tf_s)

    def series_of(_: str, seconds: int | None) -> CandleSeries:
        return series if seconds is None else bars

    warmup = warmup_bars(setup)
    config = MoonlightConfig(accounts=[account], runtime=setup.runtime, risk=setup.risk)
    timeline = plan_timeline(config, series_of, (name,), warmup)
    parts = segments(
        bars.end_ts, tf_s, warmup, timeline.workers[0].first_index, setup.runtime.catch_up_bars
    )
    arrays = ensemble_arrays(
        setup.strategies, setup.weights, setup.calibration, bars, setup.source, parts
    )
    close_ts = bars.end_ts[arrays.index]
    duration_s = timeframe_seconds(account.expiry or timeframe)
    if setup.spec.walk_forward:
        arrays = _walk_forward(arrays, bars, setup.spec, name, timeframe, duration_s)
    return Decided(
        instrument=name,
        account=account,
        timeframe=timeframe,
        duration_s=duration_s,
        series=series,
        bars=bars,
        timeline=timeline,
        arrays=arrays,
        close_ts=close_ts,
        decide_ts=close_ts + setup.runtime.settle_delay_s,
    )


def _walk_forward(
    arrays: EnsembleArrays,
    bars: CandleSeries,
    spec: SetupSpec,
    instrument: str,
    timeframe: str,
    duration_s: int,
) -> EnsembleArrays:
    """p̂ recomputed as the engine's decision sink learns it, bar by bar."""
    calibrator = OnlineCalibrator(
        min_samples=spec.min_samples,
        refit_every=spec.refit_every,
        window=spec.window,
        regularisation=spec.regularisation,
    )
    walked = walk_forward_p_up(
        arrays.score,
        bars.end_ts[arrays.index],
        bars.close[arrays.index],
        duration_s=duration_s,
        instrument=instrument,
        timeframe=timeframe,
        calibrator=calibrator,
        fallback=spec.calibration,
    )
    p_up = walked.p_up
    p_hat = np.where(arrays.direction > 0, p_up, np.where(arrays.direction < 0, 1.0 - p_up, 0.0))
    return replace(arrays, p_up=p_up, p_hat=p_hat, calibrated=walked.calibrated)


@dataclass(frozen=True)
class Contracts:
    """The contracts opened at some decided bars: prices, outcome code, booking instant."""

    entry: FloatArray
    exit: FloatArray
    code: npt.NDArray[np.int8]
    settle_ts: FloatArray


def price_contracts(decided: Decided, rows: npt.NDArray[np.int64]) -> Contracts:
    """Price the contracts decided at ``rows`` as the paper broker does on bar closes."""
    series = decided.series
    entry, exit_price, code, settle_ts = k.price_kernel(
        series.end_ts,
        series.close,
        np.ascontiguousarray(decided.decide_ts[rows]),
        float(decided.duration_s),
        np.ascontiguousarray(decided.arrays.direction[rows]),
        decided.timeline.start_ts,
        POLL_INTERVAL_S,
        float(series.end_ts[-1]) + series.timeframe_s,
    )
    return Contracts(entry=entry, exit=exit_price, code=code, settle_ts=settle_ts)


def evaluate(
    data: Any,
    setup: ResearchSetup | SetupSpec,
    *,
    instrument: str | None = None,
    exact: bool = False,
) -> Evaluation:
    """Evaluate ``setup`` on ``data`` (a DataFrame, a CandleSeries or a file path).

    ``instrument`` names the series (a DataFrame has no name). ``exact=True`` runs the
    risk chain through the configured :class:`~moonlight.core.risk.manager.RiskManager`
    objects even when the Numba kernel could (the results are the same; it is slower).
    """
    started = time.perf_counter()
    if isinstance(setup, SetupSpec):
        setup = build_setup(setup)
    spec = setup.spec
    decided = decide_bars(data, setup, instrument=instrument)
    arrays, account, timeline = decided.arrays, decided.account, decided.timeline
    name, timeframe, duration_s = decided.instrument, decided.timeframe, decided.duration_s
    decide_ts, close_ts = decided.decide_ts, decided.close_ts
    risk = setup.risk
    payout = spec.payout_pct
    reason_code = _stateless_reasons(arrays, risk, payout)
    rows = np.flatnonzero(reason_code == R_CANDIDATE)
    direction = arrays.direction[rows]
    contracts = price_contracts(decided, rows)
    entry, exit_price, code, settle_ts = (
        contracts.entry,
        contracts.exit,
        contracts.code,
        contracts.settle_ts,
    )
    start = timeline.start_ts
    prefix = f"{account.id}:{name}:{timeframe}:"
    ids = OrderIds(prefix, close_ts[rows])
    candidates = Candidates(decide_ts[rows], arrays.p_hat[rows], direction, code, settle_ts, ids)
    sim_account = Account(
        account_id=account.id,
        instrument=name,
        timeframe=timeframe,
        payout_pct=payout,
        stake_min=spec.stake_min,
        stake_max=spec.stake_max,
        account_max_stake=account.max_stake,
        duration_offered=duration_s in spec.durations_s,
        starting_balance=spec.starting_balance,
        start_ts=start,
    )
    plan = None if exact else builtin_plan(risk, setup.registry)
    simulated: Simulated = (
        simulate_builtin(candidates, sim_account, risk, plan)
        if plan is not None
        else simulate_exact(candidates, sim_account, risk, setup.registry)
    )
    status = simulated.status
    traded = status == k.TRADED
    aborted = status == k.ABORTED
    chosen = np.flatnonzero(traded | aborted)
    chosen_code = code[chosen]
    known = traded[chosen] & (chosen_code != k.OUT_OPEN)
    booked = aborted[chosen] | known
    at = rows[chosen]
    trades = TradeLog(
        client_req_id=OrderIds(prefix, close_ts[at]),
        instrument=[name] * chosen.size,
        timeframe=[timeframe] * chosen.size,
        direction=direction[chosen],
        decided_ts=decide_ts[at],
        stake=simulated.stake[chosen],
        payout_pct=np.full(chosen.size, payout),
        score=arrays.score[at],
        p_hat=arrays.p_hat[at],
        outcome_code=np.where(aborted[chosen], ABORT, _TRADE_CODE[chosen_code]).astype(np.int8),
        pnl=np.where(chosen_code == k.OUT_OPEN, np.nan, simulated.pnl[chosen]),
        entry_price=np.where(known, entry[chosen], np.nan),
        exit_price=np.where(known, exit_price[chosen], np.nan),
        settled_ts=np.where(booked, simulated.settled_ts[chosen], np.nan),
    )
    wall_s = time.perf_counter() - started
    summary = summarize(
        trades, bars=timeline.bars, wall_s=wall_s, starting_balance=spec.starting_balance
    )
    decisions, exploration = _decisions(decided, rows[chosen], spec.calibration.fitted)
    edge = edge_summary(trades, decisions, exploration=exploration)
    summary.update({"verdict": edge["verdict"], "edge": edge})
    return Evaluation(
        setup=setup,
        instrument=name,
        timeline=timeline,
        ensemble=arrays,
        series=decided.bars,
        rows=rows,
        simulated=simulated,
        contracts=contracts,
        stateless_reason=reason_code,
        trades=trades,
        summary=summary,
        decisions=decisions,
        exploration=exploration,
    )


def _decisions(
    decided: Decided, sent_rows: npt.NDArray[np.int64], fixed_fitted: bool
) -> tuple[DecisionOutcomes, npt.NDArray[np.bool_]]:
    """The decisions as the backtest records them, and which trades were exploration
    (made on an unfitted calibration -- the exploration prior -- never evidence)."""
    arrays = decided.arrays
    traded = np.zeros(arrays.index.size, bool)
    traded[sent_rows] = True
    moves = shadow_moves(decided.close_ts, decided.bars.close[arrays.index], decided.duration_s)
    fitted = (
        arrays.calibrated[sent_rows]
        if arrays.calibrated is not None
        else np.full(sent_rows.size, fixed_fitted)
    )
    return DecisionOutcomes(arrays.p_hat, arrays.direction, moves, traded), ~fitted


#: Reason codes of decided bars that were not sent (0: a candidate the guards judged).
STATELESS_REASONS: tuple[str, ...] = (
    "",
    "no_direction",
    "payout_below_permit",
    "payout_above_permit",
    "p_hat_invalid",
    "p_hat_below_threshold",
    "p_hat_below_break_even",
)
R_CANDIDATE = 0
#: Per-bar outcome names (code 0: no order on the bar; then the trade log's codes + 1).
BAR_OUTCOMES: tuple[str, ...] = ("", *OUTCOMES)
#: Kernel outcome code → trade log outcome code.
_TRADE_CODE = np.array([OPEN, WIN, LOSE, PUSH, OPEN], dtype=np.int8)


def _stateless_reasons(arrays: EnsembleArrays, risk: Any, payout: float) -> npt.NDArray[np.int64]:
    """Per decided bar: 0 for a candidate, else the permit or threshold rule's reason."""
    p = arrays.p_hat
    floor = 1.0 / (1.0 + payout / 100.0) + risk.margin
    code = np.zeros(p.size, np.int64)
    threshold_reason = 5 if payout > 0.0 and risk.threshold >= floor else 6
    with np.errstate(invalid="ignore"):
        valid = (p >= 0.0) & (p <= 1.0)
        passes = valid & (p >= risk.threshold) & (p >= floor) & (payout > 0.0)
    code[~passes] = threshold_reason
    code[~valid] = 4
    if payout > risk.permit_max_pct:
        code[:] = 3
    if payout < risk.permit_min_pct:
        code[:] = 2
    code[arrays.direction == 0] = 1
    return code
