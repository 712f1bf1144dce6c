"""Calibration per (instrument, timeframe), global fall-back, and storage round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from moonlight.core.ensemble.book import CalibrationBook, ScoredOutcomes, fit_book, up_from_trades
from moonlight.core.ensemble.platt import UNFITTED, Calibration
from moonlight.core.ensemble.store import load_book, save_book, stored_outcomes
from moonlight.core.orders import Direction, Outcome
from moonlight.core.storage import migrate
from moonlight.core.storage.engine import create_storage_engine, session_factory
from tests.support.storage_rows import insert_order, record_result


def _pairs(n: int, a: float, seed: int, instrument: str, timeframe: str = "1m") -> ScoredOutcomes:
    rng = np.random.default_rng(seed)
    scores = rng.uniform(-1, 1, n)
    up = rng.random(n) < 1 / (1 + np.exp(a * scores))
    start = np.datetime64("2024-01-01T00:00:00", "us")
    at = start + np.arange(n) * np.timedelta64(60, "s")
    return ScoredOutcomes.build(scores, up, instrument=instrument, timeframe=timeframe, at=at)


def test_each_key_with_enough_data_gets_its_own_fit_thin_keys_fall_back() -> None:
    data = ScoredOutcomes.concat(
        [
            _pairs(3000, -3.0, 1, "EURUSD"),
            _pairs(3000, -0.5, 2, "BTCUSDT"),
            _pairs(50, 3.0, 3, "XAU"),
        ]
    )
    book = fit_book(data, min_samples=200)
    eur, btc = book.lookup("EURUSD", "1m"), book.lookup("BTCUSDT", "1m")
    assert eur.instrument == "EURUSD" and eur.a == pytest.approx(-3.0, abs=0.3)
    assert btc.a == pytest.approx(-0.5, abs=0.2)
    thin = book.lookup("XAU", "1m")
    assert thin is book.global_fit and thin.instrument is None and thin.n_samples == 6050
    assert book.lookup("EURUSD", "5m") is book.global_fit  # unknown timeframe: global
    assert eur.data_from == datetime(2024, 1, 1, tzinfo=UTC)
    assert eur.data_to == datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=2999)
    assert set(eur.metrics) >= {"brier", "log_loss", "ece"}


def test_without_enough_data_anywhere_the_conservative_mapping_applies() -> None:
    book = fit_book(_pairs(100, -3.0, 4, "EURUSD"), min_samples=200)
    assert book.lookup("EURUSD", "1m") is UNFITTED
    assert CalibrationBook().lookup("EURUSD", "1m") is UNFITTED


def test_up_from_trades_maps_outcomes_to_price_direction() -> None:
    kept, up = up_from_trades(
        [1, 1, -1, -1, 1, -1], ["win", "lose", "win", "lose", "push", "abort"]
    )
    assert kept.tolist() == [True, True, True, True, False, False]
    assert up.tolist() == [1, 0, 0, 1]


@pytest.fixture
def session(tmp_path: Path) -> Session:
    engine = create_storage_engine(f"sqlite:///{(tmp_path / 'cal.db').as_posix()}")
    migrate.upgrade(engine)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def test_fits_round_trip_through_storage_and_newest_wins(session: Session) -> None:
    rng = np.random.default_rng(7)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    for i in range(600):
        score = float(rng.uniform(-1, 1))
        went_up = rng.random() < 1 / (1 + np.exp(-2.5 * score))
        direction = Direction.UP if score >= 0 else Direction.DOWN
        won = went_up == (direction is Direction.UP)
        order = insert_order(
            session,
            client_req_id=f"r{i}",
            account_id="acc",
            instrument="EURUSD",
            timeframe="1m",
            direction=direction,
            stake=1.0,
            currency="USD",
            duration_s=60,
            payout_pct=80.0,
            score=score,
            p_hat=0.5,
            created_at=start + timedelta(minutes=i),
        )
        outcome = Outcome.PUSH if i % 50 == 0 else Outcome.WIN if won else Outcome.LOSE
        record_result(session, order, outcome=outcome, pnl=0.8 if won else -1.0)
    pairs = stored_outcomes(session)
    assert len(pairs) == 588  # the 12 pushes are left out
    assert pairs.time_range()[0] == start + timedelta(minutes=1)
    book = fit_book(pairs, min_samples=200)
    save_book(session, book)
    loaded = load_book(session, min_samples=200)
    original = book.lookup("EURUSD", "1m")
    restored = loaded.lookup("EURUSD", "1m")
    assert (restored.a, restored.b, restored.n_samples) == (original.a, original.b, 588)
    assert restored.data_from == original.data_from and restored.metrics == original.metrics
    assert loaded.global_fit is not None and loaded.global_fit.instrument is None
    newer = CalibrationBook(
        {
            ("EURUSD", "1m"): Calibration(
                a=-1.0, b=0.0, n_samples=999, instrument="EURUSD", timeframe="1m"
            )
        },
        min_samples=200,
    )
    save_book(session, newer)
    assert load_book(session, min_samples=200).lookup("EURUSD", "1m").a == -1.0
