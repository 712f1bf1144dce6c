"""Entry script of the single-file Windows (or Linux) executable built by moonlight.spec.

``moonlight.exe run config.yaml`` is ``moonlight run config.yaml``: the same click CLI.
"""

from __future__ import annotations

from moonlight.core.cli.app import main

if __name__ == "__main__":
    main()
