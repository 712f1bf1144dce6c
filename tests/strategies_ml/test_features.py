"""Feature specs: streaming rows equal batch rows bit for bit; specs round-trip."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from moonlight.core.strategy.api import Bar, price_arrays
from moonlight.core.strategy.indicators import IndicatorFeed, registry_indicator_source
from moonlight.strategies.ml.features import (
    DEFAULT_SPEC,
    FeatureSpec,
    FeatureStream,
    batch_features,
)


def _candles(seed: int, bars: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.cumprod(1.0 + rng.normal(0, 0.001, bars))
    open_ = np.concatenate(([100.0], close[:-1]))
    spread = np.abs(rng.normal(0, 0.0005, (bars, 2)))
    return {
        "open": open_,
        "high": np.maximum(open_, close) * (1 + spread[:, 0]),
        "low": np.minimum(open_, close) * (1 - spread[:, 1]),
        "close": close,
        "volume": rng.integers(0, 50, bars).astype(float),
    }


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), bars=st.integers(1, 400))
def test_streaming_rows_equal_batch_rows(seed: int, bars: int) -> None:
    columns = _candles(seed, bars)
    source = registry_indicator_source()
    batch = batch_features(DEFAULT_SPEC, price_arrays(columns), source)
    feed = IndicatorFeed(DEFAULT_SPEC.needs(), source)
    stream = FeatureStream(DEFAULT_SPEC)
    for i in range(bars):
        bar = Bar(*(float(columns[c][i]) for c in ("open", "high", "low", "close", "volume")))
        row = stream.row(bar.close, feed.update(bar))
        np.testing.assert_array_equal(row, batch[i])  # NaN == NaN, exact otherwise


def test_warm_up_covers_the_first_complete_row() -> None:
    columns = _candles(3, 300)
    batch = batch_features(DEFAULT_SPEC, price_arrays(columns))
    first_complete = int(np.flatnonzero(np.all(np.isfinite(batch), axis=1))[0])
    assert first_complete == DEFAULT_SPEC.warmup_bars()


def test_spec_round_trips_and_its_fingerprint_tracks_every_field() -> None:
    again = FeatureSpec.from_dict(DEFAULT_SPEC.to_dict())
    assert again == DEFAULT_SPEC and again.fingerprint() == DEFAULT_SPEC.fingerprint()
    changed = DEFAULT_SPEC.to_dict()
    changed["features"][0]["lags"] = [0, 2]
    assert FeatureSpec.from_dict(changed).fingerprint() != DEFAULT_SPEC.fingerprint()


def test_a_spec_without_features_or_with_a_repeated_column_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="no features"):
        FeatureSpec("empty", 1, ())
    twice = DEFAULT_SPEC.features[0]
    with pytest.raises(ValueError, match="twice"):
        FeatureSpec("twice", 1, (twice, twice))
