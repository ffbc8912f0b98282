"""Schedules: their definitions and versions, one firing per due time, the scheduler's lease,
the notification outbox; scheduled runs on jobs.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NOT_YET = sa.literal_column("1e300")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("schedule_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("schedule_version", sa.Integer, nullable=True))
        batch.add_column(sa.Column("due_at", sa.Float, nullable=True))
        batch.create_index("ix_jobs_schedule", ["schedule_id", "created_at", "id"])

    schedules = op.create_table(
        "schedules",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("notebook_path", sa.Text, nullable=False),
        sa.Column("root_dir", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("cron", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("next_due_at", sa.Float, nullable=True),
        sa.Column("last_due_at", sa.Float, nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_schedules_due", "schedules", ["status", "next_due_at"])
    op.create_index("ix_schedules_created", "schedules", ["created_at", "id"])
    op.create_index("ix_schedules_name", "schedules", ["name", "id"])
    op.create_index(
        "ix_schedules_next",
        "schedules",
        [sa.func.coalesce(schedules.c.next_due_at, NOT_YET), schedules.c.id],
    )
    op.create_table(
        "schedule_versions",
        sa.Column("schedule_id", sa.String(32), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
    )
    op.create_table(
        "firings",
        sa.Column("schedule_id", sa.String(32), primary_key=True),
        sa.Column("due_at", sa.Float, primary_key=True),
        sa.Column("fired_at", sa.Float, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("schedule_id", sa.String(32), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"])
    op.create_index(
        "ix_notifications_once", "notifications", ["job_id", "channel", "target"], unique=True
    )


def downgrade() -> None:
    raise NotImplementedError("jupyter-dataops stores are only upgraded (restore a backup)")
