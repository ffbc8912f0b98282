/**
 * The Snapshots section of the DataOps sidebar: the project's state (set up,
 * changed since the newest snapshot, data paths, remote), the operations
 * under way, the snapshot list (kind, data size, push state) and each
 * snapshot's detail; and the "Take snapshot" button of its heading.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import {
  CollectionError,
  CollectionPager,
  CollectionSection,
  useSignals,
  HeadingButton,
  headingWidget
} from '../collection';
import {
  formatDuration,
  formatRelativeTime,
  formatTimestamp
} from '../jobs/format';
import { useNow } from '../jobs/section';
import { ISnapshotOperation, ISnapshotsModel } from '../tokens';
import { phaseOf } from './client';
import { SnapshotCommandIDs } from './commands';
import { SnapshotDetail } from './detail';
import { missingText } from './dialogs';
import { dataSizeShort, shortId } from './format';
import { KindTag, PushBadge, statusTitle } from './badges';
import { snapshotStatusIcons, takeSnapshotIcon } from './icons';
import { snapshotKindFilterLabel, snapshotKindHelp } from './labels';
import {
  SNAPSHOT_KINDS,
  SnapshotKind,
  SnapshotQuery,
  SnapshotSummary,
  WorkspaceStatus
} from './types';

/** Whether the list's filters let a snapshot through (the page aside). */
export function matchesSnapshotQuery(
  snapshot: SnapshotSummary,
  query: SnapshotQuery
): boolean {
  const statuses = query.status ?? [];
  if (statuses.length > 0 && !statuses.includes(snapshot.status)) {
    return false;
  }
  const kinds = query.kind ?? [];
  if (kinds.length > 0 && !kinds.includes(snapshot.kind)) {
    return false;
  }
  return true;
}

/** The last part of a path or URL, for a narrow sidebar (`…/dvc-remote`). */
export function tailOf(location: string): string {
  const trimmed = location.replace(/[/\\]+$/, '');
  const index = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return index > 0 ? `…${trimmed.slice(index)}` : trimmed;
}

/**
 * The project's state against its snapshots: not set up; no snapshot yet;
 * exactly the newest (`unchanged`); exactly an older one, e.g. the one
 * restored, the newest being the safety snapshot (`matches`); or changed
 * since the newest.
 */
export type WorkspaceState =
  'not-set-up' | 'empty' | 'unchanged' | 'matches' | 'changed';

export function workspaceState(
  workspace: Pick<
    WorkspaceStatus,
    'ready' | 'latest_id' | 'changed' | 'matches_id'
  >
): WorkspaceState {
  if (!workspace.ready) {
    return 'not-set-up';
  }
  const { latest_id: latest, matches_id: matches } = workspace;
  if (latest === null) {
    return 'empty';
  }
  if (matches) {
    return matches === latest ? 'unchanged' : 'matches';
  }
  // A server that does not name the snapshot it matches still says whether
  // it changed since the newest.
  return matches === undefined && workspace.changed === false
    ? 'unchanged'
    : 'changed';
}

/** How long an operation has been going on: nothing at first, then `3 s`, `1 min 05 s`. */
export function elapsedText(seconds: number, trans: TranslationBundle): string {
  if (!(seconds >= 1)) {
    return '';
  }
  return seconds < 60
    ? trans.__('%1 s', Math.floor(seconds))
    : formatDuration(Math.floor(seconds), trans);
}

/** What an operation under way is doing, in words. */
export function operationText(
  operation: ISnapshotOperation,
  trans: TranslationBundle
): string {
  switch (operation.kind) {
    case 'take':
      return operation.message
        ? trans.__('Taking snapshot “%1”…', operation.message)
        : trans.__('Taking snapshot…');
    case 'restore':
      return trans.__('Restoring %1…', shortId(operation.id));
    case 'push':
      return trans.__('Pushing the data of %1…', shortId(operation.id));
  }
}

export interface ISnapshotsViewProps {
  model: ISnapshotsModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** The snapshot whose detail is open. */
  selected: string | null;
  onSelect: (id: string | null) => void;
}

/** The whole section: the project's state, operations, filters, list and pager. */
export function SnapshotsView(props: ISnapshotsViewProps): JSX.Element {
  const { model, trans } = props;
  const snapshots = model.collection;
  const pinned = props.selected !== null && !snapshots.has(props.selected);
  useSignals(
    snapshots.changed,
    model.workspaceChanged,
    model.operationsChanged,
    // How many tries a failed push took comes with full snapshots.
    model.snapshotChanged,
    pinned ? snapshots.itemChanged : null
  );
  const busy =
    model.operations.length > 0 ||
    snapshots.items.some(item => item.status === 'creating');
  const now = useNow(busy);
  return (
    <div className="jp-DataOps-panel jp-DataOps-snapshotsView">
      <WorkspaceLine {...props} />
      <Operations {...props} now={now} />
      <Filters {...props} />
      <CollectionError model={snapshots} trans={trans} />
      <SnapshotList {...props} now={now} />
      <CollectionPager
        model={snapshots}
        trans={trans}
        pageSizeLabel={trans.__('Snapshots per page')}
      />
    </div>
  );
}

/** Set up or not; changed since the newest snapshot; data paths and remote. */
function WorkspaceLine(props: ISnapshotsViewProps): JSX.Element {
  const { model, trans, onSelect } = props;
  const workspace = model.workspace;
  if (!workspace) {
    if (model.workspaceError) {
      return (
        <div
          className="jp-DataOps-workspace jp-mod-error"
          title={model.workspaceError.hint ?? ''}
        >
          {trans.__(
            'Could not read the project’s state: %1',
            model.workspaceError.message
          )}
        </div>
      );
    }
    return (
      <div className="jp-DataOps-workspace jp-DataOps-muted">
        {trans.__('Reading the project’s state…')}
      </div>
    );
  }
  if (!workspace.ready) {
    return (
      <div
        className="jp-DataOps-workspace jp-mod-setup"
        data-state="not-set-up"
        title={workspace.root}
      >
        <div className="jp-DataOps-workspaceState">
          <span className="jp-DataOps-stateDot" aria-hidden="true" />
          {trans.__(
            'Not set up for snapshots (%1 missing)',
            missingText(workspace.missing, trans)
          )}
        </div>
        <div className="jp-DataOps-workspaceMeta">
          {trans.__('The first snapshot sets the project up, if you agree.')}
        </div>
      </div>
    );
  }
  const state = workspaceState(workspace);
  const link = (id: string | null) =>
    id && (
      <button
        className="jp-DataOps-inlineLink jp-DataOps-snapshotLink"
        data-snapshot-link={id}
        title={trans.__('Open snapshot %1', id)}
        onClick={() => onSelect(id)}
      >
        {shortId(id)}
      </button>
    );
  const latest = workspace.latest_id;
  const matches = workspace.matches_id;
  const paths = workspace.data_paths.join(', ');
  let title: string;
  switch (state) {
    case 'changed':
      title = trans.__(
        'Code or data differ from the newest snapshot: take one to record them'
      );
      break;
    case 'unchanged':
      title = trans.__('The project is what the newest snapshot recorded');
      break;
    case 'matches':
      title = trans.__(
        'The project is exactly what snapshot %1 recorded (after restoring it, say); the newest snapshot, %2, records something else',
        shortId(matches),
        shortId(latest)
      );
      break;
    default:
      title = trans.__('No snapshot of this project yet');
  }
  return (
    <div className="jp-DataOps-workspace" data-state={state}>
      <div className="jp-DataOps-workspaceState" title={title}>
        <span className="jp-DataOps-stateDot" aria-hidden="true" />
        {state === 'changed' && (
          <>
            {trans.__('Changed since')} {link(latest)}
          </>
        )}
        {state === 'unchanged' && (
          <>
            {trans.__('Unchanged since')} {link(latest)}
          </>
        )}
        {state === 'matches' && (
          <>
            {trans.__('Matches')} {link(matches)}
          </>
        )}
        {state === 'empty' && trans.__('No snapshot yet')}
      </div>
      <div className="jp-DataOps-workspaceMeta">
        <span
          className="jp-DataOps-workspaceField"
          title={trans.__('Versioned with DVC: %1', paths || trans.__('none'))}
        >
          {trans.__('Data: %1', paths || trans.__('none'))}
        </span>
        <span
          className="jp-DataOps-workspaceField"
          title={
            workspace.remote
              ? trans.__('DVC remote: %1', workspace.remote)
              : trans.__('No DVC remote: data stays in this project’s cache')
          }
        >
          {trans.__(
            'Remote: %1',
            workspace.remote ? tailOf(workspace.remote) : trans.__('none')
          )}
        </span>
      </div>
    </div>
  );
}

/** What is under way: taking, restoring, pushing; with a progress bar. */
function Operations(
  props: ISnapshotsViewProps & { now: number }
): JSX.Element | null {
  const { model, trans, now } = props;
  if (model.operations.length === 0) {
    return null;
  }
  // What the snapshot being taken is doing, as its events tell.
  const creating = model.collection.items.find(
    item => item.status === 'creating' && phaseOf(item) !== null
  );
  const phase = creating ? phaseOf(creating) : null;
  return (
    <div className="jp-DataOps-operations" role="status" aria-live="polite">
      {model.operations.map(operation => (
        <div
          key={`${operation.kind}-${operation.id}-${operation.started}`}
          className="jp-DataOps-operation"
          data-kind={operation.kind}
        >
          <div className="jp-DataOps-operationTop">
            <snapshotStatusIcons.creating.react
              tag="span"
              className="jp-DataOps-statusIcon jp-DataOps-spinner"
            />
            <span className="jp-DataOps-operationText">
              {operationText(operation, trans)}
            </span>
            <span className="jp-DataOps-operationTime">
              {elapsedText(now - operation.started, trans)}
            </span>
          </div>
          {operation.kind === 'take' && phase && (
            <div className="jp-DataOps-operationPhase">{phase}</div>
          )}
          <div className="jp-DataOps-progressTrack jp-DataOps-indeterminate">
            <div className="jp-DataOps-progressBar" />
          </div>
        </div>
      ))}
    </div>
  );
}

/** Kinds to show: all, or manual, safety or job snapshots. */
function Filters(props: ISnapshotsViewProps): JSX.Element {
  const { model, trans } = props;
  const snapshots = model.collection;
  const kinds = snapshots.query.kind ?? [];
  const toggle = (kind: SnapshotKind) => {
    const next = kinds.includes(kind)
      ? kinds.filter(item => item !== kind)
      : [...kinds, kind];
    snapshots.setQuery({
      kind: SNAPSHOT_KINDS.filter(item => next.includes(item))
    });
  };
  return (
    <div className="jp-DataOps-filters jp-DataOps-snapshotFilters">
      <div
        className="jp-DataOps-chips"
        role="group"
        aria-label={trans.__('Filter snapshots by kind')}
      >
        <button
          className={`jp-DataOps-chip${kinds.length === 0 ? ' jp-mod-active' : ''}`}
          aria-pressed={kinds.length === 0}
          onClick={() => snapshots.setQuery({ kind: [] })}
        >
          {trans.__('All')}
        </button>
        {SNAPSHOT_KINDS.map(kind => {
          const active = kinds.includes(kind);
          return (
            <button
              key={kind}
              className={`jp-DataOps-chip${active ? ' jp-mod-active' : ''}`}
              aria-pressed={active}
              data-kind={kind}
              title={snapshotKindHelp(kind, trans)}
              onClick={() => toggle(kind)}
            >
              {snapshotKindFilterLabel(kind, trans)}
            </button>
          );
        })}
      </div>
    </div>
  );
}

function SnapshotList(
  props: ISnapshotsViewProps & { now: number }
): JSX.Element {
  const { model, trans, selected } = props;
  const snapshots = model.collection;
  const pinned =
    selected !== null && !snapshots.has(selected)
      ? (model.getSummary(selected) ?? null)
      : null;
  if (!snapshots.ready && !pinned) {
    if (snapshots.error) {
      return <div />;
    }
    return (
      <div className="jp-DataOps-empty">{trans.__('Loading snapshots…')}</div>
    );
  }
  const filtered =
    (snapshots.query.kind ?? []).length > 0 ||
    (snapshots.query.status ?? []).length > 0;
  return (
    <ul
      className="jp-DataOps-jobs jp-DataOps-snapshots"
      aria-label={trans.__('Snapshots')}
    >
      {pinned && (
        <SnapshotRow
          key={`pinned-${pinned.id}`}
          {...props}
          snapshot={pinned}
          expanded={true}
          pinned={true}
        />
      )}
      {snapshots.items.length === 0 && (
        <li className="jp-DataOps-empty">
          {filtered
            ? trans.__('No snapshots of these kinds.')
            : trans.__(
                'No snapshots yet. “Take snapshot” records the project: code and notebooks with git, data with DVC, and the kernel’s packages, so you can compare and restore it later.'
              )}
        </li>
      )}
      {snapshots.items.map(snapshot => (
        <SnapshotRow
          key={snapshot.id}
          {...props}
          snapshot={snapshot}
          expanded={selected === snapshot.id}
          pinned={false}
        />
      ))}
    </ul>
  );
}

function SnapshotRow(
  props: ISnapshotsViewProps & {
    snapshot: SnapshotSummary;
    now: number;
    expanded: boolean;
    pinned: boolean;
  }
): JSX.Element {
  const { model, snapshot, trans, now, expanded, pinned } = props;
  const Icon = snapshotStatusIcons[snapshot.status];
  const full = model.getSnapshot(snapshot.id);
  const toggle = () => props.onSelect(expanded ? null : snapshot.id);
  const title = statusTitle(snapshot, trans);
  return (
    <li
      className={`jp-DataOps-job jp-DataOps-snapshot jp-DataOps-snapshotStatus-${
        snapshot.status
      }${expanded ? ' jp-mod-expanded' : ''}${pinned ? ' jp-mod-pinned' : ''}`}
      data-snapshot-id={snapshot.id}
      data-status={snapshot.status}
      data-push-status={snapshot.push_status}
      data-kind={snapshot.kind}
    >
      {pinned && (
        <div className="jp-DataOps-pinnedNote">
          {trans.__('Not on this page or hidden by the filters')}
        </div>
      )}
      <div
        className="jp-DataOps-jobSummary jp-DataOps-snapshotSummary"
        role="button"
        tabIndex={0}
        aria-expanded={expanded}
        title={snapshot.status === 'failed' ? title : undefined}
        onClick={toggle}
        onKeyDown={event => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            toggle();
          }
        }}
      >
        <span title={title} className="jp-DataOps-jobIcon">
          <Icon.react tag="span" className="jp-DataOps-statusIcon" />
        </span>
        <div className="jp-DataOps-jobMain">
          <div className="jp-DataOps-jobTop">
            <span
              className={`jp-DataOps-jobName${
                snapshot.message ? '' : ' jp-DataOps-noMessage'
              }`}
              title={snapshot.message || undefined}
            >
              {snapshot.message || trans.__('(no message)')}
            </span>
            <span
              className="jp-DataOps-jobTime"
              title={
                snapshot.author
                  ? trans.__(
                      '%1 by %2',
                      formatTimestamp(snapshot.created_at),
                      snapshot.author
                    )
                  : formatTimestamp(snapshot.created_at)
              }
            >
              {snapshot.author && (
                <span className="jp-DataOps-snapshotAuthor">
                  {snapshot.author}
                </span>
              )}
              {formatRelativeTime(snapshot.created_at, now, trans)}
            </span>
          </div>
          <div className="jp-DataOps-snapshotMeta">
            <code className="jp-DataOps-snapshotId" title={snapshot.id}>
              {shortId(snapshot.id)}
            </code>
            <KindTag kind={snapshot.kind} trans={trans} />
            <span className="jp-DataOps-snapshotSize">
              {snapshot.status === 'creating'
                ? trans.__('%1…', phaseOf(snapshot) ?? trans.__('taking'))
                : snapshot.status === 'failed'
                  ? trans.__('failed')
                  : dataSizeShort(snapshot, trans)}
            </span>
            <PushBadge snapshot={snapshot} full={full} trans={trans} />
          </div>
        </div>
      </div>
      {expanded && <SnapshotDetail {...props} summary={snapshot} />}
    </li>
  );
}

/** The Snapshots section's body: the view, and which snapshot's detail is open. */
export class SnapshotsSection extends CollectionSection<ISnapshotsModel> {
  constructor(options: CollectionSection.IOptions<ISnapshotsModel>) {
    super(options, 'jp-DataOps-snapshotsSection');
  }

  /** Show a snapshot: open its detail, clearing filters that hide it. */
  reveal(id: string): void {
    const snapshots = this.model.collection;
    const snapshot = this.model.getSummary(id);
    if (
      snapshot &&
      !snapshots.has(id) &&
      !matchesSnapshotQuery(snapshot, snapshots.query)
    ) {
      snapshots.setQuery({ status: [], kind: [] });
    }
    this.select(id);
  }

  render(): JSX.Element {
    return (
      <SnapshotsView
        {...this.viewProps()}
        onSelect={id => (id === null ? this.select(null) : this.reveal(id))}
      />
    );
  }
}

/**
 * The "Take snapshot" button of the section heading: it runs the take
 * command, and shows a spinner while a snapshot is taken.
 */
function TakeButton(props: {
  model: ISnapshotsModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, commands, trans } = props;
  useSignals(model.operationsChanged);
  const taking = model.operations.some(operation => operation.kind === 'take');
  return (
    <HeadingButton
      commands={commands}
      command={SnapshotCommandIDs.take}
      label={taking ? trans.__('Taking…') : trans.__('Take snapshot')}
      title={
        taking
          ? trans.__('A snapshot is being taken')
          : trans.__(
              'Take a snapshot of the project: code with git, data with DVC, the kernel’s packages'
            )
      }
      icon={takeSnapshotIcon}
      disabled={taking}
      busyIcon={
        taking ? (
          <snapshotStatusIcons.creating.react
            tag="span"
            className="jp-DataOps-statusIcon jp-DataOps-spinner"
          />
        ) : null
      }
    />
  );
}

/** A widget for the section heading's "Take snapshot" button. */
export function createTakeButton(options: {
  model: ISnapshotsModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
}): ReactWidget {
  return headingWidget(<TakeButton {...options} />);
}
