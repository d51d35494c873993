"""The legacy ERP's revisions, oldest first (alembic skips this file)."""
