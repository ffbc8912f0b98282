"""Model endpoints: what each serves, where, whether it should run, its drift reference.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endpoints",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("root_dir", sa.Text, nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("alias", sa.String(100), nullable=False),
        sa.Column("model_uri", sa.Text, nullable=False),
        sa.Column("canary_version", sa.Integer, nullable=True),
        sa.Column("canary_percent", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("desired", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("token", sa.String(100), nullable=True),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("identity", sa.String(200), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("restarts", sa.Integer, nullable=False),
        sa.Column("history", sa.JSON, nullable=False),
        sa.Column("previous", sa.JSON, nullable=False),
        sa.Column("reference", sa.JSON, nullable=True),
        sa.Column("example", sa.JSON, nullable=True),
        sa.Column("drift_threshold", sa.Float, nullable=False),
        sa.Column("drift_score", sa.Float, nullable=True),
        sa.Column("drift_checked_at", sa.Float, nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("snapshot_id", sa.String(32), nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
    )
    op.create_index("ix_endpoints_root", "endpoints", ["root_dir", "name"])
    op.create_index("ix_endpoints_job", "endpoints", ["job_id"])


def downgrade() -> None:
    raise NotImplementedError("jupyter-dataops stores are only upgraded (restore a backup)")
