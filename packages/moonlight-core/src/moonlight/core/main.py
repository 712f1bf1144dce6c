"""``python -m moonlight.core.main [CONFIG]``: the seed's development command.

Same as ``moonlight run CONFIG``: validates the configuration (fail-closed), then runs
the engine until Ctrl+C / SIGTERM.
"""

from __future__ import annotations

import sys

from moonlight.core.cli.app import cli
from moonlight.core.telemetry.pii import install_redacting_excepthooks

if __name__ == "__main__":
    install_redacting_excepthooks()
    sys.exit(cli.main(["run", *sys.argv[1:]], prog_name="moonlight"))
