"""Messaging core: the queues, the bus over kombu, and the outbox, inbox and pacer in the app database.

An approved ERP write travels app DB outbox → commands queue → ERP writer → results queue →
result consumer; ERP business events travel the events queue → agent worker. This package is
the generic machinery under those handlers: delivery is at least once, so every consumer
deduplicates through the inbox, and the outbox re-sends whatever was not finished.
"""
