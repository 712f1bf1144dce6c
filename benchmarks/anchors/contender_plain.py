"""Plain-Python loop, the same bets as MoonLight's EMA cross: the floor of the design.

One pass over the closes: TA-Lib-seeded EMAs (the first value is the SMA of the first
``period`` closes), a vote where ``fast − slow`` changes sign, a one-bar up/down bet at
that close settled at the next close with an 85 % payout. No framework, no I/O.

Run: ``python contender_plain.py FILE [BARS]``
"""

from __future__ import annotations

import platform

from common import FAST, SLOW, arguments, load, measure, report

PAYOUT = 0.85


def ema_cross_bets(closes: list[float]) -> int:
    """Bet on every EMA cross; return the number of bets (the PnL is computed too)."""
    fast_alpha, slow_alpha = 2.0 / (FAST + 1), 2.0 / (SLOW + 1)
    fast = sum(closes[:FAST]) / FAST
    slow = sum(closes[:SLOW]) / SLOW
    for price in closes[FAST:SLOW]:  # the fast EMA runs on to the slow one's first bar
        fast += fast_alpha * (price - fast)
    previous = float("nan")
    bets, pnl = 0, 0.0
    open_bet = 0  # +1 up, -1 down, 0 none: settled at the next close
    entry = 0.0
    for index in range(SLOW, len(closes)):
        price = closes[index]
        if open_bet:
            moved = price - entry
            if moved * open_bet > 0:
                pnl += PAYOUT
            elif moved != 0:
                pnl -= 1.0
            open_bet = 0
        fast += fast_alpha * (price - fast)
        slow += slow_alpha * (price - slow)
        difference = fast - slow
        if difference > 0.0 and previous <= 0.0:
            open_bet, entry, bets = 1, price, bets + 1
        elif difference < 0.0 and previous >= 0.0:
            open_bet, entry, bets = -1, price, bets + 1
        previous = difference
    return bets


def main() -> None:
    path, bars = arguments()
    candles = load(path, bars)
    warm = candles.close[:2000]
    figures = measure(ema_cross_bets, warm, candles.close, len(candles))
    report("plain-python", platform.python_version(), figures)


if __name__ == "__main__":
    main()
