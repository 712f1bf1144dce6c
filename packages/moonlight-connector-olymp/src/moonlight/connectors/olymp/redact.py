"""Keep tokens out of logs, including the debug logs of the libraries that carry them.

``websockets`` logs the upgrade request's headers (the ``Cookie``) at DEBUG level and
``httpcore`` logs response headers (``Set-Cookie``); both would print the user's token.
:class:`RedactTokens` rewrites any ``access_token=…`` / ``refresh_token=…`` value (and
any ``Cookie`` / ``Set-Cookie`` header value) in a record's message before a handler
sees it. The connector's socket logs through :data:`WIRE_LOG`, which carries the filter;
:func:`install` adds it to the ``httpcore`` loggers (idempotent, redaction only).
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"((?:access|refresh)_token=)[^;\s'\"\\,)]+", re.IGNORECASE)
_HEADER = re.compile(r"((?:set-)?cookie:\s*)[^\r\n'\"]+", re.IGNORECASE)
_HTTPCORE = ("httpcore.http11", "httpcore.http2", "httpcore.connection", "httpcore.proxy")

WIRE_LOG = logging.getLogger("moonlight.connectors.olymp.wire")


def redact(text: str) -> str:
    """``text`` with token values and cookie header values replaced by ``<redacted>``."""
    return _HEADER.sub(r"\1<redacted>", _TOKEN.sub(r"\1<redacted>", text))


class RedactTokens(logging.Filter):
    """A filter that redacts tokens in every record it sees (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot format is left to the handler
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactTokens()


def install() -> None:
    """Attach the filter to the wire logger and to httpcore's loggers (once)."""
    for name in ("moonlight.connectors.olymp.wire", *_HTTPCORE):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
