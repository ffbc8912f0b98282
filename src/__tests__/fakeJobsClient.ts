/**
 * A job server in memory for the model and view tests.
 */
import { DataOpsApiError, ServerInfo } from '../api';
import { IJobsClient } from '../jobs/client';
import { summaryOf } from '../jobs/model';
import { Job, JobLogs, JobPage, JobQuery } from '../jobs/types';
import { countsOf, makeJob } from './fixtures';

/** A job server in memory: every change gets a seq, as the store's change log does. */
export class FakeJobsClient implements IJobsClient {
  jobs: Job[] = [];
  seq = 1;
  queries: JobQuery[] = [];
  gets: string[] = [];
  info: ServerInfo | null = null;
  /** An estimated total to answer instead of the real one. */
  total: number | null = null;

  async listJobs(query: JobQuery): Promise<JobPage> {
    this.queries.push(query);
    let jobs = this.jobs;
    if (query.id?.length) {
      jobs = jobs.filter(job => query.id!.includes(job.id));
    }
    if (query.status?.length) {
      jobs = jobs.filter(job => query.status!.includes(job.status));
    }
    if (query.notebook) {
      jobs = jobs.filter(job => job.notebook_path === query.notebook);
    }
    if (query.schedule_id) {
      jobs = jobs.filter(job => job.schedule_id === query.schedule_id);
    }
    const items = jobs.slice(0, query.limit ?? 50).map(summaryOf);
    return {
      items,
      next_cursor:
        this.total !== null && this.total > items.length ? 'more' : null,
      prev_cursor: null,
      total: this.total ?? jobs.length,
      total_is_estimate: this.total !== null,
      counts: countsOf(this.jobs),
      seq: this.seq
    };
  }
  async getJob(id: string): Promise<Job> {
    this.gets.push(id);
    const job = this.jobs.find(item => item.id === id);
    if (!job) {
      throw new DataOpsApiError({
        kind: 'not_found',
        status: 404,
        message: `No job ${id}`
      });
    }
    return job;
  }
  async createJob(): Promise<Job> {
    const job = makeJob({ id: `job-${this.jobs.length + 1}` });
    this.jobs = [job, ...this.jobs];
    this.seq++;
    return job;
  }
  async cancelJob(id: string): Promise<Job> {
    return this.set({ ...(await this.getJob(id)), cancel_requested: true });
  }
  async rerunJob(id: string): Promise<Job> {
    const job = makeJob({ id: `${id}-rerun`, rerun_of: id });
    this.jobs = [job, ...this.jobs];
    this.seq++;
    return job;
  }
  async deleteJob(id: string): Promise<void> {
    this.jobs = this.jobs.filter(job => job.id !== id);
    this.seq++;
  }
  async getLogs(): Promise<JobLogs> {
    return { logs: '', offset: 0, complete: true };
  }
  async getHtml(): Promise<string> {
    return '';
  }
  async getNotebookParameters(): Promise<any> {
    return null;
  }
  async getInfo(): Promise<ServerInfo> {
    if (!this.info) {
      throw new DataOpsApiError({ kind: 'network', status: 0, message: 'x' });
    }
    return this.info;
  }
  /** Change a job; returns the change's seq. */
  set(job: Job): Job {
    this.jobs = this.jobs.map(item => (item.id === job.id ? job : item));
    this.seq++;
    return job;
  }
  /** Add a job as another client (CLI, magic) would; returns the seq. */
  add(job: Job): number {
    this.jobs = [job, ...this.jobs];
    return ++this.seq;
  }
}
