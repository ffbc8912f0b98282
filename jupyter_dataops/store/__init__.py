"""The store: SQLAlchemy tables, Alembic migrations, units of work and the repositories of every
capability (one module each), implementing ``jupyter_dataops.core.store``."""

from .database import HEAD_REVISION, MIGRATIONS_DIR, Database

__all__ = ["HEAD_REVISION", "MIGRATIONS_DIR", "Database"]
