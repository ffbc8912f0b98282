/**
 * The DataOps job model: the state behind the sidebar.
 */
import { Event } from '@jupyterlab/services';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  DataOpsApiError,
  IDataOpsClient,
  IJob,
  IJobCreate,
  IJobEvent,
  IJobList,
  IJobQuery,
  IJobRerun,
  isTerminal,
  JOB_EVENT_SCHEMA_ID,
  JOB_STATUSES,
  JobStatus,
  StatusCounts
} from './api';
import { IDataOpsModel, IJobAction } from './tokens';

/** The list the model shows before the user changes anything. */
export const DEFAULT_QUERY: Readonly<IJobQuery> = {
  status: [],
  notebook: '',
  sort: 'created_at',
  order: 'desc',
  offset: 0,
  limit: 25
};

/** Page sizes the user can choose from. */
export const PAGE_SIZES: ReadonlyArray<number> = [10, 25, 50, 100];

function emptyCounts(): StatusCounts {
  return { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
}

/**
 * Read a job event from a server event, or null if it is not one.
 */
export function parseJobEvent(event: Event.Emission): IJobEvent | null {
  if (!event || event.schema_id !== JOB_EVENT_SCHEMA_ID) {
    return null;
  }
  const data = event as any;
  if (
    typeof data.job_id !== 'string' ||
    !['created', 'updated', 'deleted'].includes(data.action)
  ) {
    return null;
  }
  return {
    action: data.action,
    job_id: data.job_id,
    status: JOB_STATUSES.includes(data.status) ? data.status : 'queued',
    cells_completed: Number(data.cells_completed) || 0,
    cells_total: Number(data.cells_total) || 0
  };
}

/**
 * The job model.
 *
 * Server events patch jobs in place and schedule a refetch of the page; a
 * slow poll, backing off while the server fails, catches missed events.
 */
export class DataOpsModel implements IDataOpsModel {
  constructor(options: DataOpsModel.IOptions) {
    this.client = options.client;
    this._refreshDelay = options.refreshDelay ?? 250;
    if (options.poll !== false) {
      const interval = options.pollInterval ?? 10000;
      this._poll = new Poll({
        factory: () => this._fetch(),
        frequency: {
          interval,
          backoff: true,
          max: options.maxPollInterval ?? 5 * 60 * 1000
        },
        name: 'jupyter-dataops:jobs',
        standby: 'when-hidden'
      });
    }
  }

  readonly client: IDataOpsClient;

  get jobs(): ReadonlyArray<IJob> {
    return this._jobs;
  }

  get total(): number {
    return this._total;
  }

  get counts(): StatusCounts {
    return this._counts;
  }

  get query(): Readonly<IJobQuery> {
    return this._query;
  }

  get page(): number {
    return Math.floor(this._query.offset / this._query.limit) + 1;
  }

  get pageCount(): number {
    return Math.max(1, Math.ceil(this._total / this._query.limit));
  }

  get ready(): boolean {
    return this._ready;
  }

  get loading(): boolean {
    return this._loading;
  }

  get error(): DataOpsApiError | null {
    return this._error;
  }

  get changed(): ISignal<IDataOpsModel, void> {
    return this._changed;
  }

  get jobChanged(): ISignal<IDataOpsModel, IJob> {
    return this._jobChanged;
  }

  get jobFinished(): ISignal<IDataOpsModel, IJob> {
    return this._jobFinished;
  }

  get jobActions(): ReadonlyArray<IJobAction> {
    return this._actions;
  }

  get jobActionsChanged(): ISignal<IDataOpsModel, void> {
    return this._jobActionsChanged;
  }

  addJobAction(action: IJobAction): IDisposable {
    this._actions = [
      ...this._actions.filter(item => item.id !== action.id),
      action
    ].sort((a, b) => a.rank - b.rank || a.id.localeCompare(b.id));
    this._jobActionsChanged.emit();
    return new DisposableDelegate(() => {
      if (this._actions.includes(action)) {
        this._actions = this._actions.filter(item => item !== action);
        this._jobActionsChanged.emit();
      }
    });
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    if (this._refreshTimer !== null) {
      clearTimeout(this._refreshTimer);
      this._refreshTimer = null;
    }
    this._poll?.dispose();
    Signal.clearData(this);
  }

  setQuery(changes: Partial<IJobQuery>): void {
    const next: IJobQuery = { ...this._query, ...changes };
    if (changes.offset === undefined) {
      next.offset = 0;
    }
    next.limit = Math.max(1, Math.floor(next.limit));
    next.offset = Math.max(0, Math.floor(next.offset));
    this._query = next;
    this._changed.emit();
    void this.refresh();
  }

  setPage(page: number): void {
    const clamped = Math.min(Math.max(1, Math.floor(page)), this.pageCount);
    this.setQuery({ offset: (clamped - 1) * this._query.limit });
  }

  async refresh(): Promise<void> {
    try {
      await this._fetch();
    } catch {
      // The error is kept in `error` and shown by the views.
    }
  }

  async refreshJob(id: string): Promise<IJob | null> {
    let job: IJob;
    try {
      job = await this.client.getJob(id);
    } catch (reason) {
      if (reason instanceof DataOpsApiError && reason.kind === 'not_found') {
        this._removeJob(id);
        return null;
      }
      throw reason;
    }
    this._updateJob(job);
    return job;
  }

  isSubmittedHere(id: string): boolean {
    return this._submitted.has(id);
  }

  getJob(id: string): IJob | undefined {
    return this._jobs.find(job => job.id === id) ?? this._seen.get(id);
  }

  handleEvent(emission: Event.Emission): void {
    const event = parseJobEvent(emission);
    if (!event || this._isDisposed) {
      return;
    }
    const previous = this._status.get(event.job_id);
    switch (event.action) {
      case 'created':
        if (previous === undefined) {
          this._status.set(event.job_id, event.status);
        }
        this._scheduleRefresh();
        return;
      case 'deleted':
        this._removeJob(event.job_id);
        this._scheduleRefresh();
        return;
      case 'updated':
        break;
    }
    if (previous === undefined && !isTerminal(event.status)) {
      // First seen active now: its end will be a transition we observed.
      this._status.set(event.job_id, event.status);
    }
    if (previous !== undefined && previous !== event.status) {
      if (isTerminal(event.status)) {
        // Fetch the whole job: its error, output path and times are needed.
        void this.refreshJob(event.job_id).catch(() => undefined);
      } else {
        this._status.set(event.job_id, event.status);
      }
      this._scheduleRefresh();
    }
    this._patchProgress(event);
  }

  async createJob(request: IJobCreate): Promise<IJob> {
    const job = await this.client.createJob(request);
    this._submitted.add(job.id);
    this._updateJob(job);
    this._scheduleRefresh();
    return job;
  }

  async rerunJob(id: string, request: IJobRerun): Promise<IJob> {
    const job = await this.client.rerunJob(id, request);
    this._submitted.add(job.id);
    this._updateJob(job);
    this._scheduleRefresh();
    return job;
  }

  async cancelJob(id: string): Promise<IJob> {
    const job = await this.client.cancelJob(id);
    this._updateJob(job);
    this._scheduleRefresh();
    return job;
  }

  async deleteJob(id: string): Promise<void> {
    await this.client.deleteJob(id);
    this._removeJob(id);
    // Counts and totals change too: fetch them now rather than after a delay.
    await this.refresh();
  }

  /** Fetch the current page; throws on failure so the poll backs off. */
  private async _fetch(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    const request = ++this._requestId;
    const query = this._query;
    this._loading = true;
    this._changed.emit();
    let list: IJobList;
    try {
      list = await this.client.listJobs(query);
    } catch (reason) {
      if (request === this._requestId) {
        this._loading = false;
        this._error =
          reason instanceof DataOpsApiError
            ? reason
            : new DataOpsApiError({
                kind: 'unknown',
                status: 0,
                message: String((reason as Error)?.message ?? reason)
              });
        this._changed.emit();
      }
      throw reason;
    }
    if (request !== this._requestId || this._isDisposed) {
      // A newer request (other filters or page) has been sent since.
      return;
    }
    this._loading = false;
    this._error = null;
    this._ready = true;
    this._total = list.total;
    this._counts = { ...emptyCounts(), ...list.counts };
    for (const job of list.jobs) {
      this._observe(job);
    }
    this._jobs = list.jobs;
    if (list.jobs.length === 0 && list.total > 0 && query.offset > 0) {
      // The page is past the end (jobs were deleted): go to the last page.
      this.setPage(this.pageCount);
      return;
    }
    this._changed.emit();
  }

  /** Record a job's status, announcing a finish seen in this session. */
  private _observe(job: IJob): void {
    const previous = this._status.get(job.id);
    this._status.set(job.id, job.status);
    this._seen.set(job.id, job);
    if (
      previous !== undefined &&
      !isTerminal(previous) &&
      isTerminal(job.status)
    ) {
      this._jobFinished.emit(job);
    }
  }

  private _updateJob(job: IJob): void {
    this._observe(job);
    const index = this._jobs.findIndex(item => item.id === job.id);
    if (index >= 0) {
      const jobs = [...this._jobs];
      jobs[index] = job;
      this._jobs = jobs;
      this._changed.emit();
    }
    this._jobChanged.emit(job);
  }

  private _patchProgress(event: IJobEvent): void {
    const index = this._jobs.findIndex(item => item.id === event.job_id);
    if (index < 0) {
      return;
    }
    const current = this._jobs[index];
    // A terminal status comes with the full job from refreshJob.
    const status: JobStatus = isTerminal(event.status)
      ? current.status
      : event.status;
    const job: IJob = {
      ...current,
      status,
      progress: {
        ...current.progress,
        cells_completed: event.cells_completed,
        cells_total: event.cells_total || current.progress.cells_total
      }
    };
    const jobs = [...this._jobs];
    jobs[index] = job;
    this._jobs = jobs;
    this._seen.set(job.id, job);
    this._changed.emit();
    this._jobChanged.emit(job);
  }

  private _removeJob(id: string): void {
    this._seen.delete(id);
    const jobs = this._jobs.filter(job => job.id !== id);
    if (jobs.length !== this._jobs.length) {
      this._jobs = jobs;
      this._changed.emit();
    }
  }

  /** Refetch the page soon, once for a burst of events. */
  private _scheduleRefresh(): void {
    if (this._refreshTimer !== null || this._isDisposed) {
      return;
    }
    this._refreshTimer = setTimeout(() => {
      this._refreshTimer = null;
      void this.refresh();
    }, this._refreshDelay);
  }

  private _jobs: IJob[] = [];
  private _total = 0;
  private _counts: StatusCounts = emptyCounts();
  private _query: IJobQuery = { ...DEFAULT_QUERY };
  private _ready = false;
  private _loading = false;
  private _error: DataOpsApiError | null = null;
  private _requestId = 0;
  private _isDisposed = false;
  private _poll: Poll | null = null;
  private _refreshDelay: number;
  private _refreshTimer: ReturnType<typeof setTimeout> | null = null;
  /** The last status seen for each job, to notice transitions. */
  private _status = new Map<string, JobStatus>();
  /** The last state seen of each job, on the page or not. */
  private _seen = new Map<string, IJob>();
  private _actions: IJobAction[] = [];
  /** Jobs this session submitted. */
  private _submitted = new Set<string>();
  private _jobActionsChanged = new Signal<IDataOpsModel, void>(this);
  private _changed = new Signal<IDataOpsModel, void>(this);
  private _jobChanged = new Signal<IDataOpsModel, IJob>(this);
  private _jobFinished = new Signal<IDataOpsModel, IJob>(this);
}

export namespace DataOpsModel {
  export interface IOptions {
    client: IDataOpsClient;
    /** Poll the job list as a fallback for missed events (default true). */
    poll?: boolean;
    /** Milliseconds between polls while all is well (default 10 s). */
    pollInterval?: number;
    /** The longest wait between polls while the server fails (default 5 min). */
    maxPollInterval?: number;
    /** Milliseconds to gather events before refetching the page (default 250). */
    refreshDelay?: number;
  }
}
