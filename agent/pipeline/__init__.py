"""The pipeline that decouples the ERP: approved writes leave through a transactional outbox to a
commands queue, one ERP writer applies them at the ERP's pace and publishes results, a result
consumer tells the waiting run what landed; ERP business events start agent runs.

    decision ─(same txn)─> outbox ─relay─> countersign.commands ─> ERP writer ─> ERP (idempotency key)
                                                                       │
    waiting run <─resume── result consumer <── countersign.results <───┘
    ERP alerts ─scan─> countersign.events ─> agent worker ─> one run per event ─> proposals in the inbox
"""
