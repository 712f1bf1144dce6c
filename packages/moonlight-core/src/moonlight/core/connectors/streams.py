"""A queue-backed async iterator that connectors hand out as a subscription.

The producer (a connector's receive loop or pump task) calls :meth:`Subscription.put`;
the consumer iterates with ``async for``. :meth:`Subscription.fail` ends the stream with
an exception (typically :class:`~moonlight.core.connectors.contract.Disconnected`) that
the consumer sees after the items already queued; :meth:`Subscription.end` ends it
cleanly. A bounded queue drops the oldest item when full, so a slow consumer never makes
the producer block or grow memory without limit.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Subscription(Generic[T]):
    """An async iterator fed by a producer; ends with :meth:`end` or :meth:`fail`."""

    def __init__(
        self, *, max_items: int = 10_000, on_close: Callable[[Subscription[T]], None] | None = None
    ) -> None:
        self._items: deque[T] = deque(maxlen=max_items)
        self._wakeup = asyncio.Event()
        self._error: BaseException | None = None
        self._ended = False
        self._on_close = on_close
        self.dropped = 0

    @property
    def closed(self) -> bool:
        """True once the producer ended the stream or the consumer closed it."""
        return self._ended

    def put(self, item: T) -> None:
        """Queue one item (the oldest is dropped if the queue is full)."""
        if self._ended:
            return
        if self._items.maxlen is not None and len(self._items) == self._items.maxlen:
            self.dropped += 1
        self._items.append(item)
        self._wakeup.set()

    def fail(self, error: BaseException) -> None:
        """End the stream; the consumer gets ``error`` after the queued items."""
        if not self._ended:
            self._error = error
            self._finish()

    def end(self) -> None:
        """End the stream cleanly after the queued items."""
        if not self._ended:
            self._finish()

    def _finish(self) -> None:
        self._ended = True
        self._wakeup.set()
        if self._on_close is not None:
            self._on_close(self)
            self._on_close = None

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            if self._items:
                return self._items.popleft()
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    async def aclose(self) -> None:
        """Consumer side: stop receiving; queued items are discarded."""
        self._items.clear()
        self.end()
