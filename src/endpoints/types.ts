/**
 * The endpoint and model registry types, all derived from the generated
 * OpenAPI types (`src/openapi.d.ts`), and the runtime lists the UI needs,
 * each checked at compile time against the type it lists.
 */
import { allOf, Schemas } from '../api';
import { ICollectionEvent, ICollectionQuery } from '../collection';

/** The schema id of the endpoint change events on the server's event bus. */
export const ENDPOINT_EVENT_SCHEMA_ID =
  'https://events.jupyter-dataops.org/endpoint/v1';

/**
 * An endpoint's name: a DNS label (it becomes a Kubernetes Service name on a
 * cluster), as the server checks it.
 */
export const ENDPOINT_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** What an endpoint is doing: `starting -> running | failed`, `stopped`. */
export type EndpointStatus = Schemas['EndpointStatus'];

/** Every status, in the order the UI lists them. */
export const ENDPOINT_STATUSES = allOf<EndpointStatus>()([
  'running',
  'starting',
  'failed',
  'stopped'
]);

/** A model served on a URL: the version, a canary, its state and history. */
export type Endpoint = Schemas['Endpoint'];

/** One thing done to an endpoint (published, promoted, stopped, ...). */
export type EndpointAction = Schemas['EndpointAction'];

/** The catalogue: every endpoint of the project. */
export type EndpointPage = Schemas['EndpointPage'];

/**
 * The catalogue's query: the list route takes no filters, so only what the
 * collection model itself asks (by name, through `id`).
 */
export type EndpointQuery = ICollectionQuery;

/** Register a model as a new version and serve it. */
export type PublishRequest = Schemas['PublishRequest'];

/** What publishing did: the endpoint, the version, how long it took. */
export type Publication = Schemas['Publication'];

/** Serve another version (default: the canary) to all requests. */
export type PromoteRequest = Schemas['PromoteRequest'];

/** Split traffic between the version served and a canary. */
export type TrafficRequest = Schemas['TrafficRequest'];

/** Requests, errors and latency over the last hour, per interval. */
export type EndpointMetrics = Schemas['EndpointMetrics'];

/** One interval of an endpoint's metrics. */
export type MetricPoint = Schemas['MetricPoint'];

/** How far recent requests drifted from the reference data. */
export type DriftReport = Schemas['DriftReport'];

/** One column's drift score (population stability index). */
export type ColumnDrift = Schemas['ColumnDrift'];

/** curl and Python requests built from the input example. */
export type Snippets = Schemas['Snippets'];

/** The token an endpoint off loopback requires. */
export type EndpointToken = Schemas['EndpointToken'];

/** A scoring request sent through the server ("Try it"). */
export type InvokeRequest = Schemas['InvokeRequest'];

/** What the endpoint answered, and which version answered. */
export type InvokeResult = Schemas['InvokeResult'];

/** The registered models of the MLflow registry. */
export type ModelList = Schemas['ModelList'];

/** A registered model, its aliases and versions. */
export type RegisteredModel = Schemas['RegisteredModel'];

/** One version of a registered model. */
export type ModelVersion = Schemas['ModelVersion'];

/**
 * Where a kernel logs a model, and where endpoints are served (`target`: the
 * deployment target's name, `local` or `kubernetes`).
 */
export type ModelSettings = Schemas['ModelSettings'];

/**
 * An endpoint change event (schema `endpoint/v1`, described by
 * `jupyter_dataops/server/event_schemas/endpoint/v1.yaml`): the collection's
 * `{action, id, seq}` (the id is the endpoint's name) with its status, the
 * version it serves and whether its drift is over its threshold.
 */
export type EndpointEvent = ICollectionEvent &
  Pick<Schemas['EndpointEvent'], 'status' | 'version' | 'drifted'>;
