"""The order executor: transition table, retry policy, journal, executor and reconciliation.

Import from the modules: ``moonlight.core.execution.fsm`` (the transition table),
``.retry`` (backoff), ``.journal`` (persisting transitions), ``.executor``
(:class:`Executor`), ``.reconcile`` (start-up reconciliation).
"""
