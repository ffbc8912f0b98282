/**
 * A DataOps client whose fetch answers from a function and records each request.
 */
import { ServerConnection } from '@jupyterlab/services';

import { DataOpsClient } from '../api';
import { JobsClient } from '../jobs/client';

export interface ICall {
  url: string;
  method: string;
  body: string | null;
  headers: Headers;
}

/** A client whose fetch answers from `respond` and records each request. */
export function fakeClient(
  respond: (call: ICall) => Response | Promise<Response>
) {
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
  const api = new DataOpsClient({ serverSettings });
  return { client: new JobsClient(api), api, calls };
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}
