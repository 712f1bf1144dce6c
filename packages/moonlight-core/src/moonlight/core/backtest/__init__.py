"""The event-driven backtest: the live engine replaying candle files on a simulated clock.

* :mod:`.replay` -- the ``replay`` connector (candles on the clock) and :mod:`.feed`,
  the bar-close prices the paper broker settles on; :mod:`.plugin` registers it;
* :mod:`.engine` -- :class:`~.engine.BacktestEngine`, the engine composed over a replay
  (paper broker with an event-driven pump, memory journal, backtest workers);
* :mod:`.runner` -- :func:`~.runner.run_backtest` and the timeline it runs;
* :mod:`.trades`, :mod:`.summary`, :mod:`.report`, :mod:`.svg` -- the orders, the
  figures, ``summary.json`` and the offline ``report.html``;
* :mod:`.journal`, :mod:`.progress` -- the in-memory order journal, the progress bar.

Import from those modules directly. ``moonlight backtest`` is
:mod:`moonlight.core.cli.backtest_cmd`.
"""
