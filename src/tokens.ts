/**
 * The tokens other plugins use to reach the DataOps model.
 */
import { Event } from '@jupyterlab/services';
import { Token } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';

import {
  DataOpsApiError,
  IDataOpsClient,
  IJob,
  IJobCreate,
  IJobQuery,
  IJobRerun,
  StatusCounts
} from './api';

/**
 * A button shown in each job's detail, running a command with `{ id }`.
 *
 * Plugins add their own with `IDataOpsModel.addJobAction`, e.g. the run
 * plugin adds "Re-run…".
 */
export interface IJobAction {
  /** Unique among actions; adding an action with a taken id replaces it. */
  id: string;
  /** The command run with `{ id: job.id }`. */
  command: string;
  /** The button text (translated). */
  label: string | ((job: IJob) => string);
  /** A tooltip (translated). */
  caption?: string | ((job: IJob) => string);
  /** Lower ranks come first. */
  rank: number;
  /** How the button looks: the main action, a destructive one, or plain. */
  kind?: 'primary' | 'danger' | 'default';
  isVisible?: (job: IJob) => boolean;
  isEnabled?: (job: IJob) => boolean;
}

/**
 * The job model: one page of the job list with its filters, kept up to date
 * from server events and a slow fallback poll.
 */
export interface IDataOpsModel extends IDisposable {
  /** The REST client the model uses; views use it for logs, HTML and parameters. */
  readonly client: IDataOpsClient;
  /** The jobs on the current page. */
  readonly jobs: ReadonlyArray<IJob>;
  /** How many jobs match the filters (all pages). */
  readonly total: number;
  /** How many jobs there are in each status, whatever the filters. */
  readonly counts: StatusCounts;
  readonly query: Readonly<IJobQuery>;
  /** The current page, from 1. */
  readonly page: number;
  /** The number of pages, at least 1. */
  readonly pageCount: number;
  /** Whether the list has been loaded once. */
  readonly ready: boolean;
  /** Whether a list request is under way. */
  readonly loading: boolean;
  /** Why the last list request failed, or null if it did not. */
  readonly error: DataOpsApiError | null;
  /** The list or one of its jobs changed. */
  readonly changed: ISignal<IDataOpsModel, void>;
  /** One job was fetched again or patched from an event. */
  readonly jobChanged: ISignal<IDataOpsModel, IJob>;
  /**
   * A job was seen to finish (complete, fail or be cancelled) in this session,
   * having been seen queued or running before.
   */
  readonly jobFinished: ISignal<IDataOpsModel, IJob>;

  /** Change the filters, sort or page size; goes back to the first page unless `offset` is given. */
  setQuery(changes: Partial<IJobQuery>): void;
  /** Go to a page, from 1; clamped to the pages there are. */
  setPage(page: number): void;
  /** Fetch the current page now. */
  refresh(): Promise<void>;
  /** Fetch one job, update it in the list and return it (null if it no longer exists). */
  refreshJob(id: string): Promise<IJob | null>;
  /**
   * Whether this browser session submitted the job (run dialog or re-run):
   * its end is announced with a toast, others' only in the notification list.
   */
  isSubmittedHere(id: string): boolean;
  /** The last known state of a job, if the model has seen it. */
  getJob(id: string): IJob | undefined;
  /** The actions offered on each job, by rank. */
  readonly jobActions: ReadonlyArray<IJobAction>;
  /** An action was added or removed. */
  readonly jobActionsChanged: ISignal<IDataOpsModel, void>;
  /** Offer an action on each job; dispose the result to withdraw it. */
  addJobAction(action: IJobAction): IDisposable;

  /** Take a server event; anything but a DataOps job event is ignored. */
  handleEvent(event: Event.Emission): void;

  createJob(request: IJobCreate): Promise<IJob>;
  rerunJob(id: string, request: IJobRerun): Promise<IJob>;
  cancelJob(id: string): Promise<IJob>;
  deleteJob(id: string): Promise<void>;
}

/** The DataOps model token. */
export const IDataOpsModel = new Token<IDataOpsModel>(
  'jupyter-dataops:IDataOpsModel',
  'The DataOps job model: the job list, its filters and live job updates.'
);
