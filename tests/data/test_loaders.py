"""The candle loaders: every format, explicit timezones, errors that name the line."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from moonlight.core.data.errors import (
    DataError,
    DataFormatError,
    DataValidationError,
    MissingDependencyError,
)
from moonlight.core.data.load import detect_format, instrument_from_name, load_candles
from moonlight.core.data.write import write_csv
from tests.support.market_data import BTCUSDT, EURUSD, SHARED_DATA, real_candles


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def write(tmp_path: Path, name: str, text: str, *, packed: bool = False) -> Path:
    path = tmp_path / name
    if packed:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


GENERIC = """timestamp,open,high,low,close,volume
2024-01-02T10:00:00Z,1.5,1.6,1.4,1.55,10
2024-01-02T10:01:00Z,1.55,1.7,1.5,1.6,12
2024-01-02T10:02:00Z,1.6,1.65,1.58,1.62,0
"""


def test_generic_csv_with_and_without_gzip(tmp_path: Path) -> None:
    plain = load_candles(write(tmp_path, "EURUSD_M1.csv", GENERIC))
    packed = load_candles(write(tmp_path, "EURUSD_M1.bin", GENERIC, packed=True))
    for series in (plain, packed):
        assert series.instrument == "EURUSD"
        assert series.timeframe_s == 60
        assert series.start_ts.tolist() == [ts("2024-01-02T10:00:00") + 60 * i for i in range(3)]
        assert series.close.tolist() == [1.55, 1.6, 1.62]
        assert series.volume.tolist() == [10, 12, 0]


def test_offsets_epoch_numbers_and_naive_times_with_a_named_timezone(tmp_path: Path) -> None:
    offsets = GENERIC.replace("Z,", "+02:00,")
    series = load_candles(write(tmp_path, "x.csv", offsets))
    assert series.start_ts[0] == ts("2024-01-02T08:00:00")
    millis = "time,open,high,low,close\n1704189600000,1,1,1,1\n1704189660000,1,1,1,1\n"
    assert load_candles(write(tmp_path, "m.csv", millis)).start_ts[0] == ts("2024-01-02T10:00:00")
    seconds = "time,open,high,low,close\n1704189600,1,1,1,1\n1704189660,1,1,1,1\n"
    assert load_candles(write(tmp_path, "s.csv", seconds)).start_ts[1] == ts("2024-01-02T10:01:00")
    naive = GENERIC.replace("Z,", ",")
    with pytest.raises(DataFormatError, match="timezone"):
        load_candles(write(tmp_path, "n.csv", naive))
    athens = load_candles(tmp_path / "n.csv", timezone="Europe/Athens")  # UTC+2 in January
    assert athens.start_ts[0] == ts("2024-01-02T08:00:00")


def test_daylight_saving_is_applied_per_bar(tmp_path: Path) -> None:
    text = (
        "date,time,open,high,low,close\n"
        "2024.01.15,12:00,1,1,1,1\n2024.01.15,12:01,1,1,1,1\n"
        "2024.07.15,12:00,1,1,1,1\n2024.07.15,12:01,1,1,1,1\n"
    )
    series = load_candles(write(tmp_path, "d.csv", text), timezone="Europe/Athens")
    assert series.start_ts[0] == ts("2024-01-15T10:00:00")  # EET, UTC+2
    assert series.start_ts[2] == ts("2024-07-15T09:00:00")  # EEST, UTC+3


def test_histdata_ascii_is_read_in_est_without_dst_by_default(tmp_path: Path) -> None:
    text = (
        "20170102 020000;1.052100;1.052280;1.052070;1.052200;0\n"
        "20170102 020100;1.052200;1.052300;1.052100;1.052250;0\n"
        "20170703 020000;1.140000;1.140100;1.139900;1.140050;0\n"
    )
    path = write(tmp_path, "DAT_ASCII_EURUSD_M1_2017.csv", text)
    assert detect_format(path) == "histdata"
    series = load_candles(path, strict=False)
    assert series.instrument == "EURUSD"
    assert series.start_ts[0] == ts("2017-01-02T07:00:00")
    assert series.start_ts[2] == ts("2017-07-03T07:00:00")  # no DST: still UTC-5 in July
    shifted = load_candles(path, timezone="UTC", strict=False)
    assert shifted.start_ts[0] == ts("2017-01-02T02:00:00")


def test_metatrader_4_and_5_exports_need_the_server_timezone(tmp_path: Path) -> None:
    mt4 = write(
        tmp_path,
        "EURUSD1.csv",
        "2024.03.01,10:00,1.08,1.09,1.07,1.085,120\n2024.03.01,10:01,1.085,1.09,1.08,1.088,80\n",
    )
    assert detect_format(mt4) == "mt4"
    with pytest.raises(DataFormatError, match="server time"):
        load_candles(mt4)
    series = load_candles(mt4, timezone="Europe/Athens")
    assert series.start_ts[0] == ts("2024-03-01T08:00:00")
    assert series.volume.tolist() == [120, 80]
    mt5 = write(
        tmp_path,
        "GBPUSD_M5.csv",
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
        "2024.03.01\t10:00:00\t1.2\t1.3\t1.1\t1.25\t55\t0\t3\n"
        "2024.03.01\t10:05:00\t1.25\t1.3\t1.2\t1.22\t60\t0\t3\n",
    )
    assert detect_format(mt5) == "mt5"
    five = load_candles(mt5, timezone="UTC")
    assert five.timeframe_s == 300 and five.instrument == "GBPUSD"
    assert five.volume.tolist() == [55, 60]  # tick volume, the real volume being all zero


def test_parquet_names_the_missing_package_until_pyarrow_is_installed(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 32 + b"PAR1")
    assert detect_format(path) == "parquet"
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="pyarrow"):
            load_candles(path)
    else:  # pragma: no cover - only where pyarrow is installed
        with pytest.raises(DataError):
            load_candles(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("timestamp,open,high,low,close\n", "no rows"),
        ("timestamp,open,high,low\n2024-01-01T00:00:00Z,1,1,1\n", "close"),
        ("timestamp,open,high,low,close\n2024-01-01T00:00:00Z,1,1,x,1\n", ":2: low 'x'"),
        ("timestamp,open,high,low,close\n2024-13-01T00:00:00Z,1,1,1,1\n", ":2:"),
        ("timestamp,open,high,low,close\n2024-01-01T00:00:00Z,1,1,1\n", "expected 5 fields"),
    ],
)
def test_format_errors_name_the_line(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(DataFormatError, match=match):
        load_candles(write(tmp_path, "bad.csv", text))


def test_problems_are_reported_not_fixed(tmp_path: Path) -> None:
    text = (
        "timestamp,open,high,low,close\n"
        "2024-01-01T00:02:00Z,1,2,0.5,1\n"
        "2024-01-01T00:01:00Z,1,2,0.5,1\n"
        "2024-01-01T00:01:00Z,1,0.9,0.5,1\n"
    )
    path = write(tmp_path, "messy.csv", text)
    with pytest.raises(DataValidationError) as caught:
        load_candles(path, timeframe="1m")
    assert caught.value.report.counts["non_monotonic"] == 1
    series = load_candles(path, timeframe="1m", strict=False)
    assert series.start_ts.tolist() == [ts("2024-01-01T00:02:00"), *[ts("2024-01-01T00:01:00")] * 2]
    assert series.high.tolist() == [2, 2, 0.9]  # as in the file
    with pytest.raises(DataValidationError, match="cannot replay"):
        series.require_ordered()


def test_instrument_names_from_file_names() -> None:
    assert instrument_from_name(Path("EURUSD_M1_2017H1_histdata.csv.gz")) == "EURUSD"
    assert instrument_from_name(Path("DAT_ASCII_GBPUSD_M1_201701.csv")) == "GBPUSD"
    assert instrument_from_name(Path("btcusdt-1m.parquet")) == "BTCUSDT"


@pytest.mark.parametrize(("name", "rows"), [(EURUSD, 186_348), (BTCUSDT, 66_087)])
def test_real_files_load_like_pandas_reads_them(name: str, rows: int) -> None:
    frame = real_candles(name)
    series = load_candles(SHARED_DATA / name)
    assert len(series) == rows and series.timeframe_s == 60
    expected = frame.index.as_unit("s").asi8.astype(np.float64)
    np.testing.assert_array_equal(series.start_ts, expected)
    for column in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(series, column), frame[column].to_numpy())
    assert series.report.ok


def test_written_csv_reads_back_bit_for_bit(tmp_path: Path) -> None:
    real_candles(BTCUSDT)  # skips when the shared data is absent
    series = load_candles(SHARED_DATA / BTCUSDT).slice(0, 500)
    again = load_candles(write_csv(series, tmp_path / "BTCUSDT_slice.csv.gz"))
    for column in ("start_ts", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(again, column), getattr(series, column))
