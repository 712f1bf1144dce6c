"""Risk guards, one per module; each observes order and connector events and blocks
decisions while its condition holds. The shared interface is :mod:`.base`."""
