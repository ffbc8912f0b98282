import { ServerConnection } from '@jupyterlab/services';

import {
  DataOpsApiError,
  DataOpsClient,
  errorFromResponse,
  isTerminal,
  jobQueryString
} from '../api';
import { makeJob, makeList } from './fixtures';

interface ICall {
  url: string;
  method: string;
  body: string | null;
  headers: Headers;
}

/** A client whose fetch answers from `respond` and records each request. */
function fakeClient(respond: (call: ICall) => Response | Promise<Response>) {
  const calls: ICall[] = [];
  const fetch = async (input: RequestInfo, init?: RequestInit) => {
    const request = new Request(input, init);
    const call: ICall = {
      url: request.url,
      method: request.method,
      body: request.method === 'GET' ? null : await request.text(),
      headers: request.headers
    };
    calls.push(call);
    return respond(call);
  };
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/lab-base/',
    token: 'secret-token',
    fetch: fetch as any
  });
  return { client: new DataOpsClient({ serverSettings }), calls };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

describe('jobQueryString', () => {
  it('repeats status and leaves out empty filters', () => {
    expect(
      jobQueryString({
        status: ['queued', 'running'],
        notebook: '',
        sort: 'name',
        order: 'asc',
        offset: 50,
        limit: 25
      })
    ).toBe(
      '?status=queued&status=running&sort=name&order=asc&offset=50&limit=25'
    );
  });

  it('encodes the notebook filter', () => {
    expect(jobQueryString({ notebook: 'demo/a b&c' })).toBe(
      '?notebook=demo%2Fa+b%26c'
    );
  });

  it('is empty when nothing is set', () => {
    expect(jobQueryString({})).toBe('');
  });
});

describe('DataOpsClient', () => {
  it('lists jobs under the base URL with the token', async () => {
    const list = makeList([makeJob()]);
    const { client, calls } = fakeClient(() => json(list));
    const result = await client.listJobs({ status: ['failed'], limit: 10 });
    expect(result).toEqual(list);
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe(
      'http://localhost:8888/lab-base/dataops/api/jobs?status=failed&limit=10'
    );
    expect(calls[0].headers.get('Authorization')).toBe('token secret-token');
  });

  it('creates a job with a JSON body', async () => {
    const job = makeJob();
    const { client, calls } = fakeClient(() => json(job, 201));
    const created = await client.createJob({
      notebook_path: 'demo/train.ipynb',
      parameters: { alpha: 0.7 },
      kernel_name: 'python3',
      name: null,
      timeout_seconds: 60,
      max_retries: 1
    });
    expect(created.id).toBe('job-1');
    expect(calls[0].method).toBe('POST');
    expect(calls[0].url).toBe(
      'http://localhost:8888/lab-base/dataops/api/jobs'
    );
    expect(JSON.parse(calls[0].body!)).toEqual({
      notebook_path: 'demo/train.ipynb',
      parameters: { alpha: 0.7 },
      kernel_name: 'python3',
      name: null,
      timeout_seconds: 60,
      max_retries: 1
    });
  });

  it('uses the job routes for get, cancel, rerun, logs, html and delete', async () => {
    const job = makeJob({ id: 'a/b' });
    const { client, calls } = fakeClient(call => {
      if (call.url.endsWith('/logs')) {
        return json({ logs: 'line 1\nline 2' });
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
    expect(await client.getLogs('a/b')).toBe('line 1\nline 2');
    expect(await client.getHtml('a/b')).toBe('<html>ok</html>');
    await client.deleteJob('a/b');
    const base = 'http://localhost:8888/lab-base/dataops/api/jobs/a%2Fb';
    expect(calls.map(call => `${call.method} ${call.url}`)).toEqual([
      `GET ${base}`,
      `POST ${base}/cancel`,
      `POST ${base}/rerun`,
      `GET ${base}/logs`,
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
      cell_count: 3
    };
    const { client, calls } = fakeClient(() => json(body));
    expect(await client.getNotebookParameters('demo/train.ipynb')).toEqual(
      body
    );
    expect(calls[0].url).toBe(
      'http://localhost:8888/lab-base/dataops/api/notebooks/parameters?path=demo%2Ftrain.ipynb'
    );
  });

  it('turns a JSON error into a DataOpsApiError with message and hint', async () => {
    const { client } = fakeClient(() =>
      json(
        {
          error: 'conflict',
          message: 'Job job-1 is still running.',
          hint: 'Cancel it first.',
          details: { status: 'running' }
        },
        409
      )
    );
    await expect(client.deleteJob('job-1')).rejects.toMatchObject({
      name: 'DataOpsApiError',
      kind: 'conflict',
      status: 409,
      message: 'Job job-1 is still running.',
      hint: 'Cancel it first.',
      details: { status: 'running' }
    });
  });

  it('reports a network failure without a stack', async () => {
    const { client } = fakeClient(() => {
      throw new TypeError('Failed to fetch');
    });
    const error = await client.getInfo().catch(reason => reason);
    expect(error).toBeInstanceOf(DataOpsApiError);
    expect(error.kind).toBe('network');
    expect(error.status).toBe(0);
    expect(error.message).toContain('Failed to fetch');
    expect(error.hint).toBeTruthy();
  });

  it('refuses a response that is not JSON', async () => {
    const { client } = fakeClient(
      () => new Response('<html>proxy</html>', { status: 200 })
    );
    await expect(client.getInfo()).rejects.toMatchObject({
      kind: 'unknown',
      message: 'The server sent a response that is not JSON.'
    });
  });
});

describe('errorFromResponse', () => {
  it('explains a 404 without a JSON body as a missing server extension', async () => {
    const error = await errorFromResponse(
      new Response('<html>Not Found</html>', { status: 404 })
    );
    expect(error.kind).toBe('not_found');
    expect(error.hint).toContain('jupyter server extension list');
  });

  it('keeps unknown error kinds as unknown', async () => {
    const error = await errorFromResponse(
      json({ error: 'teapot', message: 'Short and stout.' }, 418)
    );
    expect(error.kind).toBe('unknown');
    expect(error.message).toBe('Short and stout.');
    expect(error.hint).toBeNull();
  });

  it('falls back to the status line', async () => {
    const error = await errorFromResponse(
      new Response('', { status: 502, statusText: 'Bad Gateway' })
    );
    expect(error.message).toBe('The server answered 502 Bad Gateway');
  });
});

describe('isTerminal', () => {
  it('tells finished statuses from active ones', () => {
    expect(isTerminal('completed')).toBe(true);
    expect(isTerminal('failed')).toBe(true);
    expect(isTerminal('cancelled')).toBe(true);
    expect(isTerminal('queued')).toBe(false);
    expect(isTerminal('running')).toBe(false);
  });
});
