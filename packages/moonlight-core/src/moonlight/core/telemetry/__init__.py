"""Telemetry: JSON logs with PII masked, Prometheus metrics, storage snapshots, alarms.

Import the pieces from their modules (``moonlight.core.telemetry.logging_setup``,
``.pii``, ``.metrics``, ``.snapshots``, ``.alarms``); this package does not re-export
them.
"""
