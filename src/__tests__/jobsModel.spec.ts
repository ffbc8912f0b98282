import {
  jobEventMovesList,
  JobsModel,
  patchJob,
  summaryOf,
  withSummary
} from '../jobs/model';
import { Job, JOB_EVENT_SCHEMA_ID } from '../jobs/types';
import { FakeJobsClient as FakeClient } from './fakeJobsClient';
import { makeExecutor, makeInfo, makeJob, makeSummary } from './fixtures';

function event(data: object) {
  return { schema_id: JOB_EVENT_SCHEMA_ID, ...data } as any;
}

const flush = (ms = 10) => new Promise(resolve => setTimeout(resolve, ms));

function setup(jobs: Job[]) {
  const client = new FakeClient();
  client.jobs = jobs;
  const model = new JobsModel({ client, poll: false, refreshDelay: 0 });
  const finished: Job[] = [];
  model.jobFinished.connect((_, job) => finished.push(job));
  return { client, model, finished };
}

describe('patchJob', () => {
  it('takes the status and progress of a job event', () => {
    const summary = makeSummary({ status: 'queued' });
    const patched = patchJob(summary, {
      action: 'updated',
      id: summary.id,
      seq: 2,
      status: 'running',
      cells_completed: 2,
      cells_total: 4
    });
    expect(patched.status).toBe('running');
    expect(patched.progress).toEqual({
      cells_completed: 2,
      cells_total: 4,
      current_cell: null
    });
  });

  it('keeps what the event does not say, or says wrong', () => {
    const summary = makeSummary({ status: 'running' });
    const patched = patchJob(summary, {
      action: 'updated',
      id: summary.id,
      seq: 2,
      status: 'exploded',
      cells_total: 0
    });
    expect(patched.status).toBe('running');
    expect(patched.progress.cells_total).toBe(4);
  });
});

describe('jobEventMovesList', () => {
  it('refetches the page for a status change, not for progress', () => {
    const previous = makeSummary({ status: 'running' });
    const base = { id: previous.id, seq: 2 };
    expect(
      jobEventMovesList(
        { ...base, action: 'updated', status: 'running', cells_completed: 3 },
        previous
      )
    ).toBe(false);
    expect(
      jobEventMovesList(
        { ...base, action: 'updated', status: 'completed' },
        previous
      )
    ).toBe(true);
    expect(jobEventMovesList({ ...base, action: 'created' }, previous)).toBe(
      true
    );
  });
});

describe('JobsModel', () => {
  it('lists job summaries with the default query', async () => {
    const { model, client } = setup([
      makeJob({ id: 'a', status: 'completed' }),
      makeJob({ id: 'b', status: 'failed' })
    ]);
    await model.refresh();
    expect(model.collection.items.map(job => job.id)).toEqual(['a', 'b']);
    expect(client.queries[0]).toEqual({
      status: [],
      notebook: null,
      sort: 'created_at',
      order: 'desc',
      limit: 25
    });
    expect(model.collection.counts).toMatchObject({ completed: 1, failed: 1 });
  });

  it('announces a finish it saw happen, once, with the full job', async () => {
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
          traceback: ['Traceback', 'ValueError: bad']
        }
      })
    );
    model.handleEvent(
      event({ action: 'updated', id: 'a', seq: client.seq, status: 'failed' })
    );
    await flush();
    expect(finished).toHaveLength(1);
    expect(finished[0].error?.traceback).toHaveLength(2);
    expect(model.collection.items[0].status).toBe('failed');
    // Later polls showing the same state announce nothing more.
    await model.refresh();
    expect(finished).toHaveLength(1);
  });

  it('does not announce jobs that were already finished when first seen', async () => {
    const { model, client, finished } = setup([
      makeJob({ id: 'a', status: 'completed' })
    ]);
    await model.refresh();
    model.handleEvent(
      event({
        action: 'updated',
        id: 'a',
        seq: client.seq + 1,
        status: 'completed'
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
    await flush();
    expect(finished.map(job => job.status)).toEqual(['completed']);
  });

  it('follows a job created elsewhere while the filters hide it', async () => {
    const { model, client, finished } = setup([
      makeJob({ id: 'old', status: 'failed' })
    ]);
    model.collection.setQuery({ status: ['failed'] });
    await flush();
    const seq = client.add(makeJob({ id: 'new', status: 'queued' }));
    model.handleEvent(
      event({ action: 'created', id: 'new', seq, status: 'queued' })
    );
    await flush();
    // Not on the page, but known: it can be selected and followed.
    expect(model.collection.has('new')).toBe(false);
    expect(model.getSummary('new')?.status).toBe('queued');
    client.set(makeJob({ id: 'new', status: 'completed' }));
    model.handleEvent(
      event({
        action: 'updated',
        id: 'new',
        seq: client.seq,
        status: 'completed'
      })
    );
    await flush();
    expect(finished.map(job => job.id)).toEqual(['new']);
  });

  it('keeps a fetched job live and fetches it again when its status changes', async () => {
    const { model, client } = setup([makeJob({ id: 'a', status: 'queued' })]);
    await model.refresh();
    const job = await model.fetchJob('a');
    expect(job?.parameters).toEqual({ alpha: 0.5 });
    const changed: Job[] = [];
    model.jobChanged.connect((_, item) => changed.push(item));
    client.set(
      makeJob({
        id: 'a',
        status: 'running',
        started_at: 1700000010,
        output_path: 'jobs/a/train.ipynb'
      })
    );
    model.handleEvent(
      event({
        action: 'updated',
        id: 'a',
        seq: client.seq,
        status: 'running',
        cells_completed: 1
      })
    );
    await flush();
    expect(model.getJob('a')?.output_path).toBe('jobs/a/train.ipynb');
    expect(changed.at(-1)?.status).toBe('running');
    // Progress alone patches the full job without a request.
    const gets = client.gets.length;
    model.handleEvent(
      event({
        action: 'updated',
        id: 'a',
        seq: client.seq + 1,
        status: 'running',
        cells_completed: 3
      })
    );
    expect(model.getJob('a')?.progress.cells_completed).toBe(3);
    expect(client.gets.length).toBe(gets);
  });

  it('keeps a failure an event reported over a job fetched before it', async () => {
    const { model, client, finished } = setup([
      makeJob({ id: 'a', status: 'running' })
    ]);
    await model.refresh();
    await model.fetchJob('a');
    // The next GET answers with the job as it was when the request left.
    const running = client.jobs[0];
    const getJob = client.getJob.bind(client);
    let release: () => void = () => undefined;
    const held = new Promise<void>(resolve => (release = resolve));
    jest.spyOn(client, 'getJob').mockImplementationOnce(async () => {
      await held;
      return running;
    });
    const pending = model.fetchJob('a');
    client.set(
      makeJob({
        id: 'a',
        status: 'failed',
        error: {
          cell_index: 1,
          ename: 'ValueError',
          evalue: 'bad',
          traceback: ['ValueError: bad']
        }
      })
    );
    model.handleEvent(
      event({ action: 'updated', id: 'a', seq: client.seq, status: 'failed' })
    );
    release();
    await pending;
    await flush();
    expect(model.getSummary('a')?.status).toBe('failed');
    expect(model.collection.items[0].status).toBe('failed');
    // The stale answer was asked again: the full job has its traceback.
    expect(model.getJob('a')?.error?.traceback).toEqual(['ValueError: bad']);
    expect(finished.map(job => job.status)).toEqual(['failed']);
    expect(getJob).toBeDefined();
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
      max_retries: null
    });
    // Findable at once, before any list shows it.
    expect(model.getSummary(job.id)?.id).toBe(job.id);
    await flush();
    expect(model.collection.items.map(item => item.id)).toEqual([job.id]);
    const cancelled = await model.cancelJob(job.id);
    expect(cancelled.cancel_requested).toBe(true);
    expect(model.getSummary(job.id)?.cancel_requested).toBe(true);
    const rerun = await model.rerunJob(job.id, {
      parameters: null,
      kernel_name: null
    });
    expect(rerun.rerun_of).toBe(job.id);
    await model.deleteJob(job.id);
    expect(client.jobs.map(item => item.id)).toEqual([rerun.id]);
    expect(model.collection.items.map(item => item.id)).toEqual([rerun.id]);
    expect(model.getSummary(job.id)).toBeUndefined();
    expect(model.isSubmittedHere(rerun.id)).toBe(true);
  });

  it('forgets a job the server no longer has', async () => {
    const { model, client } = setup([makeJob({ id: 'a' })]);
    await model.refresh();
    client.jobs = [];
    expect(await model.fetchJob('a')).toBeNull();
    expect(model.collection.items).toHaveLength(0);
    expect(model.getSummary('a')).toBeUndefined();
  });

  it('knows which jobs this session submitted', async () => {
    const { model, client } = setup([
      makeJob({ id: 'elsewhere', status: 'completed' })
    ]);
    const job = await model.createJob({ notebook_path: 'demo/train.ipynb' });
    expect(model.isSubmittedHere(job.id)).toBe(true);
    expect(model.isSubmittedHere('elsewhere')).toBe(false);
    expect(client.jobs).toHaveLength(2);
    model.dispose();
  });

  it('assumes every capability but GPUs until the server tells', async () => {
    const { model, client } = setup([]);
    expect(model.capabilities).toMatchObject({
      cancel: true,
      logs: true,
      follow_logs: true,
      progress: true,
      gpus: false
    });
    expect(await model.loadInfo()).toBeNull();
    client.info = makeInfo({
      executor: makeExecutor('batch', {
        cancel: false,
        follow_logs: false,
        progress: false,
        gpus: true,
        max_concurrent_jobs: 4
      })
    });
    const seen = jest.fn();
    model.infoChanged.connect(seen);
    await model.loadInfo();
    expect(seen).toHaveBeenCalledTimes(1);
    expect(model.capabilities.cancel).toBe(false);
    expect(model.capabilities.follow_logs).toBe(false);
    expect(model.info?.user).toBe('alice');
  });
});

describe('job actions', () => {
  it('keeps actions by rank, replaces by id and withdraws on dispose', () => {
    const model = new JobsModel({ client: new FakeClient(), poll: false });
    const changed = jest.fn();
    model.actionsChanged.connect(changed);
    const base = { command: 'x', label: 'X' };
    const late = model.addAction({ ...base, id: 'late', rank: 50 });
    model.addAction({ ...base, id: 'early', rank: 10 });
    model.addAction({ ...base, id: 'early', rank: 5, label: 'Early' });
    expect(model.actions.map(action => action.id)).toEqual(['early', 'late']);
    expect(model.actions[0].label).toBe('Early');
    late.dispose();
    expect(model.actions.map(action => action.id)).toEqual(['early']);
    expect(changed).toHaveBeenCalledTimes(4);
    model.dispose();
  });
});

describe('summaryOf and withSummary', () => {
  it('make a list summary of a job, and a job live from a summary', () => {
    const job = makeJob({
      status: 'failed',
      warnings: ['a', 'b'],
      error: {
        cell_index: 2,
        ename: 'KeyError',
        evalue: 'x'.repeat(400),
        traceback: ['tb']
      }
    });
    const summary = summaryOf(job);
    expect(summary.warning_count).toBe(2);
    expect(summary.error).toEqual({
      cell_index: 2,
      ename: 'KeyError',
      evalue: 'x'.repeat(300)
    });
    expect('parameters' in summary).toBe(false);
    const live = withSummary(job, {
      ...summary,
      status: 'queued',
      attempt: 2,
      pending_reason: 'waiting for a slot'
    });
    expect(live.status).toBe('queued');
    expect(live.attempt).toBe(2);
    expect(live.pending_reason).toBe('waiting for a slot');
    expect(live.parameters).toEqual(job.parameters);
  });
});
