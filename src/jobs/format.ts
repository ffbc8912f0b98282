/**
 * How times, durations and tracebacks are shown to the user.
 */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import { JobSummary } from './types';

/** The fields of a job (summary or full) that times and progress are read from. */
type JobTimes = Pick<
  JobSummary,
  'status' | 'started_at' | 'finished_at' | 'updated_at'
>;

const defaultTrans = nullTranslator.load('jupyter-dataops');

// CSI sequences (colours, cursor moves) and OSC sequences (titles, links).
/* eslint-disable no-control-regex */
const ANSI_PATTERN =
  /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;
/* eslint-enable no-control-regex */

/** Remove ANSI escape codes, as IPython tracebacks are full of them. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_PATTERN, '');
}

/**
 * A duration for people: `850 ms`, `12.4 s`, `3 min 05 s`, `2 h 10 min`.
 */
export function formatDuration(
  seconds: number,
  trans: TranslationBundle = defaultTrans
): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return '';
  }
  if (seconds < 1) {
    return trans.__('%1 ms', Math.round(seconds * 1000));
  }
  if (seconds < 60) {
    return trans.__('%1 s', (Math.round(seconds * 10) / 10).toFixed(1));
  }
  const total = Math.round(seconds);
  if (total < 3600) {
    const minutes = Math.floor(total / 60);
    const rest = String(total % 60).padStart(2, '0');
    return trans.__('%1 min %2 s', minutes, rest);
  }
  const hours = Math.floor(total / 3600);
  const minutes = String(Math.floor((total % 3600) / 60)).padStart(2, '0');
  return trans.__('%1 h %2 min', hours, minutes);
}

/**
 * How long a job ran, or has been running for: from its start to its end,
 * or to `now` (epoch seconds) while it runs. Null if it never started, or
 * if it ended and its end time is not known yet.
 */
export function jobDuration(job: JobTimes, now: number): number | null {
  if (job.started_at === null || job.started_at === undefined) {
    return null;
  }
  if (job.status === 'running') {
    return Math.max(0, now - job.started_at);
  }
  // An ended job patched from its event has no end time until it is fetched
  // again: its duration is not known yet (rather than the time until the
  // last update seen).
  if (job.finished_at === null || job.finished_at === undefined) {
    return null;
  }
  return Math.max(0, job.finished_at - job.started_at);
}

/**
 * A time relative to `now`, both in epoch seconds: `just now`, `5 min ago`,
 * `3 h ago`, `2 days ago`.
 */
export function formatRelativeTime(
  time: number,
  now: number,
  trans: TranslationBundle = defaultTrans
): string {
  const delta = Math.max(0, now - time);
  if (delta < 45) {
    return trans.__('just now');
  }
  if (delta < 3600) {
    const minutes = Math.max(1, Math.round(delta / 60));
    return trans._n('%1 min ago', '%1 min ago', minutes);
  }
  if (delta < 86400) {
    const hours = Math.round(delta / 3600);
    return trans._n('%1 hour ago', '%1 hours ago', hours);
  }
  const days = Math.round(delta / 86400);
  return trans._n('%1 day ago', '%1 days ago', days);
}

/**
 * A local date and time, short: the time alone for today, else the date too.
 * `now` is epoch seconds; leave it out for the full date and time.
 */
export function formatTimestamp(time: number, now?: number): string {
  const date = new Date(time * 1000);
  if (now === undefined) {
    return date.toLocaleString();
  }
  const today = new Date(now * 1000);
  if (date.toDateString() === today.toDateString()) {
    return date.toLocaleTimeString();
  }
  return date.toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    year: date.getFullYear() === today.getFullYear() ? undefined : 'numeric',
    hour: 'numeric',
    minute: '2-digit'
  });
}

/** The progress of a job as a fraction between 0 and 1. */
export function progressFraction(
  job: Pick<JobSummary, 'status' | 'progress'>
): number {
  const { cells_completed, cells_total } = job.progress;
  if (!cells_total) {
    return job.status === 'completed' ? 1 : 0;
  }
  return Math.min(1, Math.max(0, cells_completed / cells_total));
}
