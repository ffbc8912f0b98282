/**
 * The schedules model: the schedule list as a generic collection of
 * schedule summaries, full schedules for the detail views, each open
 * schedule's runs (a collection of jobs), and the schedule operations.
 *
 * Schedule events keep the list live; job events keep each schedule's
 * last run (and its sparkline) live between schedule events, since a run
 * that ends changes no schedule row in the store.
 */
import { Event } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { DataOpsApiError } from '../api';
import {
  CollectionModel,
  ICollectionModel,
  parseCollectionEvent
} from '../collection';
import { patchJob, jobEventMovesList } from '../jobs/model';
import {
  Job,
  JOB_EVENT_SCHEMA_ID,
  JOB_STATUSES,
  JobQuery,
  JobStatus,
  JobSummary
} from '../jobs/types';
import { ISchedulesModel } from '../tokens';
import { ISchedulesClient } from './client';
import {
  CronPreview,
  Firing,
  Schedule,
  SCHEDULE_EVENT_SCHEMA_ID,
  ScheduleCreate,
  ScheduleQuery,
  ScheduleRunNow,
  ScheduleSummary,
  ScheduleUpdate
} from './types';

/** The list the sidebar shows before the user changes anything. */
export const DEFAULT_SCHEDULE_QUERY: Readonly<ScheduleQuery> = {
  status: [],
  notebook: null,
  sort: 'created_at',
  order: 'desc',
  limit: 25
};

/** How many runs a schedule's detail lists. */
export const RUNS_SHOWN = 10;

/** A schedule's summary, as the list would show it. */
export function scheduleSummaryOf(schedule: Schedule): ScheduleSummary {
  return {
    id: schedule.id,
    name: schedule.name,
    notebook_path: schedule.notebook_path,
    status: schedule.status,
    cron: schedule.cron,
    timezone: schedule.timezone,
    description: schedule.description,
    version: schedule.version,
    owner: schedule.owner,
    created_at: schedule.created_at,
    updated_at: schedule.updated_at,
    next_run_at: schedule.next_run_at,
    last_run: schedule.last_run,
    recent: schedule.recent
  };
}

/** A full schedule with the live fields of a newer summary. */
export function withScheduleSummary(
  schedule: Schedule,
  summary: ScheduleSummary
): Schedule {
  return { ...schedule, ...summary };
}

/**
 * A schedule summary patched from a job event about its last run: the run's
 * new status, and (when the last outcome was that run's) the sparkline's last
 * bar. The page fetched next brings the server's own outcomes.
 */
export function patchLastRun(
  summary: ScheduleSummary,
  status: JobStatus
): ScheduleSummary {
  const last = summary.last_run;
  if (!last || last.status === status) {
    return summary;
  }
  const recent = [...summary.recent];
  if (last.due_at !== null && recent[recent.length - 1] === last.status) {
    recent[recent.length - 1] = status;
  }
  return { ...summary, last_run: { ...last, status }, recent };
}

/** The schedules model. */
export class SchedulesModel implements ISchedulesModel {
  constructor(options: SchedulesModel.IOptions) {
    this.client = options.client;
    this._options = options;
    this.collection = new CollectionModel<ScheduleSummary, ScheduleQuery>({
      fetch: query => this.client.listSchedules(query),
      idField: 'id',
      eventSchemaId: SCHEDULE_EVENT_SCHEMA_ID,
      query: { ...DEFAULT_SCHEDULE_QUERY, ...options.query },
      countKey: schedule => schedule.status,
      poll: options.poll,
      pollInterval: options.pollInterval,
      maxPollInterval: options.maxPollInterval,
      refreshDelay: options.refreshDelay,
      name: 'jupyter-dataops:schedules'
    });
    this.collection.itemChanged.connect(this._onItemChanged, this);
  }

  readonly client: ISchedulesClient;
  readonly collection: CollectionModel<ScheduleSummary, ScheduleQuery>;

  get scheduleChanged(): ISignal<this, Schedule> {
    return this._scheduleChanged;
  }

  get scheduleRemoved(): ISignal<this, string> {
    return this._scheduleRemoved;
  }

  getSummary(id: string): ScheduleSummary | undefined {
    return this.collection.get(id);
  }

  getSchedule(id: string): Schedule | undefined {
    return this._schedules.get(id);
  }

  fetchSchedule(id: string): Promise<Schedule | null> {
    let pending = this._fetching.get(id);
    if (!pending) {
      pending = this._fetchSchedule(id).finally(() =>
        this._fetching.delete(id)
      );
      this._fetching.set(id, pending);
    }
    return pending;
  }

  async createSchedule(request: ScheduleCreate): Promise<Schedule> {
    const since = this.collection.seq;
    const schedule = await this.client.createSchedule(request);
    this._record(schedule, since);
    void this.collection.refresh();
    return schedule;
  }

  async updateSchedule(id: string, request: ScheduleUpdate): Promise<Schedule> {
    const since = this.collection.seq;
    const schedule = await this.client.updateSchedule(id, request);
    this._record(schedule, since);
    return schedule;
  }

  async pauseSchedule(id: string): Promise<Schedule> {
    const since = this.collection.seq;
    const schedule = await this.client.pauseSchedule(id);
    this._record(schedule, since);
    return schedule;
  }

  async resumeSchedule(id: string): Promise<Schedule> {
    const since = this.collection.seq;
    const schedule = await this.client.resumeSchedule(id);
    this._record(schedule, since);
    return schedule;
  }

  async runNow(id: string, request: ScheduleRunNow): Promise<Job> {
    const job = await this.client.runScheduleNow(id, request);
    // Its runs list, and its last run, change.
    for (const runs of this._liveRuns(id)) {
      void runs.refresh();
    }
    this._wantSchedule(id);
    return job;
  }

  async deleteSchedule(id: string, deleteRuns: boolean): Promise<void> {
    await this.client.deleteSchedule(id, deleteRuns);
    this._schedules.delete(id);
    this.collection.remove(id);
    this._scheduleRemoved.emit(id);
    await this.collection.refresh();
  }

  firings(id: string, limit?: number): Promise<Firing[]> {
    return this.client.listFirings(id, limit);
  }

  preview(cron: string, timezone: string): Promise<CronPreview> {
    return this.client.previewCron(cron, timezone);
  }

  /**
   * A schedule's runs, newest first, kept live from job events while it is
   * not disposed.
   */
  openRuns(
    id: string,
    limit: number = RUNS_SHOWN
  ): ICollectionModel<JobSummary, JobQuery> {
    const runs = new CollectionModel<JobSummary, JobQuery>({
      fetch: query => this.client.listJobs(query),
      idField: 'id',
      eventSchemaId: JOB_EVENT_SCHEMA_ID,
      query: {
        schedule_id: id,
        sort: 'created_at',
        order: 'desc',
        limit
      },
      // Jobs named by events are looked for among this schedule's runs only.
      byIds: ids => ({ id: [...ids], schedule_id: id, limit: ids.length }),
      patch: patchJob,
      shouldRefetch: jobEventMovesList,
      countKey: job => job.status,
      poll: this._options.poll,
      pollInterval: this._options.pollInterval,
      refreshDelay: this._options.refreshDelay,
      name: `jupyter-dataops:schedule-runs:${id}`
    });
    this._runs.set(runs, id);
    void runs.refresh();
    return runs;
  }

  refresh(): Promise<void> {
    return this.collection.refresh();
  }

  handleEvent(emission: Event.Emission): void {
    if (this._isDisposed) {
      return;
    }
    if (this.collection.handleEvent(emission)) {
      return;
    }
    const event = parseCollectionEvent(emission, JOB_EVENT_SCHEMA_ID);
    if (!event) {
      return;
    }
    for (const [runs] of this._runs) {
      if (runs.isDisposed) {
        this._runs.delete(runs);
      } else {
        runs.handleEvent(emission);
      }
    }
    const status = event.status as JobStatus;
    if (!JOB_STATUSES.includes(status)) {
      return;
    }
    // A schedule's last run moved on: show it now, and ask for the rest.
    for (const summary of this._summariesWithRun(event.id)) {
      const patched = patchLastRun(summary, status);
      if (patched !== summary) {
        this.collection.put(patched);
        this._wantSchedule(summary.id);
      }
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
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    for (const [runs] of this._runs) {
      runs.dispose();
    }
    this._runs.clear();
    this.collection.dispose();
    Signal.clearData(this);
  }

  /** The schedules known (on the page or not) whose last run is this job. */
  private _summariesWithRun(jobId: string): ScheduleSummary[] {
    const found = new Map<string, ScheduleSummary>();
    for (const summary of this.collection.items) {
      if (summary.last_run?.job_id === jobId) {
        found.set(summary.id, summary);
      }
    }
    for (const schedule of this._schedules.values()) {
      const summary = this.collection.get(schedule.id);
      if (summary?.last_run?.job_id === jobId) {
        found.set(summary.id, summary);
      }
    }
    return [...found.values()];
  }

  /** The open runs lists of a schedule. */
  private _liveRuns(id: string): CollectionModel<JobSummary, JobQuery>[] {
    return [...this._runs]
      .filter(([runs, owner]) => owner === id && !runs.isDisposed)
      .map(([runs]) => runs);
  }

  /** Fetch a schedule's summary soon, once for a burst of job events. */
  private _wantSchedule(id: string): void {
    this._wanted.add(id);
    if (this._timer !== null || this._isDisposed) {
      return;
    }
    this._timer = setTimeout(() => {
      this._timer = null;
      const ids = [...this._wanted];
      this._wanted.clear();
      void this.collection.fetchById(ids).catch(() => undefined);
      for (const id of ids) {
        if (this._schedules.has(id)) {
          void this.fetchSchedule(id).catch(() => undefined);
        }
      }
    }, this._options.refreshDelay ?? 500);
  }

  private async _fetchSchedule(id: string): Promise<Schedule | null> {
    const since = this.collection.seq;
    let schedule: Schedule;
    try {
      schedule = await this.client.getSchedule(id);
    } catch (reason) {
      if (reason instanceof DataOpsApiError && reason.kind === 'not_found') {
        this._schedules.delete(id);
        this.collection.remove(id);
        this._scheduleRemoved.emit(id);
        return null;
      }
      throw reason;
    }
    if (!this._isDisposed) {
      this._record(schedule, since);
    }
    return this._schedules.get(id) ?? schedule;
  }

  /**
   * Keep a full schedule and show its summary in the list, unless the list
   * saw a newer change of it since `since`.
   */
  private _record(schedule: Schedule, since: number): void {
    this._schedules.set(schedule.id, schedule);
    this.collection.put(scheduleSummaryOf(schedule), since);
    const summary = this.collection.get(schedule.id);
    const live = summary ? withScheduleSummary(schedule, summary) : schedule;
    this._schedules.set(schedule.id, live);
    this._scheduleChanged.emit(live);
  }

  private _onItemChanged(
    _: unknown,
    change: ICollectionModel.IItemChange<ScheduleSummary>
  ): void {
    const { id, current } = change;
    if (current === null) {
      this._schedules.delete(id);
      this._scheduleRemoved.emit(id);
      return;
    }
    const full = this._schedules.get(id);
    if (!full) {
      return;
    }
    if (
      full.version !== current.version ||
      full.status !== current.status ||
      full.next_run_at !== current.next_run_at
    ) {
      // The definition or the next runs moved: the full schedule has them.
      this._wantSchedule(id);
    } else {
      const live = withScheduleSummary(full, current);
      this._schedules.set(id, live);
      this._scheduleChanged.emit(live);
    }
  }

  private _options: SchedulesModel.IOptions;
  private _isDisposed = false;
  private _schedules = new Map<string, Schedule>();
  private _fetching = new Map<string, Promise<Schedule | null>>();
  /** Open runs lists, and the schedule each is of. */
  private _runs = new Map<CollectionModel<JobSummary, JobQuery>, string>();
  private _wanted = new Set<string>();
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _scheduleChanged = new Signal<this, Schedule>(this);
  private _scheduleRemoved = new Signal<this, string>(this);
}

export namespace SchedulesModel {
  export interface IOptions {
    client: ISchedulesClient;
    /** Filters, sort and page size to start with. */
    query?: Partial<ScheduleQuery>;
    /** Poll the lists as a fallback for missed events (default true). */
    poll?: boolean;
    /** Milliseconds between polls while all is well (default 10 s). */
    pollInterval?: number;
    /** The longest wait between polls while the server fails (default 5 min). */
    maxPollInterval?: number;
    /** Milliseconds to gather events before refetching (default 500). */
    refreshDelay?: number;
  }
}
