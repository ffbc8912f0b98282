/**
 * User-facing names of sandbox statuses, step statuses and form fields,
 * translated.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { SandboxField, SandboxStatus, StepStatus } from './types';

export function sandboxStatusLabel(
  status: SandboxStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'provisioning':
      return trans.__('Provisioning');
    case 'ready':
      return trans.__('Ready');
    case 'stopping':
      return trans.__('Stopping');
    case 'stopped':
      return trans.__('Stopped');
    case 'failed':
      return trans.__('Failed');
  }
}

/** What a status means, for tooltips. */
export function sandboxStatusHelp(
  status: SandboxStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'provisioning':
      return trans.__(
        'Its environment, data, limits and kernel are being set up'
      );
    case 'ready':
      return trans.__('Its kernel is in the kernel picker');
    case 'stopping':
      return trans.__('Its kernels are being shut down');
    case 'stopped':
      return trans.__('Stopped: its devices are free, its kernel is gone');
    case 'failed':
      return trans.__('It could not be set up, or it ended with an error');
  }
}

export function stepStatusLabel(
  status: StepStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'pending':
      return trans.__('waiting');
    case 'running':
      return trans.__('running');
    case 'done':
      return trans.__('done');
    case 'failed':
      return trans.__('failed');
    case 'skipped':
      return trans.__('skipped');
  }
}

/** A step's one-character mark. */
export function stepMark(status: StepStatus): string {
  switch (status) {
    case 'pending':
      return '○';
    case 'running':
      return '◐';
    case 'done':
      return '✓';
    case 'failed':
      return '✕';
    case 'skipped':
      return '–';
  }
}

export function fieldLabel(
  field: SandboxField,
  trans: TranslationBundle
): string {
  switch (field) {
    case 'cpus':
      return trans.__('CPUs');
    case 'memory':
      return trans.__('Memory');
    case 'gpus':
      return trans.__('GPUs');
    case 'gpu_type':
      return trans.__('GPU type');
    case 'idle_timeout':
      return trans.__('Idle timeout (min)');
    case 'max_lifetime':
      return trans.__('Max lifetime (min)');
  }
}
