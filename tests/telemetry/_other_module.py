"""A module with its own logger, standing in for any other MoonLight or library module."""

from __future__ import annotations

import logging

log = logging.getLogger("moonlight.tests.other_module")


def log_login(email: str, password: str, account_id: str) -> None:
    """Log the way a careless connector might."""
    log.warning("login for %s with password=%s on account %s", email, password, account_id)
