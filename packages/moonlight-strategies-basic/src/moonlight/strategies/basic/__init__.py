"""MoonLight's reference strategies (registered through the ``moonlight`` entry point).

Each strategy lives in its own module with its parameter model; :mod:`.plugin` lists
them for the plugin host. The rules, parameters and intended timeframes are documented
in each module and in ``docs/strategies.md``.
"""
