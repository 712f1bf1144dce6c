"""A seeded random-walk market: deterministic ticks and candles with intraday volatility.

Prices are a geometric random walk sampled every ``tick_interval_s`` from ``origin_ts``.
Volatility is realistic in shape, not just Gaussian noise:

* **intraday seasonality** — a 24-hour UTC profile (quiet Asian hours, the London open,
  the London/New York overlap as the busiest hours), normalised to a mean of 1;
* **volatility clustering** — a per-minute log-volatility AR(1) process, so calm and
  busy spells alternate as in real markets.

The whole path is a pure function of ``(seed, instrument, origin_ts)``: the same market
gives the same prices in every process, which is what lets the mock broker and the paper
broker settle contracts identically before and after a restart. Ticks are generated in
blocks (an hour of 1-second ticks by default) on demand; only the ``cache_blocks`` most
recently used blocks of each instrument are kept, so memory stays bounded however long
the market runs, and a block asked for again is regenerated identically. Asking for a
price before ``origin_ts`` returns ``None`` (the market has no history earlier than that).
"""

from __future__ import annotations

import math
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from moonlight.core.connectors.contract import Candle

_SECONDS_PER_DAY = 86_400.0

_Block = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]
"""Prices and volumes of one block of ticks."""

#: Relative volatility by UTC hour (FX-like: Asia quiet, London open, London/NY overlap).
INTRADAY_PROFILE: tuple[float, ...] = (
    0.55, 0.50, 0.50, 0.55, 0.60, 0.65, 0.75, 1.00, 1.35, 1.30, 1.20, 1.15,
    1.30, 1.60, 1.65, 1.45, 1.20, 1.00, 0.80, 0.70, 0.60, 0.55, 0.50, 0.50,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """One simulated instrument: starting price, daily volatility and price precision."""

    symbol: str
    start_price: float
    daily_vol: float
    digits: int = 5


DEFAULT_SPECS: tuple[MarketSpec, ...] = (
    MarketSpec("EURUSD", 1.0850, 0.005, 5),
    MarketSpec("GBPUSD", 1.2700, 0.006, 5),
    MarketSpec("USDJPY", 150.00, 0.006, 3),
    MarketSpec("BTCUSD", 60_000.0, 0.030, 2),
)


class _Path:
    """The tick path of one instrument: generated block by block, only recent blocks kept.

    Block ``k`` is a pure function of the seed, ``k`` and the walk's state where block
    ``k - 1`` ended (log price and log volatility), so the path keeps that state for every
    block boundary it has reached (two floats per block: 16 bytes per instrument-hour at
    the default block size) and at most ``market.cache_blocks`` generated blocks, least
    recently used first out. A block asked for again after it was dropped is regenerated
    from its boundary state: the same prices, bit for bit.
    """

    def __init__(self, spec: MarketSpec, seed: int, market: RandomWalkMarket) -> None:
        self.spec = spec
        self.market = market
        self.seed_key = (seed, zlib.crc32(spec.symbol.encode()))
        #: (log price, log volatility) at the start of block k, at [2k] and [2k + 1].
        self._starts = array("d", [math.log(spec.start_price), 0.0])
        self._cache: OrderedDict[int, _Block] = OrderedDict()
        ticks_per_day = _SECONDS_PER_DAY / market.tick_interval_s
        self.sigma_per_tick = spec.daily_vol / math.sqrt(ticks_per_day)
        self.scale = 10.0**spec.digits

    @property
    def cached_ticks(self) -> int:
        """Ticks held in memory now (prices; volumes are held alongside)."""
        return sum(len(prices) for prices, _ in self._cache.values())

    def _block(self, block: int) -> _Block:
        """Prices and volumes of one block, from the cache or generated."""
        cached = self._cache.get(block)
        if cached is not None:
            self._cache.move_to_end(block)
            return cached
        known = len(self._starts) // 2 - 1  # the last block whose start state is known
        for earlier in range(known, block):  # reach block's start state, in order
            self._remember(earlier, self._generate(earlier))
        generated = self._generate(block)
        self._remember(block, generated)
        return generated

    def _remember(self, block: int, generated: _Block) -> None:
        self._cache[block] = generated
        self._cache.move_to_end(block)
        while len(self._cache) > self.market.cache_blocks:
            self._cache.popitem(last=False)

    def _generate(self, block: int) -> _Block:
        """Block ``block`` from its start state; records the next block's start state."""
        market = self.market
        size = market.block_ticks
        rng = np.random.default_rng([*self.seed_key, block])
        first_ts = market.origin_ts + block * size * market.tick_interval_s
        tick_ts = first_ts + np.arange(size) * market.tick_interval_s
        hours = ((tick_ts % _SECONDS_PER_DAY) // 3600).astype(np.int64)
        season = market.profile[hours]
        # Per-minute log-volatility AR(1): volatility clusters, persists for ~30 minutes.
        minute = ((tick_ts - first_ts) // 60).astype(np.int64)
        shocks = rng.standard_normal(int(minute[-1]) + 1)
        log_vol = np.empty_like(shocks)
        state = self._starts[2 * block + 1]
        for i, shock in enumerate(shocks):
            state = 0.97 * state + 0.12 * shock
            log_vol[i] = state
        vol = np.exp(log_vol - 0.5 * (0.12**2 / (1 - 0.97**2)))[minute]
        sigma = self.sigma_per_tick * season * vol
        steps = sigma * rng.standard_normal(size)
        levels = self._starts[2 * block] + np.cumsum(steps)
        if len(self._starts) == 2 * block + 2:
            self._starts.extend((float(levels[-1]), state))
        prices = np.round(np.exp(levels) * self.scale) / self.scale
        volumes = np.round(season * vol * rng.lognormal(0.0, 0.5, size), 2)
        return prices, volumes

    def price(self, index: int) -> float:
        size = self.market.block_ticks
        prices, _ = self._block(index // size)
        return float(prices[index % size])

    def window(
        self, first: int, last: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Prices and volumes of ticks ``first..last`` inclusive."""
        size = self.market.block_ticks
        b0, b1 = first // size, last // size
        blocks = [self._block(b) for b in range(b0, b1 + 1)]
        prices = np.concatenate([p for p, _ in blocks])
        volumes = np.concatenate([v for _, v in blocks])
        start = first - b0 * size
        stop = start + last - first + 1
        return (
            np.asarray(prices[start:stop], dtype=np.float64),
            np.asarray(volumes[start:stop], dtype=np.float64),
        )


class RandomWalkMarket:
    """Deterministic prices for several instruments; see the module docstring.

    ``origin_ts`` is the first tick's time; choose it early enough that workers find the
    warm-up history they ask for (e.g. two days before "now"). ``cache_blocks`` bounds the
    blocks kept per instrument (default: two days of 1-second ticks, about 2.8 MB per
    instrument); older ones are regenerated when asked for again.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        origin_ts: float,
        specs: Sequence[MarketSpec] = DEFAULT_SPECS,
        tick_interval_s: float = 1.0,
        block_ticks: int = 3600,
        cache_blocks: int = 48,
        profile: Sequence[float] = INTRADAY_PROFILE,
    ) -> None:
        if tick_interval_s <= 0:
            raise ValueError("tick_interval_s must be positive")
        if block_ticks < 1 or cache_blocks < 1:
            raise ValueError("block_ticks and cache_blocks must be at least 1")
        if len(profile) != 24:
            raise ValueError("profile must have 24 hourly values")
        self.seed = seed
        self.tick_interval_s = float(tick_interval_s)
        # Ticks sit on a grid of tick_interval_s so epoch-aligned bars hold whole ticks.
        self.origin_ts = math.floor(origin_ts / self.tick_interval_s) * self.tick_interval_s
        self.block_ticks = block_ticks
        self.cache_blocks = cache_blocks
        weights = np.asarray(profile, dtype=np.float64)
        self.profile = weights / weights.mean()
        self.specs = {spec.symbol: spec for spec in specs}
        self._paths = {spec.symbol: _Path(spec, seed, self) for spec in specs}

    @property
    def symbols(self) -> tuple[str, ...]:
        """The instruments this market prices."""
        return tuple(self._paths)

    @property
    def cached_ticks(self) -> int:
        """Ticks of every instrument held in memory now (bounded by ``cache_blocks``)."""
        return sum(path.cached_ticks for path in self._paths.values())

    def _path(self, instrument: str) -> _Path:
        try:
            return self._paths[instrument]
        except KeyError:
            raise KeyError(f"unknown instrument {instrument!r}") from None

    def tick_ts(self, index: int) -> float:
        """Time of tick ``index``."""
        return self.origin_ts + index * self.tick_interval_s

    def last_index_at_or_before(self, ts: float) -> int | None:
        """Index of the last tick at or before ``ts``; ``None`` before the origin."""
        if ts < self.origin_ts:
            return None
        return math.floor((ts - self.origin_ts) / self.tick_interval_s + 1e-9)

    def first_index_after(self, ts: float) -> int:
        """Index of the first tick strictly after ``ts``."""
        if ts < self.origin_ts:
            return 0
        return math.floor((ts - self.origin_ts) / self.tick_interval_s + 1e-9) + 1

    def price_at(self, instrument: str, ts: float) -> float | None:
        """The prevailing price at ``ts`` (last tick at or before it); ``None`` before origin."""
        index = self.last_index_at_or_before(ts)
        return None if index is None else self._path(instrument).price(index)

    def first_price_after(self, instrument: str, ts: float) -> tuple[float, float]:
        """``(tick_ts, price)`` of the first tick strictly after ``ts``."""
        index = self.first_index_after(ts)
        return self.tick_ts(index), self._path(instrument).price(index)

    def ticks(
        self, instrument: str, after_ts: float, until_ts: float
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Times and prices of the ticks in ``(after_ts, until_ts]``."""
        first = self.first_index_after(after_ts)
        last = self.last_index_at_or_before(until_ts)
        if last is None or last < first:
            empty = np.empty(0, dtype=np.float64)
            return empty, empty
        prices, _ = self._path(instrument).window(first, last)
        times = self.origin_ts + np.arange(first, last + 1, dtype=np.float64) * self.tick_interval_s
        return np.asarray(times, dtype=np.float64), prices

    def candles(
        self, instrument: str, timeframe_s: int, *, count: int, end_ts: float
    ) -> list[Candle]:
        """Up to ``count`` closed bars (epoch-aligned) ending at or before ``end_ts``.

        A bar ``[start, start + timeframe_s)`` holds the ticks whose time is in that
        interval; bars starting before ``origin_ts`` are not available.
        """
        if timeframe_s <= 0 or count <= 0:
            return []
        last_end = math.floor(end_ts / timeframe_s) * timeframe_s
        first_start = max(
            last_end - count * timeframe_s,
            math.ceil(self.origin_ts / timeframe_s) * timeframe_s,
        )
        if first_start >= last_end:
            return []
        per_bar = timeframe_s / self.tick_interval_s
        if abs(per_bar - round(per_bar)) > 1e-9:
            raise ValueError("timeframe_s must be a multiple of the tick interval")
        per_bar_i = round(per_bar)
        first = round((first_start - self.origin_ts) / self.tick_interval_s)
        n_bars = int((last_end - first_start) // timeframe_s)
        prices, volumes = self._path(instrument).window(first, first + n_bars * per_bar_i - 1)
        grid = prices.reshape(n_bars, per_bar_i)
        vol = volumes.reshape(n_bars, per_bar_i).sum(axis=1)
        opens, closes = grid[:, 0], grid[:, -1]
        highs, lows = grid.max(axis=1), grid.min(axis=1)
        return [
            Candle(
                instrument=instrument,
                timeframe_s=timeframe_s,
                start_ts=float(first_start + i * timeframe_s),
                open=float(opens[i]),
                high=float(highs[i]),
                low=float(lows[i]),
                close=float(closes[i]),
                volume=float(vol[i]),
            )
            for i in range(n_bars)
        ]
