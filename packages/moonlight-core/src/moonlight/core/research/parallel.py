"""Run independent tasks on local processes, or on a Ray cluster when given an address.

:func:`run_tasks` calls ``task(payload, item)`` for every item and returns the results
in item order. ``payload`` is what every task shares (the candles, the base setup): it
is sent once per worker process (a ``ProcessPoolExecutor`` initializer) or put once in
Ray's object store, never once per item.

* **Local** (default): a :class:`concurrent.futures.ProcessPoolExecutor` with ``workers``
  processes (default: the machine's CPU count), started with ``spawn`` so the same code
  runs on Linux, macOS and Windows; ``workers=1`` runs in this process.
* **Ray**: with ``ray_address`` (``"auto"``, ``"ray://host:10001"``, or ``"local"`` for a
  Ray instance started here) the items become Ray tasks. Ray is an optional extra
  (``pip install 'moonlight-core[ray]'``); without it :class:`RayUnavailable` says so.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_PAYLOAD: list[Any] = []


class RayUnavailable(RuntimeError):
    """A Ray address was given but the ``ray`` package is not installed."""


def _init(payload: Any) -> None:
    _PAYLOAD[:] = [payload]


def _call(task: Callable[[Any, T], R], item: T) -> R:
    return task(_PAYLOAD[0], item)


def run_tasks(
    task: Callable[[Any, T], R],
    payload: Any,
    items: Sequence[T],
    *,
    workers: int | None = None,
    ray_address: str | None = None,
) -> list[R]:
    """``[task(payload, item) for item in items]``, in parallel; see the module docstring.

    ``task`` must be a module-level function (it is pickled by reference).
    """
    if ray_address is not None:
        return _run_ray(task, payload, items, ray_address)
    count = workers or os.cpu_count() or 1
    if count <= 1 or len(items) <= 1:
        return [task(payload, item) for item in items]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(count, len(items)),
        mp_context=context,
        initializer=_init,
        initargs=(payload,),
    ) as pool:
        return list(pool.map(_call, [task] * len(items), items))


def ray_module() -> Any:
    """The ``ray`` package, or :class:`RayUnavailable` with how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise RayUnavailable(
            "a Ray address was given but Ray is not installed:"
            " pip install 'moonlight-core[ray]' (or pip install ray)"
        ) from None


def _run_ray(
    task: Callable[[Any, T], R], payload: Any, items: Sequence[T], address: str
) -> list[R]:
    ray = ray_module()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=None if address == "local" else address, include_dashboard=False)
    try:
        shared = ray.put(payload)
        remote = ray.remote(_ray_call)
        return list(ray.get([remote.remote(task, shared, item) for item in items]))
    finally:
        if started_here:
            ray.shutdown()


def _ray_call(task: Callable[[Any, T], R], payload: Any, item: T) -> R:
    return task(payload, item)
