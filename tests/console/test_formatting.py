"""How the console writes money, probabilities, durations and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, strategies as st

from moonlight.console import formatting as fmt


def test_money_and_signed_money() -> None:
    assert fmt.money(1234.5, "USD") == "1,234.50 USD"
    assert fmt.money(None) == fmt.DASH
    assert fmt.signed_money(4.25) == "+4.25"
    assert fmt.signed_money(-5) == "-5.00"
    assert fmt.signed_money(0.001) == "0.00"  # no "+0.00" or "-0.00"
    assert fmt.signed_money(-0.004, "EUR") == "0.00 EUR"


def test_probability_ratio_age() -> None:
    assert fmt.probability(0.5734) == "57.3 %"
    assert fmt.probability(None) == fmt.DASH
    assert fmt.ratio(0.14567) == "0.146"
    assert fmt.age(None) == "never"
    assert fmt.age(0.5) == "just now"
    assert fmt.age(12.2) == "12 s ago"
    assert fmt.age(600) == "10 min ago"


def test_durations_as_timeframes_are_written() -> None:
    assert [fmt.duration(s) for s in (15, 60, 90, 300, 3600, 3900)] == [
        "15s", "1m", "1m30s", "5m", "1h", "1h5m"
    ]  # fmt: skip
    assert fmt.duration(None) == fmt.DASH


@given(st.integers(min_value=1, max_value=10 * 86400))
def test_duration_reads_back(seconds: int) -> None:
    text = fmt.duration(seconds)
    total, number = 0, ""
    for char in text:
        if char.isdigit():
            number += char
        else:
            total += int(number) * {"h": 3600, "m": 60, "s": 1}[char]
            number = ""
    assert total == seconds


def test_times_are_shown_in_utc() -> None:
    moment = datetime(2026, 1, 5, 10, 41, 7, tzinfo=timezone(timedelta(hours=2)))
    assert fmt.clock(moment) == "08:41:07"
    assert fmt.date_time(moment) == "2026-01-05 08:41:07"
    assert fmt.clock(datetime(2026, 1, 5, 8, 0)) == "08:00:00"  # naive = UTC
    assert fmt.as_utc(moment).tzinfo == UTC
