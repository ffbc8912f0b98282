import { JOB_EVENT_SCHEMA_ID } from '../jobs/types';
import {
  patchLastRun,
  scheduleSummaryOf,
  SchedulesModel
} from '../schedules/model';
import { SCHEDULE_EVENT_SCHEMA_ID } from '../schedules/types';
import { FakeSchedulesClient, makeSchedule } from './fakeSchedulesClient';
import { makeJob } from './fixtures';

const flush = (ms = 10) => new Promise(resolve => setTimeout(resolve, ms));

function scheduleEvent(data: object) {
  return { schema_id: SCHEDULE_EVENT_SCHEMA_ID, ...data } as any;
}

function jobEvent(data: object) {
  return { schema_id: JOB_EVENT_SCHEMA_ID, ...data } as any;
}

function setup() {
  const client = new FakeSchedulesClient();
  client.schedules = [
    makeSchedule({
      id: 's1',
      name: 'nightly',
      last_run: { job_id: 'j2', status: 'running', due_at: 1700000100 },
      recent: ['completed', 'failed', 'skipped', 'running']
    }),
    makeSchedule({
      id: 's2',
      name: 'weekly',
      status: 'paused',
      next_run_at: null
    })
  ];
  const model = new SchedulesModel({ client, poll: false, refreshDelay: 0 });
  return { client, model };
}

describe('patchLastRun', () => {
  it('moves the last run and the sparkline’s last bar to the new status', () => {
    const summary = scheduleSummaryOf(
      makeSchedule({
        last_run: { job_id: 'j', status: 'running', due_at: 1 },
        recent: ['completed', 'running']
      })
    );
    const patched = patchLastRun(summary, 'failed');
    expect(patched.last_run!.status).toBe('failed');
    expect(patched.recent).toEqual(['completed', 'failed']);
    expect(patchLastRun(patched, 'failed')).toBe(patched);
  });

  it('leaves the sparkline alone for a run now (no due time)', () => {
    const summary = scheduleSummaryOf(
      makeSchedule({
        last_run: { job_id: 'j', status: 'running', due_at: null },
        recent: ['completed', 'running']
      })
    );
    expect(patchLastRun(summary, 'completed').recent).toEqual([
      'completed',
      'running'
    ]);
  });
});

describe('SchedulesModel', () => {
  it('lists schedules with counts by status, through the collection', async () => {
    const { client, model } = setup();
    await model.refresh();
    expect(model.collection.items.map(item => item.id)).toEqual(['s1', 's2']);
    expect(model.collection.counts).toEqual({ active: 1, paused: 1 });
    expect(client.queries[0]).toMatchObject({
      sort: 'created_at',
      order: 'desc',
      limit: 25
    });
    model.dispose();
  });

  it('follows schedule events: status, next run and counts', async () => {
    const { client, model } = setup();
    await model.refresh();
    client.seq = 5;
    model.handleEvent(
      scheduleEvent({
        action: 'updated',
        id: 's1',
        seq: 5,
        status: 'paused',
        next_run_at: null
      })
    );
    const s1 = model.getSummary('s1')!;
    expect(s1.status).toBe('paused');
    expect(s1.next_run_at).toBeNull();
    expect(model.collection.counts).toEqual({ active: 0, paused: 2 });
    // An older event changes nothing.
    model.handleEvent(
      scheduleEvent({ action: 'updated', id: 's1', seq: 4, status: 'active' })
    );
    expect(model.getSummary('s1')!.status).toBe('paused');
    model.dispose();
  });

  it('follows a schedule’s last run from job events, then asks for the schedule', async () => {
    const { client, model } = setup();
    await model.refresh();
    const queries = client.queries.length;
    model.handleEvent(
      jobEvent({ action: 'updated', id: 'j2', seq: 7, status: 'failed' })
    );
    const s1 = model.getSummary('s1')!;
    expect(s1.last_run!.status).toBe('failed');
    expect(s1.recent).toEqual(['completed', 'failed', 'skipped', 'failed']);
    await flush(20);
    // The server's own outcomes are asked for, by id.
    expect(client.queries.slice(queries)).toContainEqual({
      id: ['s1'],
      limit: 1
    });
    // A job no schedule ran last changes nothing.
    model.handleEvent(
      jobEvent({ action: 'updated', id: 'other', seq: 8, status: 'failed' })
    );
    expect(model.getSummary('s1')!.last_run!.job_id).toBe('j2');
    model.dispose();
  });

  it('keeps full schedules live and refetches them when the definition moves', async () => {
    const { client, model } = setup();
    await model.refresh();
    const full = await model.fetchSchedule('s1');
    expect(full!.next_runs).toHaveLength(5);
    const changed: string[] = [];
    model.scheduleChanged.connect((_, schedule) =>
      changed.push(`${schedule.id}:${schedule.version}`)
    );
    client.set({ ...client.schedules[0], version: 2, cron: '0 7 * * *' });
    model.handleEvent(
      scheduleEvent({ action: 'updated', id: 's1', seq: client.seq })
    );
    await flush(30);
    expect(model.getSchedule('s1')!.cron).toBe('0 7 * * *');
    expect(changed).toContain('s1:2');
    model.dispose();
  });

  it('pauses, resumes, edits, runs now and deletes', async () => {
    const { client, model } = setup();
    await model.refresh();
    await model.pauseSchedule('s1');
    expect(model.getSummary('s1')!.status).toBe('paused');
    await model.resumeSchedule('s1');
    expect(model.getSummary('s1')!.status).toBe('active');
    const edited = await model.updateSchedule('s1', { cron: '5 6 * * *' });
    expect(edited.version).toBe(2);
    expect(client.updates).toEqual([['s1', { cron: '5 6 * * *' }]]);
    const job = await model.runNow('s1', { parameters: { alpha: 1 } });
    expect(job.schedule_id).toBe('s1');
    expect(client.runs).toEqual([['s1', { parameters: { alpha: 1 } }]]);
    const removed: string[] = [];
    model.scheduleRemoved.connect((_, id) => removed.push(id));
    await model.deleteSchedule('s1', true);
    expect(client.deletes).toEqual([['s1', true]]);
    expect(model.getSummary('s1')).toBeUndefined();
    expect(model.collection.items.map(item => item.id)).toEqual(['s2']);
    expect(removed).toContain('s1');
    model.dispose();
  });

  it('lists a schedule’s runs and follows them from job events', async () => {
    const { client, model } = setup();
    client.jobs = [
      makeJob({ id: 'j2', schedule_id: 's1', status: 'running' }),
      makeJob({ id: 'j1', schedule_id: 's1', status: 'completed' }),
      makeJob({ id: 'x', schedule_id: null, status: 'completed' })
    ];
    const runs = model.openRuns('s1');
    await flush();
    expect(client.jobQueries[0]).toMatchObject({ schedule_id: 's1' });
    expect(runs.items.map(job => job.id)).toEqual(['j2', 'j1']);
    model.handleEvent(
      jobEvent({ action: 'updated', id: 'j2', seq: 9, status: 'completed' })
    );
    expect(runs.get('j2')!.status).toBe('completed');
    // A new run shows once the page is fetched again.
    client.jobs = [
      makeJob({ id: 'j3', schedule_id: 's1', status: 'queued' }),
      ...client.jobs
    ];
    model.handleEvent(
      jobEvent({ action: 'created', id: 'j3', seq: 10, status: 'queued' })
    );
    await flush(20);
    expect(runs.items.map(job => job.id)).toEqual(['j3', 'j2', 'j1']);
    runs.dispose();
    // A disposed list is no longer fed.
    model.handleEvent(
      jobEvent({ action: 'updated', id: 'j3', seq: 11, status: 'running' })
    );
    model.dispose();
  });

  it('forgets a schedule the server no longer has', async () => {
    const { client, model } = setup();
    await model.refresh();
    client.schedules = client.schedules.filter(item => item.id !== 's1');
    expect(await model.fetchSchedule('s1')).toBeNull();
    expect(model.getSummary('s1')).toBeUndefined();
    model.dispose();
  });
});
