"""Configure logging for an engine: JSON lines to a rotated file, a short console line.

* File: ``<data_dir>/logs/moonlight.log``, one JSON object per line (fields below),
  rotated by :class:`logging.handlers.RotatingFileHandler` at ``telemetry.log_max_mb``
  with ``telemetry.log_backups`` old files (``moonlight.log.1`` … ``.7``). Size-based
  rotation by renaming works on Windows as well as Linux for a single writing process.
* Console: ``HH:MM:SS LEVEL logger: message`` on stderr, for a human watching.
* Both handlers carry the :class:`~moonlight.core.telemetry.pii.PiiFilter`, and record
  creation is wrapped by :func:`~moonlight.core.telemetry.pii.install_record_masking`,
  so secrets are masked before any formatter runs.

JSON fields: ``ts`` (ISO 8601 UTC, milliseconds), ``level`` (DEBUG, INFO, WARN, ERROR,
CRITICAL — ``WARN`` is how the seed spells WARNING), ``logger``, ``msg``, ``module``,
``line``, ``thread``, then ``exc`` (traceback text) and ``stack`` when present, then every
``extra=`` field under its own name (``extra_<name>`` if it would shadow a field above).

:func:`configure_logging` is idempotent: calling it again replaces MoonLight's handlers
instead of adding more. :func:`teardown_logging` removes them and restores the previous
root level and record factory (tests; embedding applications).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

from moonlight.core.config.models import MoonlightConfig, TelemetryConfig
from moonlight.core.telemetry.pii import (
    PiiFilter,
    Redactor,
    extra_fields,
    install_record_masking,
    uninstall_record_masking,
)

LOG_FILE_NAME: Final = "moonlight.log"
_MARK: Final = "_moonlight_telemetry"
_LEVEL_NAMES: Final = {"WARNING": "WARN"}
_LEVELS: Final = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}


def parse_level(level: str | int) -> int:
    """A :mod:`logging` level from ``DEBUG``/``INFO``/``WARN``/``WARNING``/``ERROR``/…"""
    if isinstance(level, int):
        return level
    try:
        return _LEVELS[level.strip().upper()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}; use one of {sorted(_LEVELS)}") from None


def level_label(levelname: str) -> str:
    """The level as written to the log (``WARN`` for WARNING)."""
    return _LEVEL_NAMES.get(levelname, levelname)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        """Serialise ``record`` (message already merged with its args)."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": level_label(record.levelname),
            "logger": record.name,
            "msg": record.getMessage(),
            "module": record.module,
            "line": record.lineno,
            "thread": record.threadName,
        }
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        for key, value in extra_fields(record).items():
            entry[f"extra_{key}" if key in entry else key] = value
        return json.dumps(entry, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    """``12:00:01 WARN  moonlight.runtime: message`` (local time), traceback below."""

    def __init__(self) -> None:
        super().__init__(
            fmt="%(asctime)s %(levelname)-5s %(name)s: %(message)s", datefmt="%H:%M:%S"
        )

    def format(self, record: logging.LogRecord) -> str:
        """Format with ``WARN`` for WARNING, restoring the record afterwards."""
        original = record.levelname
        record.levelname = level_label(original)
        try:
            return super().format(record)
        finally:
            record.levelname = original


@dataclass(frozen=True, slots=True)
class LoggingSetup:
    """What :func:`configure_logging` installed."""

    log_path: Path
    level: int
    file_handler: logging.handlers.RotatingFileHandler
    console_handler: logging.Handler | None


@dataclass(slots=True)
class _Saved:
    root_level: int
    factory_installed: bool


_lock = threading.Lock()
_saved: _Saved | None = None
_current: LoggingSetup | None = None


def _remove_our_handlers(root: logging.Logger) -> None:
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
            handler.close()


def configure_logging(
    data_dir: Path,
    telemetry: TelemetryConfig | None = None,
    *,
    level: str | int | None = None,
    console: bool = True,
    console_stream: TextIO | None = None,
    max_bytes: int | None = None,
    redactor: Redactor | None = None,
) -> LoggingSetup:
    """Install MoonLight's file and console handlers on the root logger.

    ``level`` overrides ``telemetry.log_level``; ``max_bytes`` overrides
    ``telemetry.log_max_mb`` (tests rotate at a few hundred bytes); ``console_stream``
    defaults to stderr. Calling it again replaces the previous handlers.
    """
    global _saved, _current
    settings = telemetry or TelemetryConfig()
    threshold = parse_level(level if level is not None else settings.log_level)
    log_dir = Path(data_dir) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / LOG_FILE_NAME
    pii = PiiFilter(redactor)

    file_handler = logging.handlers.RotatingFileHandler(
        log_path,
        maxBytes=max_bytes if max_bytes is not None else settings.log_max_mb * 1024 * 1024,
        backupCount=settings.log_backups,
        encoding="utf-8",
    )
    file_handler.setFormatter(JsonLineFormatter())
    handlers: list[logging.Handler] = [file_handler]
    console_handler: logging.Handler | None = None
    if console:
        console_handler = logging.StreamHandler(console_stream or sys.stderr)
        console_handler.setFormatter(ConsoleFormatter())
        handlers.append(console_handler)
    for handler in handlers:
        handler.addFilter(pii)
        handler.setLevel(threshold)
        setattr(handler, _MARK, True)

    root = logging.getLogger()
    with _lock:
        if _saved is None:
            _saved = _Saved(root_level=root.level, factory_installed=False)
        _remove_our_handlers(root)
        if install_record_masking(pii.redactor):
            _saved.factory_installed = True
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(threshold)
        _current = LoggingSetup(log_path, threshold, file_handler, console_handler)
        return _current


def configure_from_config(config: MoonlightConfig, **kwargs: Any) -> LoggingSetup:
    """:func:`configure_logging` for a loaded configuration (data_dir, telemetry)."""
    return configure_logging(config.data_dir, config.telemetry, **kwargs)


def current_setup() -> LoggingSetup | None:
    """What is installed now, or None."""
    return _current


def teardown_logging() -> None:
    """Remove MoonLight's handlers, restore the root level and the record factory."""
    global _saved, _current
    root = logging.getLogger()
    with _lock:
        _remove_our_handlers(root)
        if _saved is not None:
            root.setLevel(_saved.root_level)
            if _saved.factory_installed:
                uninstall_record_masking()
        _saved = None
        _current = None
