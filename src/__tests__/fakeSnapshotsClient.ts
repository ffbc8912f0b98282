/**
 * A snapshot server in memory for the snapshot model and view tests.
 */
import { DataOpsApiError } from '../api';
import { ISnapshotsClient, snapshotSummaryOf } from '../snapshots/client';
import {
  Lineage,
  RestoreResult,
  Snapshot,
  SnapshotCreate,
  SnapshotDiff,
  SnapshotPage,
  SnapshotQuery,
  SnapshotRestore,
  WorkspaceStatus
} from '../snapshots/types';

export function makeSnapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    id: 'a1b2c3d4e5f6',
    message: 'raw sales',
    status: 'ready',
    author: 'alice',
    created_at: 1700000000,
    parent_id: null,
    commit: '0ff0c9a2cc1e2d3f4a5b6c7d8e9f00112233aabb',
    size: 49,
    nfiles: 1,
    changed: true,
    push_status: 'pushed',
    kind: 'manual',
    ref: 'refs/dataops/snapshots/a1b2c3d4e5f6',
    data: [
      {
        path: 'data',
        hash: '51790b9d34ff8e904457290c95bc4c3d.dir',
        size: 49,
        nfiles: 1
      }
    ],
    profiles: {
      'data/sales.csv': {
        hash: '29eb8f3596b5f5ac34a4071460998317',
        rows: 3,
        columns: [
          {
            name: 'id',
            dtype: 'int64',
            nulls: 0,
            unique: 3,
            min: 1,
            max: 3,
            mean: 2,
            std: 1
          },
          {
            name: 'city',
            dtype: 'str',
            nulls: 0,
            unique: 3,
            min: null,
            max: null,
            mean: null,
            std: null
          },
          {
            name: 'sales',
            dtype: 'float64',
            nulls: 1,
            unique: 2,
            min: 7.25,
            max: 10.5,
            mean: 8.875,
            std: 2.298
          }
        ],
        error: null
      }
    },
    environment: {
      python: '3.11.7',
      executable: '/srv/venv/bin/python',
      kernel_name: 'python3',
      packages: { numpy: '2.4.6', pandas: '3.1.1', dvc: '3.67.1' },
      error: null
    },
    push_error: null,
    push_attempts: 1,
    error: null,
    warnings: [],
    variables: null,
    jobs: [],
    phase: null,
    ...overrides
  } as Snapshot;
}

export function makeWorkspace(
  overrides: Partial<WorkspaceStatus> = {}
): WorkspaceStatus {
  return {
    root: '/srv/project',
    git_root: '/srv/project',
    dvc_root: '/srv/project',
    remote: '/srv/dataops/dvc-remote',
    ready: true,
    missing: [],
    data_paths: ['data'],
    latest_id: null,
    changed: true,
    matches_id: null,
    max_variable_bytes: 100 * 1024 * 1024,
    ...overrides
  };
}

export function makeDiff(overrides: Partial<SnapshotDiff> = {}): SnapshotDiff {
  return {
    a: 'old',
    b: 'new',
    files: [
      { path: 'train.ipynb', change: 'modified' },
      { path: 'notes.md', change: 'added' }
    ],
    data: [{ path: 'data/sales.csv', change: 'modified' }],
    tables: [
      {
        path: 'data/sales.csv',
        rows_before: 3,
        rows_after: 4,
        columns: [
          {
            name: 'sales',
            change: 'stats',
            before: { nulls: 1, mean: 8.875 },
            after: { nulls: 0, mean: 8.375 }
          },
          {
            name: 'region',
            change: 'added',
            before: null,
            after: { name: 'region', dtype: 'str', nulls: 0 }
          },
          {
            name: 'id',
            change: 'dtype',
            before: { dtype: 'int64' },
            after: { dtype: 'float64' }
          }
        ]
      }
    ],
    packages: [
      { name: 'pandas', before: '2.2.0', after: '3.1.1' },
      { name: 'polars', before: null, after: '1.0.0' }
    ],
    python: null,
    ...overrides
  };
}

/** A snapshot server in memory: every change gets a seq, as the store's change log does. */
export class FakeSnapshotsClient implements ISnapshotsClient {
  snapshots: Snapshot[] = [];
  workspace: WorkspaceStatus = makeWorkspace();
  seq = 1;
  queries: SnapshotQuery[] = [];
  gets: string[] = [];
  creates: SnapshotCreate[] = [];
  restores: [string, SnapshotRestore][] = [];
  diffs: [string, string | null | undefined][] = [];
  pushes: string[] = [];
  workspaceReads = 0;
  diff: SnapshotDiff = makeDiff();
  lineage: Lineage | null = null;
  /** Answers `createSnapshot` when set (else a new ready snapshot). */
  create: ((request: SnapshotCreate) => Promise<Snapshot>) | null = null;

  async listSnapshots(query: SnapshotQuery): Promise<SnapshotPage> {
    this.queries.push(query);
    let items = this.snapshots;
    if (query.id?.length) {
      items = items.filter(item => query.id!.includes(item.id));
    }
    if (query.status?.length) {
      items = items.filter(item => query.status!.includes(item.status));
    }
    if (query.kind?.length) {
      items = items.filter(item => query.kind!.includes(item.kind));
    }
    const counts: { [status: string]: number } = {};
    for (const item of this.snapshots) {
      counts[item.status] = (counts[item.status] ?? 0) + 1;
    }
    return {
      items: items.slice(0, query.limit ?? 50).map(snapshotSummaryOf),
      next_cursor: null,
      prev_cursor: null,
      total: items.length,
      total_is_estimate: false,
      counts,
      seq: this.seq
    };
  }

  async getSnapshot(id: string): Promise<Snapshot> {
    this.gets.push(id);
    const snapshot = this.snapshots.find(item => item.id === id);
    if (!snapshot) {
      throw new DataOpsApiError({
        kind: 'not_found',
        status: 404,
        message: `No snapshot with id '${id}'.`
      });
    }
    return snapshot;
  }

  async createSnapshot(request: SnapshotCreate): Promise<Snapshot> {
    this.creates.push(request);
    if (this.create) {
      return this.create(request);
    }
    const snapshot = makeSnapshot({
      id: `snap${String(this.snapshots.length + 1).padStart(8, '0')}`,
      message: request.message ?? '',
      parent_id: this.snapshots[0]?.id ?? null,
      push_status: 'pending',
      created_at: 1700000000 + this.snapshots.length * 60
    });
    this.snapshots = [snapshot, ...this.snapshots];
    this.workspace = {
      ...this.workspace,
      ready: true,
      missing: [],
      latest_id: snapshot.id,
      changed: false,
      matches_id: snapshot.id
    };
    this.seq++;
    return snapshot;
  }

  async getWorkspace(): Promise<WorkspaceStatus> {
    this.workspaceReads++;
    return this.workspace;
  }

  async initWorkspace(): Promise<WorkspaceStatus> {
    this.workspace = { ...this.workspace, ready: true, missing: [] };
    return this.workspace;
  }

  async diffSnapshots(a: string, b?: string | null): Promise<SnapshotDiff> {
    this.diffs.push([a, b]);
    return { ...this.diff, a, b: b ?? this.snapshots[0].id };
  }

  async restoreSnapshot(
    id: string,
    request: SnapshotRestore
  ): Promise<RestoreResult> {
    this.restores.push([id, request]);
    await this.getSnapshot(id);
    const safety = makeSnapshot({
      id: `safe${String(this.snapshots.length + 1).padStart(8, '0')}`,
      message: `Before restoring ${id}`,
      kind: 'safety'
    });
    this.snapshots = [safety, ...this.snapshots];
    // The project is what `id` recorded; the newest is the safety snapshot.
    this.workspace = {
      ...this.workspace,
      latest_id: safety.id,
      changed: true,
      matches_id: id
    };
    this.seq++;
    return {
      snapshot_id: id,
      safety_snapshot_id: safety.id,
      files: [{ path: 'notes.md', change: 'deleted' }],
      data: [{ path: 'data', change: 'modified' }],
      verified: 1
    };
  }

  async pushSnapshot(id: string): Promise<Snapshot> {
    this.pushes.push(id);
    const current = await this.getSnapshot(id);
    return this.set({
      ...current,
      push_status: 'pushed',
      push_error: null,
      push_attempts: current.push_attempts + 1
    });
  }

  async getLineage(id: string): Promise<Lineage> {
    const snapshot = await this.getSnapshot(id);
    return (
      this.lineage ?? {
        root: { kind: 'snapshot', id, label: snapshot.message, detail: {} },
        upstream: [],
        downstream: snapshot.jobs.map(job => ({
          kind: 'job' as const,
          id: job,
          label: `job ${job}`,
          detail: { status: 'completed' }
        }))
      }
    );
  }

  /** Change a snapshot; returns it. */
  set(snapshot: Snapshot): Snapshot {
    this.snapshots = this.snapshots.map(item =>
      item.id === snapshot.id ? snapshot : item
    );
    this.seq++;
    return snapshot;
  }
}
