/**
 * How sandboxes and the start form's fields are shown, and the start form's
 * checks: all pure, so they are tested on their own.
 */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import { formatDuration } from '../jobs/format';
import {
  ACTIVE_STATUSES,
  FieldLimit,
  GpuDevice,
  Profile,
  ProfileView,
  QuotaUse,
  Sandbox,
  SandboxCreate,
  SandboxField,
  SandboxStatus,
  Step
} from './types';

const defaultTrans = nullTranslator.load('jupyter-dataops');

const BINARY: { [suffix: string]: number } = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60
};
const DECIMAL: { [suffix: string]: number } = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18
};
/** A Kubernetes quantity, as the server reads one. */
const QUANTITY =
  /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** A Kubernetes quantity's value (`"16Gi"`, `"500m"`, `"1.5G"`), or null if it is not one. */
export function parseQuantity(text: string): number | null {
  const match = QUANTITY.exec(text.trim());
  if (!match) {
    return null;
  }
  const number = Number(match[1]);
  const suffix = match[2] ?? '';
  if (!Number.isFinite(number)) {
    return null;
  }
  if (suffix in BINARY) {
    return number * BINARY[suffix];
  }
  if (suffix[0] === 'e' || suffix[0] === 'E') {
    return number * 10 ** Number(suffix.slice(1));
  }
  return number * DECIMAL[suffix];
}

/**
 * Bytes from a memory quantity, or null when the text is not one the client
 * understands (thousandths of a byte included): the server then says what
 * was probably meant.
 */
export function parseMemory(text: string): number | null {
  const match = QUANTITY.exec(text.trim());
  if (!match || ['m', 'u', 'n'].includes(match[2] ?? '')) {
    return null;
  }
  const value = parseQuantity(text);
  return value === null ? null : Math.ceil(value);
}

/** CPUs from a quantity (`"2"`, `"1.5"`, `"500m"`), or null. */
export function parseCpus(text: string): number | null {
  return parseQuantity(text);
}

/** A number short: `2`, `1.5`, `0.25`. */
function short(value: number, digits = 2): string {
  return String(Number(value.toFixed(digits)));
}

/** CPUs as people read them: `2`, `1.5`, `0.5`. */
export function formatCpus(cpus: number): string {
  return short(cpus);
}

/**
 * Memory as a binary quantity in its largest unit, exact when it can be
 * (`8Gi`, `512Mi`, `1.5Gi`), else rounded to a tenth (`23.5Gi`).
 */
export function formatMemory(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) {
    return '';
  }
  for (const suffix of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki']) {
    const unit = BINARY[suffix];
    if (bytes >= unit) {
      return `${short(bytes / unit, 1)}${suffix}`;
    }
  }
  return `${Math.round(bytes)}`;
}

/** `GPU 0 (t4)`, `GPUs 0, 1 (a100)`, `2× t4` (devices not known yet), or ''. */
export function gpuText(
  gpus: number,
  gpuType: string | null | undefined,
  devices: ReadonlyArray<Pick<GpuDevice, 'index' | 'type'>>,
  trans: TranslationBundle = defaultTrans
): string {
  if (devices.length > 0) {
    const types = [...new Set(devices.map(device => device.type))].join(', ');
    const indexes = devices.map(device => device.index).join(', ');
    return devices.length === 1
      ? trans.__('GPU %1 (%2)', indexes, types)
      : trans.__('GPUs %1 (%2)', indexes, types);
  }
  if (gpus > 0) {
    return trans.__('%1× %2', gpus, gpuType || trans.__('GPU'));
  }
  return '';
}

/** What a sandbox holds: `2 CPU · 8Gi · GPU 0 (t4)`. */
export function holdingText(
  sandbox: Pick<Sandbox, 'resources' | 'devices'>,
  trans: TranslationBundle = defaultTrans
): string {
  const { resources, devices } = sandbox;
  return [
    trans.__('%1 CPU', formatCpus(resources.cpus)),
    formatMemory(resources.memory_bytes),
    gpuText(resources.gpus, resources.gpu_type, devices, trans)
  ]
    .filter(Boolean)
    .join(' · ');
}

/** What a profile gives: `4 CPU · 16Gi · 1× t4`. */
export function profileText(
  profile: Pick<Profile, 'cpus' | 'memory_bytes' | 'gpus' | 'gpu_type'>,
  trans: TranslationBundle = defaultTrans
): string {
  return [
    trans.__('%1 CPU', formatCpus(profile.cpus)),
    formatMemory(profile.memory_bytes),
    gpuText(profile.gpus, profile.gpu_type, [], trans)
  ]
    .filter(Boolean)
    .join(' · ');
}

/** Whether a sandbox holds resources (it can be stopped). */
export function isActive(status: SandboxStatus): boolean {
  return ACTIVE_STATUSES.includes(status);
}

/** The list's order: active ones (newest first), then ended ones (newest first). */
export function sandboxOrder(sandboxes: ReadonlyArray<Sandbox>): {
  active: Sandbox[];
  ended: Sandbox[];
} {
  const newest = (a: Sandbox, b: Sandbox) => b.created_at - a.created_at;
  return {
    active: sandboxes.filter(item => isActive(item.status)).sort(newest),
    ended: sandboxes.filter(item => !isActive(item.status)).sort(newest)
  };
}

/** The step under way (else the first waiting one), or null when none is left. */
export function currentStep(steps: ReadonlyArray<Step>): Step | null {
  return (
    steps.find(step => step.status === 'running') ??
    steps.find(step => step.status === 'pending') ??
    null
  );
}

/** Provisioning progress as a fraction: the server's, else the steps finished. */
export function provisionProgress(
  sandbox: Pick<Sandbox, 'progress' | 'steps' | 'status'>
): number {
  if (sandbox.status === 'ready') {
    return 1;
  }
  if (sandbox.progress > 0) {
    return Math.min(1, sandbox.progress);
  }
  const { steps } = sandbox;
  if (steps.length === 0) {
    return 0;
  }
  const finished = steps.filter(
    step => step.status === 'done' || step.status === 'skipped'
  ).length;
  return finished / steps.length;
}

/** `in 5 min`, `in 2 h 10 min`, `now`: how long until `time` (epoch seconds). */
export function timeUntilText(
  time: number,
  now: number,
  trans: TranslationBundle = defaultTrans
): string {
  const delta = time - now;
  if (delta <= 30) {
    return trans.__('now');
  }
  if (delta < 3600) {
    return trans._n('in %1 min', 'in %1 min', Math.round(delta / 60));
  }
  const hours = Math.floor(delta / 3600);
  const minutes = Math.round((delta % 3600) / 60);
  return minutes
    ? trans.__('in %1 h %2 min', hours, minutes)
    : trans.__('in %1 h', hours);
}

/** A number of seconds as a timeout reads: `60 min`, `2 h`, `never` for 0. */
export function formatTimeout(
  seconds: number,
  trans: TranslationBundle = defaultTrans,
  zero: string = trans.__('never')
): string {
  if (seconds <= 0) {
    return zero;
  }
  if (seconds % 3600 === 0) {
    return trans.__('%1 h', seconds / 3600);
  }
  if (seconds % 60 === 0) {
    return trans.__('%1 min', seconds / 60);
  }
  return formatDuration(seconds, trans);
}

/** One quota as the form shows it. */
export interface IQuotaLine {
  key: string;
  text: string;
  /** Nothing more may be held against it. */
  full: boolean;
}

/**
 * The quotas: `GPUs 1 of 2`, `sandboxes 0 of 2`, `GPU-hours today 0.5 of 8`
 * (`… (no limit)` without one), a team's prefixed with it.
 */
export function quotaLines(
  quotas: { [name: string]: QuotaUse },
  trans: TranslationBundle = defaultTrans
): IQuotaLine[] {
  const order = ['sandboxes', 'gpus', 'gpu_hours_today'];
  const base = (key: string) => key.replace(/^team_/, '');
  const keys = Object.keys(quotas).sort(
    (a, b) =>
      Number(a.startsWith('team_')) - Number(b.startsWith('team_')) ||
      order.indexOf(base(a)) - order.indexOf(base(b)) ||
      a.localeCompare(b)
  );
  return keys.map(key => {
    const use = quotas[key];
    const name =
      base(key) === 'sandboxes'
        ? trans.__('sandboxes')
        : base(key) === 'gpus'
          ? trans.__('GPUs')
          : base(key) === 'gpu_hours_today'
            ? trans.__('GPU-hours today')
            : base(key);
    const used = short(use.used);
    const amount =
      use.limit === null
        ? trans.__('%1 %2 (no limit)', name, used)
        : trans.__('%1 %2 of %3', name, used, short(use.limit));
    const scope =
      use.scope && use.scope !== 'user' ? trans.__('%1: ', use.scope) : '';
    return {
      key,
      text: `${scope}${amount}`,
      full: use.limit !== null && use.used >= use.limit
    };
  });
}

/** A profile's limit of one field, if the server sent it. */
export function fieldLimit(
  view: Pick<ProfileView, 'fields'>,
  field: SandboxField
): FieldLimit | undefined {
  return view.fields.find(item => item.field === field);
}

/** A field's value as the form writes it: CPUs, memory quantity, minutes. */
export function fieldValueText(
  field: SandboxField,
  value: unknown,
  trans: TranslationBundle = defaultTrans
): string {
  if (value === null || value === undefined || value === '') {
    return field === 'gpu_type' ? trans.__('any') : '';
  }
  if (typeof value !== 'number') {
    return String(value);
  }
  switch (field) {
    case 'cpus':
      return formatCpus(value);
    case 'memory':
      return formatMemory(value);
    case 'idle_timeout':
      return value <= 0 ? trans.__('never') : formatTimeout(value, trans);
    case 'max_lifetime':
      return value <= 0 ? trans.__('no limit') : formatTimeout(value, trans);
    default:
      return short(value);
  }
}

/** The allowed range of a field: `0.5–4`, `up to 16Gi`, `at least 1`, or ''. */
export function fieldRangeText(
  limit: Pick<FieldLimit, 'field' | 'min' | 'max'>,
  trans: TranslationBundle = defaultTrans
): string {
  const field = limit.field as SandboxField;
  const show = (value: number) => fieldValueText(field, value, trans);
  if (limit.min !== null && limit.max !== null) {
    return limit.min === limit.max
      ? trans.__('only %1', show(limit.min))
      : trans.__('%1–%2', show(limit.min), show(limit.max));
  }
  if (limit.max !== null) {
    return trans.__('up to %1', show(limit.max));
  }
  if (limit.min !== null) {
    return trans.__('at least %1', show(limit.min));
  }
  return '';
}

/** What the form says under a field: `default 2 · allowed up to 4`. */
export function fieldHelp(
  limit: FieldLimit,
  trans: TranslationBundle = defaultTrans
): string {
  const field = limit.field as SandboxField;
  const parts = [
    trans.__('default %1', fieldValueText(field, limit.default, trans) || '–')
  ];
  const range = fieldRangeText(limit, trans);
  if (range) {
    parts.push(trans.__('allowed %1', range));
  }
  if (limit.choices && limit.choices.length > 0 && field === 'gpu_type') {
    parts.push(trans.__('choices: %1', limit.choices.join(', ')));
  }
  return parts.join(' · ');
}

/** Why a field cannot be changed, or null when it can. */
export function disabledReason(
  limit: FieldLimit | undefined,
  trans: TranslationBundle = defaultTrans
): string | null {
  if (!limit) {
    return trans.__('the server does not offer it');
  }
  if (limit.overridable) {
    return null;
  }
  return limit.reason || trans.__('the policy does not let users change it');
}

/** What the start form's fields hold; empty means the profile's default. */
export interface IStartInput {
  profile: string;
  cpus: string;
  memory: string;
  gpus: string;
  gpu_type: string;
  /** Minutes. */
  idle_timeout: string;
  /** Minutes. */
  max_lifetime: string;
  /** Where to run it ('' : the profile's provider). */
  provider: string;
}

/** An empty form for a profile: every field at its default. */
export function emptyStartInput(profile: string): IStartInput {
  return {
    profile,
    cpus: '',
    memory: '',
    gpus: '',
    gpu_type: '',
    idle_timeout: '',
    max_lifetime: '',
    provider: ''
  };
}

/** The first profile that can start, else the first one. */
export function defaultProfile(
  views: ReadonlyArray<ProfileView>
): ProfileView | null {
  return views.find(view => view.available) ?? views[0] ?? null;
}

/** The outcome of checking the form: the request, or what is wrong by field. */
export type StartCheck =
  | { request: SandboxCreate; errors?: undefined }
  | {
      request?: undefined;
      errors: Partial<Record<SandboxField | 'profile', string>>;
    };

/** Whether a value is within a field's limits; the problem in words if not. */
function outOfRange(
  field: SandboxField,
  value: number,
  limit: FieldLimit,
  trans: TranslationBundle,
  zeroMeansNone = false
): string | null {
  const show = (amount: number) => fieldValueText(field, amount, trans);
  if (zeroMeansNone && value === 0) {
    return limit.max !== null
      ? trans.__(
          '0 means no limit, but the policy allows at most %1.',
          show(limit.max)
        )
      : null;
  }
  if (limit.max !== null && value > limit.max) {
    return trans.__(
      'At most %1 (the policy’s maximum); %2 is over by %3.',
      show(limit.max),
      show(value),
      show(value - limit.max)
    );
  }
  if (limit.min !== null && value < limit.min) {
    return trans.__(
      'At least %1 (the policy’s minimum); %2 is under by %3.',
      show(limit.min),
      show(value),
      show(limit.min - value)
    );
  }
  return null;
}

/**
 * Check the form against what the profile allows, and build the request:
 * only fields the user filled in and may change are sent. Obviously wrong
 * numbers (out of range, negative) are refused here with the reason; text
 * the client cannot read as a quantity goes to the server, which says what
 * was probably meant.
 */
export function checkStart(
  view: ProfileView | null | undefined,
  input: IStartInput,
  trans: TranslationBundle = defaultTrans
): StartCheck {
  const errors: Partial<Record<SandboxField | 'profile', string>> = {};
  if (!view) {
    return { errors: { profile: trans.__('Choose a profile.') } };
  }
  if (!view.available) {
    return {
      errors: {
        profile: view.reason
          ? trans.__('%1 cannot start here: %2', view.profile.name, view.reason)
          : trans.__('%1 cannot start here.', view.profile.name)
      }
    };
  }
  const request: SandboxCreate = { profile: view.profile.name };
  if (input.provider && input.provider !== view.provider) {
    const choice = (view.providers ?? []).find(c => c.name === input.provider);
    if (!choice || !choice.available) {
      return {
        errors: {
          profile: trans.__(
            '%1 cannot run on %2: %3',
            view.profile.name,
            input.provider,
            choice?.reason ?? trans.__('this server does not offer it')
          )
        }
      };
    }
    request.provider = input.provider;
  }
  const editable = (field: SandboxField): FieldLimit | null => {
    const limit = fieldLimit(view, field);
    const text = input[field].trim();
    if (!text || !limit || disabledReason(limit, trans) !== null) {
      return null;
    }
    return limit;
  };

  const cpus = editable('cpus');
  if (cpus) {
    const text = input.cpus.trim();
    const value = parseCpus(text);
    if (value !== null && value <= 0) {
      errors.cpus = trans.__('Give more than 0 CPUs, e.g. 1 or 500m.');
    } else if (value !== null) {
      const problem = outOfRange('cpus', value, cpus, trans);
      if (problem) {
        errors.cpus = problem;
      }
    }
    request.cpus = text;
  }

  const memory = editable('memory');
  if (memory) {
    const text = input.memory.trim();
    const value = parseMemory(text);
    if (value !== null && value <= 0) {
      errors.memory = trans.__('Give a size over 0, e.g. 4Gi.');
    } else if (value !== null) {
      const problem = outOfRange('memory', value, memory, trans);
      if (problem) {
        errors.memory = problem;
      }
    }
    request.memory = text;
  }

  const gpus = editable('gpus');
  if (gpus) {
    const value = Number(input.gpus.trim());
    if (!Number.isInteger(value) || value < 0) {
      errors.gpus = trans.__('Give a whole number of GPUs: 0, 1, 2…');
    } else {
      const problem = outOfRange('gpus', value, gpus, trans);
      if (problem) {
        errors.gpus = problem;
      } else {
        request.gpus = value;
      }
    }
  }

  const gpuType = editable('gpu_type');
  if (gpuType) {
    const value = input.gpu_type.trim();
    if (gpuType.choices && !gpuType.choices.includes(value)) {
      errors.gpu_type = trans.__(
        'Choose one of: %1.',
        gpuType.choices.join(', ') || trans.__('none')
      );
    } else {
      request.gpu_type = value;
    }
  }

  for (const field of ['idle_timeout', 'max_lifetime'] as const) {
    const limit = editable(field);
    if (!limit) {
      continue;
    }
    const minutes = Number(input[field].trim());
    if (!Number.isFinite(minutes) || minutes < 0) {
      errors[field] = trans.__('Give 0 or more minutes.');
      continue;
    }
    const seconds = Math.round(minutes * 60);
    const problem = outOfRange(field, seconds, limit, trans, true);
    if (problem) {
      errors[field] = problem;
    } else {
      request[field] = seconds;
    }
  }
  return Object.keys(errors).length > 0 ? { errors } : { request };
}
