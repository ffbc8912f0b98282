"""The store: SQLAlchemy tables, Alembic migrations and the repository every process shares."""

from .repository import HEAD_REVISION, JobStore

__all__ = ["HEAD_REVISION", "JobStore"]
