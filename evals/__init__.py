"""Offline eval suite: cases as data (``evals/cases``), a runner, scorers, safety invariants and
reports. Run it with ``python -m evals`` (``countersign eval``); see ``evals/README.md``.

It drives the product through ``agent.service`` and reads the ERP through ``erp_acl``; the safety
invariants recompute what must hold from the policy, users and identities files themselves
(``agent.policy``, ``agent.users``, ``tools.identity``) rather than trusting what the service
recorded. Nothing in ``agent``, ``tools`` or ``erp_acl`` imports this package (import-linter).
"""
