/**
 * Test data shaped like the server's responses.
 */
import { ExecutorCapabilities, ServerInfo } from '../api';
import { summaryOf } from '../jobs/model';
import { Job, JobPage, JobStatus, JobSummary } from '../jobs/types';
import { ProfileView, Sandbox } from '../sandboxes/types';

const GI = 2 ** 30;

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

/** What an executor supports: everything but GPUs, two jobs at once. */
export function makeExecutor(
  name = 'local',
  overrides: Partial<ExecutorCapabilities> = {}
): ExecutorCapabilities {
  return {
    name,
    cancel: true,
    logs: true,
    follow_logs: true,
    progress: true,
    gpus: false,
    max_concurrent_jobs: 2,
    profiles: false,
    ...overrides
  };
}

/**
 * The server's info: its executor, the default, and those a job may name
 * (`executors`, the default first; just the default unless given).
 */
export function makeInfo(overrides: Partial<ServerInfo> = {}): ServerInfo {
  const executor = overrides.executor ?? makeExecutor();
  return {
    version: '0.2.0',
    user: 'alice',
    jobs_dir: 'jobs',
    root_dir: '/srv',
    ...overrides,
    executor,
    executors: overrides.executors ?? [executor]
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

/** A ready sandbox of the "gpu-small" profile, holding GPU 0 (a T4). */
export function makeSandbox(overrides: Partial<Sandbox> = {}): Sandbox {
  return {
    id: 'abc123def456',
    profile: 'gpu-small',
    owner: 'alice',
    team: null,
    status: 'ready',
    resources: { cpus: 1, memory_bytes: 2 * GI, gpus: 1, gpu_type: 't4' },
    devices: [{ index: 0, uuid: null, type: 't4', memory_bytes: 16 * GI }],
    provider: 'local',
    kernel_name: 'dataops-sandbox-abc123def456',
    display_name: 'Sandbox gpu-small abc123 (1 CPU, 2Gi, 1× t4)',
    workdir: '/data/sandboxes/abc123def456/work',
    limits: null,
    env: {},
    steps: [],
    progress: 1,
    kernels: [],
    usage: {
      cpu_seconds: 0,
      gpu_seconds: 0,
      peak_memory_bytes: 0,
      wall_seconds: 10
    },
    idle_timeout: 3600,
    max_lifetime: 0,
    created_at: 1700000000,
    ready_at: 1700000001,
    stopped_at: null,
    last_activity_at: 1700000001,
    idle_stop_at: 1700003601,
    expires_at: null,
    warning: null,
    stop_reason: null,
    error: null,
    job_id: null,
    ...overrides
  };
}

/** A profile as the caller sees it: "local", 1 CPU and 2Gi, available. */
export function makeProfileView(
  name = 'local',
  overrides: Partial<Omit<ProfileView, 'profile'>> & {
    profile?: Partial<ProfileView['profile']>;
  } = {}
): ProfileView {
  const { profile, ...rest } = overrides;
  return {
    profile: {
      name,
      description: '',
      cpus: 1,
      memory_bytes: 2 * GI,
      gpus: 0,
      gpu_type: null,
      environment: '',
      image: null,
      packages: [],
      tools: [],
      data: [],
      env: {},
      secrets: {},
      idle_timeout: 3600,
      max_lifetime: 0,
      node_selector: {},
      tolerations: [],
      affinity: {},
      provider: null,
      ...profile
    },
    available: true,
    reason: null,
    where: 'local',
    fields: [],
    quotas: {},
    gpus_free: 0,
    provider: 'local',
    providers: [],
    ...rest
  };
}
