"""Run the event-driven backtest: the engine over candle histories, start to end.

:func:`run_backtest` takes a configuration (accounts, strategies, ensemble, risk, as
for live trading) and the histories, and

1. rewrites every account to read the replay and trade in paper mode
   (:func:`backtest_config`); the storage is the configuration's unless one is given;
2. finds the start: the moment every worker has the warm-up it asks for (the longest
   strategy warm-up plus the worker's extra bars), shifted by the settlement phase
   (:func:`~moonlight.core.backtest.engine.settlement_phase_s`);
3. records a ``runs`` row (kind ``backtest``), starts a
   :class:`~moonlight.core.backtest.engine.BacktestEngine` on a
   :class:`~moonlight.core.runtime.clock.FastForwardClock` and drives it in its plain
   loop (:meth:`~moonlight.core.backtest.engine.BacktestEngine.run_until`) to the end of
   the data, reporting progress;
4. stops the engine, reads the run's orders back from storage and writes the summary
   into the ``runs`` row.

The timeline is :class:`Timeline`: it is also what the research path needs to take the
same decisions at the same instants.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moonlight.core.backtest.engine import (
    POLL_INTERVAL_S,
    STARTING_BALANCE,
    BacktestEngine,
    SilentHost,
    settlement_phase_s,
)
from moonlight.core.backtest.replay import ReplayConnector
from moonlight.core.backtest.summary import summarize
from moonlight.core.backtest.trades import TradeLog, load_trades
from moonlight.core.backtest.verdict import run_verdict
from moonlight.core.config.models import MoonlightConfig, StorageConfig
from moonlight.core.data.candles import CandleSeries
from moonlight.core.decisions.store import load_decisions
from moonlight.core.plugins.host import PluginHost
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.worker import WorkerTiming
from moonlight.core.storage.models import RunKind
from moonlight.core.storage.repository import finish_run, start_run
from moonlight.core.strategy.factory import build_strategies
from moonlight.core.timeframes import timeframe_seconds

log = logging.getLogger("moonlight.backtest")

#: Called with (bars done, bars in total) as simulated time advances.
ProgressCallback = Callable[[int, int], None]
#: Progress updates per run.
PROGRESS_STEPS = 200


class BacktestError(ValueError):
    """The configuration and the data do not make a backtest (missing data, too short)."""


@dataclass(frozen=True, slots=True, eq=False)
class WorkerPlan:
    """One worker of the backtest and the bars it will decide on."""

    account_id: str
    instrument: str
    timeframe: str
    timeframe_s: int
    #: Bar close times of the worker's bars (ascending).
    ends: npt.NDArray[np.float64]
    #: Index of the first bar the worker can trade (after its warm-up).
    first_index: int


@dataclass(frozen=True, slots=True)
class Timeline:
    """When the backtest starts and stops, and what every worker sees in between."""

    start_ts: float
    stop_ts: float
    phase_s: float
    warmup_bars: int
    workers: tuple[WorkerPlan, ...]
    #: Products and timeframes left out (no data, not buildable), one line each.
    skipped: tuple[str, ...] = ()

    @property
    def bars(self) -> int:
        """Bars decided on by all workers together (warm-up excluded)."""
        return sum(len(w.ends) - w.first_index for w in self.workers)

    def bars_done(self, now: float) -> int:
        """Bars whose close has passed by ``now``, over all workers."""
        return sum(
            max(0, int(np.searchsorted(w.ends, now, side="right")) - w.first_index)
            for w in self.workers
        )


#: ``series_of(instrument, timeframe_s)``: the bars a worker reads (None: the finest).
SeriesOf = Callable[[str, int | None], CandleSeries]


def strategy_warmup_bars(config: MoonlightConfig, host: PluginHost) -> int:
    """The bars a worker replays before trading: longest strategy warm-up + extra bars."""
    strategies = build_strategies(config.strategies, host.registry)
    longest = max((int(s.warmup_bars) for _, s in strategies), default=0)
    return longest + WorkerTiming().warmup_extra_bars


def plan_timeline(
    config: MoonlightConfig,
    series_of: SeriesOf,
    instruments: Collection[str],
    warmup_bars: int,
    *,
    poll_interval_s: float = POLL_INTERVAL_S,
    strict: bool = True,
) -> Timeline:
    """Start (after every worker's warm-up), stop, and each worker's tradable bars.

    ``series_of`` gives a worker's bars (a replay's :meth:`ReplayConnector.series`).
    A product without data, or a timeframe that cannot be built from the data (finer than
    the data, or too short to warm up), is an error when ``strict``; otherwise it is left
    out and named in :attr:`Timeline.skipped` (an error still if nothing is left).
    """
    settle_delay_s = config.runtime.settle_delay_s
    phase = settlement_phase_s(settle_delay_s, poll_interval_s)
    plans: list[tuple[str, str, str, int, npt.NDArray[np.float64]]] = []
    skipped: list[str] = []
    start = float("-inf")
    data_end = float("-inf")
    for account in config.accounts:
        for product in account.products:
            if product not in instruments:
                skipped.append(
                    f"account {account.id} trades {product} but no data was given for it"
                    f" (loaded: {', '.join(instruments)})"
                )
                continue
            finest = series_of(product, None)
            if len(finest):
                data_end = max(data_end, float(finest.end_ts[-1]) + finest.timeframe_s)
            for timeframe in account.timeframes:
                seconds = timeframe_seconds(timeframe)
                try:
                    ends = series_of(product, seconds).end_ts
                except Exception as error:  # Rejected: cannot resample to this timeframe
                    skipped.append(f"{product} at {timeframe}: {error}")
                    continue
                if len(ends) <= warmup_bars:
                    skipped.append(
                        f"{product} at {timeframe}: {len(ends)} bars, but the strategies"
                        f" need {warmup_bars} to warm up and at least one more to trade"
                    )
                    continue
                first = float(ends[warmup_bars - 1]) if warmup_bars else float(ends[0]) - seconds
                start = max(start, first)
                plans.append((account.id, product, timeframe, seconds, ends))
    if skipped and (strict or not plans):
        raise BacktestError("; ".join(skipped))
    if not plans:
        raise BacktestError("the configuration has no account, product and timeframe to run")
    workers = tuple(
        WorkerPlan(acc, prod, tf, secs, ends, int(np.searchsorted(ends, start, side="right")))
        for acc, prod, tf, secs, ends in plans
    )
    last_decision = max(float(w.ends[-1]) for w in workers) + settle_delay_s
    stop = max(last_decision, data_end) + poll_interval_s
    return Timeline(start + phase, stop + phase, phase, warmup_bars, workers, tuple(skipped))


def skipped_message(skipped: Sequence[str]) -> str:
    """The one warning that lists what a backtest leaves out."""
    lines = "\n".join(f"  - {line}" for line in skipped)
    return (
        f"skipping {len(skipped)} product/timeframe(s) the data cannot run"
        f" (--strict makes this an error):\n{lines}"
    )


def runnable_config(config: MoonlightConfig, timeline: Timeline) -> MoonlightConfig:
    """``config`` with only the products and timeframes ``timeline`` plans workers for
    (accounts left with none are dropped)."""
    planned = {(w.account_id, w.instrument, w.timeframe) for w in timeline.workers}
    accounts = []
    for account in config.accounts:
        products = [
            p
            for p in account.products
            if any((account.id, p, tf) in planned for tf in account.timeframes)
        ]
        timeframes = [
            tf
            for tf in account.timeframes
            if any((account.id, p, tf) in planned for p in account.products)
        ]
        if products and timeframes:
            accounts.append(
                account.model_copy(update={"products": products, "timeframes": timeframes})
            )
    return config.model_copy(update={"accounts": accounts})


def backtest_config(
    config: MoonlightConfig, *, storage_url: str | None = None, data_dir: Path | None = None
) -> MoonlightConfig:
    """``config`` with every account trading on paper, over the replay the
    :class:`~moonlight.core.backtest.engine.BacktestEngine` injects (not re-validated:
    the connector is built by the engine, not from connector options)."""
    accounts = [
        account.model_copy(update={"connector": "paper", "mode": "paper", "connector_options": {}})
        for account in config.accounts
    ]
    update: dict[str, Any] = {"accounts": accounts}
    if storage_url is not None:
        update["storage"] = StorageConfig(
            url=storage_url, busy_timeout_ms=config.storage.busy_timeout_ms
        )
    if data_dir is not None:
        update["data_dir"] = data_dir
    return config.model_copy(update=update)


#: Longest ``client_req_id`` storage keeps (``orders.client_req_id`` is 64 characters).
MAX_ORDER_ID = 64


def _check_id_length(config: MoonlightConfig, run_id: str) -> None:
    """Stored ids are ``<run id>/<account>:<instrument>:<timeframe>:<bar close>``."""
    longest = max(
        (
            len(f"{run_id}/{a.id}:{p}:{tf}:0000000000")
            for a in config.accounts
            for p in a.products
            for tf in a.timeframes
        ),
        default=0,
    )
    if longest > MAX_ORDER_ID:
        raise BacktestError(
            f"run id {run_id!r} makes order ids {longest} characters long; storage keeps"
            f" {MAX_ORDER_ID}: choose a shorter run id"
        )


def default_payout_pct(config: MoonlightConfig, fallback: float = 85.0) -> float:
    """The payout the configuration's simulated connectors use, else ``fallback``."""
    for account in config.accounts:
        options = account.connector_options
        for candidate in (
            options.get("payout_pct"),
            (options.get("market") or {}).get("payout_pct"),
        ):
            if isinstance(candidate, int | float):
                return float(candidate)
    return fallback


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """What a backtest produced: its run id, the orders, the summary and the timeline."""

    run_id: str
    trades: TradeLog
    summary: dict[str, Any]
    timeline: Timeline
    storage_url: str


async def run_backtest(
    config: MoonlightConfig,
    series: Sequence[CandleSeries],
    *,
    host: PluginHost,
    run_id: str | None = None,
    storage_url: str | None = None,
    starting_balance: float = STARTING_BALANCE,
    payout_pct: float | None = None,
    progress: ProgressCallback | None = None,
    strict: bool = False,
    warn: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Run the engine over ``series``; see the module docstring. Products and timeframes
    the data cannot run are skipped with a warning (``strict``: a :class:`BacktestError`)."""
    run_id = run_id or f"backtest-{uuid.uuid4().hex[:12]}"
    _check_id_length(config, run_id)
    config = backtest_config(config, storage_url=storage_url)
    clock = FastForwardClock(0.0)
    replay = ReplayConnector(
        series,
        clock=clock,
        payout_pct=default_payout_pct(config) if payout_pct is None else payout_pct,
    )
    timeline = plan_timeline(
        config,
        replay.series,
        replay.instruments_loaded,
        strategy_warmup_bars(config, host),
        strict=strict,
    )
    if timeline.skipped:
        message = skipped_message(timeline.skipped)
        log.warning("%s", message)
        if warn is not None:
            warn(message)
        config = runnable_config(config, timeline)
    clock.advance_to(timeline.start_ts)
    engine = BacktestEngine.create(
        config, SilentHost.of(host), clock=clock, run_id=run_id, snapshots=False
    )
    assert isinstance(engine, BacktestEngine)
    engine.use_replay(replay, starting_balance=starting_balance)
    with engine.sessions.begin() as session:
        start_run(
            session,
            run_id=run_id,
            kind=RunKind.BACKTEST,
            config={
                "config": config.model_dump(mode="json"),
                "data": [
                    {
                        "instrument": s.instrument,
                        "timeframe_s": s.timeframe_s,
                        "bars": len(s),
                        "source": s.source,
                    }
                    for s in series
                ],
                "start_ts": timeline.start_ts,
                "stop_ts": timeline.stop_ts,
                "starting_balance": starting_balance,
            },
        )
    started = time.perf_counter()
    started_cpu = time.process_time()
    try:
        await engine.start()
        await engine.run_until(
            timeline.stop_ts, None if progress is None else _Progress(timeline, progress)
        )
        wall_s = time.perf_counter() - started
        cpu_s = time.process_time() - started_cpu
    finally:
        await engine.stop("backtest finished")
    trades = load_trades(engine.sessions, run_id)
    summary = summarize(
        trades, bars=timeline.bars, wall_s=wall_s, starting_balance=starting_balance
    )
    summary.update(run_verdict(trades, load_decisions(engine.sessions, run_id)))
    summary["cpu_seconds"] = cpu_s
    summary["bars_per_cpu_second"] = timeline.bars / cpu_s if cpu_s > 0 else None
    summary["run_id"] = run_id
    summary["failed_workers"] = sum(engine.supervisor.failures.values())
    with engine.sessions.begin() as session:
        from moonlight.core.storage.models import Run

        run = session.get(Run, run_id)
        if run is not None:
            finish_run(session, run, summary=summary)
    engine.storage.dispose()
    return BacktestResult(run_id, trades, summary, timeline, config.storage_url())


class _Progress:
    """Reports (bars done, bars in total) about :data:`PROGRESS_STEPS` times per run."""

    def __init__(self, timeline: Timeline, progress: ProgressCallback) -> None:
        self.timeline = timeline
        self.progress = progress
        self.every_s = max((timeline.stop_ts - timeline.start_ts) / PROGRESS_STEPS, 1.0)
        self.next_ts = timeline.start_ts

    def __call__(self, now: float) -> None:
        if now >= self.next_ts:
            self.progress(self.timeline.bars_done(now), self.timeline.bars)
            self.next_ts = now + self.every_s


def backtest_to_directory(
    config: MoonlightConfig,
    series: Sequence[CandleSeries],
    report_dir: Path,
    *,
    host: PluginHost,
    storage_url: str | None = None,
    run_id: str | None = None,
    starting_balance: float = STARTING_BALANCE,
    payout_pct: float | None = None,
    progress: ProgressCallback | None = None,
    strict: bool = False,
    warn: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Run the backtest and write ``summary.json`` and ``report.html`` to ``report_dir``.

    The orders go to ``storage_url`` (default: SQLite ``backtest.db`` in ``report_dir``)
    under the run id, with the summary in the ``runs`` table.
    """
    from moonlight.core.backtest.report import write_report

    report_dir.mkdir(parents=True, exist_ok=True)
    url = storage_url or f"sqlite:///{(report_dir / 'backtest.db').resolve().as_posix()}"
    with engine_log_to(report_dir / "backtest.log"):
        result = asyncio.run(
            run_backtest(
                config,
                series,
                host=host,
                run_id=run_id,
                storage_url=url,
                starting_balance=starting_balance,
                payout_pct=payout_pct,
                progress=progress,
                strict=strict,
                warn=warn,
            )
        )
    details = {
        "run id": result.run_id,
        "storage": _without_password(result.storage_url),
        "data": ", ".join(f"{s.instrument} ({len(s):,} bars, {s.source})" for s in series),
        "strategies": ", ".join(f"{s.name} ×{s.weight:g}" for s in config.strategies),
    }
    instruments = sorted({s.instrument for s in series})
    write_report(
        report_dir,
        result.trades,
        result.summary,
        title=f"Backtest {result.run_id}: {', '.join(instruments)}",
        starting_balance=starting_balance,
        details=details,
    )
    return result


@contextlib.contextmanager
def engine_log_to(path: Path, level: int = logging.INFO) -> Iterator[None]:
    """Send the engine's log (the ``moonlight`` loggers) to ``path`` only, while inside.

    A replay of months makes the engine log what it would log live -- every weekend
    gap, every refused order -- which belongs in a file beside the report, not on the
    terminal under the progress bar.
    """
    logger = logging.getLogger("moonlight")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _without_password(url: str) -> str:
    """A storage URL fit for a report (a password never appears; config forbids one)."""
    head, sep, tail = url.partition("://")
    if sep and "@" in tail:
        credentials, _, rest = tail.rpartition("@")
        return f"{head}://{credentials.split(':', 1)[0]}@{rest}"
    return url
