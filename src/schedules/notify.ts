/**
 * JupyterLab notifications for scheduled runs that fail: a job event with
 * status `failed` is looked up (job events do not say which schedule a job
 * ran for), and a run of a schedule is announced once.
 */
import { Event } from '@jupyterlab/services';

import { parseCollectionEvent } from '../collection';
import { Job, JOB_EVENT_SCHEMA_ID } from '../jobs/types';

/** The most job ids remembered as seen failing. */
const MAX_SEEN = 10000;

/** Announces each failed scheduled run once. */
export class ScheduledFailureNotifier {
  constructor(options: ScheduledFailureNotifier.IOptions) {
    this._fetchJob = options.fetchJob;
    this._notify = options.notify;
  }

  /** Take a server event; failed jobs are looked up and, if scheduled, announced. */
  handleEvent(emission: Event.Emission): void {
    const event = parseCollectionEvent(emission, JOB_EVENT_SCHEMA_ID);
    if (!event || event.status !== 'failed') {
      return;
    }
    void this.consider(event.id);
  }

  /**
   * Announce a job if it is a failed scheduled run not announced yet
   * (resolves with whether it was).
   */
  async consider(id: string, known?: Job): Promise<boolean> {
    if (this._seen.has(id)) {
      return false;
    }
    this._remember(id);
    let job: Job | null | undefined = known;
    if (!job || job.status !== 'failed') {
      try {
        job = await this._fetchJob(id);
      } catch {
        // Unknown now; a later event for it is not a new failure either.
        return false;
      }
    }
    if (!job || job.status !== 'failed' || !job.schedule_id) {
      return false;
    }
    this._notify(job);
    return true;
  }

  private _remember(id: string): void {
    this._seen.add(id);
    if (this._seen.size > MAX_SEEN) {
      const oldest = this._seen.values().next().value;
      if (oldest !== undefined) {
        this._seen.delete(oldest);
      }
    }
  }

  private _fetchJob: (id: string) => Promise<Job | null>;
  private _notify: (job: Job) => void;
  private _seen = new Set<string>();
}

export namespace ScheduledFailureNotifier {
  export interface IOptions {
    /** Fetch a full job (null if it no longer exists). */
    fetchJob: (id: string) => Promise<Job | null>;
    /** Tell the user (called once per failed scheduled job). */
    notify: (job: Job) => void;
  }
}
