"""The errors a data loader raises: one family, so callers catch one class."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moonlight.core.data.validation import ValidationReport


class DataError(ValueError):
    """A candle file or frame cannot be used; the message says where and why."""


class DataFormatError(DataError):
    """The file could not be parsed (unknown layout, bad number or time, wrong columns)."""


class DataValidationError(DataError):
    """The candles parsed but break a rule the caller asked to enforce.

    ``report`` holds every problem found (see :mod:`moonlight.core.data.validation`).
    """

    def __init__(self, message: str, report: ValidationReport) -> None:
        super().__init__(message)
        self.report = report


class MissingDependencyError(DataError):
    """A format needs an optional package that is not installed."""
