/**
 * The job routes of the DataOps REST API (`/dataops/api/jobs`, `/notebooks`).
 */
import { DataOpsClient, queryString, ServerInfo } from '../api';
import {
  Job,
  JobCreate,
  JobLogs,
  JobPage,
  JobQuery,
  JobRerun,
  NotebookParameters
} from './types';

/** The job operations the frontend uses; tests give fakes of it. */
export interface IJobsClient {
  /** One page of job summaries. */
  listJobs(query: JobQuery): Promise<JobPage>;
  /** A job in full (parameters, warnings, traceback, paths). */
  getJob(id: string): Promise<Job>;
  createJob(request: JobCreate): Promise<Job>;
  cancelJob(id: string): Promise<Job>;
  rerunJob(id: string, request: JobRerun): Promise<Job>;
  deleteJob(id: string): Promise<void>;
  /** A chunk of the job's log from a byte offset. */
  getLogs(id: string, offset?: number): Promise<JobLogs>;
  /** The executed notebook as HTML. */
  getHtml(id: string): Promise<string>;
  getNotebookParameters(path: string): Promise<NotebookParameters>;
  getInfo(): Promise<ServerInfo>;
}

/**
 * The query string of a job list request: lists repeat their key and empty
 * filters are left out.
 */
export function jobQueryString(query: JobQuery): string {
  return queryString({
    id: query.id,
    status: query.status,
    notebook: query.notebook,
    schedule_id: query.schedule_id,
    sort: query.sort,
    order: query.order,
    limit: query.limit,
    cursor: query.cursor
  });
}

/** The job client, on the shared DataOps client. */
export class JobsClient implements IJobsClient {
  constructor(readonly api: DataOpsClient) {}

  listJobs(query: JobQuery): Promise<JobPage> {
    return this.api.requestJSON<JobPage>(
      this.api.url('jobs') + jobQueryString(query)
    );
  }

  getJob(id: string): Promise<Job> {
    return this.api.requestJSON<Job>(this.api.url('jobs', id));
  }

  createJob(request: JobCreate): Promise<Job> {
    return this.api.requestJSON<Job>(this.api.url('jobs'), {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  cancelJob(id: string): Promise<Job> {
    return this.api.requestJSON<Job>(this.api.url('jobs', id, 'cancel'), {
      method: 'POST',
      body: '{}'
    });
  }

  rerunJob(id: string, request: JobRerun): Promise<Job> {
    return this.api.requestJSON<Job>(this.api.url('jobs', id, 'rerun'), {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  async deleteJob(id: string): Promise<void> {
    await this.api.request(this.api.url('jobs', id), { method: 'DELETE' });
  }

  getLogs(id: string, offset = 0): Promise<JobLogs> {
    return this.api.requestJSON<JobLogs>(
      this.api.url('jobs', id, 'logs') + queryString({ offset: offset || null })
    );
  }

  async getHtml(id: string): Promise<string> {
    const response = await this.api.request(this.api.url('jobs', id, 'html'));
    return response.text();
  }

  getNotebookParameters(path: string): Promise<NotebookParameters> {
    return this.api.requestJSON<NotebookParameters>(
      this.api.url('notebooks', 'parameters') + queryString({ path })
    );
  }

  getInfo(): Promise<ServerInfo> {
    return this.api.getInfo();
  }
}
