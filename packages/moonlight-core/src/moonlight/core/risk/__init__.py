"""Risk: permit window, probability threshold, guards and stake sizing for one decision.

The pieces live in their own modules (``decision``, ``permit``, ``threshold``,
``guards.*``, ``sizing.*``, ``trading_state``, ``state_store``, ``manager``); this
package does not re-export them. :class:`moonlight.core.risk.manager.RiskManager` runs
them in order on the hot path: permit → threshold → guards → sizing.
"""
