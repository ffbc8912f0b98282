/**
 * Where a job (or each run of a schedule) runs, as pure functions: the
 * notebook's kernel, a ready sandbox's kernel, or a new sandbox of a profile
 * started for the job. The options of the run dialog's "Run in" choice, and
 * the request fields of each (exactly one of `kernel_name`, `sandbox`,
 * `profile`).
 *
 * A job may also name the executor it runs on ("Run on": this machine, a
 * Kubernetes cluster…), among those the server lists; sandboxes are this
 * machine's only.
 */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import { holdingText, profileText } from '../sandboxes/format';
import { sandboxStatusLabel } from '../sandboxes/labels';
import { ProfileView, Sandbox } from '../sandboxes/types';
import { IJobOptions } from './params';
import { JobCreate, Parameters } from './types';

const defaultTrans = nullTranslator.load('jupyter-dataops');

/** Where a job runs. */
export type RunTarget =
  /** A kernel spec (the notebook's, or the one chosen in the Kernel field). */
  | { kind: 'kernel' }
  /** A ready sandbox (its id): the job runs with its kernel. */
  | { kind: 'sandbox'; sandbox: string }
  /** A sandbox of this profile, started for the job and stopped when it ends. */
  | { kind: 'profile'; profile: string };

/** The default: the notebook's kernel (or the one chosen). */
export const KERNEL_TARGET: RunTarget = { kind: 'kernel' };

/** A key naming a target, unique among the options. */
export function targetKey(target: RunTarget): string {
  switch (target.kind) {
    case 'kernel':
      return 'kernel';
    case 'sandbox':
      return `sandbox:${target.sandbox}`;
    case 'profile':
      return `profile:${target.profile}`;
  }
}

/** Whether two targets are the same. */
export function sameTarget(a: RunTarget, b: RunTarget): boolean {
  return targetKey(a) === targetKey(b);
}

/** Where a schedule's (or a request's) runs go, from its `sandbox` and `profile`. */
export function targetOf(item: {
  sandbox?: string | null;
  profile?: string | null;
}): RunTarget {
  if (item.sandbox) {
    return { kind: 'sandbox', sandbox: item.sandbox };
  }
  if (item.profile) {
    return { kind: 'profile', profile: item.profile };
  }
  return KERNEL_TARGET;
}

/** The short form of a sandbox id, as the Sandboxes section shows it. */
export function shortSandboxId(id: string): string {
  return id.slice(0, 6);
}

/** `Sandbox local abc123 · 1 CPU · 2Gi · GPU 0 (t4)`. */
export function sandboxTargetLabel(
  sandbox: Pick<Sandbox, 'id' | 'profile' | 'resources' | 'devices'>,
  trans: TranslationBundle = defaultTrans
): string {
  return [
    trans.__('Sandbox %1 %2', sandbox.profile, shortSandboxId(sandbox.id)),
    holdingText(sandbox, trans)
  ]
    .filter(Boolean)
    .join(' · ');
}

/** `A new sandbox of profile local` (`… for each run` for a schedule). */
export function profileTargetLabel(
  profile: string,
  scheduled: boolean,
  trans: TranslationBundle = defaultTrans
): string {
  return scheduled
    ? trans.__('A new sandbox of profile %1 for each run', profile)
    : trans.__('A new sandbox of profile %1', profile);
}

/**
 * The "Run in" label of a profile on an executor that sizes runs by it: `A
 * pod on kubernetes sized like profile gpu`.
 */
export function sizedProfileLabel(
  profile: string,
  executor: string,
  trans: TranslationBundle = defaultTrans
): string {
  return trans.__('A pod on %1 sized like profile %2', executor, profile);
}

/** The executor of this machine, where sandboxes run. */
export const LOCAL_EXECUTOR = 'local';

/**
 * An executor's name for the "Run on" choice: `This machine (local)`,
 * `Kubernetes cluster (kubernetes)`, else its name; `… (default)` for the
 * server's default.
 */
export function executorLabel(
  name: string,
  isDefault = false,
  trans: TranslationBundle = defaultTrans
): string {
  let label: string;
  switch (name) {
    case LOCAL_EXECUTOR:
      label = trans.__('This machine (%1)', name);
      break;
    case 'kubernetes':
      label = trans.__('Kubernetes cluster (%1)', name);
      break;
    default:
      label = name;
  }
  return isDefault ? trans.__('%1 (default)', label) : label;
}

/**
 * Whether sandboxes apply on this executor (null: the server's default, as
 * where none is chosen): they run on this machine only, for now.
 */
export function sandboxesApply(executor: string | null): boolean {
  return executor === null || executor === LOCAL_EXECUTOR;
}

/** One option of the "Run in" choice. */
export interface IRunTargetOption {
  /** Unique among the options (`targetKey`). */
  key: string;
  target: RunTarget;
  /** What it is: `Sandbox local abc123`, `A new sandbox of profile gpu`. */
  label: string;
  /** What it gives, or null: `1 CPU · 2Gi · GPU 0 (t4)`. */
  detail: string | null;
  /** Whether the user cannot choose it (an unavailable profile). */
  disabled: boolean;
  /** Why it cannot be chosen, or why it may not work (not ready), or null. */
  reason: string | null;
}

/** The option's whole text: its label and what it gives. */
export function optionText(option: IRunTargetOption): string {
  return option.detail ? `${option.label} · ${option.detail}` : option.label;
}

/**
 * The options of the "Run in" choice: the notebook's kernel, each ready
 * sandbox (newest first, as listed), then a new sandbox of each profile
 * (those the policy or quotas refuse are disabled, with why).
 *
 * `current` is the target chosen now (a schedule's, or the one a refused
 * submit sent): it stays offered even when it is no longer ready or
 * available, with why, so the choice never silently changes.
 */
export function runTargetOptions(
  options: {
    sandboxes: ReadonlyArray<Sandbox>;
    profiles: ReadonlyArray<ProfileView>;
    current?: RunTarget;
    /** For a schedule: a profile's sandbox is started for each run. */
    scheduled?: boolean;
    /**
     * The executor chosen in "Run on" (null: none chosen): on another than
     * this machine's, every sandbox is disabled, with why, and so is every
     * profile unless that executor sizes runs by one (`sizedByProfile`).
     */
    executor?: string | null;
    /**
     * Whether the chosen executor sizes a run by a profile itself (a pod of
     * the profile's size: `ExecutorCapabilities.profiles`), not in a sandbox.
     */
    sizedByProfile?: boolean;
  },
  trans: TranslationBundle = defaultTrans
): IRunTargetOption[] {
  const scheduled = options.scheduled ?? false;
  const current = options.current ?? KERNEL_TARGET;
  const result: IRunTargetOption[] = [
    {
      key: 'kernel',
      target: KERNEL_TARGET,
      label: trans.__('The notebook’s kernel'),
      detail: null,
      disabled: false,
      reason: null
    }
  ];
  const ready = options.sandboxes.filter(item => item.status === 'ready');
  for (const sandbox of ready) {
    const target: RunTarget = { kind: 'sandbox', sandbox: sandbox.id };
    result.push({
      key: targetKey(target),
      target,
      label: trans.__(
        'Sandbox %1 %2',
        sandbox.profile,
        shortSandboxId(sandbox.id)
      ),
      detail: holdingText(sandbox, trans) || null,
      disabled: false,
      reason: null
    });
  }
  if (
    current.kind === 'sandbox' &&
    !ready.some(item => item.id === current.sandbox)
  ) {
    const known = options.sandboxes.find(item => item.id === current.sandbox);
    result.push({
      key: targetKey(current),
      target: current,
      label: known
        ? trans.__('Sandbox %1 %2', known.profile, shortSandboxId(known.id))
        : trans.__('Sandbox %1', shortSandboxId(current.sandbox)),
      detail: known ? holdingText(known, trans) || null : null,
      disabled: false,
      reason: known
        ? trans.__(
            'Not ready (%1): a run needs it ready.',
            sandboxStatusLabel(known.status, trans)
          )
        : trans.__('No such sandbox now: a run needs it ready.')
    });
  }
  for (const view of options.profiles) {
    const name = view.profile.name;
    const target: RunTarget = { kind: 'profile', profile: name };
    result.push({
      key: targetKey(target),
      target,
      label: profileTargetLabel(name, scheduled, trans),
      detail: profileText(view.profile, trans) || null,
      disabled: !view.available && !sameTarget(current, target),
      reason: view.available
        ? null
        : view.reason || trans.__('It cannot start here.')
    });
  }
  if (
    current.kind === 'profile' &&
    !options.profiles.some(view => view.profile.name === current.profile)
  ) {
    result.push({
      key: targetKey(current),
      target: current,
      label: profileTargetLabel(current.profile, scheduled, trans),
      detail: null,
      disabled: false,
      reason: trans.__('The server offers no such profile now.')
    });
  }
  if (!sandboxesApply(options.executor ?? null)) {
    const reason = trans.__('Sandboxes run on this machine only for now.');
    const sized = options.sizedByProfile ?? false;
    return result.map(option => {
      if (option.target.kind === 'kernel') {
        return option;
      }
      if (sized && option.target.kind === 'profile') {
        // The server checks the profile against the policy there at submit;
        // whether a sandbox of it could start here does not matter.
        return {
          ...option,
          label: sizedProfileLabel(
            option.target.profile,
            options.executor ?? '',
            trans
          ),
          disabled: false,
          reason: null
        };
      }
      return { ...option, disabled: true, reason };
    });
  }
  return result;
}

/** The fields of a request saying where it runs: exactly one is given. */
export type TargetFields =
  { kernel_name: string | null } | { sandbox: string } | { profile: string };

/**
 * Where a job (or a schedule's runs) runs, as request fields: the kernel
 * (null: the notebook's own), or a sandbox, or a profile, never two of them.
 */
export function targetFields(
  target: RunTarget,
  kernelName: string | null
): TargetFields {
  switch (target.kind) {
    case 'kernel':
      return { kernel_name: kernelName };
    case 'sandbox':
      return { sandbox: target.sandbox };
    case 'profile':
      return { profile: target.profile };
  }
}

/** The request that runs a notebook as a job. */
export function jobCreate(options: {
  path: string;
  parameters: Parameters;
  kernelName: string | null;
  target?: RunTarget;
  job: IJobOptions;
  /** The executor to run on, sent only when given (null: the server's default). */
  executor?: string | null;
}): JobCreate {
  const { job } = options;
  return {
    notebook_path: options.path,
    parameters: options.parameters,
    ...targetFields(options.target ?? KERNEL_TARGET, options.kernelName),
    name: job.name,
    timeout_seconds: job.timeout_seconds,
    max_retries: job.max_retries,
    ...(options.executor ? { executor: options.executor } : {})
  };
}

/**
 * Where a schedule's runs go, in words: `in sandbox abc123`, `in a sandbox
 * of profile gpu per run`, or null for a kernel (shown as the kernel).
 */
export function scheduleTargetText(
  schedule: { sandbox?: string | null; profile?: string | null },
  trans: TranslationBundle = defaultTrans
): string | null {
  const target = targetOf(schedule);
  switch (target.kind) {
    case 'sandbox':
      return trans.__('in sandbox %1', shortSandboxId(target.sandbox));
    case 'profile':
      return trans.__('in a sandbox of profile %1 per run', target.profile);
    case 'kernel':
      return null;
  }
}

/**
 * The sandbox a job ran in, among those known: the one started for it (its
 * `job_id`), else the ready one whose kernel it ran with.
 */
export function sandboxOfJob(
  job: { id: string; kernel_name: string },
  sandboxes: ReadonlyArray<Sandbox>
): Sandbox | null {
  return (
    sandboxes.find(item => item.job_id === job.id) ??
    sandboxes.find(
      item => item.kernel_name !== null && item.kernel_name === job.kernel_name
    ) ??
    null
  );
}
