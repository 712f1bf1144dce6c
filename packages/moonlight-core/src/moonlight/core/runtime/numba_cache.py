"""Where Numba caches compiled kernels when MoonLight runs as a frozen bundle.

Numba writes its cache beside the kernels' modules by default. In the PyInstaller
bundle those modules live in the install folder, which a service account must not
(and on Windows under ``Program Files`` cannot) write: the cache goes to
``<data_dir>/numba-cache`` instead, unless ``NUMBA_CACHE_DIR`` is set explicitly. A
normal (virtual environment) install is left alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV = "NUMBA_CACHE_DIR"


def place_numba_cache(data_dir: Path) -> Path | None:
    """Point Numba's cache under ``data_dir`` in a frozen app; the directory, or None.

    Kernels compile lazily, so setting Numba's configuration after it was imported (the
    plugins import it) still takes effect for every kernel compiled afterwards.
    """
    if not getattr(sys, "frozen", False) or os.environ.get(ENV):
        return None
    target = Path(data_dir).resolve() / "numba-cache"
    os.environ[ENV] = str(target)
    numba_config = sys.modules.get("numba.core.config")
    if numba_config is not None:
        setattr(numba_config, "CACHE_DIR", str(target))  # noqa: B010 -- untyped module
    return target
