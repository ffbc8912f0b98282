"""Alembic environment: runs against the connection the store hands over (no alembic.ini)."""

from alembic import context

from jupyter_dataops.store.orm import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached from the alembic CLI
    raise RuntimeError("Run migrations through jupyter_dataops.store.Database.upgrade()")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # sqlite cannot ALTER most things; batch mode copies the table
)
with context.begin_transaction():
    context.run_migrations()
