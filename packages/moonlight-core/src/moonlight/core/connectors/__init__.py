"""Broker connectors: the async contract, the deterministic mock and the paper broker.

Import from the modules: ``moonlight.core.connectors.contract`` (the contract, its data
classes and typed errors), ``.mock`` (:class:`MockConnector`), ``.paper``
(:class:`PaperBroker`), ``.market`` (seeded random-walk prices), ``.clock`` (clocks).
"""
