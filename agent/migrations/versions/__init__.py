"""The app database's revisions, oldest first (alembic skips this file)."""
