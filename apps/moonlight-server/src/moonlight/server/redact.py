"""The configuration as the API shows it: every secret-looking value replaced.

Secrets never live in the configuration (the loader refuses them), but a plugin section
may still carry a value whose key looks sensitive, and URLs may carry a user name; the
API errs on the side of hiding, like the log masking does.
"""

from __future__ import annotations

import re
from typing import Any

from moonlight.core.config.models import MoonlightConfig
from moonlight.core.telemetry.pii import is_sensitive_key

REDACTED = "<redacted>"
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def redact_tree(tree: Any) -> Any:
    """A copy of ``tree`` with sensitive keys' values and URL credentials masked."""
    if isinstance(tree, dict):
        return {
            key: (REDACTED if is_sensitive_key(str(key)) and value else redact_tree(value))
            for key, value in tree.items()
        }
    if isinstance(tree, list):
        return [redact_tree(item) for item in tree]
    if isinstance(tree, str):
        return _URL_USERINFO.sub(rf"\g<scheme>{REDACTED}@", tree)
    return tree


def redacted_config(config: MoonlightConfig) -> dict[str, Any]:
    """The configuration in force as JSON-ready data, redacted."""
    return dict(redact_tree(config.model_dump(mode="json")))
