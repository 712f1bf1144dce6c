"""The bar builder vouches only for bars it saw whole, judged by the broker's stamps.

A tick can race the subscription's acknowledgement (read before the subscribing
coroutine resumes, so never counted) and the estimated server clock can lag the
broker's; neither may let a partly seen bar pass as complete (under load, a live
candle's open once differed from the broker's history this way)."""

from __future__ import annotations

from moonlight.connectors.olymp.bars import BarBuilder
from moonlight.connectors.olymp.payloads import TickData

TF = 2
S = 1_800_000_000.0  # a bar start (a multiple of TF)


def tick(ts: float, price: float) -> TickData:
    return TickData("EURUSD", ts, price)


def test_a_tick_that_raced_the_acknowledgement_leaves_its_bar_to_the_back_fill() -> None:
    builder = BarBuilder("EURUSD", TF)
    builder.add(tick(S + 0.1, 1.5))  # arrives before begin(): not counted
    builder.begin()
    for ts, price in ((S + 0.6, 1.2), (S + 1.5, 1.3), (S + 2.2, 1.4), (S + 3.9, 1.1)):
        builder.add(tick(ts, price))
    builder.close_due(S + 4.0)
    assert builder.get(S) is None  # its open (1.5) was never seen
    bar = builder.get(S + TF)
    assert bar is not None and (bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        1.4, 1.4, 1.1, 1.1, 2.0,
    )  # fmt: skip


def test_a_first_tick_stamped_at_a_bar_start_does_not_vouch_for_that_bar() -> None:
    builder = BarBuilder("EURUSD", TF)
    builder.begin()
    for ts in (S, S + 1.0, S + 2.0, S + 3.0):  # another tick stamped S may have been lost
        builder.add(tick(ts, 1.0))
    builder.close_due(S + 4.0)
    assert builder.get(S) is None
    assert builder.get(S + TF) is not None


def test_a_gap_needs_a_new_acknowledgement_and_a_new_first_tick() -> None:
    builder = BarBuilder("EURUSD", TF)
    builder.begin()
    builder.add(tick(S - 0.5, 1.0))
    builder.gap()
    builder.add(tick(S + 0.5, 1.0))  # after the gap, before the resubscription
    builder.begin()
    builder.add(tick(S + 1.0, 1.0))
    builder.add(tick(S + 2.5, 1.0))
    builder.close_due(S + 6.0)
    assert builder.get(S) is None
    assert builder.get(S + TF) is not None
