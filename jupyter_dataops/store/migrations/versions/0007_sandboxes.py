"""Sandboxes: the profile each came from, what it holds and used; jobs' resource usage.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandboxes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("root_dir", sa.Text, nullable=False),
        sa.Column("profile", sa.String(63), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("resources", sa.JSON, nullable=False),
        sa.Column("devices", sa.JSON, nullable=False),
        sa.Column("kernel_name", sa.String(255), nullable=True),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("workdir", sa.Text, nullable=True),
        sa.Column("limits", sa.JSON, nullable=True),
        sa.Column("env", sa.JSON, nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("kernels", sa.JSON, nullable=False),
        sa.Column("usage", sa.JSON, nullable=False),
        sa.Column("idle_timeout", sa.Float, nullable=False),
        sa.Column("max_lifetime", sa.Float, nullable=False),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("released", sa.Boolean, nullable=False),
        sa.Column("warning", sa.Text, nullable=True),
        sa.Column("warned_at", sa.Float, nullable=True),
        sa.Column("stop_reason", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("ready_at", sa.Float, nullable=True),
        sa.Column("stopped_at", sa.Float, nullable=True),
        sa.Column("last_activity_at", sa.Float, nullable=True),
        sa.Column("job_id", sa.String(32), nullable=True),
    )
    op.create_index("ix_sandboxes_status", "sandboxes", ["status", "created_at"])
    op.create_index("ix_sandboxes_stopped", "sandboxes", ["stopped_at"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("usage", sa.JSON, nullable=True))


def downgrade() -> None:
    raise NotImplementedError("jupyter-dataops stores are only upgraded (restore a backup)")
