"""Datasets: Parquet round trip with the spec, labels, stored decisions, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from moonlight.strategies.ml.dataset import (
    DatasetError,
    dataset_from_storage,
    read_parquet,
    write_parquet,
)
from moonlight.strategies.ml.features import DEFAULT_SPEC

from .conftest import PLANTED_SPEC


def test_parquet_round_trip_keeps_rows_and_spec(planted_frame, tmp_path) -> None:
    path = write_parquet(planted_frame.head(500), tmp_path / "d.parquet")
    back = read_parquet(path, PLANTED_SPEC)
    assert back.attrs["feature_spec"] == PLANTED_SPEC.to_dict()
    np.testing.assert_array_equal(
        back[PLANTED_SPEC.column_names()].to_numpy(),
        planted_frame.head(500)[PLANTED_SPEC.column_names()].to_numpy(),
    )
    with pytest.raises(DatasetError, match="built with feature spec planted"):
        read_parquet(path, DEFAULT_SPEC)


def test_labels_are_the_settlement_rule_outcome_of_an_up_contract(planted_frame) -> None:
    closes = planted_frame["close"].to_numpy()
    labels = planted_frame["label"].to_numpy()
    expected = (closes[1:] > closes[:-1]).astype(float)  # one-bar expiry, no gaps
    np.testing.assert_array_equal(labels[:-1], expected)
    assert np.isnan(labels[-1])  # the history ends before its expiry is priced


def test_storage_without_a_decisions_table_is_a_clear_error(tmp_path) -> None:
    url = f"sqlite:///{(tmp_path / 'm.db').as_posix()}"
    with pytest.raises(DatasetError, match="no 'decisions' table"):
        dataset_from_storage(url, DEFAULT_SPEC)


def test_stored_decisions_become_rows_with_lags_and_price_labels(tmp_path) -> None:
    """The ``decisions`` table as issue 15's migration 0002 creates it (columns used);
    features stored flat (as the trader records them) or nested under ``indicators``."""
    import sqlalchemy as sa

    from moonlight.strategies.ml.features import FeatureDef, FeatureSpec

    spec = FeatureSpec("stored", 1, (FeatureDef("rsi", {"timeperiod": 7}, lags=(0, 1)),))
    url = f"sqlite:///{(tmp_path / 'd.db').as_posix()}"
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    table = sa.Table(
        "decisions",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.String(64)),
        sa.Column("instrument", sa.String(64)),
        sa.Column("timeframe", sa.String(16)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("features", sa.JSON),
        sa.Column("entry_price", sa.Double),
        sa.Column("exit_price", sa.Double),
        sa.Column("outcome", sa.String(8)),
    )
    meta.create_all(engine)
    from datetime import UTC, datetime

    minute = [datetime.fromtimestamp(1_700_000_040 + 60 * i, UTC) for i in (0, 1, 3)]
    key = "rsi(timeperiod=7)"
    with engine.begin() as connection:
        connection.execute(
            table.insert(),
            [
                {"account_id": "a", "instrument": "X", "timeframe": "1m", "decided_at": t,
                 "features": {"indicators": {key: v}} if v < 50 else {key: v},
                 "entry_price": 1.0, "exit_price": e,
                 "outcome": o}
                for t, v, e, o in zip(
                    minute, (40.0, 60.0, 55.0), (1.1, 0.9, 1.0), ("up", "down", "push"),
                    strict=True,
                )
            ],
        )  # fmt: skip
    engine.dispose()
    frame = dataset_from_storage(url, spec)
    np.testing.assert_array_equal(frame["label"].to_numpy(), [1.0, 0.0, np.nan])
    lag0, lag1 = (frame[c].to_numpy() for c in spec.column_names())
    np.testing.assert_array_equal(lag0, [40.0, 60.0, 55.0])
    np.testing.assert_array_equal(lag1, [np.nan, 40.0, np.nan])  # minute 2 was not decided
