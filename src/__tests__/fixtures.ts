/**
 * Test data shaped like the server's responses.
 */
import { IJob, IJobList, JobStatus } from '../api';

export function makeJob(overrides: Partial<IJob> = {}): IJob {
  return {
    id: 'job-1',
    name: 'train',
    notebook_path: 'demo/train.ipynb',
    root_dir: '/srv/notebooks',
    status: 'queued',
    parameters: { alpha: 0.5 },
    kernel_name: 'python3',
    executor: 'local',
    created_at: 1700000000,
    started_at: null,
    finished_at: null,
    updated_at: 1700000000,
    progress: { cells_completed: 0, cells_total: 4, current_cell: null },
    attempt: 1,
    max_retries: 0,
    timeout_seconds: null,
    cancel_requested: false,
    output_path: null,
    html_path: null,
    log_path: null,
    error: null,
    warnings: [],
    tags: [],
    rerun_of: null,
    ...overrides
  };
}

export function makeList(jobs: IJob[], overrides: Partial<IJobList> = {}) {
  const counts: { [status in JobStatus]: number } = {
    queued: 0,
    running: 0,
    completed: 0,
    failed: 0,
    cancelled: 0
  };
  for (const job of jobs) {
    counts[job.status]++;
  }
  return {
    jobs,
    total: jobs.length,
    offset: 0,
    limit: 25,
    counts,
    ...overrides
  };
}
