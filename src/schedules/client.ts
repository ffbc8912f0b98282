/**
 * The schedule routes of the DataOps REST API (`/dataops/api/schedules`),
 * and the job list filtered to one schedule's runs.
 */
import { DataOpsClient, queryString } from '../api';
import { jobQueryString } from '../jobs/client';
import { Job, JobPage, JobQuery } from '../jobs/types';
import {
  CronPreview,
  Firing,
  FiringList,
  Schedule,
  ScheduleCreate,
  SchedulePage,
  ScheduleQuery,
  ScheduleRunNow,
  ScheduleUpdate
} from './types';

/** The schedule operations the frontend uses; tests give fakes of it. */
export interface ISchedulesClient {
  listSchedules(query: ScheduleQuery): Promise<SchedulePage>;
  getSchedule(id: string): Promise<Schedule>;
  createSchedule(request: ScheduleCreate): Promise<Schedule>;
  updateSchedule(id: string, request: ScheduleUpdate): Promise<Schedule>;
  /** Delete it; with `deleteRuns`, its finished runs too. */
  deleteSchedule(id: string, deleteRuns: boolean): Promise<void>;
  pauseSchedule(id: string): Promise<Schedule>;
  resumeSchedule(id: string): Promise<Schedule>;
  runScheduleNow(id: string, request: ScheduleRunNow): Promise<Job>;
  /** What became of its due times, newest first. */
  listFirings(id: string, limit?: number): Promise<Firing[]>;
  /** A cron expression in plain words with its next five due times. */
  previewCron(cron: string, timezone: string): Promise<CronPreview>;
  /** Jobs: a schedule's runs are listed with `schedule_id`. */
  listJobs(query: JobQuery): Promise<JobPage>;
}

/** The query string of a schedule list request. */
export function scheduleQueryString(query: ScheduleQuery): string {
  return queryString({
    id: query.id,
    status: query.status,
    notebook: query.notebook,
    sort: query.sort,
    order: query.order,
    limit: query.limit,
    cursor: query.cursor
  });
}

/** The schedule client, on the shared DataOps client. */
export class SchedulesClient implements ISchedulesClient {
  constructor(readonly api: DataOpsClient) {}

  listSchedules(query: ScheduleQuery): Promise<SchedulePage> {
    return this.api.requestJSON<SchedulePage>(
      this.api.url('schedules') + scheduleQueryString(query)
    );
  }

  getSchedule(id: string): Promise<Schedule> {
    return this.api.requestJSON<Schedule>(this.api.url('schedules', id));
  }

  createSchedule(request: ScheduleCreate): Promise<Schedule> {
    return this.api.requestJSON<Schedule>(this.api.url('schedules'), {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  updateSchedule(id: string, request: ScheduleUpdate): Promise<Schedule> {
    return this.api.requestJSON<Schedule>(this.api.url('schedules', id), {
      method: 'PATCH',
      body: JSON.stringify(request)
    });
  }

  async deleteSchedule(id: string, deleteRuns: boolean): Promise<void> {
    await this.api.request(
      this.api.url('schedules', id) +
        queryString({ delete_runs: deleteRuns ? 'true' : null }),
      { method: 'DELETE' }
    );
  }

  pauseSchedule(id: string): Promise<Schedule> {
    return this.api.requestJSON<Schedule>(
      this.api.url('schedules', id, 'pause'),
      { method: 'POST', body: '{}' }
    );
  }

  resumeSchedule(id: string): Promise<Schedule> {
    return this.api.requestJSON<Schedule>(
      this.api.url('schedules', id, 'resume'),
      { method: 'POST', body: '{}' }
    );
  }

  runScheduleNow(id: string, request: ScheduleRunNow): Promise<Job> {
    return this.api.requestJSON<Job>(this.api.url('schedules', id, 'run'), {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  async listFirings(id: string, limit = 20): Promise<Firing[]> {
    const list = await this.api.requestJSON<FiringList>(
      this.api.url('schedules', id, 'firings') + queryString({ limit })
    );
    return list.items;
  }

  previewCron(cron: string, timezone: string): Promise<CronPreview> {
    return this.api.requestJSON<CronPreview>(
      this.api.url('schedules', 'preview') + queryString({ cron, timezone })
    );
  }

  listJobs(query: JobQuery): Promise<JobPage> {
    return this.api.requestJSON<JobPage>(
      this.api.url('jobs') + jobQueryString(query)
    );
  }
}
