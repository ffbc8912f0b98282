import { Job, JOB_EVENT_SCHEMA_ID } from '../jobs/types';
import { ScheduledFailureNotifier } from '../schedules/notify';
import { makeJob } from './fixtures';

const flush = (ms = 10) => new Promise(resolve => setTimeout(resolve, ms));

function jobEvent(id: string, status: string, seq: number) {
  return {
    schema_id: JOB_EVENT_SCHEMA_ID,
    action: 'updated',
    id,
    seq,
    status
  } as any;
}

describe('ScheduledFailureNotifier', () => {
  function setup(jobs: Job[]) {
    const fetched: string[] = [];
    const notified: Job[] = [];
    const notifier = new ScheduledFailureNotifier({
      fetchJob: async id => {
        fetched.push(id);
        return jobs.find(job => job.id === id) ?? null;
      },
      notify: job => notified.push(job)
    });
    return { notifier, fetched, notified };
  }

  it('announces a failed scheduled run once, however often it is heard of', async () => {
    const { notifier, fetched, notified } = setup([
      makeJob({ id: 'run', status: 'failed', schedule_id: 's1' })
    ]);
    notifier.handleEvent(jobEvent('run', 'failed', 3));
    notifier.handleEvent(jobEvent('run', 'failed', 3));
    await flush();
    notifier.handleEvent(jobEvent('run', 'failed', 4));
    await flush();
    expect(notified.map(job => job.id)).toEqual(['run']);
    expect(fetched).toEqual(['run']);
  });

  it('stays quiet for jobs no schedule ran, and for other statuses', async () => {
    const { notifier, fetched, notified } = setup([
      makeJob({ id: 'plain', status: 'failed', schedule_id: null }),
      makeJob({ id: 'ok', status: 'completed', schedule_id: 's1' })
    ]);
    notifier.handleEvent(jobEvent('plain', 'failed', 3));
    notifier.handleEvent(jobEvent('ok', 'completed', 4));
    notifier.handleEvent(jobEvent('ok', 'running', 5));
    notifier.handleEvent({
      schema_id: 'other',
      id: 'x',
      status: 'failed'
    } as any);
    await flush();
    expect(notified).toEqual([]);
    // Only failures are looked up.
    expect(fetched).toEqual(['plain']);
  });

  it('takes a job already at hand without asking the server', async () => {
    const { notifier, fetched, notified } = setup([]);
    const job = makeJob({ id: 'run', status: 'failed', schedule_id: 's1' });
    expect(await notifier.consider('run', job)).toBe(true);
    expect(await notifier.consider('run', job)).toBe(false);
    expect(fetched).toEqual([]);
    expect(notified).toHaveLength(1);
  });

  it('survives a lookup that fails', async () => {
    const notified: Job[] = [];
    const notifier = new ScheduledFailureNotifier({
      fetchJob: async () => {
        throw new Error('offline');
      },
      notify: job => notified.push(job)
    });
    expect(await notifier.consider('run')).toBe(false);
    expect(notified).toEqual([]);
  });
});
