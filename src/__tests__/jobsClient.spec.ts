import { jobQueryString } from '../jobs/client';
import { isTerminal, JOB_SORTS, JOB_STATUSES } from '../jobs/types';
import { makeJob, makePage, makeSummary } from './fixtures';
import { fakeClient, json } from './http';

const BASE = 'http://localhost:8888/lab-base/dataops/api';

describe('jobQueryString', () => {
  it('repeats ids and statuses and leaves out empty filters', () => {
    expect(
      jobQueryString({
        id: ['a', 'b'],
        status: ['queued', 'running'],
        notebook: null,
        sort: 'name',
        order: 'asc',
        limit: 25,
        cursor: 'eyJzIjoibmFtZSJ9'
      })
    ).toBe(
      '?id=a&id=b&status=queued&status=running&sort=name&order=asc&limit=25&cursor=eyJzIjoibmFtZSJ9'
    );
  });

  it('encodes the notebook path', () => {
    expect(jobQueryString({ notebook: 'demo/a b&c.ipynb' })).toBe(
      '?notebook=demo%2Fa+b%26c.ipynb'
    );
  });
});

describe('JobsClient', () => {
  it('lists a page of summaries with a cursor', async () => {
    const page = makePage([makeSummary()], { next_cursor: 'next', seq: 7 });
    const { client, calls } = fakeClient(() => json(page));
    const result = await client.listJobs({
      status: ['failed'],
      limit: 10,
      cursor: 'abc'
    });
    expect(result).toEqual(page);
    expect(calls[0].url).toBe(`${BASE}/jobs?status=failed&limit=10&cursor=abc`);
  });

  it('creates a job with a JSON body, leaving retries to the server', async () => {
    const job = makeJob();
    const { client, calls } = fakeClient(() => json(job, 201));
    const created = await client.createJob({
      notebook_path: 'demo/train.ipynb',
      parameters: { alpha: 0.7 },
      kernel_name: 'python3',
      name: null,
      timeout_seconds: 60,
      max_retries: null
    });
    expect(created.id).toBe('job-1');
    expect(calls[0].method).toBe('POST');
    expect(calls[0].url).toBe(`${BASE}/jobs`);
    expect(JSON.parse(calls[0].body!)).toEqual({
      notebook_path: 'demo/train.ipynb',
      parameters: { alpha: 0.7 },
      kernel_name: 'python3',
      name: null,
      timeout_seconds: 60,
      max_retries: null
    });
  });

  it('uses the job routes for get, cancel, rerun, logs, html and delete', async () => {
    const job = makeJob({ id: 'a/b' });
    const { client, calls } = fakeClient(call => {
      if (call.url.includes('/logs')) {
        return json({ logs: 'line 2\n', offset: 14, complete: false });
      }
      if (call.url.endsWith('/html')) {
        return new Response('<html>ok</html>', {
          headers: { 'Content-Type': 'text/html' }
        });
      }
      if (call.method === 'DELETE') {
        return new Response(null, { status: 204 });
      }
      return json(job, call.method === 'POST' ? 201 : 200);
    });
    await client.getJob('a/b');
    await client.cancelJob('a/b');
    await client.rerunJob('a/b', {
      parameters: { alpha: 1 },
      kernel_name: null
    });
    expect(await client.getLogs('a/b')).toEqual({
      logs: 'line 2\n',
      offset: 14,
      complete: false
    });
    await client.getLogs('a/b', 7);
    expect(await client.getHtml('a/b')).toBe('<html>ok</html>');
    await client.deleteJob('a/b');
    const base = `${BASE}/jobs/a%2Fb`;
    expect(calls.map(call => `${call.method} ${call.url}`)).toEqual([
      `GET ${base}`,
      `POST ${base}/cancel`,
      `POST ${base}/rerun`,
      `GET ${base}/logs`,
      `GET ${base}/logs?offset=7`,
      `GET ${base}/html`,
      `DELETE ${base}`
    ]);
    expect(JSON.parse(calls[2].body!)).toEqual({
      parameters: { alpha: 1 },
      kernel_name: null
    });
  });

  it('asks for a notebook’s parameters by path', async () => {
    const body = {
      path: 'demo/train.ipynb',
      has_parameters_cell: true,
      parameters: [],
      kernel_name: 'python3',
      language: 'python',
      cell_count: 3,
      warnings: []
    };
    const { client, calls } = fakeClient(() => json(body));
    expect(await client.getNotebookParameters('demo/train.ipynb')).toEqual(
      body
    );
    expect(calls[0].url).toBe(
      `${BASE}/notebooks/parameters?path=demo%2Ftrain.ipynb`
    );
  });
});

describe('job types', () => {
  it('lists every status and sort field once', () => {
    expect(new Set(JOB_STATUSES).size).toBe(5);
    expect(new Set(JOB_SORTS).size).toBe(6);
  });

  it('tells finished statuses from active ones', () => {
    expect(isTerminal('completed')).toBe(true);
    expect(isTerminal('failed')).toBe(true);
    expect(isTerminal('cancelled')).toBe(true);
    expect(isTerminal('queued')).toBe(false);
    expect(isTerminal('running')).toBe(false);
  });
});
