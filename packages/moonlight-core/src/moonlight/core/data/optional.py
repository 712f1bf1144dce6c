"""Optional packages, imported when a feature needs them (moonlight-core requires neither).

pandas backs the DataFrame conveniences (``CandleSeries.to_frame``, research results);
it is typed as ``Any`` here so the core type-checks without its stubs.
"""

from __future__ import annotations

import importlib
from typing import Any

from moonlight.core.data.errors import MissingDependencyError

#: A ``pandas.DataFrame`` (pandas is optional, so typed loosely).
DataFrame = Any


def pandas() -> Any:
    """The pandas module, or :class:`MissingDependencyError` saying how to install it."""
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise MissingDependencyError(
            "this needs pandas, which is not installed (pip install pandas)"
        ) from None
