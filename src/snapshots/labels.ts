/**
 * User-facing names of snapshot statuses, kinds, push states and changes,
 * translated.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { PackageMove } from './format';
import {
  ColumnChangeKind,
  PathChangeKind,
  PushStatus,
  SnapshotKind,
  SnapshotStatus
} from './types';

export function snapshotStatusLabel(
  status: SnapshotStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'creating':
      return trans.__('Taking');
    case 'ready':
      return trans.__('Ready');
    case 'failed':
      return trans.__('Failed');
  }
}

export function snapshotKindLabel(
  kind: SnapshotKind,
  trans: TranslationBundle
): string {
  switch (kind) {
    case 'manual':
      return trans.__('manual');
    case 'safety':
      return trans.__('safety');
    case 'job':
      return trans.__('job');
  }
}

/** The plural, for the kind filters ("Safety" snapshots). */
export function snapshotKindFilterLabel(
  kind: SnapshotKind,
  trans: TranslationBundle
): string {
  switch (kind) {
    case 'manual':
      return trans.__('Manual');
    case 'safety':
      return trans.__('Safety');
    case 'job':
      return trans.__('Jobs');
  }
}

export function snapshotKindHelp(
  kind: SnapshotKind,
  trans: TranslationBundle
): string {
  switch (kind) {
    case 'manual':
      return trans.__('Taken by a user');
    case 'safety':
      return trans.__('Taken before a restore, to undo it');
    case 'job':
      return trans.__('Taken before a job ran (lineage)');
  }
}

export function pushStatusLabel(
  status: PushStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'pending':
      return trans.__('Pushing');
    case 'pushed':
      return trans.__('Pushed');
    case 'failed':
      return trans.__('Push failed');
    case 'none':
      return trans.__('Not pushed');
  }
}

/** What a push status means, for tooltips. */
export function pushStatusHelp(
  status: PushStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'pending':
      return trans.__('Its data is waiting to be pushed to the DVC remote');
    case 'pushed':
      return trans.__('Its data is on the DVC remote');
    case 'failed':
      return trans.__('Pushing its data to the DVC remote failed');
    case 'none':
      return trans.__('Its data is only in this project’s DVC cache');
  }
}

export function pathChangeLabel(
  change: PathChangeKind,
  trans: TranslationBundle
): string {
  switch (change) {
    case 'added':
      return trans.__('added');
    case 'deleted':
      return trans.__('deleted');
    case 'modified':
      return trans.__('modified');
  }
}

/** The one-character mark of a change: `+`, `−`, `~`. */
export function changeMark(change: PathChangeKind | PackageMove): string {
  switch (change) {
    case 'added':
      return '+';
    case 'deleted':
    case 'removed':
      return '−';
    case 'modified':
    case 'upgraded':
    case 'downgraded':
      return '~';
  }
}

export function columnChangeLabel(
  change: ColumnChangeKind,
  trans: TranslationBundle
): string {
  switch (change) {
    case 'added':
      return trans.__('added');
    case 'deleted':
      return trans.__('removed');
    case 'dtype':
      return trans.__('type changed');
    case 'stats':
      return trans.__('values moved');
  }
}

export function packageMoveLabel(
  move: PackageMove,
  trans: TranslationBundle
): string {
  switch (move) {
    case 'added':
      return trans.__('added');
    case 'removed':
      return trans.__('removed');
    case 'upgraded':
      return trans.__('upgraded');
    case 'downgraded':
      return trans.__('downgraded');
  }
}

/** The name of a column statistic, short, for tables and diffs. */
export function statLabel(name: string, trans: TranslationBundle): string {
  switch (name) {
    case 'dtype':
      return trans.__('type');
    case 'nulls':
      return trans.__('nulls');
    case 'unique':
      return trans.__('unique');
    case 'min':
      return trans.__('min');
    case 'max':
      return trans.__('max');
    case 'mean':
      return trans.__('mean');
    case 'std':
      return trans.__('std');
    default:
      return name;
  }
}
