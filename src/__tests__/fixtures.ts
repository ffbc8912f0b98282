/**
 * Test data shaped like the server's responses.
 */
import { summaryOf } from '../jobs/model';
import { Job, JobPage, JobStatus, JobSummary } from '../jobs/types';

export function makeJob(overrides: Partial<Job> = {}): Job {
  return {
    id: 'job-1',
    name: 'train',
    notebook_path: 'demo/train.ipynb',
    root_dir: '/srv/notebooks',
    status: 'queued',
    parameters: { alpha: 0.5 },
    kernel_name: 'python3',
    executor: 'local',
    owner: 'alice',
    created_at: 1700000000,
    started_at: null,
    finished_at: null,
    updated_at: 1700000000,
    progress: { cells_completed: 0, cells_total: 4, current_cell: null },
    attempt: 1,
    max_retries: 0,
    timeout_seconds: null,
    cancel_requested: false,
    pending_reason: null,
    output_path: null,
    html_path: null,
    log_path: null,
    error: null,
    warnings: [],
    usage: null,
    tags: [],
    rerun_of: null,
    schedule_id: null,
    schedule_version: null,
    due_at: null,
    snapshot_id: null,
    ...overrides
  };
}

export function makeSummary(overrides: Partial<Job> = {}): JobSummary {
  return summaryOf(makeJob(overrides));
}

export function countsOf(jobs: ReadonlyArray<{ status: JobStatus }>): {
  [status: string]: number;
} {
  const counts: { [status: string]: number } = {
    queued: 0,
    running: 0,
    completed: 0,
    failed: 0,
    cancelled: 0
  };
  for (const job of jobs) {
    counts[job.status]++;
  }
  return counts;
}

export function makePage(
  items: JobSummary[],
  overrides: Partial<JobPage> = {}
): JobPage {
  return {
    items,
    next_cursor: null,
    prev_cursor: null,
    total: items.length,
    total_is_estimate: false,
    counts: countsOf(items),
    seq: 1,
    ...overrides
  };
}
