"""Alembic's entry point for the bundled legacy ERP: ``erp_acl.legacy.schema`` is the target."""

from erp_acl.legacy.schema import metadata
from erp_acl.migrating import run_environment

run_environment(metadata)
