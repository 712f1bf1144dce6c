"""The strategy plugin API (:mod:`.api`), indicator access (:mod:`.indicators`) and the
host that isolates strategy code (:mod:`.host`). Import from those modules directly."""
