"""Validation reports every problem and changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from moonlight.core.data.candles import CandleSeries
from moonlight.core.data.load import load_candles
from moonlight.core.data.validation import IssueKind, validate
from tests.support.market_data import BTCUSDT, EURUSD, SHARED_DATA, real_candles

T0 = 1_704_067_200.0  # 2024-01-01T00:00Z


def series(times: list[float], **columns: list[float]) -> CandleSeries:
    n = len(times)
    data = {
        "start_ts": times,
        "open": [1.0] * n,
        "high": [2.0] * n,
        "low": [0.5] * n,
        "close": [1.5] * n,
        "volume": [1.0] * n,
    }
    data.update(columns)
    return CandleSeries.from_arrays("X", 60, data)


def test_a_clean_series_has_no_problem() -> None:
    report = validate(series([T0 + 60 * i for i in range(5)]))
    assert report.ok and report.errors == 0 and not report.gaps


def test_each_kind_of_problem_is_counted_with_its_row() -> None:
    times = [T0, T0 + 60, T0 + 60, T0 + 30, T0 + 600, T0 + 660]
    broken = series(
        times,
        high=[2.0, 2.0, 2.0, 2.0, 0.9, 2.0],
        low=[0.5, 0.5, 0.5, 0.5, 0.5, 3.0],
        close=[1.5, float("nan"), 1.5, 1.5, 1.5, 1.5],
        volume=[1.0, 1.0, -1.0, 1.0, 1.0, 1.0],
    )
    report = validate(broken)
    counts = report.counts
    assert counts[IssueKind.DUPLICATE] == 1
    assert counts[IssueKind.NON_MONOTONIC] == 1
    assert counts[IssueKind.MISALIGNED] == 1
    assert counts[IssueKind.BAD_PRICE] == 1
    assert counts[IssueKind.NEGATIVE_VOLUME] == 1
    assert counts[IssueKind.OHLC_INCONSISTENT] == 2
    rows = {(i.kind, i.row) for i in report.issues}
    assert (IssueKind.DUPLICATE, 2) in rows and (IssueKind.NON_MONOTONIC, 3) in rows
    assert (IssueKind.OHLC_INCONSISTENT, 4) in rows and (IssueKind.OHLC_INCONSISTENT, 5) in rows
    assert not report.ok
    # reported, not fixed: the arrays are exactly what was given
    assert broken.start_ts.tolist() == times
    assert "row 3" in report.format()


def test_duplicates_far_apart_are_found() -> None:
    report = validate(series([T0, T0 + 120, T0 + 60, T0 + 120]))
    assert report.counts[IssueKind.DUPLICATE] == 1


def test_gaps_are_notices_with_their_size() -> None:
    report = validate(series([T0, T0 + 60, T0 + 600, T0 + 660]))
    assert report.ok
    assert [(g.after_ts, g.before_ts, g.missing_bars) for g in report.gaps] == [
        (T0 + 60, T0 + 600, 8)
    ]
    assert report.to_dict()["missing_bars"] == 8


@pytest.mark.parametrize(("name", "gaps", "missing"), [(BTCUSDT, 1, 80)])
def test_real_file_gaps(name: str, gaps: int, missing: int) -> None:
    real_candles(name)
    report = load_candles(SHARED_DATA / name).report
    assert len(report.gaps) == gaps and report.missing_bars == missing


def test_eurusd_weekends_and_short_gaps() -> None:
    real_candles(EURUSD)
    report = load_candles(SHARED_DATA / EURUSD).report
    weekends = [g for g in report.gaps if g.missing_bars > 24 * 60]
    short = [g for g in report.gaps if 1 <= g.missing_bars <= 4]
    assert len(weekends) == 25
    assert 250 <= len(short) <= 300  # the data README: ~280 gaps of 1-4 minutes
    flat = np.count_nonzero(
        load_candles(SHARED_DATA / EURUSD).high == load_candles(SHARED_DATA / EURUSD).low
    )
    assert flat > 0  # flat bars are facts, not problems
    assert report.ok


def test_lenient_series_with_ohlc_problems_can_be_replayed_but_not_disordered_ones() -> None:
    from moonlight.core.data.errors import DataValidationError

    odd = series([T0, T0 + 60], high=[0.9, 2.0])  # high below open/close
    assert not odd.report.ok
    assert odd.require_ordered() is odd
    with pytest.raises(DataValidationError, match="cannot replay"):
        series([T0 + 60, T0]).require_ordered()
