"""The API token: generated at first start into ``<data_dir>/api-token``, private to its owner.

POSIX: the file is created with mode 0600 atomically (``O_CREAT | O_EXCL`` with the mode,
so it is never readable by others, not even for an instant); an existing file with group
or other permission bits is tightened to 0600 with a warning.

Windows: file modes do not exist; the file inherits the ACL of ``data_dir``. Under the
user profile (the default for a console install) that ACL already restricts it to the
user, SYSTEM and Administrators; for a service account, see docs/how-to/run-as-a-service.md
(``icacls`` to remove inherited access). The server cannot check that ACL portably and
says so in its log once at start.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import sys
from pathlib import Path

from moonlight.core.runtime.control import API_TOKEN_FILE

log = logging.getLogger("moonlight.server.token")

TOKEN_FILE = API_TOKEN_FILE
TOKEN_BYTES = 32
PRIVATE_MODE = 0o600


def token_path(data_dir: Path) -> Path:
    """Where the API token of an engine with this ``data_dir`` lives."""
    return Path(data_dir) / TOKEN_FILE


def ensure_api_token(data_dir: Path) -> str:
    """Read the API token, creating it (random, 256 bits) on first start."""
    path = token_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        _tighten(path)
        token = path.read_text(encoding="ascii").strip()
        if len(token) < 32:
            raise ValueError(
                f"{path} holds no usable API token (too short); delete it to generate one"
            ) from None
        return token
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(token + "\n")
    if sys.platform == "win32":
        log.info("API token created at %s (protected by the ACL of its folder)", path)
    else:
        log.info("API token created at %s (mode 0600)", path)
    return token


def _tighten(path: Path) -> None:
    """POSIX: remove group/other access from an existing token file."""
    if sys.platform == "win32":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("API token file %s had mode %o; set to 0600", path, mode)
        path.chmod(PRIVATE_MODE)
