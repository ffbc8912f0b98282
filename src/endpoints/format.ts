/**
 * How endpoint names, request rates, latencies, error rates and drift are
 * shown to the user, and what the catalogue sums up from an endpoint's
 * metrics. Pure functions, tested on their own.
 */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import {
  Endpoint,
  ENDPOINT_NAME_PATTERN,
  EndpointMetrics,
  MetricPoint
} from './types';

const defaultTrans = nullTranslator.load('jupyter-dataops');

/** The longest endpoint name (a DNS label). */
export const ENDPOINT_NAME_MAX = 63;

/**
 * The endpoint name a model variable suggests: lower case, `_` (and any
 * other character a DNS label refuses) as `-`, no leading or trailing `-`,
 * at most 63 characters; `model` if nothing is left.
 *
 * ```ts
 * defaultEndpointName('Churn_Model'); // 'churn-model'
 * ```
 */
export function defaultEndpointName(variable: string): string {
  const name = variable
    .toLowerCase()
    .replace(/_/g, '-')
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+/, '')
    .slice(0, ENDPOINT_NAME_MAX)
    .replace(/-+$/, '');
  return name || 'model';
}

/** Why a name cannot name an endpoint, or null if it can. */
export function endpointNameError(
  name: string,
  trans: TranslationBundle = defaultTrans
): string | null {
  if (name === '') {
    return trans.__('Give the endpoint a name.');
  }
  if (name.length > ENDPOINT_NAME_MAX) {
    return trans.__(
      'At most %1 characters (it is %2).',
      ENDPOINT_NAME_MAX,
      name.length
    );
  }
  if (ENDPOINT_NAME_PATTERN.test(name)) {
    return null;
  }
  if (/[A-Z]/.test(name)) {
    return trans.__('Lower-case letters only.');
  }
  if (name.startsWith('-') || name.endsWith('-')) {
    return trans.__('It cannot start or end with “-”.');
  }
  return trans.__(
    'Only lower-case letters, digits and “-” (it becomes part of a URL).'
  );
}

/** A number with at most `digits` decimals, as the user's locale writes it. */
function decimal(value: number, digits: number): string {
  return new Intl.NumberFormat(undefined, {
    maximumFractionDigits: digits,
    minimumFractionDigits: 0
  }).format(value);
}

/** Requests per second: `0`, `0.05`, `2.3`, `41`, `1,250`. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) {
    return '–';
  }
  if (rate === 0) {
    return '0';
  }
  if (rate < 0.1) {
    return decimal(rate, 2);
  }
  return decimal(rate, rate < 10 ? 1 : 0);
}

/** A latency in milliseconds: `0.4 ms`, `12 ms`, `1.3 s`. */
export function formatLatency(
  ms: number | null | undefined,
  trans: TranslationBundle = defaultTrans
): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) {
    return '–';
  }
  if (ms >= 1000) {
    return trans.__('%1 s', decimal(ms / 1000, 1));
  }
  return trans.__('%1 ms', decimal(ms, ms < 10 ? 1 : 0));
}

/** A share as a percentage: `0 %`, `0.4 %`, `12 %`. */
export function formatPercent(
  share: number | null | undefined,
  trans: TranslationBundle = defaultTrans
): string {
  if (share === null || share === undefined || !Number.isFinite(share)) {
    return '–';
  }
  const percent = share * 100;
  if (percent === 0) {
    return trans.__('%1 %', 0);
  }
  return trans.__('%1 %', decimal(percent, percent < 10 ? 1 : 0));
}

/** A drift score (PSI): `0.04`, `0.31`, `1.2`. */
export function formatScore(score: number | null | undefined): string {
  if (score === null || score === undefined || !Number.isFinite(score)) {
    return '–';
  }
  return decimal(score, score < 1 ? 2 : 1);
}

/** Request time in seconds as the user reads it: `12 ms`, `1.3 s`. */
export function formatSeconds(
  seconds: number,
  trans: TranslationBundle = defaultTrans
): string {
  return formatLatency(seconds * 1000, trans);
}

/** What the catalogue shows of an endpoint's recent traffic. */
export interface ITrafficSummary {
  /** Requests per second over the window. */
  rate: number;
  /** Requests in the window. */
  requests: number;
  /** The latest latency medians and 99th percentiles (null: no requests). */
  p50: number | null;
  p99: number | null;
  /** The share of requests answered 4xx or 5xx (null: no requests). */
  errorRate: number | null;
}

/**
 * The catalogue's summary of an endpoint's metrics: the rate, error rate
 * and latest latencies over the last `window` seconds (default: a minute)
 * before its newest interval.
 */
export function trafficSummary(
  metrics: Pick<EndpointMetrics, 'points' | 'bucket_seconds'>,
  window = 60
): ITrafficSummary {
  const points = [...metrics.points].sort((a, b) => a.t - b.t);
  const bucket = metrics.bucket_seconds > 0 ? metrics.bucket_seconds : 10;
  if (points.length === 0) {
    return {
      rate: 0,
      requests: 0,
      p50: null,
      p99: null,
      errorRate: null
    };
  }
  const last = points[points.length - 1].t;
  const recent = points.filter(point => point.t > last - window);
  const requests = recent.reduce((sum, point) => sum + point.requests, 0);
  const span = Math.max(bucket, Math.min(window, recent.length * bucket));
  const errors = recent.reduce(
    (sum, point) => sum + point.requests * point.error_rate,
    0
  );
  const answered = [...recent]
    .reverse()
    .find(point => point.requests > 0 && point.p50_ms !== null);
  return {
    rate: requests / span,
    requests,
    p50: answered?.p50_ms ?? null,
    p99: answered?.p99_ms ?? null,
    errorRate: requests > 0 ? errors / requests : null
  };
}

/**
 * An hour of metrics on a regular grid: one point per interval from an hour
 * before the newest one (or `now`), intervals without requests filled with
 * zero requests and no latency.
 */
export function metricsGrid(
  metrics: Pick<EndpointMetrics, 'points' | 'bucket_seconds'>,
  now: number,
  span = 3600
): MetricPoint[] {
  const bucket = metrics.bucket_seconds > 0 ? metrics.bucket_seconds : 10;
  const byT = new Map<number, MetricPoint>();
  for (const point of metrics.points) {
    byT.set(Math.floor(point.t / bucket) * bucket, point);
  }
  const newest = Math.max(
    Math.floor(now / bucket) * bucket,
    ...[...byT.keys()]
  );
  const count = Math.round(span / bucket);
  const grid: MetricPoint[] = [];
  for (let index = count - 1; index >= 0; index--) {
    const t = newest - index * bucket;
    grid.push(
      byT.get(t) ?? {
        t,
        requests: 0,
        rate: 0,
        error_rate: 0,
        server_errors: 0,
        p50_ms: null,
        p99_ms: null,
        by_version: {}
      }
    );
  }
  return grid;
}

/** The spans a chart of recent traffic shows (s): 5, 10, 15, 30 and 60 minutes. */
export const CHART_SPANS: ReadonlyArray<number> = [300, 600, 900, 1800, 3600];

/**
 * The span a chart shows: the shortest that covers the endpoint's life (from
 * `since`, or its first request if earlier), at most `max`. A new endpoint's
 * first requests fill its chart instead of a sliver at the right edge.
 */
export function chartSpan(
  metrics: Pick<EndpointMetrics, 'points'>,
  since: number | null,
  now: number,
  max = 3600
): number {
  const first = metrics.points
    .filter(point => point.requests > 0)
    .reduce((earliest, point) => Math.min(earliest, point.t), Infinity);
  const start = Math.min(since ?? Infinity, first);
  const age = Number.isFinite(start) ? now - start : Infinity;
  const spans = CHART_SPANS.filter(span => span <= max);
  return spans.find(span => span >= age) ?? spans[spans.length - 1] ?? max;
}

/** Whether an endpoint's last drift score is over its threshold (null: not measured). */
export function isDrifted(
  endpoint: Pick<Endpoint, 'drift_score' | 'drift_threshold'>
): boolean | null {
  if (endpoint.drift_score === null || endpoint.drift_score === undefined) {
    return null;
  }
  return endpoint.drift_score > endpoint.drift_threshold;
}

/** `v3`, or `v3 → v4 (10 %)` when a canary takes a share. */
export function versionText(
  endpoint: Pick<Endpoint, 'version' | 'canary_version' | 'canary_percent'>,
  trans: TranslationBundle = defaultTrans
): string {
  if (endpoint.canary_version !== null && endpoint.canary_percent > 0) {
    return trans.__(
      'v%1 + canary v%2 (%3 %)',
      endpoint.version,
      endpoint.canary_version,
      endpoint.canary_percent
    );
  }
  return trans.__('v%1', endpoint.version);
}

/** Whether a canary takes a share of an endpoint's requests. */
export function hasCanary(
  endpoint: Pick<Endpoint, 'canary_version' | 'canary_percent'>
): boolean {
  return endpoint.canary_version !== null && endpoint.canary_percent > 0;
}

/** A JSON value on one line, with a space after each `,` and `:`. */
function inlineJSON(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(inlineJSON).join(', ')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as object).filter(
      ([, item]) => item !== undefined
    );
    return `{${entries
      .map(([key, item]) => `${JSON.stringify(key)}: ${inlineJSON(item)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * JSON for a narrow panel: what fits in `width` characters stays on one
 * line (a row of a table, a list of predictions), the rest is indented by
 * two spaces.
 *
 * ```ts
 * compactJSON({ inputs: [[1, 2], [3, 4]] }); // '{"inputs": [[1, 2], [3, 4]]}'
 * ```
 */
export function compactJSON(value: unknown, width = 48, indent = ''): string {
  const inline = inlineJSON(value);
  if (indent.length + inline.length <= width || value === null) {
    return inline;
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return '[]';
    }
    const items = value.map(item => inner + compactJSON(item, width, inner));
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as object).filter(
      ([, item]) => item !== undefined
    );
    if (entries.length === 0) {
      return '{}';
    }
    const items = entries.map(([key, item]) => {
      const head = `${inner}${JSON.stringify(key)}: `;
      return head + compactJSON(item, width, inner);
    });
    return `{\n${items.join(',\n')}\n${indent}}`;
  }
  return inline;
}

/** A JSON value as the try-it form shows it: compact, or `''` for none. */
export function exampleText(example: unknown): string {
  if (example === null || example === undefined) {
    return '';
  }
  return compactJSON(example);
}

/**
 * The payload a try-it text holds: a JSON object, or why it is not one.
 */
export function parsePayload(
  text: string,
  trans: TranslationBundle = defaultTrans
): { payload: { [key: string]: unknown } } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (reason) {
    return {
      error: trans.__('Not JSON: %1', (reason as Error).message)
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      error: trans.__(
        'MLflow takes a JSON object: {"dataframe_split": …}, {"dataframe_records": …}, {"instances": …} or {"inputs": …}.'
      )
    };
  }
  return { payload: value as { [key: string]: unknown } };
}
