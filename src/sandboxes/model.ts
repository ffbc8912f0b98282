/**
 * The sandboxes model: the project's sandboxes as a generic collection,
 * kept live from sandbox events (a provisioning step, ready, an idle
 * warning, stopped, failed), the profiles to start one from, and the
 * sandbox operations.
 */
import { Event } from '@jupyterlab/services';

import { DataOpsApiError } from '../api';
import {
  CollectionModel,
  ICollectionEvent,
  ICollectionPage,
  wholeListPage
} from '../collection';
import { ISandboxesClient } from './client';
import { ISandboxesModel } from './tokens';
import {
  ProfileList,
  Sandbox,
  SANDBOX_EVENT_SCHEMA_ID,
  SANDBOX_STATUSES,
  SandboxCreate,
  SandboxQuery,
  SandboxStatus
} from './types';

/**
 * A sandbox updated from its event: status, progress, and the warning and
 * error, which an event leaves out when there is none.
 */
export function patchSandbox(
  sandbox: Sandbox,
  event: ICollectionEvent
): Sandbox {
  const status = SANDBOX_STATUSES.includes(event.status as SandboxStatus)
    ? (event.status as SandboxStatus)
    : sandbox.status;
  return {
    ...sandbox,
    status,
    progress:
      typeof event.progress === 'number' ? event.progress : sandbox.progress,
    warning: typeof event.warning === 'string' ? event.warning : null,
    error: typeof event.error === 'string' ? event.error : null
  };
}

/** The sandboxes model. */
export class SandboxesModel implements ISandboxesModel {
  constructor(options: SandboxesModel.IOptions) {
    this.client = options.client;
    this.collection = new CollectionModel<Sandbox, SandboxQuery>({
      fetch: query => this._fetchPage(query),
      idField: 'id',
      eventSchemaId: SANDBOX_EVENT_SCHEMA_ID,
      query: {},
      patch: patchSandbox,
      countKey: sandbox => sandbox.status,
      byIds: ids => ({ id: [...ids] }),
      poll: options.poll,
      pollInterval: options.pollInterval,
      maxPollInterval: options.maxPollInterval,
      refreshDelay: options.refreshDelay ?? 300,
      name: 'jupyter-dataops:sandboxes'
    });
  }

  readonly client: ISandboxesClient;
  readonly collection: CollectionModel<Sandbox, SandboxQuery>;

  get isDisposed(): boolean {
    return this.collection.isDisposed;
  }

  dispose(): void {
    this.collection.dispose();
  }

  getSandbox(id: string): Sandbox | undefined {
    return this.collection.get(id);
  }

  async fetchSandbox(id: string): Promise<Sandbox | null> {
    const since = this.collection.seq;
    try {
      const sandbox = await this.client.getSandbox(id);
      this.collection.put(sandbox, since);
      return this.collection.get(sandbox.id) ?? sandbox;
    } catch (reason) {
      if (reason instanceof DataOpsApiError && reason.kind === 'not_found') {
        this.collection.remove(id);
        return null;
      }
      throw reason;
    }
  }

  fetchProfiles(): Promise<ProfileList> {
    return this.client.listProfiles();
  }

  async startSandbox(request: SandboxCreate): Promise<Sandbox> {
    const since = this.collection.seq;
    const sandbox = await this.client.startSandbox(request);
    this.collection.put(sandbox, since);
    // The list shows it at once: its page is asked for again.
    void this.collection.refresh();
    return sandbox;
  }

  async stopSandbox(id: string): Promise<Sandbox> {
    const since = this.collection.seq;
    const sandbox = await this.client.stopSandbox(id);
    this.collection.put(sandbox, since);
    return sandbox;
  }

  async refresh(): Promise<void> {
    await this.collection.refresh();
  }

  handleEvent(event: Event.Emission): void {
    this.collection.handleEvent(event);
  }

  /** The list route answers every sandbox; pick those asked for by id. */
  private async _fetchPage(
    query: SandboxQuery
  ): Promise<ICollectionPage<Sandbox>> {
    // The page reflects at least every change seen before it was asked for.
    const seq = this.collection?.seq ?? 0;
    const page = await this.client.listSandboxes();
    return wholeListPage(
      page.items,
      page.total,
      query.id,
      item => item.id,
      seq
    );
  }
}

export namespace SandboxesModel {
  export interface IOptions {
    client: ISandboxesClient;
    /** Poll the list as a fallback for missed events (default true). */
    poll?: boolean;
    /** Milliseconds between polls while all is well (default 10 s). */
    pollInterval?: number;
    /** The longest wait between polls while the server fails (default 5 min). */
    maxPollInterval?: number;
    /** Milliseconds to gather events before refetching (default 300). */
    refreshDelay?: number;
  }
}
