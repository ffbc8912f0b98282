/**
 * User-facing names of statuses and sort fields, translated.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { DataOpsApiError, JobStatus, SortField } from './api';

export function statusLabel(
  status: JobStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'queued':
      return trans.__('Queued');
    case 'running':
      return trans.__('Running');
    case 'completed':
      return trans.__('Completed');
    case 'failed':
      return trans.__('Failed');
    case 'cancelled':
      return trans.__('Cancelled');
  }
}

export function sortLabel(field: SortField, trans: TranslationBundle): string {
  switch (field) {
    case 'created_at':
      return trans.__('Created');
    case 'started_at':
      return trans.__('Started');
    case 'finished_at':
      return trans.__('Finished');
    case 'name':
      return trans.__('Name');
    case 'status':
      return trans.__('Status');
    case 'notebook_path':
      return trans.__('Notebook');
  }
}

export const SORT_FIELDS: ReadonlyArray<SortField> = [
  'created_at',
  'started_at',
  'finished_at',
  'name',
  'status',
  'notebook_path'
];

/** The message and hint of an error, for a notification or a dialog. */
export function errorText(reason: unknown): {
  message: string;
  hint: string | null;
} {
  if (reason instanceof DataOpsApiError) {
    return { message: reason.message, hint: reason.hint };
  }
  if (reason instanceof Error) {
    return { message: reason.message, hint: null };
  }
  return { message: String(reason), hint: null };
}
