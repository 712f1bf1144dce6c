"""Cold start to the first decision, and the CLI's own start-up.

* **first decision**: a fresh Python process (Numba's on-disk cache warm: the process is
  run twice and the second run is reported) imports MoonLight, loads the shipped
  ``configs/config.yaml`` (5 strategies, 8 workers on the paper market; its data
  directory moved to a temporary folder), creates and starts the engine (storage
  migrated, paper broker connected and reconciled, workers warmed up) and runs until the
  first worker decision. A fast-forward clock makes the first bar close come as soon as
  the engine is ready, so the figure is MoonLight's own start-up cost, not the wait for a
  wall-clock bar. Each phase is reported.
* **CLI**: ``moonlight --help``, ``moonlight plugins`` and ``moonlight plugins --json`` in
  fresh processes, wall and CPU time of the child (``resource``'s children usage where
  the platform has it).

Every child runs with Python's bytecode cache allowed (``PYTHONDONTWRITEBYTECODE``
removed from its environment) and once before it is measured, as an installed
MoonLight runs: a development shell that sets the variable would otherwise make every
import compile from source and measure the compiler, not MoonLight.

Run: ``python -m pytest benchmarks/test_cold_start_bench.py -m bench --benchmark-enable -s``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.bench
ROOT = Path(__file__).resolve().parents[1]

FIRST_DECISION = """
import asyncio, json, sys, time
started = time.perf_counter()
from moonlight.core.config import load_config
from moonlight.core.plugins import build_plugin_host
from moonlight.core.runtime.clock import FastForwardClock
from moonlight.core.runtime.engine import Engine
imported = time.perf_counter()
host = build_plugin_host()
config = load_config(sys.argv[1], registry=host.registry)
configured = time.perf_counter()

async def main():
    clock = FastForwardClock(1_767_600_000.0 - 30.0)
    engine = Engine.create(config, host, clock=clock, snapshots=False)
    created = time.perf_counter()
    first = asyncio.get_running_loop().create_future()
    decided = engine.metrics.decision_made

    def decision_made(timeframe, latency_ms):
        decided(timeframe, latency_ms)
        if not first.done():
            first.set_result(time.perf_counter())

    engine.metrics.decision_made = decision_made
    await engine.start()
    ready = time.perf_counter()
    decision = await asyncio.wait_for(first, timeout=600)
    await engine.stop("benchmark")
    return created, ready, decision

created, ready, decision = asyncio.run(main())
print(json.dumps({"import_s": imported - started, "plugins_and_config_s": configured - imported,
                  "engine_create_s": created - configured, "engine_start_s": ready - created,
                  "to_first_decision_s": decision - ready, "total_s": decision - started}))
"""


def shipped_config(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "configs" / "config.yaml").read_text(encoding="utf-8"))
    data["data_dir"] = str(tmp_path / "data")
    data["telemetry"] = {"log_level": "WARNING"}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def child(arguments: list[str]) -> tuple[float, float, str]:
    """Run a fresh process; its wall time, CPU time (user + system) and output."""
    try:
        import resource
    except ImportError:  # Windows: no per-child CPU accounting here
        resource = None  # type: ignore[assignment]
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN) if resource else None
    started = time.perf_counter()
    done = subprocess.run(arguments, capture_output=True, text=True, check=True, cwd=ROOT,
                          env=environ, timeout=900)  # fmt: skip
    wall = time.perf_counter() - started
    cpu = float("nan")
    if resource and before is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def test_cold_start_to_first_decision(tmp_path: Path, benchmark: Any) -> None:
    config = shipped_config(tmp_path)
    runs = []
    for _ in range(2):  # the first run may fill Numba's cache; the second is "cache warm"
        wall, cpu, output = child([sys.executable, "-c", FIRST_DECISION, str(config)])
        figures = json.loads(output.strip().splitlines()[-1])
        figures.update(process_wall_s=wall, process_cpu_s=cpu)
        runs.append(figures)
    warm = {key: round(value, 3) for key, value in runs[-1].items()}
    benchmark.extra_info.update(warm)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    print("\ncold start to the first decision (Numba cache warm):", warm)
    assert warm["total_s"] > 0


@pytest.mark.parametrize(
    "command", [["--help"], ["plugins"], ["plugins", "--json"]], ids=["help", "plugins", "json"]
)
def test_cli_start_up(benchmark: Any, command: list[str]) -> None:
    arguments = [sys.executable, "-m", "moonlight.core.cli.app", *command]
    child(arguments)  # bytecode and OS caches warm
    walls, cpus = [], []
    for _ in range(5):
        wall, cpu, _ = child(arguments)
        walls.append(wall)
        cpus.append(cpu)
    figures = {"command": "moonlight " + " ".join(command),
               "wall_s_min": round(min(walls), 3), "wall_s_median": round(sorted(walls)[2], 3),
               "cpu_s_min": round(min(cpus), 3), "cpu_s_median": round(sorted(cpus)[2], 3),
               "target_s": 1.0}  # fmt: skip
    benchmark.extra_info.update(figures)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    print("\nCLI start-up:", figures)
