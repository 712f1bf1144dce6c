"""Issue 13 deliverable 6: randomised fault schedules against the strict fake broker.

Each seeded schedule trades a few orders through the real executor (SQLite storage) and,
at random moments, injects a mix of faults: dropped connections, outages (contracts
settle meanwhile), lost buy replies, a buy followed at once by an outage, a buy lost in
an outage (never executed), lost and
duplicated and late settlement pushes, lost contract replies, RateLimit answers,
PriceMoved refusals, broker clock jumps (on a broker clock that drifts ±0.5 %), and
engine restarts mid-order. After each
schedule the broker's book and storage must agree (``audit``): every deal stored once
with its outcome and PnL, no FAILED order the broker settled, no deal storage does not
know, no duplicate ``client_req_id``.

``SCHEDULES`` seeds per CI run (10 batches of 10, run concurrently within a batch); the
totals are printed (``-s``) and recorded in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from moonlight.core.orders import OrderState
from tests.connectors.deriv.truth import Desk, broker_and_clock, desk_db
from tests.support.broker_book import stored_deals
from tests.support.deriv_broker import DerivBroker

SCHEDULES = 100
BATCHES = 10
#: Seconds (real) a schedule's orders may take to finish once its steps are done.
FINISH_S = 90.0
FAULTS = (
    "drop",
    "outage",
    "lost_buy_reply",
    "outage_after_buy",
    "outage_before_buy",
    "lost_push",
    "duplicate_push",
    "late_push",
    "lost_poc_reply",
    "rate_limit",
    "price_moved",
    "clock_jump",
    "restart",
)


@dataclass
class Figures:
    schedules: int = 0
    orders: int = 0
    deals: int = 0
    settled: int = 0
    failed: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


async def inject(fault: str, broker: DerivBroker, desk: Desk, rng: random.Random) -> None:
    faults = broker.faults
    if fault == "drop":
        await broker.outage(0.0)
    elif fault == "outage":
        await broker.outage(rng.choice((5.0, 20.0, 40.0)))
    elif fault == "lost_buy_reply":
        faults.lose_reply["buy"] += 1
    elif fault == "outage_after_buy":
        faults.outage_after_buy += 1
        faults.outage_s = rng.choice((5.0, 30.0))
    elif fault == "outage_before_buy":
        faults.outage_before_buy += 1
        faults.outage_s = rng.choice((5.0, 30.0))
    elif fault == "lost_push":
        faults.lose_pushes += rng.randint(1, 3)
    elif fault == "duplicate_push":
        faults.duplicate_pushes = True
    elif fault == "late_push":
        faults.late_push_s = rng.choice((0.1, 0.5))
    elif fault == "lost_poc_reply":
        faults.lose_reply["proposal_open_contract"] += 1
    elif fault == "rate_limit":
        faults.rate_limit[rng.choice(("buy", "proposal", "profit_table", "portfolio"))] += 2
    elif fault == "price_moved":
        faults.price_moved += rng.randint(1, 2)
        faults.price_move_pct = rng.choice((0.2, 3.0))
    elif fault == "clock_jump":
        broker.clock_offset_s += rng.choice((-3.0, 2.0, 4.0))
    elif fault == "restart":
        await desk.restart()


async def run_schedule(seed: int, tmp_path: Path, figures: Figures) -> None:
    rng = random.Random(seed)
    async with broker_and_clock(seed) as (broker, clock):
        broker.clock_rate = rng.choice((1.0, 0.995, 1.005))  # the broker's clock drifts
        desk = Desk(broker, clock, desk_db(tmp_path, f"schedule-{seed}"), seed=seed)
        await desk.open()
        try:
            steps: list[tuple[float, str]] = [
                (rng.uniform(0.0, 1.2), f"order-{i}") for i in range(rng.randint(2, 5))
            ]
            steps += [(rng.uniform(0.0, 1.5), rng.choice(FAULTS)) for _ in range(rng.randint(1, 4))]
            started = asyncio.get_running_loop().time()
            for at, step in sorted(steps):
                await asyncio.sleep(max(0.0, started + at - asyncio.get_running_loop().time()))
                if step.startswith("order-"):
                    figures.orders += 1
                    desk.submit(
                        f"s{seed}-{step}",
                        stake=rng.choice((1.0, 5.0)),  # identical orders are frequent
                        up=rng.random() < 0.5,
                        duration_s=rng.choice((15, 30)),
                    )
                else:
                    figures.faults[step] += 1
                    await inject(step, broker, desk, rng)
            try:
                await desk.settle_all(timeout_s=FINISH_S)
            except TimeoutError:
                figures.problems.append(f"seed {seed}: orders still running after {FINISH_S} s")
            problems = desk.audit()
            figures.problems += [f"seed {seed}: {p}" for p in problems]
            stored = stored_deals(desk.sessions())
            figures.deals += len(broker.contracts)
            figures.settled += sum(s.state is OrderState.SETTLED for s in stored)
            figures.failed += sum(s.state is OrderState.FAILED for s in stored)
            unfinished = [s.client_req_id for s in stored if s.state not in TERMINAL]
            figures.problems += [f"seed {seed}: {cid} not finished" for cid in unfinished]
            figures.schedules += 1
        finally:
            await desk.close()


TERMINAL = (OrderState.SETTLED, OrderState.FAILED)


@pytest.mark.slow
@pytest.mark.parametrize("batch", range(BATCHES))
async def test_storage_equals_the_book_after_every_fault_schedule(
    batch: int, tmp_path: Path
) -> None:
    figures = Figures()
    seeds = list(range(batch, SCHEDULES, BATCHES))
    await asyncio.gather(*(run_schedule(seed, tmp_path, figures) for seed in seeds))
    print(
        f"\nfault schedules batch {batch}: {figures.schedules} schedules, {figures.orders}"
        f" orders, {figures.deals} broker deals, {figures.settled} settled,"
        f" {figures.failed} failed (never at the broker), faults {dict(figures.faults)},"
        f" problems {len(figures.problems)}"
    )
    assert figures.problems == []
    assert figures.schedules == len(seeds)
    assert sum(figures.faults.values()) >= len(seeds)
