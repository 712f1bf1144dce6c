"""Where Numba caches compiled kernels when MoonLight runs as a frozen bundle.

Numba writes its cache beside the kernels' modules by default. In the PyInstaller
bundle those modules live in the install folder, which a service account must not
(and on Windows under ``Program Files`` cannot) write: the cache goes to
``<data_dir>/numba-cache`` instead, unless ``NUMBA_CACHE_DIR`` is set explicitly. A
normal (virtual environment) install is left alone.

Numba chooses a kernel's cache folder when the kernel is *defined* (``njit(cache=True)``
at import), not when it compiles: the folder must be set before the plugins are
imported, so the CLI reads ``data_dir`` first (:func:`place_before_plugins`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV = "NUMBA_CACHE_DIR"


def frozen() -> bool:
    """True inside the PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def place_before_plugins(config_file: Path | None) -> None:
    """In the bundle, set the cache folder from CONFIG's ``data_dir`` before any plugin
    import (an invalid file is left for the real load to report)."""
    if not frozen() or os.environ.get(ENV):
        return
    from moonlight.core.config import ConfigError, load_config

    try:
        place_numba_cache(load_config(config_file).data_dir)
    except ConfigError:
        return


def place_numba_cache(data_dir: Path) -> Path | None:
    """Point Numba's cache under ``data_dir`` in a frozen app; the directory, or None.

    Kernels defined after this (and every kernel compiled after it whose cache folder was
    not chosen yet) use it; Numba's own configuration is updated if it is loaded.
    """
    if not frozen() or os.environ.get(ENV):
        return None
    target = Path(data_dir).resolve() / "numba-cache"
    os.environ[ENV] = str(target)
    numba_config = sys.modules.get("numba.core.config")
    if numba_config is not None:
        setattr(numba_config, "CACHE_DIR", str(target))  # noqa: B010 -- untyped module
    return target
