"""Wire-level tests of the Deriv connector against a loopback fake server.

Until the workspace is re-synced (``uv sync``) the new distribution may not be installed
in the virtual environment; its ``src`` directory is then put on ``sys.path`` so the
PEP 420 namespace ``moonlight.connectors`` finds it.
"""

import importlib.util
import sys
from pathlib import Path


def _installed() -> bool:
    try:
        return importlib.util.find_spec("moonlight.connectors.deriv") is not None
    except ModuleNotFoundError:
        return False


if not _installed():  # pragma: no cover
    _SRC = Path(__file__).resolve().parents[3] / "packages" / "moonlight-connector-deriv" / "src"
    sys.path.append(str(_SRC))
