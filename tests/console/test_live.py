"""The live feed's pure parts: reconnection delays and message decoding."""

from __future__ import annotations

import json

from hypothesis import given, strategies as st

from moonlight.console.live import Backoff, decode


def test_backoff_doubles_to_a_ceiling_and_resets() -> None:
    backoff = Backoff(initial_s=0.5, max_s=15.0)
    assert [backoff.next() for _ in range(8)] == [0.5, 1, 2, 4, 8, 15, 15, 15]
    backoff.reset()
    assert backoff.next() == 0.5


def test_decode_keeps_events_and_drops_the_rest() -> None:
    message = decode(json.dumps({"type": "result", "seq": 4, "data": {"pnl": 1.5}}))
    assert message is not None and message.type == "result" and message.data == {"pnl": 1.5}
    assert decode("not json") is None
    assert decode(json.dumps([1, 2])) is None
    assert decode(json.dumps({"seq": 1})) is None  # no type


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_decode_never_raises(raw: bytes | str) -> None:
    decode(raw)
