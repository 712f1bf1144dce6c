"""The ensemble: weighted vote (:mod:`.vote`), Platt calibration (:mod:`.platt`,
:mod:`.book`, :mod:`.store`), reliability figures (:mod:`.reliability`), weights
(:mod:`.weights`) and the per-worker combination (:mod:`.ensemble`). Import from those
modules directly."""
