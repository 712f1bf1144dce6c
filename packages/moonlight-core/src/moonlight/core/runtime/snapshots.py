"""Worker state snapshots: a restarted worker resumes without recomputing its history.

A snapshot holds a worker's streaming indicators, its strategies' own state and the last
bar it saw. It is written atomically (temporary file, then rename) to
``<data_dir>/state/workers/<account>__<instrument>__<timeframe>.pkl`` every
``every_bars`` bars and when the worker stops. At start the worker restores it when it
was taken with the same strategies and parameters and is recent enough to catch up
(within ``runtime.catch_up_bars``); otherwise it warms up from history as usual.

Snapshots are pickles: like the database beside them, the data directory must only be
writable by the MoonLight service account.
"""

from __future__ import annotations

import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moonlight.core.strategy.host import StrategyGroup

log = logging.getLogger("moonlight.snapshots")

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Restored:
    """What a snapshot gave back: the last bar it had seen and how many bars in total."""

    last_bar_end_ts: float
    bars_seen: int


def fingerprint(group: StrategyGroup) -> str:
    """Identifies the strategies and their parameters a snapshot belongs to."""
    return "|".join(
        f"{host.label}:{host.strategy.params.model_dump_json()}" for host in group.hosts
    )


class WorkerSnapshots:
    """Saves and restores worker state under one directory."""

    def __init__(self, directory: Path, *, every_bars: int = 60) -> None:
        self.directory = directory
        self.every_bars = every_bars

    def path_for(self, label: str) -> Path:
        return self.directory / (label.replace("/", "__") + ".pkl")

    def save(
        self, label: str, group: StrategyGroup, *, last_bar_end_ts: float, bars_seen: int
    ) -> None:
        """Write the snapshot atomically; a failure is logged, never raised."""
        state: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "fingerprint": fingerprint(group),
            "last_bar_end_ts": last_bar_end_ts,
            "bars_seen": bars_seen,
            "feed": group.feed,
            "strategies": [(host.strategy, host.bars_seen) for host in group.hosts],
        }
        path = self.path_for(label)
        temporary = path.with_suffix(".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(temporary, path)
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as error:
            log.warning("snapshot of %s not written: %r", label, error)

    def restore(self, label: str, group: StrategyGroup, *, not_before_ts: float) -> Restored | None:
        """Load the snapshot into ``group`` if it fits; None means "warm up from history"."""
        path = self.path_for(label)
        try:
            state = pickle.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except Exception as error:  # a corrupt or foreign file: ignore it, warm up instead
            log.warning("snapshot of %s unreadable, warming up from history: %r", label, error)
            return None
        if not isinstance(state, dict) or state.get("version") != FORMAT_VERSION:
            return None
        if state.get("fingerprint") != fingerprint(group):
            log.info("snapshot of %s is for other strategies or parameters; ignored", label)
            return None
        if state["last_bar_end_ts"] < not_before_ts:
            log.info("snapshot of %s is too old to catch up; warming up instead", label)
            return None
        group.feed = state["feed"]
        for host, (strategy, bars_seen) in zip(group.hosts, state["strategies"], strict=True):
            host.strategy = strategy
            host.bars_seen = bars_seen
        return Restored(float(state["last_bar_end_ts"]), int(state["bars_seen"]))
