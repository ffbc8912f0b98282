import {
  DataOpsApiError,
  IDataOpsClient,
  IJob,
  IJobList,
  IJobQuery,
  JOB_EVENT_SCHEMA_ID
} from '../api';
import { DataOpsModel, parseJobEvent } from '../model';
import { makeJob, makeList } from './fixtures';

/** A client that serves a fixed set of jobs and records the list queries. */
class FakeClient implements IDataOpsClient {
  jobs: IJob[] = [];
  queries: Partial<IJobQuery>[] = [];
  failNext: DataOpsApiError | null = null;

  async listJobs(query: Partial<IJobQuery>): Promise<IJobList> {
    this.queries.push(query);
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    let jobs = this.jobs;
    if (query.status && query.status.length) {
      jobs = jobs.filter(job => query.status!.includes(job.status));
    }
    if (query.notebook) {
      jobs = jobs.filter(job => job.notebook_path.includes(query.notebook!));
    }
    const offset = query.offset ?? 0;
    const limit = query.limit ?? 50;
    return makeList(jobs.slice(offset, offset + limit), {
      total: jobs.length,
      offset,
      limit,
      counts: makeList(this.jobs).counts
    });
  }
  async getJob(id: string): Promise<IJob> {
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
  async createJob(): Promise<IJob> {
    const job = makeJob({ id: `job-${this.jobs.length + 1}` });
    this.jobs = [job, ...this.jobs];
    return job;
  }
  async cancelJob(id: string): Promise<IJob> {
    const job = { ...(await this.getJob(id)), status: 'cancelled' as const };
    this.set(job);
    return job;
  }
  async rerunJob(id: string): Promise<IJob> {
    const job = makeJob({ id: `${id}-rerun`, rerun_of: id });
    this.jobs = [job, ...this.jobs];
    return job;
  }
  async deleteJob(id: string): Promise<void> {
    this.jobs = this.jobs.filter(job => job.id !== id);
  }
  async getLogs(): Promise<string> {
    return '';
  }
  async getHtml(): Promise<string> {
    return '';
  }
  async getNotebookParameters(): Promise<any> {
    return null;
  }
  async getInfo(): Promise<any> {
    return null;
  }
  set(job: IJob): void {
    this.jobs = this.jobs.map(item => (item.id === job.id ? job : item));
  }
}

function event(data: object) {
  return { schema_id: JOB_EVENT_SCHEMA_ID, ...data } as any;
}

const flush = () => new Promise(resolve => setTimeout(resolve, 5));

function setup(jobs: IJob[]) {
  const client = new FakeClient();
  client.jobs = jobs;
  const model = new DataOpsModel({ client, poll: false, refreshDelay: 0 });
  const finished: IJob[] = [];
  model.jobFinished.connect((_, job) => finished.push(job));
  return { client, model, finished };
}

describe('parseJobEvent', () => {
  it('reads DataOps job events and ignores others', () => {
    expect(
      parseJobEvent(
        event({
          action: 'updated',
          job_id: 'j',
          status: 'running',
          cells_completed: 2,
          cells_total: 5
        })
      )
    ).toEqual({
      action: 'updated',
      job_id: 'j',
      status: 'running',
      cells_completed: 2,
      cells_total: 5
    });
    expect(
      parseJobEvent({
        schema_id:
          'https://events.jupyter.org/jupyter_server/contents_service/v1',
        action: 'save'
      } as any)
    ).toBeNull();
    expect(
      parseJobEvent(event({ action: 'exploded', job_id: 'j' }))
    ).toBeNull();
  });
});

describe('DataOpsModel', () => {
  it('loads the first page with counts', async () => {
    const { model } = setup([
      makeJob({ id: 'a', status: 'completed' }),
      makeJob({ id: 'b', status: 'failed' })
    ]);
    const changed = jest.fn();
    model.changed.connect(changed);
    await model.refresh();
    expect(model.ready).toBe(true);
    expect(model.jobs.map(job => job.id)).toEqual(['a', 'b']);
    expect(model.total).toBe(2);
    expect(model.counts).toEqual({
      queued: 0,
      running: 0,
      completed: 1,
      failed: 1,
      cancelled: 0
    });
    expect(changed).toHaveBeenCalled();
  });

  it('filters by status and notebook, going back to page 1', async () => {
    const { model, client } = setup([
      makeJob({ id: 'a', status: 'completed', notebook_path: 'x/train.ipynb' }),
      makeJob({ id: 'b', status: 'failed', notebook_path: 'x/eval.ipynb' })
    ]);
    model.setQuery({ offset: 10 });
    model.setQuery({ status: ['failed'] });
    await flush();
    expect(model.query.offset).toBe(0);
    expect(client.queries.at(-1)).toMatchObject({
      status: ['failed'],
      offset: 0
    });
    expect(model.jobs.map(job => job.id)).toEqual(['b']);
    model.setQuery({ status: [], notebook: 'train' });
    await flush();
    expect(model.jobs.map(job => job.id)).toEqual(['a']);
  });

  it('pages through thousands of jobs', async () => {
    const jobs = Array.from({ length: 2345 }, (_, i) =>
      makeJob({ id: `job-${i}`, status: 'completed' })
    );
    const { model, client } = setup(jobs);
    model.setQuery({ limit: 100 });
    await flush();
    expect(model.page).toBe(1);
    expect(model.pageCount).toBe(24);
    model.setPage(3);
    await flush();
    expect(client.queries.at(-1)).toMatchObject({ offset: 200, limit: 100 });
    expect(model.page).toBe(3);
    expect(model.jobs[0].id).toBe('job-200');
    model.setPage(999);
    await flush();
    expect(model.page).toBe(24);
    expect(model.jobs).toHaveLength(45);
  });

  it('goes to the last page when its page empties', async () => {
    const jobs = Array.from({ length: 30 }, (_, i) =>
      makeJob({ id: `job-${i}`, status: 'completed' })
    );
    const { model, client } = setup(jobs);
    model.setQuery({ limit: 10 });
    await flush();
    model.setPage(3);
    await flush();
    client.jobs = client.jobs.slice(0, 15);
    await model.refresh();
    await flush();
    expect(model.page).toBe(2);
    expect(model.jobs.map(job => job.id)[0]).toBe('job-10');
  });

  it('keeps an error with its hint, then clears it', async () => {
    const { model, client } = setup([makeJob()]);
    client.failNext = new DataOpsApiError({
      kind: 'backend_unavailable',
      status: 503,
      message: 'The executor is down.',
      hint: 'Restart the server.'
    });
    await model.refresh();
    expect(model.error?.message).toBe('The executor is down.');
    expect(model.error?.hint).toBe('Restart the server.');
    expect(model.loading).toBe(false);
    await model.refresh();
    expect(model.error).toBeNull();
  });

  it('patches progress from events without refetching the job', async () => {
    const { model, client } = setup([makeJob({ id: 'a', status: 'queued' })]);
    await model.refresh();
    const getJob = jest.spyOn(client, 'getJob');
    model.handleEvent(
      event({
        action: 'updated',
        job_id: 'a',
        status: 'running',
        cells_completed: 2,
        cells_total: 4
      })
    );
    expect(model.jobs[0].status).toBe('running');
    expect(model.jobs[0].progress.cells_completed).toBe(2);
    expect(model.jobs[0].progress.cells_total).toBe(4);
    expect(getJob).not.toHaveBeenCalled();
  });

  it('announces a finish it saw happen, with the whole job', async () => {
    const { model, client, finished } = setup([
      makeJob({ id: 'a', status: 'running' })
    ]);
    await model.refresh();
    client.set(
      makeJob({
        id: 'a',
        status: 'failed',
        error: {
          cell_index: 1,
          ename: 'ValueError',
          evalue: 'bad',
          traceback: []
        }
      })
    );
    model.handleEvent(
      event({
        action: 'updated',
        job_id: 'a',
        status: 'failed',
        cells_completed: 1,
        cells_total: 4
      })
    );
    await flush();
    expect(finished).toHaveLength(1);
    expect(finished[0].error?.ename).toBe('ValueError');
    expect(model.jobs[0].status).toBe('failed');
    // A later poll showing the same state announces nothing more.
    await model.refresh();
    expect(finished).toHaveLength(1);
  });

  it('does not announce jobs that were already finished when first seen', async () => {
    const { model, finished } = setup([
      makeJob({ id: 'a', status: 'completed' })
    ]);
    await model.refresh();
    model.handleEvent(
      event({
        action: 'updated',
        job_id: 'a',
        status: 'completed',
        cells_completed: 4,
        cells_total: 4
      })
    );
    await flush();
    expect(finished).toHaveLength(0);
  });

  it('announces a finish seen by the fallback poll', async () => {
    const { model, client, finished } = setup([
      makeJob({ id: 'a', status: 'running' })
    ]);
    await model.refresh();
    client.set(makeJob({ id: 'a', status: 'completed' }));
    await model.refresh();
    expect(finished.map(job => job.status)).toEqual(['completed']);
  });

  it('follows a job created elsewhere from its events', async () => {
    const { model, client, finished } = setup([]);
    await model.refresh();
    const job = makeJob({ id: 'new', status: 'queued' });
    client.jobs = [job];
    model.handleEvent(
      event({
        action: 'created',
        job_id: 'new',
        status: 'queued',
        cells_completed: 0,
        cells_total: 0
      })
    );
    await flush();
    expect(model.jobs.map(item => item.id)).toEqual(['new']);
    client.set({ ...job, status: 'completed' });
    model.handleEvent(
      event({
        action: 'updated',
        job_id: 'new',
        status: 'completed',
        cells_completed: 3,
        cells_total: 3
      })
    );
    await flush();
    expect(finished.map(item => item.id)).toEqual(['new']);
  });

  it('removes deleted jobs and refetches', async () => {
    const { model, client } = setup([
      makeJob({ id: 'a', status: 'completed' }),
      makeJob({ id: 'b', status: 'completed' })
    ]);
    await model.refresh();
    client.jobs = client.jobs.filter(job => job.id !== 'a');
    model.handleEvent(
      event({
        action: 'deleted',
        job_id: 'a',
        status: 'completed',
        cells_completed: 0,
        cells_total: 0
      })
    );
    expect(model.jobs.map(job => job.id)).toEqual(['b']);
    await flush();
    expect(model.total).toBe(1);
  });

  it('creates, cancels, re-runs and deletes through the client', async () => {
    const { model, client } = setup([]);
    await model.refresh();
    const job = await model.createJob({
      notebook_path: 'demo/train.ipynb',
      parameters: {},
      kernel_name: null,
      name: null,
      timeout_seconds: null,
      max_retries: 0
    });
    await flush();
    expect(model.jobs.map(item => item.id)).toEqual([job.id]);
    const cancelled = await model.cancelJob(job.id);
    expect(cancelled.status).toBe('cancelled');
    expect(model.getJob(job.id)?.status).toBe('cancelled');
    const rerun = await model.rerunJob(job.id, {
      parameters: null,
      kernel_name: null
    });
    expect(rerun.rerun_of).toBe(job.id);
    await model.deleteJob(job.id);
    await flush();
    expect(client.jobs.map(item => item.id)).toEqual([rerun.id]);
    expect(model.jobs.map(item => item.id)).toEqual([rerun.id]);
  });

  it('forgets a job the server no longer has', async () => {
    const { model, client } = setup([makeJob({ id: 'a' })]);
    await model.refresh();
    client.jobs = [];
    expect(await model.refreshJob('a')).toBeNull();
    expect(model.jobs).toHaveLength(0);
  });

  it('ignores answers to outdated queries', async () => {
    const { model, client } = setup([
      makeJob({ id: 'a', status: 'completed' }),
      makeJob({ id: 'b', status: 'failed' })
    ]);
    let release: () => void = () => undefined;
    const slow = new Promise<void>(resolve => (release = resolve));
    const original = client.listJobs.bind(client);
    jest.spyOn(client, 'listJobs').mockImplementationOnce(async query => {
      await slow;
      return original(query);
    });
    const first = model.refresh();
    model.setQuery({ status: ['failed'] });
    await flush();
    release();
    await first;
    expect(model.jobs.map(job => job.id)).toEqual(['b']);
  });

  it('stops everything on dispose', async () => {
    const { model } = setup([]);
    model.dispose();
    expect(model.isDisposed).toBe(true);
    model.handleEvent(
      event({ action: 'created', job_id: 'x', status: 'queued' })
    );
    await model.refresh();
    expect(model.ready).toBe(false);
  });
});

describe('job actions', () => {
  it('keeps actions by rank, replaces by id and withdraws on dispose', () => {
    const model = new DataOpsModel({ client: new FakeClient(), poll: false });
    const changed = jest.fn();
    model.jobActionsChanged.connect(changed);
    const base = { command: 'x', label: 'X' };
    const late = model.addJobAction({ ...base, id: 'late', rank: 50 });
    model.addJobAction({ ...base, id: 'early', rank: 10 });
    model.addJobAction({ ...base, id: 'early', rank: 5, label: 'Early' });
    expect(model.jobActions.map(action => action.id)).toEqual([
      'early',
      'late'
    ]);
    expect(model.jobActions[0].label).toBe('Early');
    late.dispose();
    expect(model.jobActions.map(action => action.id)).toEqual(['early']);
    expect(changed).toHaveBeenCalledTimes(4);
  });
});

describe('isSubmittedHere', () => {
  it('knows the jobs this session created or re-ran', async () => {
    const client = new FakeClient();
    client.jobs = [makeJob({ id: 'elsewhere', status: 'completed' })];
    const model = new DataOpsModel({ client, poll: false, refreshDelay: 0 });
    const job = await model.createJob({
      notebook_path: 'demo/train.ipynb',
      parameters: {},
      kernel_name: null,
      name: null,
      timeout_seconds: null,
      max_retries: 0
    });
    const rerun = await model.rerunJob('elsewhere', {
      parameters: null,
      kernel_name: null
    });
    expect(model.isSubmittedHere(job.id)).toBe(true);
    expect(model.isSubmittedHere(rerun.id)).toBe(true);
    expect(model.isSubmittedHere('elsewhere')).toBe(false);
    model.dispose();
  });
});
