/**
 * The sandboxes model token, for other plugins to reach the live sandbox
 * list and the sandbox operations.
 */
import { Event } from '@jupyterlab/services';
import { Token } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';

import type { ICollectionModel } from '../collection';
import type { ISandboxesClient } from './client';
import type {
  ProfileList,
  Sandbox,
  SandboxCreate,
  SandboxQuery
} from './types';

/**
 * The sandboxes model: the project's sandboxes (a collection kept live from
 * sandbox events), the profiles to start one from, and the operations.
 */
export interface ISandboxesModel extends IDisposable {
  /** The REST client for sandboxes and profiles. */
  readonly client: ISandboxesClient;
  /** The sandboxes: active ones, then recently ended ones. */
  readonly collection: ICollectionModel<Sandbox, SandboxQuery>;

  /** The last known state of a sandbox. */
  getSandbox(id: string): Sandbox | undefined;
  /** Fetch a sandbox (null if it no longer exists). */
  fetchSandbox(id: string): Promise<Sandbox | null>;
  /** The profiles, their field limits and the caller's quotas, now. */
  fetchProfiles(): Promise<ProfileList>;
  /** Start a sandbox; it is shown provisioning at once. */
  startSandbox(request: SandboxCreate): Promise<Sandbox>;
  stopSandbox(id: string): Promise<Sandbox>;
  /** Fetch the list now. */
  refresh(): Promise<void>;
  /** Take a server event; anything but a sandbox event is ignored. */
  handleEvent(event: Event.Emission): void;
}

/** The sandboxes model token. */
export const ISandboxesModel = new Token<ISandboxesModel>(
  'jupyter-dataops:ISandboxesModel',
  'The DataOps sandboxes model: the live sandbox list, profiles and sandbox operations.'
);
