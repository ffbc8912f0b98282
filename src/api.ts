/**
 * A typed client for the jupyter-dataops REST API (`/dataops/api`).
 *
 * The wire types come from the server's OpenAPI description
 * (`jupyter_dataops/server/openapi.yaml`, itself generated from the Python models) through
 * `src/openapi.d.ts`, which `jlpm openapi:types` regenerates; lint fails if it is stale.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

import type { components } from './openapi';

type Schemas = components['schemas'];

/**
 * A schema type with its parameter values typed as JSON: the spec says "any value", and what
 * travels as JSON can only be a JSON value.
 */
type WithJSON<T, K extends keyof T> = Omit<T, K> & {
  [P in K]: null extends T[P] ? Parameters | null : Parameters;
};

/** The URL prefix of every route, relative to the server's base URL. */
export const API_PREFIX = 'dataops/api';

/** The schema id of the job events the server emits on its event bus. */
export const JOB_EVENT_SCHEMA_ID = 'https://events.jupyter-dataops.org/job/v1';

/** States of a job: `queued -> running -> completed | failed | cancelled`. */
export type JobStatus = Schemas['Job']['status'];

/** Every status, in the order the UI lists them. */
export const JOB_STATUSES: ReadonlyArray<JobStatus> = [
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled'
];

/** Statuses after which a job never changes again. */
export const TERMINAL_STATUSES: ReadonlyArray<JobStatus> = [
  'completed',
  'failed',
  'cancelled'
];

/** Whether a job in this status is finished (completed, failed or cancelled). */
export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** The type papermill infers for a parameter from its default value. */
export type ParameterType = Schemas['ParameterSpec']['type'];

/** A JSON value, as the parameters of a job are. */
export type JSONValue =
  string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };

/** A mapping of parameter names to values. */
export type Parameters = { [name: string]: JSONValue };

/** One parameter of a notebook's `parameters` cell. */
export type IParameterSpec = Omit<Schemas['ParameterSpec'], 'default'> & {
  default: JSONValue;
};

/** What the run dialog needs to build its form for one notebook. */
export type INotebookParameters = Omit<
  Schemas['NotebookParameters'],
  'parameters'
> & {
  parameters: IParameterSpec[];
};

/** Why a job failed: the failing cell and its error. */
export type IJobError = Schemas['JobError'];

/** How far a job's execution got. */
export type IJobProgress = Schemas['JobProgress'];

/** A job: one execution (with retries) of a notebook with parameters. */
export type IJob = WithJSON<Schemas['Job'], 'parameters'>;

/** A request to run a notebook as a job. */
export type IJobCreate = WithJSON<Schemas['JobCreate'], 'parameters'>;

/** A request to run a job again; parameters given here replace the original ones. */
export type IJobRerun = WithJSON<Schemas['JobRerun'], 'parameters'>;

/** The fields the job list can be sorted by. */
export type SortField =
  | 'created_at'
  | 'started_at'
  | 'finished_at'
  | 'name'
  | 'status'
  | 'notebook_path';

export type SortOrder = 'asc' | 'desc';

/** How to filter, sort and page the job list. */
export interface IJobQuery {
  status: JobStatus[];
  notebook: string;
  sort: SortField;
  order: SortOrder;
  offset: number;
  limit: number;
}

/** Number of jobs in each status. */
export type StatusCounts = { [status in JobStatus]: number };

/** One page of the job list. */
export type IJobList = Omit<Schemas['JobPage'], 'jobs'> & { jobs: IJob[] };

/** What the server says about itself. */
export type IServerInfo = Schemas['ServerInfo'];

/** The data of a job event, as emitted on the server's event bus. */
export interface IJobEvent {
  action: 'created' | 'updated' | 'deleted';
  job_id: string;
  status: JobStatus;
  cells_completed: number;
  cells_total: number;
}

/** The error kinds the server reports. */
export type ApiErrorKind =
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'backend_unavailable'
  | 'network'
  | 'unknown';

/**
 * An error from the DataOps API, carrying the server's message and hint.
 *
 * `message` and `hint` are meant for the user; `details` is for code.
 */
export class DataOpsApiError extends Error {
  constructor(options: {
    kind: ApiErrorKind;
    message: string;
    status: number;
    hint?: string | null;
    details?: { [key: string]: unknown };
  }) {
    super(options.message);
    this.name = 'DataOpsApiError';
    this.kind = options.kind;
    this.status = options.status;
    this.hint = options.hint ?? null;
    this.details = options.details ?? {};
  }

  readonly kind: ApiErrorKind;
  /** The HTTP status, or 0 when the server could not be reached. */
  readonly status: number;
  readonly hint: string | null;
  readonly details: { [key: string]: unknown };
}

const KNOWN_KINDS: ReadonlyArray<ApiErrorKind> = [
  'invalid_input',
  'not_found',
  'conflict',
  'forbidden',
  'backend_unavailable'
];

/**
 * Build the query string of a job list request.
 *
 * Repeated `status` keys select several statuses; empty filters are left out.
 */
export function jobQueryString(query: Partial<IJobQuery>): string {
  const params = new URLSearchParams();
  for (const status of query.status ?? []) {
    params.append('status', status);
  }
  if (query.notebook) {
    params.append('notebook', query.notebook);
  }
  if (query.sort) {
    params.append('sort', query.sort);
  }
  if (query.order) {
    params.append('order', query.order);
  }
  if (query.offset !== undefined) {
    params.append('offset', String(query.offset));
  }
  if (query.limit !== undefined) {
    params.append('limit', String(query.limit));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The operations of the DataOps API the frontend uses. */
export interface IDataOpsClient {
  listJobs(query: Partial<IJobQuery>): Promise<IJobList>;
  getJob(id: string): Promise<IJob>;
  createJob(request: IJobCreate): Promise<IJob>;
  cancelJob(id: string): Promise<IJob>;
  rerunJob(id: string, request: IJobRerun): Promise<IJob>;
  deleteJob(id: string): Promise<void>;
  getLogs(id: string): Promise<string>;
  getHtml(id: string): Promise<string>;
  getNotebookParameters(path: string): Promise<INotebookParameters>;
  getInfo(): Promise<IServerInfo>;
}

/**
 * The DataOps REST client.
 *
 * Requests go through `ServerConnection.makeRequest`, which adds the auth
 * token and the XSRF header.
 */
export class DataOpsClient implements IDataOpsClient {
  constructor(options: DataOpsClient.IOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
    this._trans = (options.translator ?? nullTranslator).load(
      'jupyter-dataops'
    );
  }

  readonly serverSettings: ServerConnection.ISettings;

  /** The absolute URL of a route, e.g. `url('jobs', id)`. */
  url(...parts: string[]): string {
    return URLExt.join(
      this.serverSettings.baseUrl,
      API_PREFIX,
      ...parts.map(encodeURIComponent)
    );
  }

  listJobs(query: Partial<IJobQuery>): Promise<IJobList> {
    return this.requestJSON<IJobList>(this.url('jobs') + jobQueryString(query));
  }

  getJob(id: string): Promise<IJob> {
    return this.requestJSON<IJob>(this.url('jobs', id));
  }

  createJob(request: IJobCreate): Promise<IJob> {
    return this.requestJSON<IJob>(this.url('jobs'), {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  cancelJob(id: string): Promise<IJob> {
    return this.requestJSON<IJob>(this.url('jobs', id, 'cancel'), {
      method: 'POST',
      body: '{}'
    });
  }

  rerunJob(id: string, request: IJobRerun): Promise<IJob> {
    return this.requestJSON<IJob>(this.url('jobs', id, 'rerun'), {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  async deleteJob(id: string): Promise<void> {
    await this.request(this.url('jobs', id), { method: 'DELETE' });
  }

  async getLogs(id: string): Promise<string> {
    const body = await this.requestJSON<{ logs: string }>(
      this.url('jobs', id, 'logs')
    );
    return body.logs;
  }

  async getHtml(id: string): Promise<string> {
    const response = await this.request(this.url('jobs', id, 'html'));
    return response.text();
  }

  getNotebookParameters(path: string): Promise<INotebookParameters> {
    const query = new URLSearchParams({ path }).toString();
    return this.requestJSON<INotebookParameters>(
      `${this.url('notebooks', 'parameters')}?${query}`
    );
  }

  getInfo(): Promise<IServerInfo> {
    return this.requestJSON<IServerInfo>(this.url('info'));
  }

  private async requestJSON<T>(
    url: string,
    init: RequestInit = {}
  ): Promise<T> {
    const response = await this.request(url, init);
    const text = await response.text();
    if (!text) {
      throw new DataOpsApiError({
        kind: 'unknown',
        status: response.status,
        message: this._trans.__('The server sent an empty response.')
      });
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new DataOpsApiError({
        kind: 'unknown',
        status: response.status,
        message: this._trans.__('The server sent a response that is not JSON.')
      });
    }
  }

  private async request(
    url: string,
    init: RequestInit = {}
  ): Promise<Response> {
    let response: Response;
    try {
      // 'no-cache' revalidates every time without the `&<timestamp>` query
      // key that the default 'no-store' appends, which strict query parsing
      // on the server would refuse.
      response = await ServerConnection.makeRequest(
        url,
        { cache: 'no-cache', ...init },
        this.serverSettings
      );
    } catch (reason) {
      throw new DataOpsApiError({
        kind: 'network',
        status: 0,
        message: this._trans.__(
          'Could not reach the Jupyter server: %1',
          (reason as Error)?.message ?? String(reason)
        ),
        hint: this._trans.__('Check that the server is running and reachable.')
      });
    }
    if (!response.ok) {
      throw await errorFromResponse(response, this._trans);
    }
    return response;
  }

  private _trans: TranslationBundle;
}

export namespace DataOpsClient {
  export interface IOptions {
    /** Defaults to `ServerConnection.makeSettings()`. */
    serverSettings?: ServerConnection.ISettings;
    /** Translates the client's own error messages. */
    translator?: ITranslator;
  }
}

/** Turn a failed response into a `DataOpsApiError`, reading the JSON error body if any. */
export async function errorFromResponse(
  response: Response,
  trans: TranslationBundle = nullTranslator.load('jupyter-dataops')
): Promise<DataOpsApiError> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // The body could not be read; the status alone has to do.
  }
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (body && typeof body === 'object' && typeof body.message === 'string') {
    const kind = KNOWN_KINDS.includes(body.error) ? body.error : 'unknown';
    return new DataOpsApiError({
      kind,
      status: response.status,
      message: body.message,
      hint: typeof body.hint === 'string' ? body.hint : null,
      details:
        body.details && typeof body.details === 'object' ? body.details : {}
    });
  }
  if (response.status === 404) {
    return new DataOpsApiError({
      kind: 'not_found',
      status: 404,
      message: trans.__('The DataOps server extension did not answer (404).'),
      hint: trans.__(
        'Check that jupyter_dataops is installed and enabled: %1',
        'jupyter server extension list'
      )
    });
  }
  return new DataOpsApiError({
    kind: 'unknown',
    status: response.status,
    message: trans
      .__('The server answered %1 %2', response.status, response.statusText)
      .trim()
  });
}
