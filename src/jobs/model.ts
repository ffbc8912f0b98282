/**
 * The jobs model: the job list as a generic collection of job summaries,
 * the full jobs the detail views need, and the job operations.
 */
import { Event } from '@jupyterlab/services';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataOpsApiError, ExecutorCapabilities, ServerInfo } from '../api';
import {
  CollectionModel,
  ICollectionEvent,
  ICollectionModel
} from '../collection';
import { IJobAction, IJobsModel } from '../tokens';
import { IJobsClient } from './client';
import {
  isTerminal,
  Job,
  JOB_EVENT_SCHEMA_ID,
  JOB_STATUSES,
  JobCreate,
  JobEvent,
  JobQuery,
  JobRerun,
  JobStatus,
  JobSummary
} from './types';

/** The list the sidebar shows before the user changes anything. */
export const DEFAULT_JOB_QUERY: Readonly<JobQuery> = {
  status: [],
  notebook: null,
  sort: 'created_at',
  order: 'desc',
  limit: 25
};

/** What an executor is assumed to support until the server says. */
const ASSUMED_CAPABILITIES: ExecutorCapabilities = {
  name: '',
  cancel: true,
  logs: true,
  follow_logs: true,
  progress: true,
  gpus: false,
  max_concurrent_jobs: null,
  profiles: false
};

/** A job's summary, as the job list would show it. */
export function summaryOf(job: Job): JobSummary {
  return {
    id: job.id,
    name: job.name,
    notebook_path: job.notebook_path,
    status: job.status,
    kernel_name: job.kernel_name,
    executor: job.executor,
    owner: job.owner,
    created_at: job.created_at,
    started_at: job.started_at,
    finished_at: job.finished_at,
    updated_at: job.updated_at,
    progress: job.progress,
    attempt: job.attempt,
    max_retries: job.max_retries,
    cancel_requested: job.cancel_requested,
    pending_reason: job.pending_reason,
    error: job.error
      ? {
          cell_index: job.error.cell_index,
          ename: job.error.ename,
          evalue: job.error.evalue.slice(0, 300)
        }
      : null,
    warning_count: job.warnings.length,
    tags: job.tags,
    rerun_of: job.rerun_of,
    schedule_id: job.schedule_id,
    schedule_version: job.schedule_version,
    due_at: job.due_at,
    snapshot_id: job.snapshot_id
  };
}

/** A full job with the live fields of a newer summary. */
export function withSummary(job: Job, summary: JobSummary): Job {
  return {
    ...job,
    name: summary.name,
    status: summary.status,
    owner: summary.owner,
    started_at: summary.started_at,
    finished_at: summary.finished_at,
    updated_at: summary.updated_at,
    progress: summary.progress,
    attempt: summary.attempt,
    max_retries: summary.max_retries,
    cancel_requested: summary.cancel_requested,
    pending_reason: summary.pending_reason
  };
}

/**
 * A full job made from a summary alone, for when the server cannot be asked:
 * no parameters, warnings, paths or traceback.
 */
export function jobFromSummary(summary: JobSummary): Job {
  // A full job lists its warnings; their count alone does not belong in it.
  const { error, warning_count, ...fields } = summary;
  void warning_count;
  return {
    ...fields,
    root_dir: '',
    parameters: {},
    timeout_seconds: null,
    output_path: null,
    html_path: null,
    log_path: null,
    error: error ? { ...error, traceback: [] } : null,
    warnings: [],
    usage: null
  };
}

/** A job summary patched from a job event's status and progress. */
export function patchJob(
  summary: JobSummary,
  event: ICollectionEvent
): JobSummary {
  const data = event as JobEvent;
  const status: JobStatus = JOB_STATUSES.includes(data.status as JobStatus)
    ? (data.status as JobStatus)
    : summary.status;
  const count = (value: unknown, fallback: number) =>
    typeof value === 'number' && Number.isFinite(value) && value >= 0
      ? value
      : fallback;
  return {
    ...summary,
    status,
    progress: {
      ...summary.progress,
      cells_completed: count(
        data.cells_completed,
        summary.progress.cells_completed
      ),
      cells_total: count(data.cells_total, 0) || summary.progress.cells_total
    }
  };
}

/**
 * Whether a job event changes the list beyond the job itself: a status
 * change moves counts and may move the job out of the filters or the sort;
 * progress alone does not.
 */
export function jobEventMovesList(
  event: ICollectionEvent,
  previous: JobSummary | undefined
): boolean {
  return (
    event.action !== 'updated' ||
    previous === undefined ||
    (typeof event.status === 'string' && event.status !== previous.status)
  );
}

/** The jobs model. */
export class JobsModel implements IJobsModel {
  constructor(options: JobsModel.IOptions) {
    this.client = options.client;
    this.collection = new CollectionModel<JobSummary, JobQuery>({
      fetch: query => this.client.listJobs(query),
      idField: 'id',
      eventSchemaId: JOB_EVENT_SCHEMA_ID,
      query: { ...DEFAULT_JOB_QUERY, ...options.query },
      patch: patchJob,
      shouldRefetch: jobEventMovesList,
      countKey: job => job.status,
      poll: options.poll,
      pollInterval: options.pollInterval,
      maxPollInterval: options.maxPollInterval,
      refreshDelay: options.refreshDelay,
      name: 'jupyter-dataops:jobs'
    });
    this.collection.itemChanged.connect(this._onItemChanged, this);
  }

  readonly client: IJobsClient;
  readonly collection: CollectionModel<JobSummary, JobQuery>;

  get info(): ServerInfo | null {
    return this._info;
  }

  get capabilities(): ExecutorCapabilities {
    return this._info?.executor ?? ASSUMED_CAPABILITIES;
  }

  get infoChanged(): ISignal<this, ServerInfo> {
    return this._infoChanged;
  }

  /** Ask the server what it runs jobs with; failures leave `info` null. */
  async loadInfo(): Promise<ServerInfo | null> {
    try {
      const info = await this.client.getInfo();
      if (!this._isDisposed) {
        this._info = info;
        this._infoChanged.emit(info);
      }
      return info;
    } catch {
      return null;
    }
  }

  get actions(): ReadonlyArray<IJobAction> {
    return this._actions;
  }

  get actionsChanged(): ISignal<this, void> {
    return this._actionsChanged;
  }

  addAction(action: IJobAction): IDisposable {
    this._actions = [
      ...this._actions.filter(item => item.id !== action.id),
      action
    ].sort((a, b) => a.rank - b.rank || a.id.localeCompare(b.id));
    this._actionsChanged.emit();
    return new DisposableDelegate(() => {
      if (this._actions.includes(action)) {
        this._actions = this._actions.filter(item => item !== action);
        this._actionsChanged.emit();
      }
    });
  }

  get jobChanged(): ISignal<this, Job> {
    return this._jobChanged;
  }

  get jobFinished(): ISignal<this, Job> {
    return this._jobFinished;
  }

  getSummary(id: string): JobSummary | undefined {
    return this.collection.get(id);
  }

  getJob(id: string): Job | undefined {
    return this._jobs.get(id);
  }

  fetchJob(id: string): Promise<Job | null> {
    let pending = this._fetching.get(id);
    if (!pending) {
      pending = this._fetchJob(id).finally(() => this._fetching.delete(id));
      this._fetching.set(id, pending);
    }
    return pending;
  }

  isSubmittedHere(id: string): boolean {
    return this._submitted.has(id);
  }

  async createJob(request: JobCreate): Promise<Job> {
    const since = this.collection.seq;
    const job = await this.client.createJob(request);
    this._submitted.add(job.id);
    this._record(job, since);
    void this.collection.refresh();
    return job;
  }

  async rerunJob(id: string, request: JobRerun): Promise<Job> {
    const since = this.collection.seq;
    const job = await this.client.rerunJob(id, request);
    this._submitted.add(job.id);
    this._record(job, since);
    void this.collection.refresh();
    return job;
  }

  async cancelJob(id: string): Promise<Job> {
    const since = this.collection.seq;
    const job = await this.client.cancelJob(id);
    this._record(job, since);
    return job;
  }

  async deleteJob(id: string): Promise<void> {
    await this.client.deleteJob(id);
    this._jobs.delete(id);
    this.collection.remove(id);
    // Counts and totals change too: fetch them now rather than after a delay.
    await this.collection.refresh();
  }

  refresh(): Promise<void> {
    return this.collection.refresh();
  }

  handleEvent(event: Event.Emission): void {
    this.collection.handleEvent(event);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.collection.dispose();
    Signal.clearData(this);
  }

  private async _fetchJob(id: string): Promise<Job | null> {
    let job: Job;
    for (let attempt = 1; ; attempt++) {
      const since = this.collection.seq;
      try {
        job = await this.client.getJob(id);
      } catch (reason) {
        if (reason instanceof DataOpsApiError && reason.kind === 'not_found') {
          this._jobs.delete(id);
          this.collection.remove(id);
          return null;
        }
        throw reason;
      }
      if (this._isDisposed) {
        return job;
      }
      this._record(job, since);
      // An event that arrived while the request was out may have moved the
      // job on (e.g. it failed): its error and paths need the newer job.
      const known = this.collection.get(id);
      const stale =
        this.collection.seq > since &&
        known !== undefined &&
        (known.status !== job.status || known.attempt !== job.attempt);
      if (!stale || attempt >= 3) {
        return job;
      }
    }
  }

  /**
   * Keep a full job and show its summary in the list, unless the list saw a
   * newer change of it since `since` (the list's seq when the request left).
   */
  private _record(job: Job, since: number): void {
    // Set first: the list's change below then sees the job as current.
    this._jobs.set(job.id, job);
    this.collection.put(summaryOf(job), since);
    const summary = this.collection.get(job.id);
    const live = summary ? withSummary(job, summary) : job;
    this._jobs.set(job.id, live);
    this._jobChanged.emit(live);
  }

  private _onItemChanged(
    _: unknown,
    change: ICollectionModel.IItemChange<JobSummary>
  ): void {
    const { id, previous, current } = change;
    if (current === null) {
      this._jobs.delete(id);
      return;
    }
    const full = this._jobs.get(id);
    if (full) {
      const live = withSummary(full, current);
      this._jobs.set(id, live);
      if (
        full.status !== current.status ||
        full.attempt !== current.attempt ||
        full.cancel_requested !== current.cancel_requested
      ) {
        // Error, paths and warnings come with the full job.
        void this.fetchJob(id).catch(() => undefined);
      } else {
        this._jobChanged.emit(live);
      }
    }
    if (
      previous !== undefined &&
      !isTerminal(previous.status) &&
      isTerminal(current.status)
    ) {
      void this._announceFinish(current);
    }
  }

  private async _announceFinish(summary: JobSummary): Promise<void> {
    let job: Job | null;
    try {
      job = await this.fetchJob(summary.id);
    } catch {
      job = jobFromSummary(summary);
    }
    if (job && !this._isDisposed) {
      this._jobFinished.emit(job);
    }
  }

  private _info: ServerInfo | null = null;
  private _isDisposed = false;
  private _actions: IJobAction[] = [];
  /** Full jobs fetched, kept live from the list. */
  private _jobs = new Map<string, Job>();
  private _fetching = new Map<string, Promise<Job | null>>();
  /** Jobs this session submitted. */
  private _submitted = new Set<string>();
  private _infoChanged = new Signal<this, ServerInfo>(this);
  private _actionsChanged = new Signal<this, void>(this);
  private _jobChanged = new Signal<this, Job>(this);
  private _jobFinished = new Signal<this, Job>(this);
}

export namespace JobsModel {
  export interface IOptions {
    client: IJobsClient;
    /** Filters, sort and page size to start with. */
    query?: Partial<JobQuery>;
    /** Poll the job list as a fallback for missed events (default true). */
    poll?: boolean;
    /** Milliseconds between polls while all is well (default 10 s). */
    pollInterval?: number;
    /** The longest wait between polls while the server fails (default 5 min). */
    maxPollInterval?: number;
    /** Milliseconds to gather events before refetching the page (default 500). */
    refreshDelay?: number;
  }
}
