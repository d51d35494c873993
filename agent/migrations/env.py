"""Alembic's entry point for the app database: the union of every store's tables is the target."""

from agent.schema import target_metadata
from erp_acl.migrating import run_environment

run_environment(target_metadata())
