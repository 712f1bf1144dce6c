"""Every kernel run as plain Python (``NUMBA_DISABLE_JIT=1``) in a child interpreter.

Coverage tools cannot see inside compiled kernels; with the JIT disabled the same code
runs as Python, so this run keeps kernel code covered -- and proves the kernels are
valid Python with the same results (TA-Lib where it has the indicator, the stream
always, 1-D and 2-D).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import numpy as np
import moonlight.indicators as mi
from numba import config
from tests.indicators.oracle import (
    compare_outputs, inputs_for, nan_run, random_walk, talib_function,
)

assert config.DISABLE_JIT, "NUMBA_DISABLE_JIT was not honoured"
problems = []
for spec in mi.catalog():
    for bars in (random_walk(90), nan_run(120)):
        inputs = inputs_for(spec, bars)
        ours = spec.batch(*inputs)
        talib = talib_function(spec.name)
        if talib is not None:
            problems += list(compare_outputs(spec.name, ours, talib(*inputs)))
        streamed = spec.stream().run(*inputs)
        problems += list(compare_outputs(spec.name + " stream", streamed, ours, rtol=0.0))
    matrix = tuple(np.column_stack([x, x * 1.01]) for x in inputs_for(spec, random_walk(60)))
    both = spec.batch(*matrix)
    first = spec.batch(*(np.ascontiguousarray(m[:, 0]) for m in matrix))
    problems += list(compare_outputs(spec.name + " 2-D", tuple(
        o[:, 0] for o in (both if isinstance(both, tuple) else (both,))
    ), first, rtol=0.0))
print(len(mi.catalog()), "indicators checked")
if problems:
    raise SystemExit("\\n".join(problems))
"""


@pytest.mark.subprocess
@pytest.mark.slow
def test_kernels_run_as_python_with_the_same_results() -> None:
    env = {
        **os.environ,
        "NUMBA_DISABLE_JIT": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=280,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "indicators checked" in done.stdout
