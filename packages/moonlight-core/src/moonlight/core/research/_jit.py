"""Numba options for the research kernels, with a plain-Python fallback.

moonlight-core does not depend on Numba. When it is installed (it comes with
``moonlight-indicators``) the kernels are compiled on first use and cached on disk,
without fast-math (``math.exp`` then calls the C library's ``exp`` exactly as CPython's
``math.exp`` does, so p̂ is bit-identical to the live ensemble's). Without Numba the same
functions run as ordinary Python.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

try:
    _numba: Any = importlib.import_module("numba")
except ImportError:  # pragma: no cover - exercised only where numba is absent
    _numba = None

#: True when the kernels are compiled.
COMPILED = _numba is not None


def jit(function: F) -> F:
    """Compile ``function`` with Numba (cached, GIL released, no fast-math) if available."""
    if _numba is None:
        return function
    options = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}
    return cast(F, _numba.njit(**options)(function))
