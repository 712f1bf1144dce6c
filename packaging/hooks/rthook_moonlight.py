"""PyInstaller runtime hook: runs in the frozen ``moonlight`` before the CLI is imported.

Side plugin directory. Plugins are found through the entry points in installed
distributions' metadata, and :mod:`importlib.metadata` looks for that metadata on
``sys.path``. The bundle's own folder holds the first-party plugins; a plugin installed
later goes into a side directory, added here at the end of ``sys.path`` (so it can
never shadow a bundled module):

* ``MOONLIGHT_PLUGIN_PATH`` -- directories separated by ``os.pathsep``, if set;
* else ``plugins`` beside the executable, if it exists.

Install into it with a Python of the same version as the bundle's:
``python -m pip install --target <bundle>/plugins --no-deps some-moonlight-plugin``.

Numba's cache directory is set by the CLI once the configuration is loaded
(``<data_dir>/numba-cache``, see :mod:`moonlight.core.runtime.numba_cache`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_EXE_DIR = Path(sys.executable).resolve().parent


def _plugin_dirs() -> list[Path]:
    configured = os.environ.get("MOONLIGHT_PLUGIN_PATH")
    if configured:
        return [Path(part) for part in configured.split(os.pathsep) if part]
    default = _EXE_DIR / "plugins"
    return [default] if default.is_dir() else []


for _directory in _plugin_dirs():
    if str(_directory) not in sys.path:
        sys.path.append(str(_directory))
