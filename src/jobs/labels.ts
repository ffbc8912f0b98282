/**
 * User-facing names of job statuses and sort fields, translated.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { JobSort, JobStatus, JobSummary } from './types';

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

/**
 * A job's status as a sentence fragment: `Running`, or `Running (starting a
 * kernel)` while the executor reports why it waits.
 */
export function statusText(
  job: Pick<JobSummary, 'status' | 'pending_reason' | 'cancel_requested'>,
  trans: TranslationBundle
): string {
  const label = statusLabel(job.status, trans);
  if (
    job.cancel_requested &&
    (job.status === 'running' || job.status === 'queued')
  ) {
    return trans.__('%1 (cancelling)', label);
  }
  if (job.pending_reason) {
    return trans.__('%1 (%2)', label, job.pending_reason);
  }
  return label;
}

export function sortLabel(field: JobSort, trans: TranslationBundle): string {
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
