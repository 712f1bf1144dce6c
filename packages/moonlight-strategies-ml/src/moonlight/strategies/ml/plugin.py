"""The ``moonlight`` entry point of this distribution: registers the ``learned`` strategy.

Importing this module loads numpy, pydantic and (when the strategy is built)
onnxruntime -- never scikit-learn or torch, which only ``moonlight train`` uses.
"""

from __future__ import annotations

from moonlight.core.plugins import ComponentSpec, hookimpl
from moonlight.strategies.ml.strategy import Learned


@hookimpl
def moonlight_register_strategies() -> list[ComponentSpec]:
    """The learned strategy (its model is loaded only when a config uses it)."""
    return [
        ComponentSpec(
            name=Learned.name,
            factory=Learned,
            summary=Learned.summary,
            config_model=Learned.params_model,
            interface_version=Learned.interface_version,
        )
    ]
