"""The app database's alembic environment (``env.py``, ``versions/``); run it through ``agent.schema``."""
