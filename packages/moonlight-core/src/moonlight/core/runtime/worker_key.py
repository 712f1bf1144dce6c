"""What a worker trades: one (account, instrument, timeframe); shared by the worker, the
trader, the supervisor and the status views without any of them importing another."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WorkerKey:
    """What a worker trades."""

    account_id: str
    instrument: str
    timeframe: str

    @property
    def label(self) -> str:
        return f"{self.account_id}/{self.instrument}/{self.timeframe}"
