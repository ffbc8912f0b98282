/**
 * The schedule part of the run dialog, as pure functions: what the user
 * typed (`IScheduleInput`), what is wrong with it, the `ScheduleCreate` it
 * makes, and, for an edit, the `ScheduleUpdate` holding only what changed.
 */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import { IJobOptions } from '../jobs/params';
import {
  KERNEL_TARGET,
  RunTarget,
  sameTarget,
  targetFields,
  targetOf
} from '../jobs/target';
import { Parameters } from '../jobs/types';
import {
  browserTimeZone,
  DEFAULT_PRESET,
  IPreset,
  presetExpression,
  presetOf
} from './cron';
import {
  ConcurrencyPolicy,
  MisfirePolicy,
  NotifyInput,
  Schedule,
  ScheduleCreate,
  ScheduleUpdate
} from './types';

const defaultTrans = nullTranslator.load('jupyter-dataops');

/** The schedule fields of the dialog, as typed. */
export interface IScheduleInput {
  preset: IPreset;
  cron: string;
  timezone: string;
  misfirePolicy: MisfirePolicy;
  /** Seconds, as typed. */
  grace: string;
  concurrencyPolicy: ConcurrencyPolicy;
  onFailure: boolean;
  onSuccess: boolean;
  /** As typed; in an edit, the server's redacted URL until the user changes it. */
  webhook: string;
  /** Addresses separated by commas, semicolons or white space. */
  emails: string;
}

/** The schedule fields, read and checked, named as the API names them. */
export interface IScheduleFields {
  cron: string;
  timezone: string;
  misfire_policy: MisfirePolicy;
  misfire_grace_seconds: number;
  concurrency_policy: ConcurrencyPolicy;
  notify: Required<NotifyInput>;
}

/** Errors per field: `cron`, `timezone`, `grace`, `webhook`, `emails`. */
export type ScheduleErrors = { [field: string]: string };

/** The misfire grace period the server uses when none is given (seconds). */
export const DEFAULT_GRACE_SECONDS = 300;

/** What the schedule fields start with for a new schedule. */
export function newScheduleInput(timezone?: string): IScheduleInput {
  return {
    preset: { ...DEFAULT_PRESET },
    cron: presetExpression(DEFAULT_PRESET) ?? '0 6 * * *',
    timezone: timezone ?? browserTimeZone(),
    misfirePolicy: 'run_once',
    grace: String(DEFAULT_GRACE_SECONDS),
    concurrencyPolicy: 'forbid',
    onFailure: true,
    onSuccess: false,
    webhook: '',
    emails: ''
  };
}

/** The schedule fields prefilled from a schedule, to edit it. */
export function scheduleInputOf(schedule: Schedule): IScheduleInput {
  return {
    preset: presetOf(schedule.cron),
    cron: schedule.cron,
    timezone: schedule.timezone,
    misfirePolicy: schedule.misfire_policy,
    grace: String(schedule.misfire_grace_seconds),
    concurrencyPolicy: schedule.concurrency_policy,
    onFailure: schedule.notify.on_failure,
    onSuccess: schedule.notify.on_success,
    webhook: schedule.notify.webhook_url ?? '',
    emails: schedule.notify.email_to.join(', ')
  };
}

/** The addresses of the e-mail field. */
export function splitEmails(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map(item => item.trim())
    .filter(Boolean);
}

/** Whether a URL is one the server shows shortened (its secret part cut). */
export function isRedacted(url: string): boolean {
  return url.includes('…');
}

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;
const NUMBER_PATTERN = /^\d+(\.\d*)?$|^\.\d+$/;

/**
 * Check the schedule fields. `edit` is the schedule being edited: its
 * webhook URL comes back redacted, so the notifications can be changed only
 * with the full URL typed again (or cleared).
 */
export function validateScheduleInput(
  input: IScheduleInput,
  trans: TranslationBundle = defaultTrans,
  edit: Schedule | null = null
): { errors: ScheduleErrors; fields: IScheduleFields } {
  const errors: ScheduleErrors = {};
  const cron = input.cron.trim().replace(/\s+/g, ' ');
  if (!cron) {
    errors.cron = trans.__(
      'Enter a cron expression, e.g. 0 6 * * * (every day at 06:00).'
    );
  }
  const timezone = input.timezone.trim();
  if (!timezone) {
    errors.timezone = trans.__('Enter a time zone, e.g. Europe/Berlin or UTC.');
  }
  let grace = DEFAULT_GRACE_SECONDS;
  const graceText = input.grace.trim();
  if (graceText === '' || !NUMBER_PATTERN.test(graceText)) {
    if (input.misfirePolicy === 'skip') {
      errors.grace = trans.__('Enter a number of seconds, 0 or more.');
    }
  } else {
    grace = Number(graceText);
  }
  const webhook = input.webhook.trim();
  if (webhook && !/^https?:\/\/[^\s/]+/i.test(webhook)) {
    errors.webhook = trans.__(
      'Enter an http(s) URL, e.g. https://hooks.slack.com/services/…'
    );
  }
  const emails = splitEmails(input.emails);
  const bad = emails.filter(address => !EMAIL_PATTERN.test(address));
  if (bad.length > 0) {
    errors.emails = trans.__('Not an e-mail address: %1', bad.join(', '));
  } else if (emails.length > 20) {
    errors.emails = trans.__('Give at most 20 addresses.');
  }
  const notify: Required<NotifyInput> = {
    on_failure: input.onFailure,
    on_success: input.onSuccess,
    webhook_url: webhook || null,
    email_to: emails
  };
  if (edit && !errors.webhook && notifyChanged(edit, notify)) {
    const stored = edit.notify.webhook_url;
    if (stored && webhook === stored) {
      // The server shows the URL shortened: sending it back would replace
      // the stored one (and the server refuses the "…" anyway).
      errors.webhook = trans.__(
        'The stored webhook URL is shown shortened. To change the notifications, enter the full URL again, or clear it.'
      );
    }
  }
  return {
    errors,
    fields: {
      cron,
      timezone,
      misfire_policy: input.misfirePolicy,
      misfire_grace_seconds: grace,
      concurrency_policy: input.concurrencyPolicy,
      notify
    }
  };
}

/** Whether the notification settings differ from the schedule's. */
export function notifyChanged(
  schedule: Schedule,
  notify: Required<NotifyInput>
): boolean {
  const shown = schedule.notify;
  return (
    shown.on_failure !== notify.on_failure ||
    shown.on_success !== notify.on_success ||
    (shown.webhook_url ?? null) !== (notify.webhook_url ?? null) ||
    shown.email_to.join('\n') !== notify.email_to.join('\n')
  );
}

/** The request that turns a notebook into a schedule. */
export function scheduleCreate(options: {
  path: string;
  fields: IScheduleFields;
  parameters: Parameters;
  kernelName: string | null;
  /** Where each run goes (default: the kernel). */
  target?: RunTarget;
  job: IJobOptions;
  /** The executor its runs go to, sent only when given (null: the server's default). */
  executor?: string | null;
}): ScheduleCreate {
  const { fields, job } = options;
  const request: ScheduleCreate = {
    notebook_path: options.path,
    cron: fields.cron,
    timezone: fields.timezone,
    parameters: options.parameters,
    ...targetFields(options.target ?? KERNEL_TARGET, options.kernelName),
    name: job.name,
    timeout_seconds: job.timeout_seconds,
    max_retries: job.max_retries,
    misfire_policy: fields.misfire_policy,
    misfire_grace_seconds: fields.misfire_grace_seconds,
    concurrency_policy: fields.concurrency_policy,
    ...(options.executor ? { executor: options.executor } : {})
  };
  const notify = fields.notify;
  if (
    !notify.on_failure ||
    notify.on_success ||
    notify.webhook_url ||
    notify.email_to.length > 0
  ) {
    request.notify = notify;
  }
  return request;
}

/** Whether two JSON values are the same. */
function sameJSON(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The change of a schedule: only the fields whose values differ from the
 * schedule's. Notifications are sent only when they changed, so the stored
 * webhook URL (shown redacted) is never replaced by what was shown.
 */
export function scheduleUpdate(
  schedule: Schedule,
  options: {
    fields: IScheduleFields;
    parameters: Parameters;
    /** The kernel chosen, and whether the user changed it. */
    kernelName: string | null;
    kernelChanged: boolean;
    /** Where each run goes (default: where it goes now). */
    target?: RunTarget;
    job: IJobOptions;
    /**
     * The executor its runs go to (null: the server's default); not given:
     * where they go now.
     */
    executor?: string | null;
  }
): ScheduleUpdate {
  const { fields, job } = options;
  const update: ScheduleUpdate = {};
  const before = targetOf(schedule);
  const target = options.target ?? before;
  if (fields.cron !== schedule.cron) {
    update.cron = fields.cron;
  }
  if (fields.timezone !== schedule.timezone) {
    update.timezone = fields.timezone;
  }
  if (!sameJSON(options.parameters, schedule.parameters)) {
    update.parameters = options.parameters;
  }
  if (!sameTarget(target, before)) {
    // One target given replaces the others on the server.
    if (target.kind === 'kernel') {
      if (options.kernelName !== null) {
        update.kernel_name = options.kernelName;
      }
    } else {
      Object.assign(update, targetFields(target, null));
    }
  } else if (
    target.kind === 'kernel' &&
    options.kernelChanged &&
    options.kernelName !== null &&
    options.kernelName !== schedule.kernel_name
  ) {
    update.kernel_name = options.kernelName;
  }
  if (
    options.executor !== undefined &&
    (options.executor ?? null) !== (schedule.executor ?? null)
  ) {
    // null sends the runs back to the server's default.
    update.executor = options.executor;
  }
  if (job.name !== null && job.name !== schedule.name) {
    update.name = job.name;
  }
  if (
    job.timeout_seconds !== null &&
    job.timeout_seconds !== schedule.timeout_seconds
  ) {
    update.timeout_seconds = job.timeout_seconds;
  }
  if (job.max_retries !== null && job.max_retries !== schedule.max_retries) {
    update.max_retries = job.max_retries;
  }
  if (fields.misfire_policy !== schedule.misfire_policy) {
    update.misfire_policy = fields.misfire_policy;
  }
  if (fields.misfire_grace_seconds !== schedule.misfire_grace_seconds) {
    update.misfire_grace_seconds = fields.misfire_grace_seconds;
  }
  if (fields.concurrency_policy !== schedule.concurrency_policy) {
    update.concurrency_policy = fields.concurrency_policy;
  }
  if (notifyChanged(schedule, fields.notify)) {
    update.notify = fields.notify;
  }
  return update;
}

/**
 * Why the job options of an edit cannot be sent: a PATCH leaves out what is
 * not given, so a timeout or retry count cannot be removed by emptying it.
 */
export function editOptionErrors(
  schedule: Schedule,
  job: IJobOptions,
  trans: TranslationBundle = defaultTrans
): { [field: string]: string } {
  const errors: { [field: string]: string } = {};
  if (schedule.timeout_seconds !== null && job.timeout_seconds === null) {
    errors.timeout = trans.__(
      'An edit cannot remove the timeout: enter a number of seconds.'
    );
  }
  if (schedule.max_retries !== null && job.max_retries === null) {
    errors.retries = trans.__(
      'An edit cannot go back to the server’s default: enter a number.'
    );
  }
  return errors;
}
