"""Side-by-side updates of a MoonLight installation (``moonlight update``).

Only :mod:`.settings` (the configuration model) is imported by the configuration; the
machinery -- index look-ups, environment building, the switch and the rollback -- is
imported by the ``update`` commands when they run, so ``moonlight --help`` stays light.
"""
