/**
 * A schedule server in memory for the schedule model and view tests.
 */
import { DataOpsApiError } from '../api';
import { summaryOf } from '../jobs/model';
import { Job, JobPage, JobQuery } from '../jobs/types';
import { ISchedulesClient } from '../schedules/client';
import { scheduleSummaryOf } from '../schedules/model';
import {
  CronPreview,
  Firing,
  Schedule,
  ScheduleCreate,
  SchedulePage,
  ScheduleQuery,
  ScheduleRunNow,
  ScheduleUpdate
} from '../schedules/types';
import { countsOf, makeJob } from './fixtures';

export function makeSchedule(overrides: Partial<Schedule> = {}): Schedule {
  return {
    id: 'sched-1',
    name: 'nightly',
    notebook_path: 'demo/train.ipynb',
    status: 'active',
    cron: '0 6 * * *',
    timezone: 'Europe/Berlin',
    description: 'At 06:00, every day (Europe/Berlin)',
    version: 1,
    owner: 'alice',
    created_at: 1700000000,
    updated_at: 1700000000,
    next_run_at: 1700010000,
    last_run: null,
    recent: [],
    root_dir: '/srv/notebooks',
    parameters: { alpha: 0.5 },
    kernel_name: null,
    sandbox: null,
    profile: null,
    executor: null,
    timeout_seconds: null,
    max_retries: null,
    misfire_policy: 'run_once',
    misfire_grace_seconds: 300,
    concurrency_policy: 'forbid',
    notify: {
      on_failure: true,
      on_success: false,
      webhook_url: null,
      email_to: []
    },
    next_runs: [1700010000, 1700096400, 1700182800, 1700269200, 1700355600],
    ...overrides
  };
}

/** A schedule server in memory: every change gets a seq, as the store's change log does. */
export class FakeSchedulesClient implements ISchedulesClient {
  schedules: Schedule[] = [];
  jobs: Job[] = [];
  firings: { [id: string]: Firing[] } = {};
  seq = 1;
  queries: ScheduleQuery[] = [];
  jobQueries: JobQuery[] = [];
  updates: [string, ScheduleUpdate][] = [];
  runs: [string, ScheduleRunNow][] = [];
  deletes: [string, boolean][] = [];
  previews: [string, string][] = [];
  /** What the preview answers, or throws. */
  preview: (cron: string, timezone: string) => CronPreview = (
    cron,
    timezone
  ) => ({
    description: `Words for ${cron} (${timezone})`,
    timezone,
    next_runs: [1700010000, 1700096400, 1700182800, 1700269200, 1700355600],
    min_interval_seconds: 86400
  });

  async listSchedules(query: ScheduleQuery): Promise<SchedulePage> {
    this.queries.push(query);
    let items = this.schedules;
    if (query.id?.length) {
      items = items.filter(item => query.id!.includes(item.id));
    }
    if (query.status?.length) {
      items = items.filter(item => query.status!.includes(item.status));
    }
    const counts: { [status: string]: number } = { active: 0, paused: 0 };
    for (const item of this.schedules) {
      counts[item.status]++;
    }
    return {
      items: items.slice(0, query.limit ?? 50).map(scheduleSummaryOf),
      next_cursor: null,
      prev_cursor: null,
      total: items.length,
      total_is_estimate: false,
      counts,
      seq: this.seq
    };
  }
  async getSchedule(id: string): Promise<Schedule> {
    const schedule = this.schedules.find(item => item.id === id);
    if (!schedule) {
      throw new DataOpsApiError({
        kind: 'not_found',
        status: 404,
        message: `No schedule ${id}`
      });
    }
    return schedule;
  }
  async createSchedule(request: ScheduleCreate): Promise<Schedule> {
    const schedule = makeSchedule({
      id: `sched-${this.schedules.length + 1}`,
      name: request.name ?? 'new',
      notebook_path: request.notebook_path,
      cron: request.cron,
      timezone: request.timezone ?? 'UTC'
    });
    this.schedules = [schedule, ...this.schedules];
    this.seq++;
    return schedule;
  }
  async updateSchedule(id: string, request: ScheduleUpdate): Promise<Schedule> {
    this.updates.push([id, request]);
    const current = await this.getSchedule(id);
    const changed: Schedule = {
      ...current,
      ...(Object.fromEntries(
        Object.entries(request).filter(([, value]) => value !== null)
      ) as Partial<Schedule>),
      version: current.version + 1
    };
    return this.set(changed);
  }
  async deleteSchedule(id: string, deleteRuns: boolean): Promise<void> {
    this.deletes.push([id, deleteRuns]);
    this.schedules = this.schedules.filter(item => item.id !== id);
    this.seq++;
  }
  async pauseSchedule(id: string): Promise<Schedule> {
    const current = await this.getSchedule(id);
    return this.set({
      ...current,
      status: 'paused',
      next_run_at: null,
      next_runs: []
    });
  }
  async resumeSchedule(id: string): Promise<Schedule> {
    const current = await this.getSchedule(id);
    return this.set({
      ...current,
      status: 'active',
      next_run_at: 1700010000,
      next_runs: [1700010000]
    });
  }
  async runScheduleNow(id: string, request: ScheduleRunNow): Promise<Job> {
    this.runs.push([id, request]);
    const job = makeJob({
      id: `run-${this.jobs.length + 1}`,
      schedule_id: id,
      schedule_version: 1
    });
    this.jobs = [job, ...this.jobs];
    this.seq++;
    return job;
  }
  async listFirings(id: string): Promise<Firing[]> {
    return this.firings[id] ?? [];
  }
  async previewCron(cron: string, timezone: string): Promise<CronPreview> {
    this.previews.push([cron, timezone]);
    return this.preview(cron, timezone);
  }
  async listJobs(query: JobQuery): Promise<JobPage> {
    this.jobQueries.push(query);
    let jobs = this.jobs;
    if (query.schedule_id) {
      jobs = jobs.filter(job => job.schedule_id === query.schedule_id);
    }
    if (query.id?.length) {
      jobs = jobs.filter(job => query.id!.includes(job.id));
    }
    return {
      items: jobs.slice(0, query.limit ?? 50).map(summaryOf),
      next_cursor: null,
      prev_cursor: null,
      total: jobs.length,
      total_is_estimate: false,
      counts: countsOf(jobs),
      seq: this.seq
    };
  }
  /** Change a schedule; returns it. */
  set(schedule: Schedule): Schedule {
    this.schedules = this.schedules.map(item =>
      item.id === schedule.id ? schedule : item
    );
    this.seq++;
    return schedule;
  }
}
