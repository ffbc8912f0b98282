import { nullTranslator } from '@jupyterlab/translation';

import { pushTitle, statusTitle } from '../snapshots/badges';
import { snapshotSummaryOf } from '../snapshots/client';
import { diffSummaryText } from '../snapshots/diff';
import { missingText, takeRequest } from '../snapshots/dialogs';
import {
  compareVersions,
  dataSizeShort,
  dataSizeText,
  diffCounts,
  formatBytes,
  formatStat,
  movedStats,
  packageMove,
  parsePaths,
  rangeText,
  rowChangeText,
  shortId
} from '../snapshots/format';
import { canPush, defaultCompareTarget, diffOrder } from '../snapshots/model';
import {
  elapsedText,
  matchesSnapshotQuery,
  operationText,
  tailOf,
  workspaceState
} from '../snapshots/section';
import { makeDiff, makeSnapshot } from './fakeSnapshotsClient';

const trans = nullTranslator.load('jupyter-dataops');

const summary = (overrides = {}) => snapshotSummaryOf(makeSnapshot(overrides));

describe('snapshot formatting', () => {
  it('shortens ids, commits and hashes', () => {
    expect(shortId('a1b2c3d4e5f6')).toBe('a1b2c3d4');
    expect(shortId('0ff0c9a2cc1e2d3f', 10)).toBe('0ff0c9a2cc');
    expect(shortId(null)).toBe('');
  });

  it('writes sizes in powers of 1,024', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(35)).toBe('35 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20 MB');
    expect(formatBytes(1.1 * 1024 ** 3)).toBe('1.1 GB');
    expect(formatBytes(-1)).toBe('');
  });

  it('says how much data a snapshot holds', () => {
    expect(dataSizeText({ size: 49, nfiles: 1 }, trans)).toBe('49 B in 1 file');
    expect(dataSizeText({ size: 2048, nfiles: 3 }, trans)).toBe(
      '2 KB in 3 files'
    );
    expect(dataSizeText({ size: 0, nfiles: 0 }, trans)).toBe('no data');
    expect(dataSizeShort({ size: 49, nfiles: 1 }, trans)).toBe('49 B · 1 file');
    expect(dataSizeShort({ size: 0, nfiles: 0 }, trans)).toBe('no data');
  });

  it('writes statistics short', () => {
    expect(formatStat(null)).toBe('–');
    expect(formatStat(undefined)).toBe('–');
    expect(formatStat(4)).toBe('4');
    expect(formatStat(12345)).toBe('12,345');
    expect(formatStat(0.14142135623730948)).toBe('0.1414');
    expect(formatStat(8.375)).toBe('8.375');
    expect(formatStat(1.2909944487358056)).toBe('1.291');
    expect(formatStat(1e-9)).toBe('1.000e-9');
    expect(formatStat('2024-01-01')).toBe('2024-01-01');
    expect(formatStat(true)).toBe('true');
    expect(rangeText(1, 4)).toBe('1–4');
    expect(rangeText(3, 3)).toBe('3');
    expect(rangeText(null, null)).toBe('–');
  });

  it('says how a row count moved', () => {
    expect(rowChangeText({ rows_before: 3, rows_after: 4 }, trans)).toBe(
      '3 → 4 rows (+1)'
    );
    expect(rowChangeText({ rows_before: 1200, rows_after: 200 }, trans)).toBe(
      '1,200 → 200 rows (−1,000)'
    );
    expect(rowChangeText({ rows_before: 5, rows_after: 5 }, trans)).toBe(
      '5 rows (same)'
    );
    expect(rowChangeText({ rows_before: null, rows_after: 4 }, trans)).toBe(
      '4 rows'
    );
    expect(rowChangeText({ rows_before: 3, rows_after: null }, trans)).toBe(
      'was 3 rows'
    );
    expect(rowChangeText({ rows_before: null, rows_after: null }, trans)).toBe(
      'rows unknown'
    );
  });

  it('lists the statistics that moved in a stable order', () => {
    expect(
      movedStats({
        name: 'score',
        change: 'stats',
        before: { std: 0.14, mean: 0.6, nulls: 1, zeta: 1 },
        after: { std: 0.33, mean: 0.475, nulls: 0, zeta: 2 }
      })
    ).toEqual([
      ['nulls', '1', '0'],
      ['mean', '0.6', '0.475'],
      ['std', '0.14', '0.33'],
      ['zeta', '1', '2']
    ]);
  });

  it('tells package moves apart, reading versions as people do', () => {
    expect(packageMove({ name: 'a', before: null, after: '1' })).toBe('added');
    expect(packageMove({ name: 'a', before: '1', after: null })).toBe(
      'removed'
    );
    expect(packageMove({ name: 'a', before: '1.9', after: '1.10' })).toBe(
      'upgraded'
    );
    expect(packageMove({ name: 'a', before: '2.0', after: '1.10' })).toBe(
      'downgraded'
    );
    expect(compareVersions('1.10.0', '1.9.9')).toBeGreaterThan(0);
  });

  it('counts and sums up a diff', () => {
    const diff = makeDiff();
    expect(diffCounts(diff)).toEqual({
      files: 2,
      data: 1,
      tables: 1,
      packages: 2,
      python: 0,
      total: 6
    });
    expect(diffSummaryText(diff, trans)).toBe(
      'Changed: 2 files, 1 data file, 1 table, 2 packages'
    );
    expect(
      diffSummaryText(
        makeDiff({
          files: [],
          data: [],
          tables: [],
          packages: [],
          python: null
        }),
        trans
      )
    ).toBe('No differences.');
    expect(
      diffSummaryText(
        makeDiff({
          files: [],
          data: [],
          tables: [],
          packages: [],
          python: ['3.11.7', '3.12.1']
        }),
        trans
      )
    ).toBe('Changed: Python');
  });

  it('reads comma-separated paths', () => {
    expect(parsePaths('')).toBeNull();
    expect(parsePaths(' , ')).toBeNull();
    expect(parsePaths('data, models/ ,data\nraw')).toEqual([
      'data',
      'models/',
      'raw'
    ]);
  });
});

describe('the take dialog’s request', () => {
  it('sends the message and paths, and init only when the project is not set up', () => {
    expect(
      takeRequest({ message: '  first ', paths: '' }, { ready: true })
    ).toEqual({ message: 'first' });
    expect(
      takeRequest({ message: '', paths: 'data, models' }, { ready: false })
    ).toEqual({ message: '', paths: ['data', 'models'], init: true });
  });

  it('names what is missing', () => {
    expect(missingText([], trans)).toBe('');
    expect(missingText(['git'], trans)).toBe('git');
    expect(missingText(['git', 'DVC'], trans)).toBe('git and DVC');
    expect(missingText(['git', 'DVC', 'a remote'], trans)).toBe(
      'git, DVC and a remote'
    );
  });
});

describe('snapshot choices', () => {
  const older = summary({ id: 'old', created_at: 100 });
  const parent = summary({ id: 'parent', created_at: 200 });
  const self = summary({ id: 'self', created_at: 300, parent_id: 'parent' });
  const newer = summary({ id: 'new', created_at: 400 });

  it('compares with the parent first, else the next older, else any', () => {
    expect(defaultCompareTarget(self, [newer, self, parent, older])).toBe(
      'parent'
    );
    expect(
      defaultCompareTarget({ ...self, parent_id: null }, [newer, self, older])
    ).toBe('old');
    expect(
      defaultCompareTarget({ ...older, parent_id: null }, [newer, older])
    ).toBe('new');
    // A parent off the list (older than the ones listed) is still the choice.
    expect(defaultCompareTarget({ ...self, parent_id: 'gone' }, [self])).toBe(
      'gone'
    );
    expect(defaultCompareTarget({ ...self, parent_id: null }, [self])).toBe(
      null
    );
    // Failed ones are not offered.
    expect(
      defaultCompareTarget({ ...self, parent_id: null }, [
        { ...older, status: 'failed' }
      ])
    ).toBe(null);
  });

  it('diffs from the older to the newer', () => {
    expect(diffOrder(self, parent)).toEqual(['parent', 'self']);
    expect(diffOrder(parent, self)).toEqual(['parent', 'self']);
  });

  it('offers a push only for ready snapshots with data not pushed', () => {
    expect(canPush(summary({ push_status: 'failed' }))).toBe(true);
    expect(canPush(summary({ push_status: 'pending' }))).toBe(true);
    expect(canPush(summary({ push_status: 'none' }))).toBe(true);
    expect(canPush(summary({ push_status: 'pushed' }))).toBe(false);
    expect(canPush(summary({ push_status: 'none', nfiles: 0 }))).toBe(false);
    expect(canPush(summary({ status: 'creating' }))).toBe(false);
  });

  it('matches the list’s filters', () => {
    const safety = summary({ kind: 'safety' });
    expect(matchesSnapshotQuery(safety, {})).toBe(true);
    expect(matchesSnapshotQuery(safety, { kind: ['manual'] })).toBe(false);
    expect(matchesSnapshotQuery(safety, { kind: ['safety', 'job'] })).toBe(
      true
    );
    expect(matchesSnapshotQuery(safety, { status: ['failed'] })).toBe(false);
  });
});

describe('the project’s state', () => {
  const state = (overrides: object) =>
    workspaceState({
      ready: true,
      latest_id: 'newest',
      changed: true,
      matches_id: null,
      ...overrides
    });

  it('names the snapshot the project is exactly, the newest or an older one', () => {
    expect(state({ ready: false })).toBe('not-set-up');
    expect(state({ latest_id: null })).toBe('empty');
    expect(state({ matches_id: 'newest', changed: false })).toBe('unchanged');
    // After a restore: the newest is the safety snapshot.
    expect(state({ matches_id: 'restored' })).toBe('matches');
    expect(state({ matches_id: null })).toBe('changed');
    // A server without matches_id still says whether it changed.
    expect(state({ matches_id: undefined, changed: false })).toBe('unchanged');
    expect(state({ matches_id: undefined, changed: true })).toBe('changed');
  });
});

describe('snapshot words', () => {
  it('shortens locations for the narrow sidebar', () => {
    expect(tailOf('/srv/dataops/dvc-remote/')).toBe('…/dvc-remote');
    expect(tailOf('s3://bucket/project')).toBe('…/project');
    expect(tailOf('remote')).toBe('remote');
  });

  it('says what is under way and for how long', () => {
    expect(
      operationText(
        { kind: 'take', id: null, message: 'first', started: 0 },
        trans
      )
    ).toBe('Taking snapshot “first”…');
    expect(
      operationText({ kind: 'take', id: null, message: '', started: 0 }, trans)
    ).toBe('Taking snapshot…');
    expect(
      operationText(
        { kind: 'restore', id: 'a1b2c3d4e5f6', message: '', started: 0 },
        trans
      )
    ).toBe('Restoring a1b2c3d4…');
    expect(
      operationText(
        { kind: 'push', id: 'a1b2c3d4e5f6', message: '', started: 0 },
        trans
      )
    ).toBe('Pushing the data of a1b2c3d4…');
    expect(elapsedText(0.2, trans)).toBe('');
    expect(elapsedText(12.7, trans)).toBe('12 s');
    expect(elapsedText(65, trans)).toBe('1 min 05 s');
  });

  it('tells why a snapshot or its push failed, from the summary', () => {
    expect(statusTitle(summary({ status: 'failed' }), trans)).toBe('Failed');
    expect(
      statusTitle(summary({ status: 'failed', error: 'disk full' }), trans)
    ).toBe('Failed: disk full');
    expect(statusTitle(summary(), trans)).toBe('Ready');
    // The summary carries the reasons (no full snapshot needed for them).
    expect(
      snapshotSummaryOf(
        makeSnapshot({ error: 'disk full', push_error: 'remote unreachable' })
      )
    ).toMatchObject({ error: 'disk full', push_error: 'remote unreachable' });
    const unpushed = summary({
      push_status: 'failed',
      push_error: 'remote unreachable'
    });
    expect(pushTitle(unpushed, 6, trans)).toBe(
      'Pushing its data to the DVC remote failed (6 tries): remote unreachable'
    );
    expect(pushTitle(unpushed, undefined, trans)).toBe(
      'Pushing its data to the DVC remote failed: remote unreachable'
    );
    expect(
      pushTitle(
        summary({ push_status: 'pending', push_error: 'timeout' }),
        1,
        trans
      )
    ).toBe(
      'Its data is waiting to be pushed to the DVC remote (1 try): timeout'
    );
    expect(pushTitle(summary({ push_status: 'pushed' }), 3, trans)).toBe(
      'Its data is on the DVC remote'
    );
  });
});
