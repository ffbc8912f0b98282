/**
 * The tokens DataOps plugins use to reach each other: the sidebar host, which
 * every capability adds its section to, and the jobs, schedules, snapshots
 * and endpoints models.
 */
import { Event } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import { Token } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import type * as React from 'react';

import type { DataOpsApiError, ExecutorCapabilities, ServerInfo } from './api';
import type { ICollectionModel } from './collection';
import type { IEndpointsClient } from './endpoints/client';
import type {
  DriftReport,
  Endpoint,
  EndpointMetrics,
  EndpointQuery,
  InvokeResult,
  ModelList,
  Publication,
  PublishRequest,
  RegisteredModel,
  Snippets,
  TrafficRequest
} from './endpoints/types';
import type { IJobsClient } from './jobs/client';
import type {
  Job,
  JobCreate,
  JobQuery,
  JobRerun,
  JobSummary
} from './jobs/types';
import type { ISchedulesClient } from './schedules/client';
import type {
  CronPreview,
  Firing,
  Schedule,
  ScheduleCreate,
  ScheduleQuery,
  ScheduleRunNow,
  ScheduleSummary,
  ScheduleUpdate
} from './schedules/types';
import type { ISnapshotsClient } from './snapshots/client';
import type {
  Lineage,
  RestoreResult,
  Snapshot,
  SnapshotCreate,
  SnapshotDiff,
  SnapshotQuery,
  SnapshotRestore,
  SnapshotSummary,
  WorkspaceStatus
} from './snapshots/types';

/** What a plugin gives to add a section to the DataOps sidebar. */
export interface ISidebarSectionOptions {
  /** Unique among sections, e.g. `'jobs'`; also names the section's DOM id. */
  id: string;
  /** The section's heading (translated). */
  title: string;
  /** A tooltip for the heading (translated); defaults to the title. */
  caption?: string;
  /** Lower ranks come first (default 100). Jobs is 100. */
  rank?: number;
  icon?: LabIcon;
  /** The section's body: a widget, or a React component rendered in one. */
  content: Widget | React.FunctionComponent;
  /** Widgets shown in the section's heading, e.g. a refresh button. */
  toolbar?: ReadonlyArray<{ name: string; widget: Widget }>;
  /** Start collapsed with `false` (the user's choice, once saved, wins). */
  expanded?: boolean;
}

/** A section in the sidebar; dispose it to remove it. */
export interface ISidebarSection extends IDisposable {
  readonly id: string;
  readonly title: string;
  readonly rank: number;
  /** The section (heading and body) in the sidebar's accordion. */
  readonly widget: Widget;
  /** The body given as `content`, or the widget rendering it. */
  readonly content: Widget;
}

/**
 * The DataOps sidebar: a host of collapsible sections ordered by rank.
 *
 * ```ts
 * const section = sidebar.addSection({
 *   id: 'schedules',
 *   title: trans.__('Schedules'),
 *   rank: 200,
 *   content: () => <SchedulesView model={model} trans={trans} />
 * });
 * ```
 */
export interface IDataOpsSidebar {
  /** The sidebar widget's id. */
  readonly id: string;
  /** The sections, by rank (then by the order they were added). */
  readonly sections: ReadonlyArray<ISidebarSection>;
  /** A section was added or removed. */
  readonly sectionsChanged: ISignal<IDataOpsSidebar, void>;
  /** A section was expanded or collapsed. */
  readonly expansionChanged: ISignal<
    IDataOpsSidebar,
    { id: string; expanded: boolean }
  >;
  /** Add a section; ids are unique (adding a taken one throws). */
  addSection(options: ISidebarSectionOptions): ISidebarSection;
  /** Bring the sidebar into view and, given a section id, expand that section. */
  showSection(sectionId?: string): void;
  isExpanded(id: string): boolean;
  /** Expand or collapse a section (or, for one not added yet, choose how it starts). */
  setExpanded(id: string, expanded: boolean): void;
}

/** The DataOps sidebar token. */
export const IDataOpsSidebar = new Token<IDataOpsSidebar>(
  'jupyter-dataops:IDataOpsSidebar',
  'The DataOps sidebar, a host of sections (jobs, schedules, ...) that plugins add to.'
);

/**
 * A button shown in each job's detail, running a command with `{ id }`.
 *
 * Plugins add their own with `IJobsModel.addAction`, e.g. the run plugin
 * adds "Re-run…".
 */
export interface IJobAction {
  /** Unique among actions; adding an action with a taken id replaces it. */
  id: string;
  /** The command run with `{ id: job.id }`. */
  command: string;
  /** The button text (translated). */
  label: string | ((job: Job) => string);
  /** A tooltip (translated). */
  caption?: string | ((job: Job) => string);
  /** Lower ranks come first. */
  rank: number;
  /** How the button looks: the main action, a destructive one, or plain. */
  kind?: 'primary' | 'danger' | 'default';
  isVisible?: (job: Job) => boolean;
  isEnabled?: (job: Job) => boolean;
}

/**
 * The jobs model: the job list (a collection of job summaries kept live from
 * server events), full jobs on demand, and the job operations.
 */
export interface IJobsModel extends IDisposable {
  /** The REST client for jobs; views use it for logs, HTML and parameters. */
  readonly client: IJobsClient;
  /** The job list: its page, filters, sort, totals and counts. */
  readonly collection: ICollectionModel<JobSummary, JobQuery>;
  /** What the server said about itself, once it answered. */
  readonly info: ServerInfo | null;
  /**
   * What the executor supports; everything but GPUs until the server says
   * otherwise.
   */
  readonly capabilities: ExecutorCapabilities;
  /** `info` arrived. */
  readonly infoChanged: ISignal<IJobsModel, ServerInfo>;

  /** The actions offered on each job, by rank. */
  readonly actions: ReadonlyArray<IJobAction>;
  /** An action was added or removed. */
  readonly actionsChanged: ISignal<IJobsModel, void>;
  /** Offer an action on each job; dispose the result to withdraw it. */
  addAction(action: IJobAction): IDisposable;

  /** A full job was fetched, or its live fields changed. */
  readonly jobChanged: ISignal<IJobsModel, Job>;
  /**
   * A job was seen to finish (complete, fail or be cancelled) in this
   * session, having been seen queued or running before; with the full job.
   */
  readonly jobFinished: ISignal<IJobsModel, Job>;

  /** The last known summary of a job, on the page or not. */
  getSummary(id: string): JobSummary | undefined;
  /** The last fetched full job, with its live fields up to date. */
  getJob(id: string): Job | undefined;
  /** Fetch a full job (null if it no longer exists). */
  fetchJob(id: string): Promise<Job | null>;
  /**
   * Whether this browser session submitted the job (run dialog or re-run):
   * its end is announced with a toast, others' only in the notification list.
   */
  isSubmittedHere(id: string): boolean;

  createJob(request: JobCreate): Promise<Job>;
  rerunJob(id: string, request: JobRerun): Promise<Job>;
  cancelJob(id: string): Promise<Job>;
  deleteJob(id: string): Promise<void>;
  /** Fetch the job list's current page now. */
  refresh(): Promise<void>;
  /** Take a server event; anything but a job event is ignored. */
  handleEvent(event: Event.Emission): void;
}

/** The jobs model token. */
export const IJobsModel = new Token<IJobsModel>(
  'jupyter-dataops:IJobsModel',
  'The DataOps jobs model: the live job list, full jobs and job operations.'
);

/**
 * The schedules model: the schedule list (a collection of schedule summaries
 * kept live from schedule and job events), full schedules on demand, each
 * schedule's runs, and the schedule operations.
 */
export interface ISchedulesModel extends IDisposable {
  /** The REST client for schedules. */
  readonly client: ISchedulesClient;
  /** The schedule list: its page, filters, sort, totals and counts. */
  readonly collection: ICollectionModel<ScheduleSummary, ScheduleQuery>;
  /** A full schedule was fetched, or its live fields changed. */
  readonly scheduleChanged: ISignal<ISchedulesModel, Schedule>;
  /** A schedule was deleted (here or elsewhere); with its id. */
  readonly scheduleRemoved: ISignal<ISchedulesModel, string>;

  /** The last known summary of a schedule, on the page or not. */
  getSummary(id: string): ScheduleSummary | undefined;
  /** The last fetched full schedule, with its live fields up to date. */
  getSchedule(id: string): Schedule | undefined;
  /** Fetch a full schedule (null if it no longer exists). */
  fetchSchedule(id: string): Promise<Schedule | null>;

  createSchedule(request: ScheduleCreate): Promise<Schedule>;
  /** A new version of its definition, with the fields given. */
  updateSchedule(id: string, request: ScheduleUpdate): Promise<Schedule>;
  pauseSchedule(id: string): Promise<Schedule>;
  resumeSchedule(id: string): Promise<Schedule>;
  /** Run its notebook now, with parameters over its own; the new job. */
  runNow(id: string, request: ScheduleRunNow): Promise<Job>;
  /** Delete it; with `deleteRuns`, its finished runs too. */
  deleteSchedule(id: string, deleteRuns: boolean): Promise<void>;
  /** What became of its latest due times, newest first. */
  firings(id: string, limit?: number): Promise<Firing[]>;
  /** A cron expression in plain words, with its next five due times. */
  preview(cron: string, timezone: string): Promise<CronPreview>;
  /**
   * A schedule's runs (jobs with its `schedule_id`), newest first, kept live
   * until disposed.
   */
  openRuns(id: string, limit?: number): ICollectionModel<JobSummary, JobQuery>;
  /** Fetch the schedule list's current page now. */
  refresh(): Promise<void>;
  /** Take a server event: schedule events, and job events for last runs. */
  handleEvent(event: Event.Emission): void;
}

/** The schedules model token. */
export const ISchedulesModel = new Token<ISchedulesModel>(
  'jupyter-dataops:ISchedulesModel',
  'The DataOps schedules model: the live schedule list, full schedules and schedule operations.'
);

/** A snapshot operation under way: taking one, restoring one, pushing one. */
export interface ISnapshotOperation {
  kind: 'take' | 'restore' | 'push';
  /** The snapshot restored or pushed; null while one is taken. */
  id: string | null;
  /** The message of the snapshot being taken, or of the one restored. */
  message: string;
  /** When it began (epoch seconds). */
  started: number;
}

/**
 * The snapshots model: the snapshot list (a collection of snapshot summaries
 * kept live from snapshot events), full snapshots on demand, the state of
 * the project (set up, changed since the newest snapshot), and the snapshot
 * operations.
 */
export interface ISnapshotsModel extends IDisposable {
  /** The REST client for snapshots. */
  readonly client: ISnapshotsClient;
  /** The snapshot list: its page, filters, totals and counts by status. */
  readonly collection: ICollectionModel<SnapshotSummary, SnapshotQuery>;
  /** The project's state, once the server answered. */
  readonly workspace: WorkspaceStatus | null;
  /** Why the project's state could not be read, or null. */
  readonly workspaceError: DataOpsApiError | null;
  /** `workspace` or `workspaceError` changed. */
  readonly workspaceChanged: ISignal<ISnapshotsModel, void>;
  /** The operations under way (taking, restoring, pushing). */
  readonly operations: ReadonlyArray<ISnapshotOperation>;
  /** An operation began or ended. */
  readonly operationsChanged: ISignal<ISnapshotsModel, void>;
  /** A full snapshot was fetched, or its live fields changed. */
  readonly snapshotChanged: ISignal<ISnapshotsModel, Snapshot>;

  /** The last known summary of a snapshot, on the page or not. */
  getSummary(id: string): SnapshotSummary | undefined;
  /** The last fetched full snapshot, with its live fields up to date. */
  getSnapshot(id: string): Snapshot | undefined;
  /** Fetch a full snapshot (null if it no longer exists). */
  fetchSnapshot(id: string): Promise<Snapshot | null>;
  /** Ask for the project's state now; throws if the server fails. */
  fetchWorkspace(): Promise<WorkspaceStatus>;
  /** Ask for the project's state soon, once for a burst of changes. */
  workspaceMayHaveChanged(): void;

  /**
   * Take a snapshot (shown in `operations` while it is taken): through the
   * REST API, or through `take`, e.g. a kernel that saves its variables too.
   */
  takeSnapshot(
    request: SnapshotCreate,
    take?: (request: SnapshotCreate) => Promise<Snapshot>
  ): Promise<Snapshot>;
  /** Restore a snapshot, or some paths of it, after a safety snapshot. */
  restoreSnapshot(id: string, request: SnapshotRestore): Promise<RestoreResult>;
  /** Push a snapshot's data to the DVC remote now. */
  pushSnapshot(id: string): Promise<Snapshot>;
  /** What changed from snapshot `a` to snapshot `b`. */
  diff(a: string, b: string): Promise<SnapshotDiff>;
  /** What produced a snapshot, and the jobs that ran on it. */
  lineage(id: string): Promise<Lineage>;
  /** Ready snapshots, newest first, whatever the list's filters (for choosing one). */
  listReady(limit?: number): Promise<SnapshotSummary[]>;
  /** Fetch the snapshot list's current page and the project's state now. */
  refresh(): Promise<void>;
  /** Take a server event; anything but a snapshot event is ignored. */
  handleEvent(event: Event.Emission): void;
}

/** The snapshots model token. */
export const ISnapshotsModel = new Token<ISnapshotsModel>(
  'jupyter-dataops:ISnapshotsModel',
  'The DataOps snapshots model: the live snapshot list, the project’s state and snapshot operations.'
);

/** An endpoint's requests drifted over its threshold. */
export interface IDriftCrossing {
  /** The endpoint's name. */
  name: string;
  /** Its drift score, when known (an event only says it crossed). */
  score: number | null;
  threshold: number | null;
}

/**
 * The endpoints model: the catalogue (a collection of endpoints by name, kept
 * live from endpoint events), their recent traffic, drift crossings, and the
 * endpoint operations.
 */
export interface IEndpointsModel extends IDisposable {
  /** The REST client for endpoints and registered models. */
  readonly client: IEndpointsClient;
  /** The catalogue: every endpoint, with counts by status. */
  readonly collection: ICollectionModel<Endpoint, EndpointQuery>;
  /** An endpoint's metrics were fetched; with its name. */
  readonly metricsChanged: ISignal<IEndpointsModel, string>;
  /**
   * An endpoint's drift went over its threshold: once per crossing (it must
   * fall back under it before it is told again).
   */
  readonly driftCrossed: ISignal<IEndpointsModel, IDriftCrossing>;

  /** The last known state of an endpoint. */
  getEndpoint(name: string): Endpoint | undefined;
  /** Fetch an endpoint (null if it no longer exists). */
  fetchEndpoint(name: string): Promise<Endpoint | null>;
  /** The last fetched metrics of an endpoint. */
  getMetrics(name: string): EndpointMetrics | undefined;
  /** Fetch an endpoint's last hour of metrics now. */
  fetchMetrics(name: string): Promise<EndpointMetrics>;
  /**
   * Keep the traffic of the catalogue's answering endpoints fresh (every
   * 10 s) until the result is disposed.
   */
  watchMetrics(): IDisposable;
  /** Fetch an endpoint's drift report (and note whether it drifted). */
  fetchDrift(name: string): Promise<DriftReport>;
  /** curl and Python requests for an endpoint, and its input example. */
  snippets(name: string): Promise<Snippets>;
  /** Send a scoring request through the server. */
  invoke(
    name: string,
    payload: { [key: string]: unknown }
  ): Promise<InvokeResult>;
  listModels(): Promise<ModelList>;
  /** A registered model, its versions (with MLflow links) and aliases. */
  getModel(modelName: string): Promise<RegisteredModel>;

  /** Publish a model through the REST API. */
  publish(request: PublishRequest): Promise<Publication>;
  /** Show what a publication made elsewhere (a kernel's magic) at once. */
  recordPublication(publication: Publication): void;
  startEndpoint(name: string): Promise<Endpoint>;
  stopEndpoint(name: string): Promise<Endpoint>;
  restartEndpoint(name: string): Promise<Endpoint>;
  /** Serve the version served before the current one. */
  rollbackEndpoint(name: string): Promise<Endpoint>;
  /** Serve `version` (default: the canary) to all requests. */
  promoteEndpoint(name: string, version?: number | null): Promise<Endpoint>;
  /** Split traffic between the version served and a canary. */
  splitTraffic(name: string, request: TrafficRequest): Promise<Endpoint>;
  /** Stop an endpoint and forget it (its model versions stay). */
  deleteEndpoint(name: string): Promise<void>;
  /** Fetch the catalogue now. */
  refresh(): Promise<void>;
  /** Take a server event; anything but an endpoint event is ignored. */
  handleEvent(event: Event.Emission): void;
}

/** The endpoints model token. */
export const IEndpointsModel = new Token<IEndpointsModel>(
  'jupyter-dataops:IEndpointsModel',
  'The DataOps endpoints model: the live catalogue of model endpoints, their traffic and drift, and endpoint operations.'
);
