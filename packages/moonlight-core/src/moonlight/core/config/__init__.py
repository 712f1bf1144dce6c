"""Configuration: the models (what can be configured) and the loader (from where).

Precedence, highest first: runtime overrides > environment (``MOONLIGHT_`` prefix,
``__`` for nesting) > ``config.yaml`` > defaults. Loading is fail-closed: every invalid
field is reported at once in a :class:`ConfigError`, and nothing starts.
"""

from moonlight.core.config.errors import ConfigError, ConfigIssue
from moonlight.core.config.loader import load_config
from moonlight.core.config.models import MoonlightConfig

__all__ = ["ConfigError", "ConfigIssue", "MoonlightConfig", "load_config"]
