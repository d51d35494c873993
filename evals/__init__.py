"""Offline eval suite: cases as data, a runner, scorers and reports (grows with the eval issue).

Depends on ``agent`` only through ``agent.service`` (checked by import-linter).
"""
