"""``moonlight calibrate`` from stored (S, outcome) pairs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from moonlight.core.cli.calibrate_cmd import calibrate_cmd
from moonlight.core.config import load_config
from moonlight.core.ensemble.store import load_book
from moonlight.core.orders import Direction, Outcome
from moonlight.core.storage import migrate
from moonlight.core.storage.engine import engine_from_config, session_factory
from tests.support.storage_rows import insert_order, record_result


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    data_dir = (tmp_path / "data").as_posix()
    path.write_text(
        f"data_dir: {data_dir}\nensemble:\n  calibration:\n    min_samples: 100\n",
        encoding="utf-8",
    )
    return path


def _store_orders(config_file: Path, n: int, true_a: float) -> None:
    config = load_config(config_file)
    engine = engine_from_config(config)
    migrate.upgrade(engine)
    rng = np.random.default_rng(11)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    with session_factory(engine)() as session:
        for i in range(n):
            score = float(rng.uniform(-1, 1))
            went_up = bool(rng.random() < 1 / (1 + np.exp(true_a * score)))
            direction = Direction.UP if score > 0 else Direction.DOWN
            won = went_up == (direction is Direction.UP)
            order = insert_order(
                session,
                client_req_id=f"o{i}",
                account_id="a",
                instrument="EURUSD",
                timeframe="1m",
                direction=direction,
                stake=1.0,
                currency="USD",
                duration_s=60,
                payout_pct=85.0,
                score=score,
                p_hat=0.5,
                created_at=start + timedelta(minutes=i),
            )
            record_result(
                session,
                order,
                outcome=Outcome.WIN if won else Outcome.LOSE,
                pnl=0.85 if won else -1.0,
            )
        session.commit()
    engine.dispose()


def test_refits_from_storage_prints_reliability_and_saves(config_file: Path) -> None:
    _store_orders(config_file, 800, true_a=-2.0)
    result = CliRunner().invoke(calibrate_cmd, [str(config_file)])
    assert result.exit_code == 0, result.output
    assert "800 decided (S, outcome) pairs" in result.output
    assert "EURUSD 1m: A=" in result.output and "global: A=" in result.output
    assert "Brier" in result.output and "ECE" in result.output
    assert "saved 2 fit(s)" in result.output
    config = load_config(config_file)
    engine = engine_from_config(config)
    with session_factory(engine)() as session:
        fit = load_book(session, min_samples=100).lookup("EURUSD", "1m")
    engine.dispose()
    assert fit.instrument == "EURUSD" and fit.n_samples == 800
    assert fit.a == pytest.approx(-2.0, abs=0.5)
    assert fit.data_from == datetime(2024, 5, 1, tzinfo=UTC)


def test_json_output_and_no_save(config_file: Path) -> None:
    _store_orders(config_file, 300, true_a=-1.0)
    result = CliRunner().invoke(calibrate_cmd, [str(config_file), "--json", "--no-save"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["pairs"] == 300
    assert {f["scope"] for f in figures["fits"]} == {"global", "EURUSD 1m"}
    assert 0 < figures["fits"][0]["report"]["brier"] < 0.3


def test_too_few_pairs_keeps_the_conservative_mapping_and_fails(config_file: Path) -> None:
    _store_orders(config_file, 20, true_a=-1.0)
    result = CliRunner().invoke(calibrate_cmd, [str(config_file)])
    assert result.exit_code == 1, result.output
    assert "only 20 decided" in result.output and "saved 0" not in result.output
    assert "no fit" in result.output and "nothing saved" in result.output
    config = load_config(config_file)
    engine = engine_from_config(config)
    with session_factory(engine)() as session:
        assert load_book(session, min_samples=10).all_fits() == []
    engine.dispose()


@pytest.mark.parametrize(
    "file_name", ["EURUSD_M1_2017H1_histdata.csv.gz", "eurusd-1m.csv", "EURUSD.csv"]
)
def test_a_csv_is_named_as_the_backtest_names_it(
    config_file: Path, tmp_path: Path, file_name: str
) -> None:
    """One naming function: the fit is stored under the name a backtest trades."""
    from moonlight.core.data.load import instrument_from_name

    rng = np.random.default_rng(5)
    bars = 1500
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, bars)))
    open_ = np.r_[close[0], close[:-1]]
    times = np.datetime64("2024-01-01T00:00:00") + np.arange(bars) * np.timedelta64(60, "s")
    lines = ["timestamp,open,high,low,close,volume"]
    for t, o, c in zip(times, open_, close, strict=True):
        lines.append(f"{t}Z,{o},{max(o, c) * 1.0004},{min(o, c) * 0.9996},{c},1")
    text = "\n".join(lines) + "\n"
    path = tmp_path / file_name
    if file_name.endswith(".gz"):
        import gzip

        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(calibrate_cmd, [str(config_file), "--csv", str(path), "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output.split("\nsaved")[0])
    assert report["instrument"] == instrument_from_name(path) == "EURUSD"


def test_a_csv_too_short_to_fit_exits_non_zero(config_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "EURUSD.csv"
    rows = [f"2024-01-01T00:{m:02d}:00Z,1.0,1.01,0.99,1.0{m % 3},1" for m in range(60)]
    path.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    result = CliRunner().invoke(calibrate_cmd, [str(config_file), "--csv", str(path)])
    assert result.exit_code == 1, result.output
    assert "no fit" in result.output


def test_refits_from_a_candle_csv_out_of_sample(config_file: Path, tmp_path: Path) -> None:
    """The CSV route runs the registered strategies vectorised and scores the hold-out."""
    rng = np.random.default_rng(3)
    bars = 4000
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, bars)))
    open_ = np.r_[close[0], close[:-1]]
    times = np.datetime64("2024-01-01T00:00:00") + np.arange(bars) * np.timedelta64(60, "s")
    csv_path = tmp_path / "SYNTH.csv"
    lines = ["timestamp,open,high,low,close,volume"]
    for t, o, c, v in zip(times, open_, close, rng.lognormal(3, 1, bars), strict=True):
        lines.append(f"{t}Z,{o},{max(o, c) * 1.0004},{min(o, c) * 0.9996},{c},{v}")
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        calibrate_cmd, [str(config_file), "--csv", str(csv_path), "--per-strategy", "--json"]
    )
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["instrument"] == "SYNTH" and report["bars"] == bars
    assert report["split_bar"] == 2800
    names = {s["label"] for s in report["strategies"]}
    assert {"ema_rsi", "vwap_rvol", "supertrend_adx"} <= names
    assert report["ensemble"]["fitted"] and report["ensemble"]["test"]["n_samples"] > 100
    config = load_config(config_file)
    engine = engine_from_config(config)
    with session_factory(engine)() as session:
        fit = load_book(session, min_samples=100).lookup("SYNTH", "1m")
    engine.dispose()
    assert fit.fitted and fit.instrument == "SYNTH"
    assert fit.data_to is not None and fit.data_to < datetime(2024, 1, 3, tzinfo=UTC)
