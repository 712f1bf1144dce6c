"""The one name that ties MoonLight's plugin system together.

``PROJECT`` is the pluggy marker name, the plugin manager's name and the entry-point
group (``[project.entry-points.moonlight]``), as in tox's plugin package.
"""

import pluggy

PROJECT = "moonlight"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
