/**
 * The snapshot routes of the DataOps REST API (`/dataops/api/snapshots`,
 * `/snapshots/workspace`, `/snapshots/diff`, `/lineage`).
 */
import { DataOpsClient, queryString } from '../api';
import {
  Lineage,
  RestoreResult,
  Snapshot,
  SnapshotCreate,
  SnapshotDiff,
  SnapshotPage,
  SnapshotQuery,
  SnapshotRestore,
  SnapshotSummary,
  WorkspaceStatus
} from './types';

/** The snapshot operations the frontend uses; tests give fakes of it. */
export interface ISnapshotsClient {
  /**
   * One page of snapshot summaries, newest first. A query with `id` answers
   * those snapshots (the ones that exist), whatever the filters.
   */
  listSnapshots(query: SnapshotQuery): Promise<SnapshotPage>;
  /** A snapshot in full (an id or a unique prefix of at least 4 characters). */
  getSnapshot(id: string): Promise<Snapshot>;
  /** Take a snapshot: it answers once the snapshot is recorded (seconds for big data). */
  createSnapshot(request: SnapshotCreate): Promise<Snapshot>;
  /** Whether the project is set up for snapshots, and changed since the newest. */
  getWorkspace(): Promise<WorkspaceStatus>;
  /** Set the project up for snapshots (git and DVC where missing, a remote). */
  initWorkspace(): Promise<WorkspaceStatus>;
  /** What changed from snapshot `a` to snapshot `b` (default: the newest). */
  diffSnapshots(a: string, b?: string | null): Promise<SnapshotDiff>;
  /** Restore a snapshot (or some paths of it), after a safety snapshot. */
  restoreSnapshot(id: string, request: SnapshotRestore): Promise<RestoreResult>;
  /** Push a snapshot's data to the DVC remote now. */
  pushSnapshot(id: string): Promise<Snapshot>;
  /** What produced a snapshot or job, and what used it. */
  getLineage(id: string): Promise<Lineage>;
}

/**
 * The query string of a snapshot list request: lists repeat their key and
 * empty filters are left out.
 */
export function snapshotQueryString(query: SnapshotQuery): string {
  return queryString({
    id: query.id,
    status: query.status,
    kind: query.kind,
    order: query.order,
    limit: query.limit,
    cursor: query.cursor
  });
}

/** A snapshot's summary, as the list would show it: all but what only a full snapshot has. */
export function snapshotSummaryOf(snapshot: Snapshot): SnapshotSummary {
  const {
    ref,
    data,
    profiles,
    environment,
    push_attempts,
    warnings,
    variables,
    jobs,
    ...summary
  } = snapshot;
  void [
    ref,
    data,
    profiles,
    environment,
    push_attempts,
    warnings,
    variables,
    jobs
  ];
  return summary;
}

/**
 * What a snapshot being taken is doing now ("hashing data", "committing"),
 * as the server words it; null when it says nothing.
 */
export function phaseOf(snapshot: SnapshotSummary): string | null {
  const phase = (snapshot as { phase?: unknown }).phase;
  return snapshot.status === 'creating' && typeof phase === 'string' && phase
    ? phase
    : null;
}

/** The snapshot client, on the shared DataOps client. */
export class SnapshotsClient implements ISnapshotsClient {
  constructor(readonly api: DataOpsClient) {}

  listSnapshots(query: SnapshotQuery): Promise<SnapshotPage> {
    return this.api.requestJSON<SnapshotPage>(
      this.api.url('snapshots') + snapshotQueryString(query)
    );
  }

  getSnapshot(id: string): Promise<Snapshot> {
    return this.api.requestJSON<Snapshot>(this.api.url('snapshots', id));
  }

  createSnapshot(request: SnapshotCreate): Promise<Snapshot> {
    return this.api.requestJSON<Snapshot>(this.api.url('snapshots'), {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  getWorkspace(): Promise<WorkspaceStatus> {
    return this.api.requestJSON<WorkspaceStatus>(
      this.api.url('snapshots', 'workspace')
    );
  }

  initWorkspace(): Promise<WorkspaceStatus> {
    return this.api.requestJSON<WorkspaceStatus>(
      this.api.url('snapshots', 'workspace'),
      { method: 'POST', body: '{}' }
    );
  }

  diffSnapshots(a: string, b?: string | null): Promise<SnapshotDiff> {
    return this.api.requestJSON<SnapshotDiff>(
      this.api.url('snapshots', 'diff') + queryString({ a, b })
    );
  }

  restoreSnapshot(
    id: string,
    request: SnapshotRestore
  ): Promise<RestoreResult> {
    return this.api.requestJSON<RestoreResult>(
      this.api.url('snapshots', id, 'restore'),
      { method: 'POST', body: JSON.stringify(request) }
    );
  }

  pushSnapshot(id: string): Promise<Snapshot> {
    return this.api.requestJSON<Snapshot>(
      this.api.url('snapshots', id, 'push'),
      { method: 'POST', body: '{}' }
    );
  }

  getLineage(id: string): Promise<Lineage> {
    return this.api.requestJSON<Lineage>(this.api.url('lineage', id));
  }
}
