"""Snapshots of projects (git commit, DVC outputs, environment, table profiles, push state); the
snapshot a job ran on.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("snapshot_id", sa.String(32), nullable=True))
        batch.create_index("ix_jobs_snapshot", ["snapshot_id", "created_at", "id"])

    op.create_table(
        "snapshots",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("root_dir", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("author", sa.String(200), nullable=True),
        sa.Column("parent_id", sa.String(32), nullable=True),
        sa.Column("commit", sa.String(64), nullable=True),
        sa.Column("tree", sa.String(64), nullable=True),
        sa.Column("ref", sa.Text, nullable=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("tabular", sa.JSON, nullable=False),
        sa.Column("profiles", sa.JSON, nullable=False),
        sa.Column("environment", sa.JSON, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("nfiles", sa.Integer, nullable=False),
        sa.Column("changed", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("variables", sa.JSON, nullable=True),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("phase", sa.String(64), nullable=True),
        sa.Column("push_status", sa.String(16), nullable=False),
        sa.Column("push_attempts", sa.Integer, nullable=False),
        sa.Column("push_error", sa.Text, nullable=True),
        sa.Column("push_next_at", sa.Float, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_snapshots_root_created", "snapshots", ["root_dir", "created_at", "id"])
    op.create_index("ix_snapshots_push", "snapshots", ["push_status", "push_next_at"])


def downgrade() -> None:
    raise NotImplementedError("jupyter-dataops stores are only upgraded (restore a backup)")
