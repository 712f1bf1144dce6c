"""Fuzzing the loaders: random and mutated files give a clean DataError, never a traceback."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from moonlight.core.data.candles import CandleSeries
from moonlight.core.data.errors import DataError
from moonlight.core.data.load import load_candles

VALID = (
    "timestamp,open,high,low,close,volume\n"
    "2024-01-02T10:00:00Z,1.5,1.6,1.4,1.55,10\n"
    "2024-01-02T10:01:00Z,1.55,1.7,1.5,1.6,12\n"
    "2024-01-02T10:02:00Z,1.6,1.65,1.58,1.62,0\n"
)
HISTDATA = "20170102 020000;1.0521;1.0522;1.0520;1.0522;0\n20170102 020100;1.05;1.06;1.04;1.05;0\n"
MT4 = "2024.03.01,10:00,1.08,1.09,1.07,1.085,120\n2024.03.01,10:01,1.085,1.09,1.08,1.088,80\n"
SEEDS = (VALID, HISTDATA, MT4)
FORMATS = ("auto", "csv", "histdata", "mt4", "mt5")


def load_quietly(payload: bytes, *, fmt: str, timezone: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_bytes(payload)
        try:
            series = load_candles(path, format=fmt, timezone=timezone)  # type: ignore[arg-type]
        except DataError as error:
            assert str(error)  # a message, naming the problem
            return
        assert isinstance(series, CandleSeries)
        assert series.report.ok  # strict loading only returns clean series


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=st.binary(max_size=400),
    fmt=st.sampled_from(FORMATS),
    timezone=st.sampled_from([None, "UTC", "Europe/Athens"]),
)
def test_random_bytes(payload: bytes, fmt: str, timezone: str | None) -> None:
    load_quietly(payload, fmt=fmt, timezone=timezone)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from(SEEDS))
    chars = list(text)
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["replace", "delete", "insert", "duplicate_line"]))
        if not chars:
            break
        where = draw(st.integers(0, len(chars) - 1))
        if action == "replace":
            chars[where] = draw(st.sampled_from(list(',;\t\n:-.0123456789TZ ex"\x00é')))
        elif action == "delete":
            del chars[where]
        elif action == "insert":
            chars.insert(where, draw(st.text(max_size=4)))
        else:
            lines = "".join(chars).splitlines(keepends=True)
            chars = list("".join(lines + lines[-1:]))
    data = "".join(chars).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = gzip.compress(data)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]  # a truncated gzip stream
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=mutated(),
    fmt=st.sampled_from(FORMATS),
    timezone=st.sampled_from([None, "UTC", "America/New_York", "Nowhere/Else"]),
)
def test_mutated_files(payload: bytes, fmt: str, timezone: str | None) -> None:
    load_quietly(payload, fmt=fmt, timezone=timezone)
