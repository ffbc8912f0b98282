import { SchedulesClient } from '../schedules/client';
import { fakeClient, json } from './http';
import { makeJob } from './fixtures';
import { makeSchedule } from './fakeSchedulesClient';

function setup(answer: (url: string) => Response) {
  const { api, calls } = fakeClient(call => answer(call.url));
  return { client: new SchedulesClient(api), calls };
}

const PAGE = {
  items: [],
  next_cursor: null,
  prev_cursor: null,
  total: 0,
  total_is_estimate: false,
  counts: {},
  seq: 1
};

describe('SchedulesClient', () => {
  it('lists schedules with repeated filters and paging', async () => {
    const { client, calls } = setup(() => json(PAGE));
    await client.listSchedules({
      status: ['active', 'paused'],
      sort: 'next_run_at',
      order: 'asc',
      limit: 10,
      cursor: 'abc'
    });
    expect(calls[0].url).toBe(
      'http://localhost:8888/lab-base/dataops/api/schedules?status=active&status=paused&sort=next_run_at&order=asc&limit=10&cursor=abc'
    );
  });

  it('previews an expression, encoded', async () => {
    const { client, calls } = setup(() =>
      json({
        description: 'x',
        timezone: 'UTC',
        next_runs: [],
        min_interval_seconds: 60
      })
    );
    await client.previewCron('*/5 * * * MON-FRI', 'America/New_York');
    expect(calls[0].url).toBe(
      'http://localhost:8888/lab-base/dataops/api/schedules/preview?cron=*%2F5+*+*+*+MON-FRI&timezone=America%2FNew_York'
    );
  });

  it('creates, changes, pauses, resumes, runs now and deletes', async () => {
    const { client, calls } = setup(url =>
      url.endsWith('/run') ? json(makeJob(), 201) : json(makeSchedule())
    );
    await client.createSchedule({
      notebook_path: 'a.ipynb',
      cron: '0 6 * * *'
    });
    await client.updateSchedule('s1', { cron: '0 7 * * *' });
    await client.pauseSchedule('s1');
    await client.resumeSchedule('s1');
    await client.runScheduleNow('s1', { parameters: { alpha: 1 } });
    expect(
      calls.map(call => [call.method, call.url.split('/api/')[1], call.body])
    ).toEqual([
      ['POST', 'schedules', '{"notebook_path":"a.ipynb","cron":"0 6 * * *"}'],
      ['PATCH', 'schedules/s1', '{"cron":"0 7 * * *"}'],
      ['POST', 'schedules/s1/pause', '{}'],
      ['POST', 'schedules/s1/resume', '{}'],
      ['POST', 'schedules/s1/run', '{"parameters":{"alpha":1}}']
    ]);
  });

  it('deletes, with its runs only when asked', async () => {
    const { client, calls } = setup(() => new Response(null, { status: 204 }));
    await client.deleteSchedule('s1', false);
    await client.deleteSchedule('s1', true);
    expect(calls.map(call => call.url.split('/api/')[1])).toEqual([
      'schedules/s1',
      'schedules/s1?delete_runs=true'
    ]);
    expect(calls[0].method).toBe('DELETE');
  });

  it('lists firings, and a schedule’s runs through the job list', async () => {
    const { client, calls } = setup(url =>
      url.includes('/firings') ? json({ items: [] }) : json(PAGE)
    );
    await client.listFirings('s1', 5);
    await client.listJobs({ schedule_id: 's1', limit: 10 });
    expect(calls.map(call => call.url.split('/api/')[1])).toEqual([
      'schedules/s1/firings?limit=5',
      'jobs?schedule_id=s1&limit=10'
    ]);
  });
});
