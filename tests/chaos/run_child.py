"""``moonlight run CONFIG --speed N`` as a child process, with the reference server.

The real CLI (``moonlight.core.cli.app.main``) runs. The only thing added: when the
installed ``moonlight-server`` does not register its service through the ``moonlight``
entry point (see ``test_server_kill.py``), plugin discovery also gets the server plugin
directly, so ``moonlight run`` serves the API as it will once the entry point exists.

Usage (from the repository root): ``python -m tests.chaos.run_child CONFIG SPEED``
"""

from __future__ import annotations

import sys

from moonlight.core.cli import app, loading
from tests.server.support import server_host


def main(config: str, speed: str) -> None:
    loading.build_plugin_host = server_host  # type: ignore[assignment]
    sys.exit(app.cli.main(args=["run", config, "--speed", speed], standalone_mode=True))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
