"""Job files by key in a file store (no absolute paths), a pending reason, the change log with
its sequence counter, and one index per sort of the job list (alone and after each filter).

Revision ID: 0003
Revises: 0002
"""

import os

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NOT_YET = sa.literal_column("1e300")
SORT_KEYS = {
    "created": lambda t: t.c.created_at,
    "started": lambda t: sa.func.coalesce(t.c.started_at, NOT_YET),
    "finished": lambda t: sa.func.coalesce(t.c.finished_at, NOT_YET),
    "name": lambda t: t.c.name,
    "status": lambda t: t.c.status,
    "notebook": lambda t: t.c.notebook_path,
}


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("files_key", sa.Text, nullable=True))
        batch.add_column(sa.Column("output_name", sa.String(255), nullable=True))
        batch.add_column(sa.Column("pending_reason", sa.Text, nullable=True))
    old = sa.table(
        "jobs",
        sa.column("id", sa.String),
        sa.column("root_dir", sa.Text),
        sa.column("output_dir", sa.Text),
        sa.column("output_file", sa.Text),
        sa.column("files_key", sa.Text),
        sa.column("output_name", sa.String),
    )
    for job_id, root_dir, output_dir, output_file in conn.execute(
        sa.select(old.c.id, old.c.root_dir, old.c.output_dir, old.c.output_file)
    ).all():
        # Job folders were always made inside the job's root directory.
        key = os.path.relpath(output_dir, root_dir).replace(os.sep, "/")
        conn.execute(
            old.update()
            .where(old.c.id == job_id)
            .values(files_key=key, output_name=os.path.basename(output_file))
        )
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("files_key", existing_type=sa.Text, nullable=False)
        batch.alter_column("output_name", existing_type=sa.String(255), nullable=False)
        batch.drop_column("input_file")
        batch.drop_column("output_dir")
        batch.drop_column("output_file")
        for name in ("ix_jobs_status", "ix_jobs_created_at", "ix_jobs_updated_at"):
            batch.drop_index(name)
        batch.drop_index("ix_jobs_status_created")

    jobs = sa.table(
        "jobs",
        sa.column("id", sa.String),
        sa.column("status", sa.String),
        sa.column("executor", sa.String),
        sa.column("notebook_path", sa.Text),
        sa.column("name", sa.String),
        sa.column("created_at", sa.Float),
        sa.column("started_at", sa.Float),
        sa.column("finished_at", sa.Float),
    )
    # As orm.py: for each sort, an index alone, after a status, and after a notebook and a status.
    for name, key in SORT_KEYS.items():
        op.create_index(f"ix_jobs_{name}", "jobs", [key(jobs), jobs.c.id])
        if name != "status":
            op.create_index(f"ix_jobs_status_{name}", "jobs", [jobs.c.status, key(jobs), jobs.c.id])
        if name not in ("status", "notebook"):
            op.create_index(
                f"ix_jobs_notebook_status_{name}",
                "jobs",
                [jobs.c.notebook_path, jobs.c.status, key(jobs), jobs.c.id],
            )
    op.create_index(
        "ix_jobs_notebook_status", "jobs", [jobs.c.notebook_path, jobs.c.status, jobs.c.id]
    )
    op.create_index("ix_jobs_status_executor", "jobs", ["status", "executor", "created_at"])

    sequences = op.create_table(
        "sequences",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    changes = op.create_table(
        "changes",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("entity_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    # Every existing job is one change, so a follower starting from 0 hears of all of them.
    ids = [row[0] for row in conn.execute(sa.select(jobs.c.id).order_by(jobs.c.created_at))]
    now = float(conn.execute(sa.select(sa.func.max(jobs.c.created_at))).scalar() or 0.0)
    if ids:
        op.bulk_insert(
            changes,
            [
                {"kind": "job", "entity_id": job_id, "seq": n, "action": "updated", "at": now}
                for n, job_id in enumerate(ids, start=1)
            ],
        )
    op.bulk_insert(sequences, [{"name": "changes", "value": len(ids)}])


def downgrade() -> None:
    raise NotImplementedError("jupyter-dataops stores are only upgraded (restore a backup)")
