"""Historical candles: loaders, validation, resampling.

* :mod:`.candles` -- :class:`~.candles.CandleSeries`, the arrays every backtest and
  research function reads (bar open times in UTC epoch seconds plus OHLCV);
* :mod:`.load` -- :func:`~.load.load_candles`, one entry point that recognises the
  supported formats (generic OHLCV CSV with or without gzip, HistData ASCII, MetaTrader 4
  and 5 exports, Parquet) and hands the rows to :mod:`.csv_formats` / :mod:`.parquet`;
* :mod:`.timezones` -- turning the file's local times into UTC, explicitly;
* :mod:`.validation` -- what is wrong with a series (reported, never silently fixed);
* :mod:`.resample` -- bars of a longer timeframe from a shorter one.

Every problem with a file is a :class:`~.errors.DataError` (a ``ValueError``) with a
message naming the file and line; nothing else escapes a loader.
"""
