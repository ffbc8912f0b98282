/**
 * User-facing names of schedule statuses, outcomes, policies and presets,
 * translated.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { statusLabel as jobStatusLabel } from '../jobs/labels';
import { JOB_STATUSES, JobStatus } from '../jobs/types';
import { PresetKind } from './cron';
import {
  ConcurrencyPolicy,
  FiringOutcome,
  MisfirePolicy,
  ScheduleSort,
  ScheduleStatus
} from './types';

export function scheduleStatusLabel(
  status: ScheduleStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'active':
      return trans.__('Active');
    case 'paused':
      return trans.__('Paused');
  }
}

export function firingOutcomeLabel(
  outcome: FiringOutcome,
  trans: TranslationBundle
): string {
  switch (outcome) {
    case 'queued':
      return trans.__('Queued');
    case 'skipped':
      return trans.__('Skipped');
    case 'missed':
      return trans.__('Missed');
  }
}

/** One of `recent`: a job status, or skipped / missed. */
export function outcomeLabel(
  outcome: string,
  trans: TranslationBundle
): string {
  if (JOB_STATUSES.includes(outcome as JobStatus)) {
    return jobStatusLabel(outcome as JobStatus, trans);
  }
  if (outcome === 'skipped' || outcome === 'missed') {
    return firingOutcomeLabel(outcome, trans);
  }
  return outcome;
}

export function misfireLabel(
  policy: MisfirePolicy,
  trans: TranslationBundle
): string {
  switch (policy) {
    case 'run_once':
      return trans.__('Run once for all missed times');
    case 'skip':
      return trans.__('Skip missed times');
  }
}

export function misfireHelp(
  policy: MisfirePolicy,
  trans: TranslationBundle
): string {
  switch (policy) {
    case 'run_once':
      return trans.__(
        'When no scheduler ran at due times (e.g. the machine was off), run once when it is back.'
      );
    case 'skip':
      return trans.__(
        'When no scheduler ran at due times, run only those less late than the grace period; skip the rest.'
      );
  }
}

export function concurrencyLabel(
  policy: ConcurrencyPolicy,
  trans: TranslationBundle
): string {
  switch (policy) {
    case 'forbid':
      return trans.__('Forbid: skip while the previous run goes on');
    case 'allow':
      return trans.__('Allow: runs may overlap');
    case 'replace':
      return trans.__('Replace: cancel the previous run');
  }
}

export function concurrencyHelp(
  policy: ConcurrencyPolicy,
  trans: TranslationBundle
): string {
  switch (policy) {
    case 'forbid':
      return trans.__(
        'A run due while the previous one still runs is skipped (and shown as skipped).'
      );
    case 'allow':
      return trans.__(
        'A run due while the previous one still runs starts beside it.'
      );
    case 'replace':
      return trans.__(
        'A run due while the previous one still runs cancels it and starts.'
      );
  }
}

/** Short names of the policies, for the schedule's detail. */
export function concurrencyShort(
  policy: ConcurrencyPolicy,
  trans: TranslationBundle
): string {
  switch (policy) {
    case 'forbid':
      return trans.__('forbid overlaps (skip)');
    case 'allow':
      return trans.__('allow overlaps');
    case 'replace':
      return trans.__('replace the previous run');
  }
}

export function presetLabel(
  kind: PresetKind,
  trans: TranslationBundle
): string {
  switch (kind) {
    case 'hourly':
      return trans.__('Hourly');
    case 'daily':
      return trans.__('Daily');
    case 'weekdays':
      return trans.__('Weekdays (Monday to Friday)');
    case 'weekly':
      return trans.__('Weekly');
    case 'monthly':
      return trans.__('Monthly');
    case 'custom':
      return trans.__('Custom (cron expression)');
  }
}

/** Weekday names for the weekly preset, Sunday first. */
export function weekdayLabels(trans: TranslationBundle): string[] {
  return [
    trans.__('Sunday'),
    trans.__('Monday'),
    trans.__('Tuesday'),
    trans.__('Wednesday'),
    trans.__('Thursday'),
    trans.__('Friday'),
    trans.__('Saturday')
  ];
}

export function scheduleSortLabel(
  field: ScheduleSort,
  trans: TranslationBundle
): string {
  switch (field) {
    case 'next_run_at':
      return trans.__('Next run');
    case 'created_at':
      return trans.__('Created');
    case 'name':
      return trans.__('Name');
  }
}
