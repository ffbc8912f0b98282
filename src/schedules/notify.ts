/**
 * JupyterLab notifications for scheduled runs: each failed run is announced
 * once, and each completed one too when its schedule asks for it
 * (`notify.on_success`). Job events do not say which schedule a job ran for,
 * so an ended job is looked up (completed ones only while there are
 * schedules at all).
 */
import { Event } from '@jupyterlab/services';

import { parseCollectionEvent } from '../collection';
import { Job, JOB_EVENT_SCHEMA_ID } from '../jobs/types';
import { Schedule } from './types';

/** The most job ids remembered as announced or looked at. */
const MAX_SEEN = 10000;

/** Announces the end of scheduled runs: every failure, successes if asked. */
export class ScheduledRunNotifier {
  constructor(options: ScheduledRunNotifier.IOptions) {
    this._fetchJob = options.fetchJob;
    this._notify = options.notify;
    this._fetchSchedule = options.fetchSchedule ?? null;
    this._notifySuccess = options.notifySuccess ?? null;
    this._watching = options.watching ?? (() => true);
  }

  /** Take a server event; ended jobs are looked up and, if scheduled, announced. */
  handleEvent(emission: Event.Emission): void {
    const event = parseCollectionEvent(emission, JOB_EVENT_SCHEMA_ID);
    if (!event) {
      return;
    }
    if (event.status === 'failed') {
      void this.consider(event.id);
    } else if (
      event.status === 'completed' &&
      this._notifySuccess !== null &&
      this._watching()
    ) {
      void this.considerSuccess(event.id);
    }
  }

  /**
   * Announce a job if it is a failed scheduled run not announced yet
   * (resolves with whether it was).
   */
  async consider(id: string, known?: Job): Promise<boolean> {
    const job = await this._ended(id, 'failed', known);
    if (!job) {
      return false;
    }
    this._notify(job);
    return true;
  }

  /**
   * Announce a job if it is a completed scheduled run, not announced yet,
   * whose schedule asks to hear of successes (resolves with whether it was).
   */
  async considerSuccess(id: string, known?: Job): Promise<boolean> {
    if (this._notifySuccess === null || this._fetchSchedule === null) {
      return false;
    }
    const job = await this._ended(id, 'completed', known);
    if (!job) {
      return false;
    }
    let schedule: Schedule | null;
    try {
      schedule = await this._fetchSchedule(job.schedule_id!);
    } catch {
      return false;
    }
    if (!schedule?.notify.on_success) {
      return false;
    }
    this._notifySuccess(job, schedule);
    return true;
  }

  /** The job if it ended with `status`, ran for a schedule and is new here. */
  private async _ended(
    id: string,
    status: 'failed' | 'completed',
    known?: Job
  ): Promise<Job | null> {
    const key = `${status}:${id}`;
    if (this._seen.has(key)) {
      return null;
    }
    this._remember(key);
    let job: Job | null | undefined = known;
    if (!job || job.status !== status) {
      try {
        job = await this._fetchJob(id);
      } catch {
        // Unknown now; a later event for it is not a new end either.
        return null;
      }
    }
    if (!job || job.status !== status || !job.schedule_id) {
      return null;
    }
    return job;
  }

  private _remember(key: string): void {
    this._seen.add(key);
    if (this._seen.size > MAX_SEEN) {
      const oldest = this._seen.values().next().value;
      if (oldest !== undefined) {
        this._seen.delete(oldest);
      }
    }
  }

  private _fetchJob: (id: string) => Promise<Job | null>;
  private _notify: (job: Job) => void;
  private _fetchSchedule: ((id: string) => Promise<Schedule | null>) | null;
  private _notifySuccess: ((job: Job, schedule: Schedule) => void) | null;
  private _watching: () => boolean;
  private _seen = new Set<string>();
}

export namespace ScheduledRunNotifier {
  export interface IOptions {
    /** Fetch a full job (null if it no longer exists). */
    fetchJob: (id: string) => Promise<Job | null>;
    /** Tell the user of a failed run (called once per failed scheduled job). */
    notify: (job: Job) => void;
    /** Fetch a schedule (null if it no longer exists): does it want successes? */
    fetchSchedule?: (id: string) => Promise<Schedule | null>;
    /** Tell the user of a completed run whose schedule asks for it. */
    notifySuccess?: (job: Job, schedule: Schedule) => void;
    /**
     * Whether completed jobs are worth looking up (e.g. there are schedules);
     * failures always are.
     */
    watching?: () => boolean;
  }
}
