/**
 * The schedule types, all derived from the generated OpenAPI types
 * (`src/openapi.d.ts`), and the runtime lists the UI needs, each checked at
 * compile time against the type it lists.
 */
import { allOf, Schemas, WithJSON } from '../api';
import { ICollectionEvent } from '../collection';
import { JobStatus } from '../jobs/types';

/** The schema id of the schedule change events on the server's event bus. */
export const SCHEDULE_EVENT_SCHEMA_ID =
  'https://events.jupyter-dataops.org/schedule/v1';

/** A schedule fires (`active`) or waits for a resume (`paused`). */
export type ScheduleStatus = Schemas['ScheduleStatus'];

/** Every status, in the order the UI lists them. */
export const SCHEDULE_STATUSES = allOf<ScheduleStatus>()(['active', 'paused']);

/** A schedule in full: its definition, next runs and recent outcomes. */
export type Schedule = WithJSON<Schemas['Schedule'], 'parameters'>;

/** A schedule as the list shows it. */
export type ScheduleSummary = Schemas['ScheduleSummary'];

/** One page of the schedule list. */
export type SchedulePage = Schemas['SchedulePage'];

/** How to filter, sort and page the schedule list. */
export type ScheduleQuery = Schemas['ScheduleQuery'];

/** The fields the schedule list can be sorted by. */
export type ScheduleSort = NonNullable<ScheduleQuery['sort']>;

/** Every sort field, in the order the UI offers them. */
export const SCHEDULE_SORTS = allOf<ScheduleSort>()([
  'next_run_at',
  'created_at',
  'name'
]);

/** A request to turn a notebook into a schedule. */
export type ScheduleCreate = WithJSON<Schemas['ScheduleCreate'], 'parameters'>;

/** A change of a schedule: the fields given make a new version. */
export type ScheduleUpdate = WithJSON<Schemas['ScheduleUpdate'], 'parameters'>;

/** Run a schedule's notebook now, with parameters over its own. */
export type ScheduleRunNow = WithJSON<Schemas['ScheduleRunNow'], 'parameters'>;

/** A cron expression in plain words with its next five due times. */
export type CronPreview = Schemas['CronPreview'];

/** One due time of a schedule and what became of it. */
export type Firing = Schemas['Firing'];

/** A schedule's firings, newest first. */
export type FiringList = Schemas['FiringList'];

/** What became of one due time: queued (a job), skipped by policy, missed. */
export type FiringOutcome = Schemas['FiringOutcome'];

/** Every firing outcome. */
export const FIRING_OUTCOMES = allOf<FiringOutcome>()([
  'queued',
  'skipped',
  'missed'
]);

/** The run a schedule made last. */
export type LastRun = Schemas['LastRun'];

/** Who hears how a scheduled run ended, as the server shows it (webhook redacted). */
export type NotifyOutput = Schemas['Notify-Output'];

/** Who hears how a scheduled run ended, as a request sets it. */
export type NotifyInput = Schemas['Notify-Input'];

/** What to do with due times missed while no scheduler ran. */
export type MisfirePolicy = Schedule['misfire_policy'];

export const MISFIRE_POLICIES = allOf<MisfirePolicy>()(['run_once', 'skip']);

/** What to do when a run is due while the previous one still runs. */
export type ConcurrencyPolicy = Schedule['concurrency_policy'];

export const CONCURRENCY_POLICIES = allOf<ConcurrencyPolicy>()([
  'forbid',
  'allow',
  'replace'
]);

/**
 * One of a schedule's recent outcomes (`ScheduleSummary.recent`): the status
 * of the job a due time queued, or `skipped` / `missed`.
 */
export type RecentOutcome = JobStatus | Exclude<FiringOutcome, 'queued'>;

/** Every recent outcome the sparkline draws. */
export const RECENT_OUTCOMES = allOf<RecentOutcome>()([
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled',
  'skipped',
  'missed'
]);

/**
 * A schedule change event (schema `schedule/v1`, described by
 * `jupyter_dataops/server/event_schemas/schedule/v1.yaml`): the collection's
 * `{action, id, seq}` with the schedule's status and next due time after the
 * change.
 */
export type ScheduleEvent = ICollectionEvent & {
  status?: ScheduleStatus;
  next_run_at?: ScheduleSummary['next_run_at'];
};
