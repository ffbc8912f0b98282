/**
 * The sandbox and profile types, all derived from the generated OpenAPI
 * types (`src/openapi.d.ts`), and the runtime lists the UI needs, each
 * checked at compile time against the type it lists.
 */
import { allOf, Schemas } from '../api';
import { ICollectionEvent, ICollectionQuery } from '../collection';

/** The schema id of the sandbox change events on the server's event bus. */
export const SANDBOX_EVENT_SCHEMA_ID =
  'https://events.jupyter-dataops.org/sandbox/v1';

/** `provisioning -> ready | failed`, `ready -> stopping -> stopped`. */
export type SandboxStatus = Schemas['SandboxStatus'];

/** Every status, in the order the UI lists them. */
export const SANDBOX_STATUSES = allOf<SandboxStatus>()([
  'provisioning',
  'ready',
  'stopping',
  'failed',
  'stopped'
]);

/** The statuses of a sandbox that holds resources (it can be stopped). */
export const ACTIVE_STATUSES: ReadonlyArray<SandboxStatus> = [
  'provisioning',
  'ready',
  'stopping'
];

/** A sandbox: what it holds, its steps, kernels and usage. */
export type Sandbox = Schemas['Sandbox'];

/** The project's sandboxes (active ones, then recently ended ones). */
export type SandboxPage = Schemas['SandboxPage'];

/** Start a sandbox from a profile, maybe changing what the policy allows. */
export type SandboxCreate = Schemas['SandboxCreate'];

/** One provisioning step. */
export type Step = Schemas['Step'];

/** What a step is doing. */
export type StepStatus = Step['status'];

/** A kernel that ran in a sandbox. */
export type KernelRecord = Schemas['KernelRecord'];

/** What a sandbox used. */
export type Usage = Schemas['Usage'];

/** One GPU. */
export type GpuDevice = Schemas['GpuDevice'];

/** How limits are applied to a sandbox. */
export type Limits = Schemas['Limits'];

/** What an operator offers. */
export type Profile = Schemas['Profile'];

/** A profile as the caller sees it: can it start, field limits, quotas. */
export type ProfileView = Schemas['ProfileView'];

/** Every profile, how limits are applied here, the GPU inventory. */
export type ProfileList = Schemas['ProfileList'];

/** What the start form shows for one field. */
export type FieldLimit = Schemas['FieldLimit'];

/** What is held against one quota. */
export type QuotaUse = Schemas['QuotaUse'];

/** The fields of the start form, as the server names them in `fields`. */
export type SandboxField =
  'cpus' | 'memory' | 'gpus' | 'gpu_type' | 'idle_timeout' | 'max_lifetime';

/** Every field, in the order the form shows them. */
export const SANDBOX_FIELDS = allOf<SandboxField>()([
  'cpus',
  'memory',
  'gpus',
  'gpu_type',
  'idle_timeout',
  'max_lifetime'
]);

/** The list route takes no filters: only what the collection model asks. */
export type SandboxQuery = ICollectionQuery;

/**
 * A sandbox change event (schema `sandbox/v1`): the collection's
 * `{action, id, seq}` with its status, provisioning progress, a warning
 * (it stops soon) and an error.
 */
export type SandboxEvent = ICollectionEvent & {
  status?: SandboxStatus;
  progress?: number;
  warning?: string;
  error?: string;
};
