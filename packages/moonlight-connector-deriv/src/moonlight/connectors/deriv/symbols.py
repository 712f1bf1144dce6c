"""The one way Deriv symbols are compared: :func:`symbol_key`.

Deriv writes one underlying several ways: ``frxGBPUSD`` in ``active_symbols``,
``proposal`` and ``portfolio``, but ``FRXGBPUSD`` inside a contract's ``shortcode``
(``PUT_FRXGBPUSD_19.5_1700000000_1700000060_S0P_0``), which is all ``profit_table`` and
``statement`` give. Every comparison of two symbols in this package goes through
:func:`symbol_key` (or :func:`same_symbol`), never ``==`` on the raw text, and a symbol
read from the broker is reported under the configured spelling (:class:`SymbolBook`),
so storage never holds two spellings of one instrument.
"""

from __future__ import annotations

from collections.abc import Iterable


def symbol_key(symbol: str) -> str:
    """The comparison form of a symbol: trimmed, upper-case (``frxGBPUSD`` → ``FRXGBPUSD``)."""
    return symbol.strip().upper()


def same_symbol(a: str, b: str) -> bool:
    """Whether two spellings name the same underlying."""
    return symbol_key(a) == symbol_key(b)


class SymbolBook:
    """The configured spelling of every symbol, found by its key."""

    def __init__(self, configured: Iterable[str]) -> None:
        self._spelling = {symbol_key(symbol): symbol for symbol in configured}

    def spelled(self, symbol: str) -> str:
        """``symbol`` as configured when it is configured (any case), else as written."""
        return self._spelling.get(symbol_key(symbol), symbol)
