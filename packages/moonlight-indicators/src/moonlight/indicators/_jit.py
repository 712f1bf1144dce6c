"""The one place that sets Numba options for every MoonLight kernel.

Kernels are compiled lazily on first call (no signatures given, so importing
``moonlight.indicators`` compiles nothing) and cached on disk (``cache=True``), with the
GIL released (``nogil=True``) so threads can run kernels in parallel, and without
fast-math so results stay bit-for-bit comparable with TA-Lib's C code.
"""

from numba import njit

#: Decorator for every kernel: ``@jit`` on a function taking arrays and an ``out`` array.
jit = njit(cache=True, nogil=True, fastmath=False, error_model="numpy")

#: Options for kernels that use ``numba.prange`` over series (2-D input).
parallel_jit = njit(cache=True, nogil=True, fastmath=False, error_model="numpy", parallel=True)

#: Options for the one-bar stream updates Python calls directly: the GIL stays held,
#: because releasing and taking it back around a 0.2 us update costs more than the
#: update itself (measured: +45 ns a call).
entry_jit = njit(cache=True, nogil=False, fastmath=False, error_model="numpy")

#: For small helpers compiled only into a cached caller (a declaration's lookback inside
#: a generated kernel): they need no cache file of their own, and a lambda's would be
#: named ``<lambda>``, which is not a valid file name on Windows.
no_cache_jit = njit(cache=False, nogil=True, fastmath=False, error_model="numpy")
