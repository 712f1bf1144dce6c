"""Make the strategy and indicator distributions importable from the working tree.

The workspace installs them editable; if an environment lost their path files (so
``import moonlight.strategies.basic`` fails although the distributions are listed), the
``src`` folders are added to ``sys.path`` so the tests exercise the working tree
instead of failing on import.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_SOURCES = {
    "moonlight.indicators": ROOT / "packages" / "moonlight-indicators" / "src",
    "moonlight.strategies.basic": ROOT / "packages" / "moonlight-strategies-basic" / "src",
}


def ensure_workspace_packages() -> None:
    """Add the ``src`` folder of each distribution that cannot be imported."""
    for module, source in _SOURCES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a parent namespace without this portion
            found = False
        if not found and str(source) not in sys.path:
            sys.path.insert(0, str(source))
            importlib.invalidate_caches()
