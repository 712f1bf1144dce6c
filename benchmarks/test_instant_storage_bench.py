"""Storage before the last decision at a synchronised close (issue 16, item 4).

120 workers (4 paper accounts × 10 products × 15 s, 30 s and 1 m bars, contracts as long
as the bar) run on a fast-forward clock, so every minute boundary is one instant at which
all 120 workers decide *and* the contracts opened 15, 30 and 60 s earlier expire -- the
paper broker has ~90 settlements due at the same instant. The engine is the shipped one
(workers, strategies, ensemble, risk with guards, executors, paper brokers on one SQLite
file in WAL mode).

What is timed, on the event loop's thread, per instant: every database transaction
(its statements and its COMMIT or ROLLBACK, timed at the driver boundary -- the
dialect's ``do_execute`` / ``do_executemany`` / ``do_commit`` / ``do_rollback``), split
into

* **bookkeeping** -- a transaction that settles a paper contract, inserts a result or
  writes guard state (what issue 16 says must follow the decisions, in one transaction);
* **other** -- everything else (the write-ahead PREPARE / SEND / CONFIRM writes of new
  orders, the paper broker opening contracts, reads, decision records).

The figure is the wall time of bookkeeping transactions that *ended before the instant's
last decision* (a worker's ``AccountTrader.consider`` returning, i.e. its order stored
in PREPARE and handed to the executor). Before issue 16 (28a2799) each contract was one
paper-book transaction and each result another; after, the paper broker settles the
instant in one transaction and the results and guard state are one group commit after
the decisions.

Run (this tree)::

    python -m pytest benchmarks/test_instant_storage_bench.py -m bench --benchmark-enable -s

and for the "before" column, the same file against the 28a2799 sources::

    git archive 28a2799 | tar -x -C /tmp/ml-28a2799
    PYTHONPATH=$(ls -d /tmp/ml-28a2799/packages/*/src | paste -sd:) \\
      python -m pytest benchmarks/test_instant_storage_bench.py -m bench --benchmark-enable -s
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Dialect

import moonlight.core
from benchmarks.test_close_latency_bench import config_file as close_latency_config
from moonlight.core.config import load_config
from moonlight.core.plugins import build_plugin_host
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.engine import Engine
from moonlight.core.runtime.trader import AccountTrader
from moonlight.core.runtime.worker_key import WorkerKey

pytestmark = pytest.mark.bench

START = 1_767_600_000.0  # Monday 2026-01-05 08:00 UTC, a minute boundary
MINUTES = int(os.environ.get("MOONLIGHT_BENCH_MINUTES", "6"))
#: A close counts when at least this many contracts settle at it (the issue's "~90 due";
#: after the first minutes of this session fewer orders are opened per close).
HEAVY = 60
WORKERS = 120
BOOKKEEPING = ("INSERT INTO results", "engine_state", "SET entry_price=?, exit_price=?")


def config_file(tmp_path: Path) -> Path:
    """The synchronised-close configuration (``test_close_latency_bench``), plus a guard
    that writes state on every result (the consecutive-loss streaks)."""
    path = close_latency_config(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["risk"]["guards"].append(
        {"name": "consecutive_losses", "params": {"max_consecutive_losses": 1_000}}
    )
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@dataclass
class Transaction:
    """One transaction as the driver saw it: when it ended, how long its calls took."""

    instant: float
    ended: float
    seconds: float
    bookkeeping: bool
    #: A paper-book settlement (the broker's own book), not the engine's results.
    broker: bool = False


@dataclass
class Probe:
    """Times database transactions and decisions per instant of the fast-forward clock."""

    clock: FastForwardClock
    decisions: dict[float, list[float]] = field(default_factory=dict)
    transactions: list[Transaction] = field(default_factory=list)
    settled: dict[float, int] = field(default_factory=dict)
    _open: dict[int, list[Any]] = field(default_factory=dict)

    def instrument(self, dialect: Dialect) -> None:
        """Wrap the dialect's driver calls (this engine's dialect object only)."""

        def statement(original: Callable[..., Any]) -> Callable[..., Any]:
            def timed(cursor: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return original(cursor, sql, *args, **kwargs)
                finally:
                    spent = time.perf_counter() - started
                    txn = self._open.setdefault(id(cursor.connection), [0.0, False, False])
                    txn[0] += spent
                    if any(marker in sql for marker in BOOKKEEPING):
                        txn[1] = True
                        if "SET entry_price=?, exit_price=?" in sql:
                            txn[2] = True
                            rows = len(args[0]) if original.__name__ == "do_executemany" else 1
                            instant = self.clock.now()
                            self.settled[instant] = self.settled.get(instant, 0) + rows

            return timed

        def ending(original: Callable[..., Any]) -> Callable[..., Any]:
            def timed(connection: Any) -> Any:
                started = time.perf_counter()
                try:
                    return original(connection)
                finally:
                    ended = time.perf_counter()
                    key = id(getattr(connection, "dbapi_connection", connection))
                    spent, bookkeeping, broker = self._open.pop(key, [0.0, False, False])
                    self.transactions.append(
                        Transaction(
                            self.clock.now(), ended, spent + ended - started, bookkeeping, broker
                        )
                    )

            return timed

        for name in ("do_execute", "do_executemany"):
            setattr(dialect, name, statement(getattr(dialect, name)))
        for name in ("do_commit", "do_rollback"):
            setattr(dialect, name, ending(getattr(dialect, name)))

    def decided(self) -> None:
        self.decisions.setdefault(self.clock.now(), []).append(time.perf_counter())

    def instants(self) -> list[dict[str, float]]:
        """Per synchronised close: storage before its last decision, by kind."""
        rows = []
        for instant, decided in sorted(self.decisions.items()):
            if len(decided) != WORKERS:
                continue
            last = max(decided)
            before = [t for t in self.transactions if t.instant == instant and t.ended <= last]
            after = [t for t in self.transactions if t.instant == instant and t.ended > last]
            rows.append({
                "bookkeeping_before_ms": sum(t.seconds for t in before if t.bookkeeping) * 1e3,
                "of_which_paper_book_ms": sum(t.seconds for t in before if t.broker) * 1e3,
                "other_before_ms": sum(t.seconds for t in before if not t.bookkeeping) * 1e3,
                "bookkeeping_after_ms": sum(t.seconds for t in after if t.bookkeeping) * 1e3,
                "bookkeeping_transactions": sum(t.bookkeeping for t in before + after),
                "settlements": self.settled.get(instant, 0),
            })  # fmt: skip
        return rows


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Probe]]:
    found: list[Probe] = []
    original = AccountTrader.consider

    async def consider(self: AccountTrader, key: WorkerKey, *args: Any) -> Any:
        result = await original(self, key, *args)
        found[-1].decided()
        return result

    monkeypatch.setattr(AccountTrader, "consider", consider)
    yield found


async def test_storage_before_the_last_decision_at_a_synchronised_close(
    tmp_path: Path, probes: list[Probe], benchmark: Any
) -> None:
    host = build_plugin_host()
    config = load_config(config_file(tmp_path), registry=host.registry)
    clock = FastForwardClock(START - 120.0)  # two minutes to warm up and open contracts
    engine = Engine.create(config, host, clock=clock, snapshots=False)
    probe = Probe(clock)
    probes.append(probe)
    probe.instrument(engine.storage.dialect)
    await engine.start()
    await clock.sleep_until(START + 60.0 * MINUTES + 1.0)
    await engine.stop("benchmark finished")

    everything = probe.instants()
    closes = [row for row in everything if row["settlements"] >= HEAVY]
    assert closes, f"no synchronised close with {HEAVY} or more settlements due"

    def median(key: str) -> float:
        return statistics.median(row[key] for row in closes)

    figures = {
        "code": str(Path(moonlight.core.__file__).parents[3]),
        "synchronised_closes": len(closes),
        "settlements_due_median": median("settlements"),
        "bookkeeping_before_last_decision_ms_median": median("bookkeeping_before_ms"),
        "bookkeeping_before_last_decision_ms_max": max(r["bookkeeping_before_ms"] for r in closes),
        "bookkeeping_after_last_decision_ms_median": median("bookkeeping_after_ms"),
        "bookkeeping_transactions_median": median("bookkeeping_transactions"),
        "other_storage_before_last_decision_ms_median": median("other_before_ms"),
    }
    benchmark.extra_info.update(figures)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    print("\ninstant storage:", figures)
    for row in everything:
        print("  ", {k: round(v, 3) for k, v in row.items()})
