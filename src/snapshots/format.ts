/**
 * How snapshot ids, sizes, statistics and changes are shown to the user.
 */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import { formatCount } from '../collection';
import {
  ColumnChange,
  PackageChange,
  SnapshotDiff,
  SnapshotSummary,
  TableChange
} from './types';

const defaultTrans = nullTranslator.load('jupyter-dataops');

/** How many characters of an id or hash the UI shows. */
export const SHORT_ID_LENGTH = 8;

/** The first characters of an id, a commit or a hash (the server takes prefixes of 4+). */
export function shortId(
  id: string | null | undefined,
  length = SHORT_ID_LENGTH
): string {
  return (id ?? '').slice(0, length);
}

/** A size for people: `0 B`, `35 B`, `1.2 KB`, `3.4 MB`, `1.1 GB` (powers of 1,024). */
export function formatBytes(
  bytes: number,
  trans: TranslationBundle = defaultTrans
): string {
  if (!Number.isFinite(bytes) || bytes < 0) {
    return '';
  }
  if (bytes < 1024) {
    return trans.__('%1 B', Math.round(bytes));
  }
  const units = [
    trans.__('KB'),
    trans.__('MB'),
    trans.__('GB'),
    trans.__('TB'),
    trans.__('PB')
  ];
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = value < 10 ? 1 : 0;
  return trans.__(
    '%1 %2',
    new Intl.NumberFormat(undefined, {
      maximumFractionDigits: digits,
      minimumFractionDigits: 0
    }).format(value),
    units[unit]
  );
}

/** `35 B in 1 file`, `1.2 GB in 10,000 files`, or `no data`. */
export function dataSizeText(
  snapshot: Pick<SnapshotSummary, 'size' | 'nfiles'>,
  trans: TranslationBundle = defaultTrans
): string {
  if (snapshot.nfiles === 0 && snapshot.size === 0) {
    return trans.__('no data');
  }
  return trans._n(
    '%2 in %1 file',
    '%2 in %1 files',
    snapshot.nfiles,
    formatBytes(snapshot.size, trans)
  );
}

/** `35 B · 1 file`, for a list row; `no data`. */
export function dataSizeShort(
  snapshot: Pick<SnapshotSummary, 'size' | 'nfiles'>,
  trans: TranslationBundle = defaultTrans
): string {
  if (snapshot.nfiles === 0 && snapshot.size === 0) {
    return trans.__('no data');
  }
  return trans._n(
    '%2 · %1 file',
    '%2 · %1 files',
    snapshot.nfiles,
    formatBytes(snapshot.size, trans)
  );
}

/** A column's range, `1–4`, or one value when min and max are the same. */
export function rangeText(min: unknown, max: unknown): string {
  const low = formatStat(min);
  const high = formatStat(max);
  if (low === '–' && high === '–') {
    return '–';
  }
  return low === high ? low : `${low}–${high}`;
}

/**
 * A statistic of a column, short: integers with separators, other numbers
 * with four significant digits; text as it is; `–` for none.
 */
export function formatStat(value: unknown): string {
  if (value === null || value === undefined || value === '') {
    return '–';
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      return String(value);
    }
    if (Number.isInteger(value)) {
      return formatCount(value);
    }
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-4 || abs >= 1e12)) {
      return value.toExponential(3);
    }
    return new Intl.NumberFormat(undefined, {
      maximumSignificantDigits: 4
    }).format(value);
  }
  if (typeof value === 'boolean') {
    return String(value);
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A change in the number of rows: `3 → 4 (+1)`, `new: 4`, `gone (was 3)`. */
export function rowChangeText(
  change: Pick<TableChange, 'rows_before' | 'rows_after'>,
  trans: TranslationBundle = defaultTrans
): string {
  const { rows_before: before, rows_after: after } = change;
  if (before === null && after === null) {
    return trans.__('rows unknown');
  }
  if (before === null) {
    return trans._n('%1 row', '%1 rows', after!);
  }
  if (after === null) {
    return trans._n('was %1 row', 'was %1 rows', before);
  }
  if (before === after) {
    return trans._n('%1 row (same)', '%1 rows (same)', after);
  }
  const delta = after - before;
  const sign = delta > 0 ? '+' : '−';
  return trans.__(
    '%1 → %2 rows (%3%4)',
    formatCount(before),
    formatCount(after),
    sign,
    formatCount(Math.abs(delta))
  );
}

/** The names of the statistics a column change can move, in the order shown. */
export const STAT_ORDER = [
  'dtype',
  'nulls',
  'unique',
  'min',
  'max',
  'mean',
  'std'
];

/**
 * What moved in a column, one `[name, before, after]` per statistic, in a
 * stable order (e.g. `['mean', '0.6', '0.475']`).
 */
export function movedStats(change: ColumnChange): [string, string, string][] {
  const before = change.before ?? {};
  const after = change.after ?? {};
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const ordered = [
    ...STAT_ORDER.filter(key => keys.has(key)),
    ...[...keys].filter(key => !STAT_ORDER.includes(key)).sort()
  ];
  return ordered.map(key => [
    key,
    formatStat(before[key]),
    formatStat(after[key])
  ]);
}

/** How a package changed: added, removed, upgraded or downgraded. */
export type PackageMove = 'added' | 'removed' | 'upgraded' | 'downgraded';

/** Compare two version strings the way people read them (`1.10` after `1.9`). */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });
}

export function packageMove(change: PackageChange): PackageMove {
  if (change.before === null) {
    return 'added';
  }
  if (change.after === null) {
    return 'removed';
  }
  return compareVersions(change.after, change.before) < 0
    ? 'downgraded'
    : 'upgraded';
}

/** How many changes a diff holds, per group. */
export interface IDiffCounts {
  files: number;
  data: number;
  tables: number;
  packages: number;
  python: number;
  total: number;
}

export function diffCounts(diff: SnapshotDiff): IDiffCounts {
  const counts = {
    files: diff.files.length,
    data: diff.data.length,
    tables: diff.tables.length,
    packages: diff.packages.length,
    python: diff.python ? 1 : 0
  };
  return {
    ...counts,
    total:
      counts.files +
      counts.data +
      counts.tables +
      counts.packages +
      counts.python
  };
}

/**
 * Comma-separated paths as a list: trimmed, empty ones dropped, duplicates
 * once; null for none (the server's default).
 */
export function parsePaths(text: string): string[] | null {
  const paths = [
    ...new Set(
      text
        .split(/[,\n]/)
        .map(path => path.trim())
        .filter(path => path !== '')
    )
  ];
  return paths.length > 0 ? paths : null;
}
