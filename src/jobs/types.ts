/**
 * The job types, all derived from the generated OpenAPI types
 * (`src/openapi.d.ts`), and the runtime lists the UI needs, each checked at
 * compile time against the type it lists.
 */
import { allOf, JSONValue, Schemas, WithJSON } from '../api';
import { ICollectionEvent } from '../collection';

/** The schema id of the job change events on the server's event bus. */
export const JOB_EVENT_SCHEMA_ID = 'https://events.jupyter-dataops.org/job/v2';

/** States of a job: `queued -> running -> completed | failed | cancelled`. */
export type JobStatus = Schemas['JobStatus'];

/** Every status, in the order the UI lists them. */
export const JOB_STATUSES = allOf<JobStatus>()([
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled'
]);

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

/** A job in full: one execution (with retries) of a notebook with parameters. */
export type Job = WithJSON<Schemas['Job'], 'parameters'>;

/** A job as a list shows it: no parameters, warnings or traceback. */
export type JobSummary = Schemas['JobSummary'];

/** One page of the job list. */
export type JobPage = Schemas['JobPage'];

/** How to filter, sort and page the job list. */
export type JobQuery = Schemas['JobQuery'];

/** The fields the job list can be sorted by. */
export type JobSort = NonNullable<JobQuery['sort']>;

/** Every sort field, in the order the UI offers them. */
export const JOB_SORTS = allOf<JobSort>()([
  'created_at',
  'started_at',
  'finished_at',
  'name',
  'status',
  'notebook_path'
]);

export type JobOrder = NonNullable<JobQuery['order']>;

/** A request to run a notebook as a job. */
export type JobCreate = WithJSON<Schemas['JobCreate'], 'parameters'>;

/** A request to run a job again; parameters given here replace the original ones. */
export type JobRerun = WithJSON<Schemas['JobRerun'], 'parameters'>;

/** A chunk of a job's log, from a byte offset. */
export type JobLogs = Schemas['JobLogs'];

/** Why a job failed: the failing cell, its error and traceback. */
export type JobError = Schemas['JobError'];

/** A job's error in a list: no traceback. */
export type JobErrorSummary = Schemas['JobErrorSummary'];

/** How far a job's execution got. */
export type JobProgress = Schemas['JobProgress'];

/** A job's parameters: names and JSON values. */
export type Parameters = Job['parameters'];

/** The type papermill infers for a parameter from its default value. */
export type ParameterType = Schemas['ParameterSpec']['type'];

/** One parameter of a notebook's `parameters` cell. */
export type ParameterSpec = WithJSON<Schemas['ParameterSpec'], 'default'>;

/** What the run dialog needs to build its form for one notebook. */
export type NotebookParameters = Omit<
  Schemas['NotebookParameters'],
  'parameters'
> & {
  parameters: ParameterSpec[];
};

/** Number of jobs in each status. */
export type StatusCounts = { [status in JobStatus]: number };

/**
 * A job change event (schema `job/v2`, described as `JobEvent` in the
 * OpenAPI file): the collection's `{action, id, seq}` with the job's status
 * and progress after the change.
 */
export type JobEvent = ICollectionEvent & Schemas['JobEvent'];

/** Re-exported for the job views: a JSON value, as parameters are. */
export type { JSONValue };
