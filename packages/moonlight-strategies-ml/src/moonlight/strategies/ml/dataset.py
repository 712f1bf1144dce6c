"""Datasets for learned strategies: one row per decision bar, features and a label.

Two sources give the same columns:

* :func:`dataset_from_candles` -- a backtest-style pass over a candle history. Every
  closed bar is a decision instant; its features come from :func:`batch_features` (the
  same streaming-identical code the strategy serves with) and its label is the would-be
  outcome of an **up** contract bought at that instant and expiring ``expiry_s`` later,
  priced on bar closes by the core's settlement kernel
  (:func:`moonlight.core.research.kernels.price_kernel`, the rule the paper broker and
  the backtest settle with). ``label`` is 1 (up won), 0 (up lost); pushes and contracts
  the history cannot settle are NaN and never used for training.
* :func:`dataset_from_storage` -- the ``decisions`` table (shadow outcomes, issue 15)
  when the database has one; a clear :class:`DatasetError` otherwise.

:func:`write_parquet` stores a dataset with its feature spec in the file's metadata;
:func:`read_parquet` reads it back and checks the spec.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from moonlight.core.data.candles import CandleSeries
from moonlight.core.research import kernels
from moonlight.core.strategy.api import price_arrays
from moonlight.core.strategy.indicators import IndicatorSource
from moonlight.strategies.ml.features import FeatureSpec, batch_features

#: Columns every dataset has besides the features, in order.
META_COLUMNS: tuple[str, ...] = ("ts", "instrument", "timeframe_s", "close", "exit", "label")
_SPEC_KEY = b"moonlight.feature_spec"


class DatasetError(ValueError):
    """A dataset cannot be built or read (the message says why and what to do)."""


def dataset_from_candles(
    series: CandleSeries,
    spec: FeatureSpec,
    *,
    expiry_s: float,
    source: IndicatorSource | None = None,
) -> Any:
    """The dataset of every bar of ``series`` (a pandas DataFrame); see the module doc.

    ``ts`` is the decision instant (the bar's close, epoch seconds).
    """
    import pandas as pd

    if expiry_s <= 0:
        raise DatasetError(f"expiry must be positive, got {expiry_s} s")
    series = series.require_ordered()
    if len(series) == 0:
        raise DatasetError(f"{series.source or series.instrument}: no bars")
    prices = price_arrays(series.columns())
    matrix = batch_features(spec, prices, source)
    ends = np.ascontiguousarray(series.end_ts)
    closes = np.ascontiguousarray(series.close)
    _, exit_price, code, _ = kernels.price_kernel(
        ends,
        closes,
        ends,
        float(expiry_s),
        np.ones(len(series), np.int8),
        float(ends[0]),
        1.0,
        float(ends[-1] + series.timeframe_s),
    )
    label = np.where(code == kernels.OUT_WIN, 1.0, np.where(code == kernels.OUT_LOSE, 0.0, np.nan))
    frame = pd.DataFrame(matrix, columns=spec.column_names())
    frame.insert(0, "ts", ends)
    frame.insert(1, "instrument", series.instrument)
    frame.insert(2, "timeframe_s", series.timeframe_s)
    frame.insert(3, "close", closes)
    frame.insert(4, "exit", exit_price)
    frame.insert(5, "label", label)
    frame.attrs["feature_spec"] = spec.to_dict()
    frame.attrs["expiry_s"] = float(expiry_s)
    return frame


def dataset_from_storage(url: str, spec: FeatureSpec) -> Any:
    """Decisions × features × shadow outcomes from storage (the ``decisions`` table).

    The table comes with issue 15 (migration ``0002_decisions``). Until a database has
    it, this raises a :class:`DatasetError` naming the way out (export from candles).
    """
    import pandas as pd
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("decisions"):
            raise DatasetError(
                f"{_masked(url)} has no 'decisions' table (decisions with shadow"
                " outcomes arrive with migration 0002_decisions); export from candles"
                " instead: moonlight dataset export --candles FILE"
            )
        with engine.connect() as connection:
            rows = pd.read_sql_table("decisions", connection)
    finally:
        engine.dispose()
    return _decisions_frame(rows, spec)


def _decisions_frame(rows: Any, spec: FeatureSpec) -> Any:
    """Dataset columns from stored decision rows (issue 15's ``decisions`` table).

    Features come from each row's ``features`` document (the worker's streaming
    indicator values, keyed by indicator need); a lag ``L`` is the value of the decision ``L``
    bars earlier of the same account, instrument and timeframe, NaN when that bar was
    not decided. ``outcome`` is where the price ended (``up``/``down``/``push``): the
    label is 1 for up, 0 for down, NaN otherwise.
    """
    import pandas as pd

    from moonlight.core.timeframes import timeframe_seconds

    required = {"account_id", "instrument", "timeframe", "decided_at", "features", "outcome"}
    missing = sorted(required - set(rows.columns))
    if missing:
        raise DatasetError(f"the decisions table lacks columns {', '.join(missing)}")
    rows = rows.assign(
        ts=(pd.to_datetime(rows["decided_at"], utc=True) - pd.Timestamp(0, tz="UTC"))
        / pd.Timedelta(seconds=1),
        timeframe_s=[timeframe_seconds(str(t)) for t in rows["timeframe"]],
    ).sort_values(["account_id", "instrument", "timeframe", "ts"], kind="stable")
    matrix = np.full((len(rows), spec.width), np.nan)
    ts = rows["ts"].to_numpy(np.float64)
    step = rows["timeframe_s"].to_numpy(np.float64)
    keys = list(zip(rows["account_id"], rows["instrument"], rows["timeframe"], strict=True))
    values = [_stored_values(spec, _indicators(f)) for f in rows["features"]]
    for i in range(len(rows)):
        column = 0
        for j, f in enumerate(spec.features):
            for lag in f.lags:
                k = i - lag
                if k >= 0 and keys[k] == keys[i] and ts[i] - ts[k] == lag * step[i]:
                    matrix[i, column] = values[k][j]
                column += 1
    outcome = rows["outcome"].astype(str).to_numpy()
    label = np.where(outcome == "up", 1.0, np.where(outcome == "down", 0.0, np.nan))
    frame = pd.DataFrame(matrix, columns=spec.column_names())
    frame.insert(0, "ts", ts)
    frame.insert(1, "instrument", rows["instrument"].astype(str).to_numpy())
    frame.insert(2, "timeframe_s", step)
    frame.insert(3, "close", rows.get("entry_price", pd.Series(np.nan, rows.index)).to_numpy())
    frame.insert(4, "exit", rows.get("exit_price", pd.Series(np.nan, rows.index)).to_numpy())
    frame.insert(5, "label", label)
    frame.attrs["feature_spec"] = spec.to_dict()
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)


def _indicators(snapshot: Any) -> dict[str, Any]:
    """The indicator values of one stored features document: the flat ``{need key:
    value}`` mapping the trader stores, or the ``indicators`` part of the
    ``StrategyGroup.features`` shape."""
    if not isinstance(snapshot, dict):
        return {}
    nested = snapshot.get("indicators")
    return nested if isinstance(nested, dict) else snapshot


def _stored_values(spec: FeatureSpec, indicators: dict[str, Any]) -> list[float]:
    """Each feature's lag-0 value from one stored indicator snapshot (NaN when absent).

    Features relative to the close cannot be rebuilt (the snapshot has no close) and
    stay NaN: use a spec without them, or export from candles.
    """
    found: list[float] = []
    for f in spec.features:
        stored = indicators.get(f.need.key)
        value = stored[f.output] if isinstance(stored, list) else stored
        usable = value is not None and not f.relative_to_close
        found.append(float(value) if usable and value is not None else np.nan)
    return found


def _masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def write_parquet(frame: Any, path: Path) -> Path:
    """Write ``frame`` to Parquet with its feature spec in the schema metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[_SPEC_KEY] = json.dumps(frame.attrs.get("feature_spec", {})).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.replace_schema_metadata(meta), path)
    return path


def read_parquet(path: Path, spec: FeatureSpec | None = None) -> Any:
    """A dataset written by :func:`write_parquet`; its spec must equal ``spec`` if given."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path}: not a readable Parquet dataset: {error}") from None
    raw = (table.schema.metadata or {}).get(_SPEC_KEY)
    if raw is None:
        raise DatasetError(f"{path}: no feature spec in its metadata (not a MoonLight dataset)")
    stored = FeatureSpec.from_dict(json.loads(raw))
    if spec is not None and stored.fingerprint() != spec.fingerprint():
        raise DatasetError(
            f"{path}: built with feature spec {stored.name} v{stored.version}"
            f" ({stored.fingerprint()}), not {spec.name} v{spec.version} ({spec.fingerprint()})"
        )
    frame = table.to_pandas()
    frame.attrs["feature_spec"] = stored.to_dict()
    return frame


def feature_matrix(frame: Any, spec: FeatureSpec) -> tuple[Any, Any]:
    """(X, y) of the rows that have every feature and a label."""
    x = frame[spec.column_names()].to_numpy(np.float64)
    y = frame["label"].to_numpy(np.float64)
    usable = np.all(np.isfinite(x), axis=1) & np.isfinite(y)
    return x[usable], y[usable]
