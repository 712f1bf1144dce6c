"""Research: the engine's decisions on a whole history at once, for notebooks.

* :mod:`.evaluate` -- :func:`~.evaluate.evaluate`: a strategy or an ensemble on a
  DataFrame → per-bar signals, S, p̂, decisions, outcomes at expiry and PnL, plus the
  backtest summary; the decisions and outcomes are those the event-driven backtest
  takes on the same data (same warm-up, same gaps, same risk rules, same settlement);
* :mod:`.sweep` -- grid or random search over strategy parameters, ensemble weights and
  expiry, ranked by an out-of-sample metric over walk-forward splits
  (:mod:`.walkforward`), run on local processes or a Ray cluster (:mod:`.parallel`).

The sequential part (risk guards, balance, open orders) runs in a Numba kernel when
Numba is installed (:mod:`._jit`), in plain Python otherwise -- same code, same results.
"""
