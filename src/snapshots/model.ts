/**
 * The snapshots model: the snapshot list as a generic collection of snapshot
 * summaries, full snapshots for the detail views, the project's state (set up
 * for snapshots, changed since the newest one), and the snapshot operations
 * with the ones under way.
 *
 * Snapshot events keep the list live (a snapshot being taken shows at once,
 * then turns ready or failed, then its data is pushed); they also move the
 * project's newest snapshot, so its state is asked for again.
 */
import { Event } from '@jupyterlab/services';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { DataOpsApiError } from '../api';
import { CollectionModel, ICollectionModel } from '../collection';
import { ISnapshotOperation, ISnapshotsModel } from '../tokens';
import { ISnapshotsClient, snapshotSummaryOf } from './client';
import {
  Lineage,
  RestoreResult,
  Snapshot,
  SNAPSHOT_EVENT_SCHEMA_ID,
  SnapshotCreate,
  SnapshotDiff,
  SnapshotQuery,
  SnapshotRestore,
  SnapshotSummary,
  WorkspaceStatus
} from './types';

/** The list the sidebar shows before the user changes anything. */
export const DEFAULT_SNAPSHOT_QUERY: Readonly<SnapshotQuery> = {
  status: [],
  kind: [],
  order: 'desc',
  limit: 25
};

/** A full snapshot with the live fields of a newer summary. */
export function withSnapshotSummary(
  snapshot: Snapshot,
  summary: SnapshotSummary
): Snapshot {
  return { ...snapshot, ...summary };
}

/** Whether a snapshot's data can be pushed now: ready, with data, not pushed. */
export function canPush(
  snapshot: Pick<SnapshotSummary, 'status' | 'push_status' | 'nfiles'>
): boolean {
  return (
    snapshot.status === 'ready' &&
    snapshot.push_status !== 'pushed' &&
    snapshot.nfiles > 0
  );
}

/**
 * The snapshot to compare one with by default: its parent, else the next
 * older ready one, else the newest other one.
 */
export function defaultCompareTarget(
  snapshot: Pick<SnapshotSummary, 'id' | 'parent_id' | 'created_at'>,
  candidates: ReadonlyArray<SnapshotSummary>
): string | null {
  const others = candidates.filter(
    item => item.id !== snapshot.id && item.status === 'ready'
  );
  if (
    snapshot.parent_id &&
    others.some(item => item.id === snapshot.parent_id)
  ) {
    return snapshot.parent_id;
  }
  const older = others
    .filter(item => item.created_at < snapshot.created_at)
    .sort((a, b) => b.created_at - a.created_at);
  if (older.length > 0) {
    return older[0].id;
  }
  return snapshot.parent_id ?? others[0]?.id ?? null;
}

/**
 * The order a diff is asked in: from the older snapshot to the newer one,
 * whichever the user started from.
 */
export function diffOrder(
  first: Pick<SnapshotSummary, 'id' | 'created_at'>,
  second: Pick<SnapshotSummary, 'id' | 'created_at'>
): [string, string] {
  return first.created_at <= second.created_at
    ? [first.id, second.id]
    : [second.id, first.id];
}

/** The snapshots model. */
export class SnapshotsModel implements ISnapshotsModel {
  constructor(options: SnapshotsModel.IOptions) {
    this.client = options.client;
    this._options = options;
    this.collection = new CollectionModel<SnapshotSummary, SnapshotQuery>({
      fetch: query => this.client.listSnapshots(query),
      idField: 'id',
      eventSchemaId: SNAPSHOT_EVENT_SCHEMA_ID,
      query: { ...DEFAULT_SNAPSHOT_QUERY, ...options.query },
      countKey: snapshot => snapshot.status,
      poll: options.poll,
      pollInterval: options.pollInterval,
      maxPollInterval: options.maxPollInterval,
      refreshDelay: options.refreshDelay,
      name: 'jupyter-dataops:snapshots'
    });
    this.collection.itemChanged.connect(this._onItemChanged, this);
    if (options.poll !== false) {
      this._workspacePoll = new Poll({
        factory: () => this.fetchWorkspace().then(() => undefined),
        frequency: {
          interval: options.workspaceInterval ?? 30000,
          backoff: true,
          max: options.maxPollInterval ?? 5 * 60 * 1000
        },
        name: 'jupyter-dataops:snapshot-workspace',
        standby: 'when-hidden'
      });
    }
  }

  readonly client: ISnapshotsClient;
  readonly collection: CollectionModel<SnapshotSummary, SnapshotQuery>;

  get workspace(): WorkspaceStatus | null {
    return this._workspace;
  }

  get workspaceError(): DataOpsApiError | null {
    return this._workspaceError;
  }

  get workspaceChanged(): ISignal<this, void> {
    return this._workspaceChanged;
  }

  get operations(): ReadonlyArray<ISnapshotOperation> {
    return this._operations;
  }

  get operationsChanged(): ISignal<this, void> {
    return this._operationsChanged;
  }

  get snapshotChanged(): ISignal<this, Snapshot> {
    return this._snapshotChanged;
  }

  getSummary(id: string): SnapshotSummary | undefined {
    return this.collection.get(id);
  }

  getSnapshot(id: string): Snapshot | undefined {
    return this._snapshots.get(id);
  }

  fetchSnapshot(id: string): Promise<Snapshot | null> {
    let pending = this._fetching.get(id);
    if (!pending) {
      pending = this._fetchSnapshot(id).finally(() =>
        this._fetching.delete(id)
      );
      this._fetching.set(id, pending);
    }
    return pending;
  }

  async fetchWorkspace(): Promise<WorkspaceStatus> {
    const request = ++this._workspaceRequest;
    try {
      const status = await this.client.getWorkspace();
      if (request === this._workspaceRequest && !this._isDisposed) {
        this._workspace = status;
        this._workspaceError = null;
        this._workspaceChanged.emit();
      }
      return status;
    } catch (reason) {
      if (request === this._workspaceRequest && !this._isDisposed) {
        this._workspaceError = DataOpsApiError.from(reason);
        this._workspaceChanged.emit();
      }
      throw reason;
    }
  }

  workspaceMayHaveChanged(): void {
    if (this._workspaceTimer !== null || this._isDisposed) {
      return;
    }
    this._workspaceTimer = setTimeout(() => {
      this._workspaceTimer = null;
      void this.fetchWorkspace().catch(() => undefined);
    }, this._options.workspaceDelay ?? 1000);
  }

  async takeSnapshot(
    request: SnapshotCreate,
    take?: (request: SnapshotCreate) => Promise<Snapshot>
  ): Promise<Snapshot> {
    const done = this._begin({
      kind: 'take',
      id: null,
      message: request.message ?? ''
    });
    try {
      const since = this.collection.seq;
      const snapshot = await (take
        ? take(request)
        : this.client.createSnapshot(request));
      this._record(snapshot, since);
      void this.collection.refresh();
      return snapshot;
    } finally {
      done();
      // Set up, and unchanged since this one (or still changed, if it failed).
      void this.fetchWorkspace().catch(() => undefined);
    }
  }

  async restoreSnapshot(
    id: string,
    request: SnapshotRestore
  ): Promise<RestoreResult> {
    const done = this._begin({
      kind: 'restore',
      id,
      message: this.getSummary(id)?.message ?? ''
    });
    try {
      const result = await this.client.restoreSnapshot(id, request);
      // The safety snapshot is new, and the project is what `id` recorded.
      void this.collection.refresh();
      if (result.safety_snapshot_id) {
        void this.collection
          .fetchById([result.safety_snapshot_id])
          .catch(() => undefined);
      }
      return result;
    } finally {
      done();
      void this.fetchWorkspace().catch(() => undefined);
    }
  }

  async pushSnapshot(id: string): Promise<Snapshot> {
    const done = this._begin({
      kind: 'push',
      id,
      message: this.getSummary(id)?.message ?? ''
    });
    try {
      const since = this.collection.seq;
      const snapshot = await this.client.pushSnapshot(id);
      this._record(snapshot, since);
      return snapshot;
    } finally {
      done();
    }
  }

  diff(a: string, b: string): Promise<SnapshotDiff> {
    // What two ready snapshots hold never changes: their diff neither.
    const key = `${a}..${b}`;
    let pending = this._diffs.get(key);
    if (!pending) {
      pending = this.client.diffSnapshots(a, b);
      pending.catch(() => this._diffs.delete(key));
      this._diffs.set(key, pending);
    }
    return pending;
  }

  lineage(id: string): Promise<Lineage> {
    return this.client.getLineage(id);
  }

  async listReady(limit = 100): Promise<SnapshotSummary[]> {
    const page = await this.client.listSnapshots({
      status: ['ready'],
      order: 'desc',
      limit
    });
    return page.items;
  }

  async refresh(): Promise<void> {
    await Promise.all([
      this.collection.refresh(),
      this.fetchWorkspace().catch(() => undefined)
    ]);
  }

  handleEvent(emission: Event.Emission): void {
    if (this._isDisposed) {
      return;
    }
    if (this.collection.handleEvent(emission)) {
      // A new newest snapshot, or one that turned ready: the project's
      // state is measured against it.
      this.workspaceMayHaveChanged();
    }
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    for (const timer of [this._timer, this._workspaceTimer]) {
      if (timer !== null) {
        clearTimeout(timer);
      }
    }
    this._timer = null;
    this._workspaceTimer = null;
    this._workspacePoll?.dispose();
    this.collection.dispose();
    Signal.clearData(this);
  }

  /** Show an operation as under way; returns what ends it. */
  private _begin(operation: Omit<ISnapshotOperation, 'started'>): () => void {
    const entry: ISnapshotOperation = {
      ...operation,
      started: Date.now() / 1000
    };
    this._operations = [...this._operations, entry];
    this._operationsChanged.emit();
    return () => {
      this._operations = this._operations.filter(item => item !== entry);
      if (!this._isDisposed) {
        this._operationsChanged.emit();
      }
    };
  }

  private async _fetchSnapshot(id: string): Promise<Snapshot | null> {
    const since = this.collection.seq;
    let snapshot: Snapshot;
    try {
      snapshot = await this.client.getSnapshot(id);
    } catch (reason) {
      if (reason instanceof DataOpsApiError && reason.kind === 'not_found') {
        this._snapshots.delete(id);
        this.collection.remove(id);
        return null;
      }
      throw reason;
    }
    if (!this._isDisposed) {
      this._record(snapshot, since);
    }
    return this._snapshots.get(id) ?? snapshot;
  }

  /**
   * Keep a full snapshot and show its summary in the list, unless the list
   * saw a newer change of it since `since`.
   */
  private _record(snapshot: Snapshot, since: number): void {
    this._snapshots.set(snapshot.id, snapshot);
    this.collection.put(snapshotSummaryOf(snapshot), since);
    const summary = this.collection.get(snapshot.id);
    const live = summary ? withSnapshotSummary(snapshot, summary) : snapshot;
    this._snapshots.set(snapshot.id, live);
    this._snapshotChanged.emit(live);
  }

  private _onItemChanged(
    _: unknown,
    change: ICollectionModel.IItemChange<SnapshotSummary>
  ): void {
    const { id, current } = change;
    if (current === null) {
      this._snapshots.delete(id);
      return;
    }
    const full = this._snapshots.get(id);
    if (!full) {
      return;
    }
    if (
      full.status !== current.status ||
      full.push_status !== current.push_status
    ) {
      // Its commit and ref, data, profiles and warnings are in the full
      // snapshot only.
      this._wantSnapshot(id);
    } else {
      const live = withSnapshotSummary(full, current);
      this._snapshots.set(id, live);
      this._snapshotChanged.emit(live);
    }
  }

  /** Fetch a full snapshot soon, once for a burst of changes. */
  private _wantSnapshot(id: string): void {
    this._wanted.add(id);
    if (this._timer !== null || this._isDisposed) {
      return;
    }
    this._timer = setTimeout(() => {
      this._timer = null;
      const ids = [...this._wanted];
      this._wanted.clear();
      for (const wanted of ids) {
        void this.fetchSnapshot(wanted).catch(() => undefined);
      }
    }, this._options.refreshDelay ?? 500);
  }

  private _options: SnapshotsModel.IOptions;
  private _isDisposed = false;
  private _workspace: WorkspaceStatus | null = null;
  private _workspaceError: DataOpsApiError | null = null;
  private _workspaceRequest = 0;
  private _workspacePoll: Poll | null = null;
  private _workspaceTimer: ReturnType<typeof setTimeout> | null = null;
  private _operations: ISnapshotOperation[] = [];
  private _snapshots = new Map<string, Snapshot>();
  private _fetching = new Map<string, Promise<Snapshot | null>>();
  private _diffs = new Map<string, Promise<SnapshotDiff>>();
  private _wanted = new Set<string>();
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _workspaceChanged = new Signal<this, void>(this);
  private _operationsChanged = new Signal<this, void>(this);
  private _snapshotChanged = new Signal<this, Snapshot>(this);
}

export namespace SnapshotsModel {
  export interface IOptions {
    client: ISnapshotsClient;
    /** Filters and page size to start with. */
    query?: Partial<SnapshotQuery>;
    /** Poll the list and the project's state as a fallback (default true). */
    poll?: boolean;
    /** Milliseconds between polls of the list while all is well (default 10 s). */
    pollInterval?: number;
    /** Milliseconds between polls of the project's state (default 30 s). */
    workspaceInterval?: number;
    /** The longest wait between polls while the server fails (default 5 min). */
    maxPollInterval?: number;
    /** Milliseconds to gather events before refetching (default 500). */
    refreshDelay?: number;
    /** Milliseconds to gather changes before asking for the project's state (default 1 s). */
    workspaceDelay?: number;
  }
}
