"""What start-up reconciliation returns or raises (a leaf: imported by the executor,
reconciliation and the runtime alike, importing none of them)."""

from __future__ import annotations

from dataclasses import dataclass, field


class ReconcileError(RuntimeError):
    """Start-up reconciliation could not bring storage and broker into agreement."""


@dataclass
class ReconcileReport:
    """What start-up reconciliation found and did, by client_req_id."""

    checked: int = 0
    failed: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
