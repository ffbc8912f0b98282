/**
 * The REST client shared by every DataOps capability (`/dataops/api`), and
 * the types every capability uses: errors, server info, JSON values.
 *
 * The wire types come from the server's OpenAPI description
 * (`jupyter_dataops/server/openapi.yaml`) through `src/openapi.d.ts`, which
 * `jlpm openapi:types` regenerates; nothing here copies them by hand.
 * Capability clients (e.g. `jobs/client.ts`) are built on `DataOpsClient`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

import type { components } from './openapi';

/** The schemas of the OpenAPI description, by name. */
export type Schemas = components['schemas'];

/** What the server says about itself and the caller. */
export type ServerInfo = Schemas['ServerInfo'];

/** What the job executor supports: the UI offers only that. */
export type ExecutorCapabilities = Schemas['ExecutorCapabilities'];

/** The worker process that runs jobs. */
export type WorkerReport = Schemas['WorkerReport'];

/** The body of every error response. */
export type ErrorBody = Schemas['ErrorBody'];

/** A JSON value, as parameters are. */
export type JSONValue =
  string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };

/**
 * A schema type with some `unknown` JSON fields typed as JSON: the spec says
 * "any value", and what travels as JSON can only be a JSON value.
 */
export type WithJSON<T, K extends keyof T> = Omit<T, K> & {
  [P in keyof Pick<T, K>]: unknown extends T[P]
    ? JSONValue
    : null extends T[P]
      ? { [name: string]: JSONValue } | null
      : { [name: string]: JSONValue };
};

/**
 * Write a runtime list of every member of a string union once, checked at
 * compile time: a member left out, or one the union does not have, is a type
 * error.
 *
 * ```ts
 * const ORDERS = allOf<'asc' | 'desc'>()(['asc', 'desc']);
 * ```
 */
export function allOf<T extends string>() {
  return <const L extends ReadonlyArray<T>>(
    list: L &
      ([Exclude<T, L[number]>] extends [never]
        ? unknown
        : { missing: Exclude<T, L[number]> })
  ): ReadonlyArray<T> => list;
}

/** The URL prefix of every route, relative to the server's base URL. */
export const API_PREFIX = 'dataops/api';

/** The error kinds the server reports, and two of the client's own. */
export type ApiErrorKind =
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'backend_unavailable'
  | 'network'
  | 'unknown';

const KNOWN_KINDS: ReadonlyArray<ApiErrorKind> = [
  'invalid_input',
  'not_found',
  'conflict',
  'forbidden',
  'backend_unavailable'
];

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

  /** Any thrown value as a DataOpsApiError (an `unknown` one if it was not). */
  static from(reason: unknown): DataOpsApiError {
    if (reason instanceof DataOpsApiError) {
      return reason;
    }
    return new DataOpsApiError({
      kind: 'unknown',
      status: 0,
      message: String((reason as Error)?.message ?? reason)
    });
  }
}

/** The message and hint of an error, for a notification or a dialog. */
export function errorText(reason: unknown): {
  message: string;
  hint: string | null;
} {
  if (reason instanceof DataOpsApiError) {
    return { message: reason.message, hint: reason.hint };
  }
  if (reason instanceof Error) {
    return { message: reason.message, hint: null };
  }
  return { message: String(reason), hint: null };
}

/** A query argument: repeated for a list, left out when empty. */
export type QueryValue =
  string | number | boolean | null | undefined | ReadonlyArray<string>;

/**
 * Build a query string, `?a=1&s=x&s=y`: lists repeat their key (the API's
 * `explode: true` form) and empty values (`null`, `undefined`, `''`, `[]`)
 * are left out.
 */
export function queryString(params: { [name: string]: QueryValue }): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === '') {
      continue;
    }
    if (typeof value === 'object') {
      for (const item of value) {
        search.append(name, item);
      }
    } else {
      search.append(name, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * The DataOps REST client: URLs, authentication and errors.
 *
 * Requests go through `ServerConnection.makeRequest`, which adds the auth
 * token and the XSRF header; failures become `DataOpsApiError`s with the
 * server's message and hint.
 */
export class DataOpsClient {
  constructor(options: DataOpsClient.IOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
    this.trans = (options.translator ?? nullTranslator).load('jupyter-dataops');
  }

  readonly serverSettings: ServerConnection.ISettings;

  /** Translates the client's own error messages. */
  readonly trans: TranslationBundle;

  /** The absolute URL of a route, e.g. `url('jobs', id)`; each part is encoded. */
  url(...parts: string[]): string {
    return URLExt.join(
      this.serverSettings.baseUrl,
      API_PREFIX,
      ...parts.map(encodeURIComponent)
    );
  }

  /** Who the caller is, and what runs jobs and what it supports. */
  getInfo(): Promise<ServerInfo> {
    return this.requestJSON<ServerInfo>(this.url('info'));
  }

  /** The worker process that runs jobs. */
  getWorker(): Promise<WorkerReport> {
    return this.requestJSON<WorkerReport>(this.url('worker'));
  }

  /** Send a request and read its JSON body. */
  async requestJSON<T>(url: string, init: RequestInit = {}): Promise<T> {
    const response = await this.request(url, init);
    const text = await response.text();
    if (!text) {
      throw new DataOpsApiError({
        kind: 'unknown',
        status: response.status,
        message: this.trans.__('The server sent an empty response.')
      });
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new DataOpsApiError({
        kind: 'unknown',
        status: response.status,
        message: this.trans.__('The server sent a response that is not JSON.')
      });
    }
  }

  /** Send a request; a failed one throws a `DataOpsApiError`. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
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
        message: this.trans.__(
          'Could not reach the Jupyter server: %1',
          (reason as Error)?.message ?? String(reason)
        ),
        hint: this.trans.__('Check that the server is running and reachable.')
      });
    }
    if (!response.ok) {
      throw await errorFromResponse(response, this.trans);
    }
    return response;
  }
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
  let body: Partial<ErrorBody> | null = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (body && typeof body === 'object' && typeof body.message === 'string') {
    const kind = KNOWN_KINDS.find(known => known === body?.error) ?? 'unknown';
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
