/**
 * Small pieces a snapshot row and its detail share: the kind tag, the push
 * badge, and the tooltips that tell why something failed.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { pushStatusIcons } from './icons';
import {
  pushStatusHelp,
  pushStatusLabel,
  snapshotKindHelp,
  snapshotKindLabel,
  snapshotStatusLabel
} from './labels';
import { Snapshot, SnapshotKind, SnapshotSummary } from './types';

/** A snapshot's tooltip: its status, and why it failed. */
export function statusTitle(
  summary: Pick<SnapshotSummary, 'status' | 'error'>,
  trans: TranslationBundle
): string {
  const label = snapshotStatusLabel(summary.status, trans);
  if (summary.status === 'failed' && summary.error) {
    return trans.__('%1: %2', label, summary.error);
  }
  return label;
}

/**
 * A push state's tooltip, with the last push error (from the summary) and
 * how many tries it took (known once the full snapshot was fetched).
 */
export function pushTitle(
  snapshot: Pick<SnapshotSummary, 'push_status' | 'push_error'>,
  attempts: number | undefined,
  trans: TranslationBundle
): string {
  const status = snapshot.push_status;
  const help = pushStatusHelp(status, trans);
  if (status === 'failed' || (status === 'pending' && snapshot.push_error)) {
    const tries = attempts
      ? trans._n(' (%1 try)', ' (%1 tries)', attempts)
      : '';
    return snapshot.push_error
      ? `${help}${tries}: ${snapshot.push_error}`
      : `${help}${tries}`;
  }
  return help;
}

/** Where a snapshot's data is: waiting to be pushed, on the remote, failed. */
export function PushBadge(props: {
  snapshot: SnapshotSummary;
  /** The full snapshot, if fetched: how many tries its push took. */
  full: Snapshot | undefined;
  trans: TranslationBundle;
  /** Show the state's name beside its icon. */
  withLabel?: boolean;
}): JSX.Element | null {
  const { snapshot, full, trans, withLabel } = props;
  const status = snapshot.push_status;
  if (status === 'none' || snapshot.status !== 'ready') {
    return null;
  }
  const Icon = pushStatusIcons[status];
  const title = pushTitle(snapshot, full?.push_attempts, trans);
  return (
    <span
      className={`jp-DataOps-pushBadge jp-DataOps-push-${status}`}
      data-push-status={status}
      title={title}
      aria-label={withLabel ? undefined : title}
      role={withLabel ? undefined : 'img'}
    >
      <Icon.react tag="span" className="jp-DataOps-statusIcon" />
      {withLabel && (
        <span className="jp-DataOps-pushLabel">
          {pushStatusLabel(status, trans)}
        </span>
      )}
    </span>
  );
}

/** A snapshot's kind, as a small tag. */
export function KindTag(props: {
  kind: SnapshotKind;
  trans: TranslationBundle;
}): JSX.Element {
  return (
    <span
      className={`jp-DataOps-kindTag jp-DataOps-kind-${props.kind}`}
      data-kind={props.kind}
      title={snapshotKindHelp(props.kind, props.trans)}
    >
      {snapshotKindLabel(props.kind, props.trans)}
    </span>
  );
}
