"""The decision sink: every decision stored once, shadow outcomes by the bar-close rule,
and a calibration that only ever learns from outcomes known before a decision."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st
from sqlalchemy import create_engine, event, select

from moonlight.core.cli.calibrate_cmd import calibrate_cmd
from moonlight.core.config import load_config
from moonlight.core.decisions.shadow import Shadow, ShadowLedger, outcome_of
from moonlight.core.decisions.sink import NO_DIRECTION, TRADED, DecisionSink
from moonlight.core.ensemble.ensemble import EnsembleDecision
from moonlight.core.ensemble.online import OnlineCalibrator
from moonlight.core.storage import migrate, models
from moonlight.core.storage.engine import engine_from_config, session_factory
from moonlight.core.strategy.api import DOWN, NONE, UP

T0 = 1_700_000_000.0 - 1_700_000_000.0 % 60


def decision(score: float) -> EnsembleDecision:
    direction = UP if score > 0 else DOWN if score < 0 else NONE
    p_hat = 0.5 if score else 0.0
    return EnsembleDecision(score, 1.0, direction, 0.5, p_hat, False)


def test_outcome_of_a_move() -> None:
    assert outcome_of(1.0, 1.1) == "up" and outcome_of(1.0, 0.9) == "down"
    assert outcome_of(1.0, 1.0) == "push"


def test_a_shadow_whose_expiry_bar_is_missing_stays_unknown() -> None:
    ledger = ShadowLedger()
    ledger.open(Shadow(T0 + 60, T0, 0.3, 1.0))
    ledger.open(Shadow(T0 + 120, T0 + 60, 0.3, 1.0))
    assert ledger.on_bar(T0 + 30, 2.0) == []  # not expired yet
    (first,) = ledger.on_bar(T0 + 60, 1.2)
    assert first.outcome == "up" and first.exit_price == 1.2
    (second,) = ledger.on_bar(T0 + 180, 0.5)  # the bar at T0 + 120 never came
    assert second.outcome is None and second.exit_price is None


@settings(max_examples=40, deadline=None)
@given(
    moves=st.lists(st.sampled_from([-1.0, 0.0, 1.0]), min_size=30, max_size=120),
    scores=st.lists(st.floats(-1, 1, allow_nan=False), min_size=120, max_size=120),
    expiry_bars=st.integers(1, 3),
)
def test_the_calibration_only_sees_outcomes_known_before_each_decision(
    moves: list[float], scores: list[float], expiry_bars: int
) -> None:
    calibrator = OnlineCalibrator(min_samples=5, refit_every=3, window=50)
    seen: list[float] = []  # expiry of every outcome the calibrator was given
    sink = DecisionSink(calibrator, None)
    original_add = calibrator.add

    def spy(instrument: str, timeframe: str, at_ts: float, score: float, up: int) -> None:
        if score != 0.0:  # S = 0 bars are never fitted
            seen.append(at_ts)
        original_add(instrument, timeframe, at_ts, score, up)

    calibrator.add = spy  # type: ignore[method-assign]
    price = 100.0
    for i, move in enumerate(moves):
        end = T0 + 60 * i
        price += move
        for account in ("a", "b"):  # two accounts, same market: learned once
            sink.observe(account, "X", "1m", end, price)
            assert all(at <= end for at in seen)
            sink.record(
                account_id=account,
                instrument="X",
                timeframe="1m",
                decided_ts=end,
                duration_s=60 * expiry_bars,
                entry_price=price,
                decision=decision(scores[i]),
                action=TRADED if scores[i] > 0.5 else NO_DIRECTION,
            )
    expected = sum(
        1
        for i in range(len(moves) - expiry_bars)
        if scores[i] != 0.0 and sum(moves[i + 1 : i + 1 + expiry_bars]) != 0.0
    )
    assert len(seen) == expected
    assert sink.recorded == 2 * len(moves)


def test_every_decision_is_stored_and_calibrate_learns_from_them(tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        f"data_dir: {(tmp_path / 'data').as_posix()}\n"
        "ensemble:\n  calibration:\n    min_samples: 100\n",
        encoding="utf-8",
    )
    config = load_config(config_file)
    engine = engine_from_config(config)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    sink = DecisionSink(
        OnlineCalibrator(min_samples=100, refit_every=50, window=1000), sessions, batch=64
    )
    rng = np.random.default_rng(2)
    price, n = 100.0, 600
    for i in range(n):
        end = T0 + 60 * i
        price *= 1 + rng.normal(0, 1e-3)
        sink.observe("acc", "EURUSD", "1m", end, price)
        sink.record(
            account_id="acc",
            instrument="EURUSD",
            timeframe="1m",
            decided_ts=end,
            duration_s=60,
            entry_price=price,
            decision=decision(float(rng.uniform(-1, 1))),
            action=NO_DIRECTION,
            signals={"s": [1, 0.5, "why"]},
            features={"rsi": 50.0},
        )
    sink.close()
    with sessions() as session:
        rows = session.execute(select(models.Decision.outcome)).scalars().all()
        fits = session.execute(select(models.Calibration)).scalars().all()
    engine.dispose()
    assert len(rows) == n and rows.count(None) == 1  # the last one never expired
    assert set(rows) <= {"up", "down", "push", None}
    assert fits and all(f.run_id is None and f.data_from is not None for f in fits)
    result = CliRunner().invoke(calibrate_cmd, [str(config_file), "--no-save"])
    assert result.exit_code == 0, result.output
    assert f"{n - 1} decided (S, outcome) pairs" in result.output


def test_a_storage_outage_keeps_decision_rows_for_later_and_never_raises(tmp_path: Path) -> None:
    """A full disk must halt trading through the executor, not crash every worker in its
    bookkeeping: failed writes are retried at the next flush and nothing is lost."""
    engine = create_engine(f"sqlite:///{(tmp_path / 'd.db').as_posix()}")
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    full = {"on": True}

    @event.listens_for(engine, "before_cursor_execute")
    def _disk_full(*_: object) -> None:
        if full["on"]:
            raise sqlite3.OperationalError("database or disk is full")

    sink = DecisionSink(OnlineCalibrator(min_samples=5, refit_every=5, window=100), sessions)
    for i in range(30):  # batch=1: every observe tries to write
        sink.observe("acc", "EURUSD", "1m", T0 + 60 * i, 1.0 + i / 100)
        sink.record(
            account_id="acc",
            instrument="EURUSD",
            timeframe="1m",
            decided_ts=T0 + 60 * i,
            duration_s=60,
            entry_price=1.0 + i / 100,
            decision=decision(0.5),
            action=NO_DIRECTION,
        )
    full["on"] = False
    sink.close()
    with sessions() as session:
        stored = session.execute(select(models.Decision.decided_at)).scalars().all()
    engine.dispose()
    assert len(stored) == 30 and sink.dropped == 0
