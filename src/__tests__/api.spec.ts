import { allOf, DataOpsApiError, errorFromResponse, queryString } from '../api';
import { fakeClient, json } from './http';

describe('queryString', () => {
  it('repeats lists and leaves out empty values', () => {
    expect(
      queryString({
        status: ['queued', 'running'],
        notebook: '',
        cursor: null,
        id: [],
        limit: 25,
        flag: false
      })
    ).toBe('?status=queued&status=running&limit=25&flag=false');
  });

  it('encodes values', () => {
    expect(queryString({ path: 'demo/a b&c' })).toBe('?path=demo%2Fa+b%26c');
  });

  it('is empty when nothing is set', () => {
    expect(queryString({})).toBe('');
  });
});

describe('allOf', () => {
  it('returns the list it was given', () => {
    type Colour = 'red' | 'green';
    expect(allOf<Colour>()(['red', 'green'])).toEqual(['red', 'green']);
  });
});

describe('DataOpsClient', () => {
  it('reads the server info under the base URL with the token', async () => {
    const info = {
      version: '0.1.0',
      user: 'alice',
      executor: {
        name: 'local',
        cancel: true,
        logs: true,
        follow_logs: true,
        progress: true,
        gpus: false,
        max_concurrent_jobs: 2
      },
      jobs_dir: '.dataops/jobs',
      root_dir: '/srv'
    };
    const { api, calls } = fakeClient(() => json(info));
    expect(await api.getInfo()).toEqual(info);
    expect(calls[0].url).toBe(
      'http://localhost:8888/lab-base/dataops/api/info'
    );
    expect(calls[0].headers.get('Authorization')).toBe('token secret-token');
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
    const { api } = fakeClient(() => {
      throw new TypeError('Failed to fetch');
    });
    const error = await api.getInfo().catch(reason => reason);
    expect(error).toBeInstanceOf(DataOpsApiError);
    expect(error.kind).toBe('network');
    expect(error.status).toBe(0);
    expect(error.message).toContain('Failed to fetch');
    expect(error.hint).toBeTruthy();
  });

  it('refuses a response that is not JSON', async () => {
    const { api } = fakeClient(
      () => new Response('<html>proxy</html>', { status: 200 })
    );
    await expect(api.getInfo()).rejects.toMatchObject({
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
