"""The one error type of the update machinery: a step failed, here is why."""

from __future__ import annotations


class UpdateError(Exception):
    """An update step could not be carried out; the message says which and why."""
