import { Job, JOB_EVENT_SCHEMA_ID } from '../jobs/types';
import { ScheduledRunNotifier } from '../schedules/notify';
import { makeSchedule } from './fakeSchedulesClient';
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

describe('ScheduledRunNotifier', () => {
  function setup(jobs: Job[]) {
    const fetched: string[] = [];
    const notified: Job[] = [];
    const notifier = new ScheduledRunNotifier({
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
    const notifier = new ScheduledRunNotifier({
      fetchJob: async () => {
        throw new Error('offline');
      },
      notify: job => notified.push(job)
    });
    expect(await notifier.consider('run')).toBe(false);
    expect(notified).toEqual([]);
  });

  describe('successes', () => {
    function setupSuccess(
      jobs: Job[],
      onSuccess: { [id: string]: boolean },
      watching = true
    ) {
      const fetched: string[] = [];
      const schedulesFetched: string[] = [];
      const failed: Job[] = [];
      const succeeded: [string, string][] = [];
      const notifier = new ScheduledRunNotifier({
        fetchJob: async id => {
          fetched.push(id);
          return jobs.find(job => job.id === id) ?? null;
        },
        notify: job => failed.push(job),
        fetchSchedule: async id => {
          schedulesFetched.push(id);
          return id in onSuccess
            ? makeSchedule({
                id,
                name: `schedule ${id}`,
                notify: {
                  on_failure: true,
                  on_success: onSuccess[id],
                  webhook_url: null,
                  email_to: []
                }
              })
            : null;
        },
        notifySuccess: (job, schedule) =>
          succeeded.push([job.id, schedule.name]),
        watching: () => watching
      });
      return { notifier, fetched, schedulesFetched, failed, succeeded };
    }

    it('announces a completed run once when its schedule asks for successes', async () => {
      const { notifier, succeeded, failed } = setupSuccess(
        [
          makeJob({ id: 'yes', status: 'completed', schedule_id: 's1' }),
          makeJob({ id: 'no', status: 'completed', schedule_id: 's2' }),
          makeJob({ id: 'gone', status: 'completed', schedule_id: 's3' }),
          makeJob({ id: 'plain', status: 'completed', schedule_id: null })
        ],
        { s1: true, s2: false }
      );
      for (const id of ['yes', 'no', 'gone', 'plain', 'yes']) {
        notifier.handleEvent(jobEvent(id, 'completed', 5));
      }
      await flush();
      expect(succeeded).toEqual([['yes', 'schedule s1']]);
      expect(failed).toEqual([]);
    });

    it('looks nothing up for completions while there are no schedules', async () => {
      const { notifier, fetched, succeeded } = setupSuccess(
        [makeJob({ id: 'yes', status: 'completed', schedule_id: 's1' })],
        { s1: true },
        false
      );
      notifier.handleEvent(jobEvent('yes', 'completed', 5));
      await flush();
      expect(fetched).toEqual([]);
      expect(succeeded).toEqual([]);
    });

    it('announces a failure whatever on_success says, and a schedule lookup that fails stays quiet', async () => {
      const { notifier, failed, succeeded } = setupSuccess(
        [
          makeJob({ id: 'bad', status: 'failed', schedule_id: 's2' }),
          makeJob({ id: 'ok', status: 'completed', schedule_id: 'boom' })
        ],
        { s2: false }
      );
      notifier.handleEvent(jobEvent('bad', 'failed', 6));
      await flush();
      expect(failed.map(job => job.id)).toEqual(['bad']);
      const broken = new ScheduledRunNotifier({
        fetchJob: async () =>
          makeJob({ id: 'ok', status: 'completed', schedule_id: 'boom' }),
        notify: () => undefined,
        fetchSchedule: async () => {
          throw new Error('offline');
        },
        notifySuccess: () => succeeded.push(['ok', 'boom'])
      });
      expect(await broken.considerSuccess('ok')).toBe(false);
      expect(succeeded).toEqual([]);
    });
  });
});
