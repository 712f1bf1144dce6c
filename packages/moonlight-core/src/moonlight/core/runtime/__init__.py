"""The running engine: clocks, workers, the fair scheduler and the engine that ties
indicators, strategies, ensemble, risk and executor together."""
