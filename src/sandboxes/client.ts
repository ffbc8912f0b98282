/**
 * The sandbox and profile routes of the DataOps REST API
 * (`/dataops/api/profiles`, `/dataops/api/sandboxes`).
 */
import { DataOpsClient } from '../api';
import { ProfileList, Sandbox, SandboxCreate, SandboxPage } from './types';

/** The sandbox operations the frontend uses; tests give fakes of it. */
export interface ISandboxesClient {
  /** The profiles, with the policy's limits and the caller's quotas. */
  listProfiles(): Promise<ProfileList>;
  /** The project's sandboxes: active ones, then recently ended ones. */
  listSandboxes(): Promise<SandboxPage>;
  getSandbox(id: string): Promise<Sandbox>;
  /** Start one; it answers while it provisions (follow it with events). */
  startSandbox(request: SandboxCreate): Promise<Sandbox>;
  /** Stop its kernels, take it out of the kernel picker, free its devices. */
  stopSandbox(id: string): Promise<Sandbox>;
}

/** The sandbox client, on the shared DataOps client. */
export class SandboxesClient implements ISandboxesClient {
  constructor(readonly api: DataOpsClient) {}

  listProfiles(): Promise<ProfileList> {
    return this.api.requestJSON<ProfileList>(this.api.url('profiles'));
  }

  listSandboxes(): Promise<SandboxPage> {
    return this.api.requestJSON<SandboxPage>(this.api.url('sandboxes'));
  }

  getSandbox(id: string): Promise<Sandbox> {
    return this.api.requestJSON<Sandbox>(this.api.url('sandboxes', id));
  }

  startSandbox(request: SandboxCreate): Promise<Sandbox> {
    return this.api.requestJSON<Sandbox>(this.api.url('sandboxes'), {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  stopSandbox(id: string): Promise<Sandbox> {
    return this.api.requestJSON<Sandbox>(
      this.api.url('sandboxes', id, 'stop'),
      {
        method: 'POST',
        body: '{}'
      }
    );
  }
}
