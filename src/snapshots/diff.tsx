/**
 * What changed between two snapshots, grouped: files (git), data files
 * (DVC), tables (row counts, columns added, removed or retyped, statistics
 * that moved) and the environment (Python, packages). Shown in a snapshot's
 * detail, and in a main area tab for a wider look.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { errorText } from '../api';
import { formatCount, LoadProblem } from '../collection';
import { formatTimestamp } from '../jobs/format';
import { ISnapshotsModel } from '../tokens';
import {
  diffCounts,
  movedStats,
  packageMove,
  rowChangeText,
  shortId
} from './format';
import {
  changeMark,
  columnChangeLabel,
  packageMoveLabel,
  pathChangeLabel,
  statLabel
} from './labels';
import {
  ColumnChange,
  PathChange,
  SnapshotDiff,
  SnapshotSummary,
  TableChange
} from './types';

/** `3 changes: 1 file, 1 data path, 1 table`, or `No differences`. */
export function diffSummaryText(
  diff: SnapshotDiff,
  trans: TranslationBundle
): string {
  const counts = diffCounts(diff);
  if (counts.total === 0) {
    return trans.__('No differences.');
  }
  const parts = [
    counts.files ? trans._n('%1 file', '%1 files', counts.files) : null,
    counts.data ? trans._n('%1 data file', '%1 data files', counts.data) : null,
    counts.tables ? trans._n('%1 table', '%1 tables', counts.tables) : null,
    counts.packages
      ? trans._n('%1 package', '%1 packages', counts.packages)
      : null,
    counts.python ? trans.__('Python') : null
  ].filter(Boolean);
  return trans.__('Changed: %1', parts.join(', '));
}

/** A list of changed paths, each with its mark (`+`, `−`, `~`). */
function PathChanges(props: {
  changes: ReadonlyArray<PathChange>;
  label: string;
  trans: TranslationBundle;
}): JSX.Element {
  const { changes, trans } = props;
  return (
    <ul className="jp-DataOps-changes" aria-label={props.label}>
      {changes.map(change => (
        <li
          key={change.path}
          className={`jp-DataOps-change jp-DataOps-change-${change.change}`}
          data-change={change.change}
          title={`${pathChangeLabel(change.change, trans)}: ${change.path}`}
        >
          <span className="jp-DataOps-changeMark" aria-hidden="true">
            {changeMark(change.change)}
          </span>
          <span className="jp-DataOps-changePath">{change.path}</span>
          <span className="jp-DataOps-changeKind">
            {pathChangeLabel(change.change, trans)}
          </span>
        </li>
      ))}
    </ul>
  );
}

/**
 * What one column change shows: added or removed with its type, the type
 * that changed, or the statistics that moved.
 */
function ColumnChangeText(props: {
  change: ColumnChange;
  trans: TranslationBundle;
}): JSX.Element {
  const { change, trans } = props;
  if (change.change !== 'stats') {
    const before = change.before?.dtype;
    const after = change.after?.dtype;
    const type =
      change.change === 'dtype'
        ? `${String(before)} → ${String(after)}`
        : String((change.change === 'added' ? after : before) ?? '');
    return (
      <span className="jp-DataOps-columnChangeKind">
        {columnChangeLabel(change.change, trans)}{' '}
        <span className="jp-DataOps-dtype">{type}</span>
      </span>
    );
  }
  return (
    <span className="jp-DataOps-moves">
      {movedStats(change).map(([name, before, after]) => (
        <span key={name} className="jp-DataOps-move" data-stat={name}>
          <span className="jp-DataOps-moveName">{statLabel(name, trans)}</span>{' '}
          <span className="jp-DataOps-moveBefore">{before}</span>
          {' → '}
          <span className="jp-DataOps-moveAfter">{after}</span>
        </span>
      ))}
    </span>
  );
}

/** One table's change: rows, then its changed columns. */
function TableChangeView(props: {
  change: TableChange;
  trans: TranslationBundle;
}): JSX.Element {
  const { change, trans } = props;
  const delta =
    change.rows_before !== null && change.rows_after !== null
      ? change.rows_after - change.rows_before
      : null;
  return (
    <div className="jp-DataOps-tableChange" data-path={change.path}>
      <div className="jp-DataOps-tableChangeHead">
        <span className="jp-DataOps-changePath" title={change.path}>
          {change.path}
        </span>
        <span
          className={`jp-DataOps-rowChange${
            delta === null || delta === 0
              ? ''
              : delta > 0
                ? ' jp-mod-more'
                : ' jp-mod-fewer'
          }`}
        >
          {rowChangeText(change, trans)}
        </span>
      </div>
      {change.columns.length > 0 && (
        <table className="jp-DataOps-grid jp-DataOps-columnChanges">
          <thead>
            <tr>
              <th>{trans.__('Column')}</th>
              <th>{trans.__('Before → after')}</th>
            </tr>
          </thead>
          <tbody>
            {change.columns.map(column => (
              <tr
                key={column.name}
                className={`jp-DataOps-columnChange-${column.change}`}
                data-column={column.name}
              >
                <th scope="row" title={column.name}>
                  {column.name}
                </th>
                <td>
                  <ColumnChangeText change={column} trans={trans} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** A group of the diff, with its heading and count. */
function DiffGroup(props: {
  name: string;
  title: string;
  count: number;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section
      className="jp-DataOps-diffGroup"
      data-group={props.name}
      aria-label={props.title}
    >
      <h4>
        {props.title}
        <span className="jp-DataOps-partCount">{formatCount(props.count)}</span>
      </h4>
      {props.children}
    </section>
  );
}

/** The differences between two snapshots, grouped. */
export function DiffView(props: {
  diff: SnapshotDiff;
  trans: TranslationBundle;
}): JSX.Element {
  const { diff, trans } = props;
  const counts = diffCounts(diff);
  const envCount = counts.packages + counts.python;
  return (
    <div className="jp-DataOps-diff">
      <div className="jp-DataOps-diffSummary">
        {diffSummaryText(diff, trans)}
      </div>
      {counts.files > 0 && (
        <DiffGroup name="files" title={trans.__('Files')} count={counts.files}>
          <PathChanges
            changes={diff.files}
            label={trans.__('Files')}
            trans={trans}
          />
        </DiffGroup>
      )}
      {counts.data > 0 && (
        <DiffGroup
          name="data"
          title={trans.__('Data files')}
          count={counts.data}
        >
          <PathChanges
            changes={diff.data}
            label={trans.__('Data files')}
            trans={trans}
          />
        </DiffGroup>
      )}
      {counts.tables > 0 && (
        <DiffGroup
          name="tables"
          title={trans.__('Tables')}
          count={counts.tables}
        >
          {diff.tables.map(change => (
            <TableChangeView key={change.path} change={change} trans={trans} />
          ))}
        </DiffGroup>
      )}
      {envCount > 0 && (
        <DiffGroup
          name="environment"
          title={trans.__('Environment')}
          count={envCount}
        >
          <ul className="jp-DataOps-changes">
            {diff.python && (
              <li className="jp-DataOps-change jp-DataOps-change-modified">
                <span className="jp-DataOps-changeMark" aria-hidden="true">
                  ~
                </span>
                <span className="jp-DataOps-changePath">
                  {trans.__('Python')}
                </span>
                <span className="jp-DataOps-changeKind">
                  {diff.python[0]} → {diff.python[1]}
                </span>
              </li>
            )}
            {diff.packages.map(change => {
              const move = packageMove(change);
              return (
                <li
                  key={change.name}
                  className={`jp-DataOps-change jp-DataOps-change-${
                    move === 'removed'
                      ? 'deleted'
                      : move === 'added'
                        ? 'added'
                        : 'modified'
                  }`}
                  data-package={change.name}
                  title={packageMoveLabel(move, trans)}
                >
                  <span className="jp-DataOps-changeMark" aria-hidden="true">
                    {changeMark(move)}
                  </span>
                  <span className="jp-DataOps-changePath">{change.name}</span>
                  <span className="jp-DataOps-changeKind">
                    {move === 'added'
                      ? change.after
                      : move === 'removed'
                        ? change.before
                        : `${change.before} → ${change.after}`}
                  </span>
                </li>
              );
            })}
          </ul>
        </DiffGroup>
      )}
    </div>
  );
}

/** `ab12cd34 “first” (Nov 29, 19:02)`: a snapshot as a diff's end names it. */
export function snapshotLabel(
  snapshot: Pick<SnapshotSummary, 'id' | 'message' | 'created_at'>,
  now?: number
): string {
  const when = formatTimestamp(snapshot.created_at, now);
  return snapshot.message
    ? `${shortId(snapshot.id)} “${snapshot.message}” (${when})`
    : `${shortId(snapshot.id)} (${when})`;
}

/** Load the diff from `a` to `b`, and show it (or why it could not be made). */
export function LoadedDiff(props: {
  model: ISnapshotsModel;
  a: string;
  b: string;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, a, b, trans } = props;
  const [diff, setDiff] = React.useState<SnapshotDiff | null>(null);
  const [problem, setProblem] = React.useState<LoadProblem | null>(null);
  React.useEffect(() => {
    let cancelled = false;
    setDiff(null);
    setProblem(null);
    model
      .diff(a, b)
      .then(answer => {
        if (!cancelled) {
          setDiff(answer);
        }
      })
      .catch(reason => {
        if (!cancelled) {
          setProblem(errorText(reason));
        }
      });
    return () => {
      cancelled = true;
    };
  }, [model, a, b]);
  if (problem) {
    return (
      <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
        <div>{problem.message}</div>
        {problem.hint && <div className="jp-DataOps-hint">{problem.hint}</div>}
      </div>
    );
  }
  if (!diff) {
    return (
      <div className="jp-DataOps-muted jp-DataOps-loadingLine">
        {trans.__('Comparing…')}
      </div>
    );
  }
  return <DiffView diff={diff} trans={trans} />;
}

/** The diff of two snapshots in a main area tab. */
export class SnapshotDiffWidget extends ReactWidget {
  constructor(options: {
    model: ISnapshotsModel;
    a: string;
    b: string;
    trans: TranslationBundle;
  }) {
    super();
    this._options = options;
    this.addClass('jp-DataOps-diffPanel');
    const { a, b, trans } = options;
    this.id = `jp-DataOps-diff-${a}-${b}`;
    this.title.label = trans.__('%1 → %2', shortId(a), shortId(b));
    this.title.caption = trans.__(
      'What changed from snapshot %1 to snapshot %2',
      a,
      b
    );
    this.title.closable = true;
  }

  render(): JSX.Element {
    const { model, a, b, trans } = this._options;
    const label = (id: string) => {
      const summary = model.getSummary(id);
      return summary ? snapshotLabel(summary) : id;
    };
    return (
      <div className="jp-DataOps-diffPage">
        <h2>{trans.__('What changed')}</h2>
        <dl className="jp-DataOps-fields jp-DataOps-diffEnds">
          <dt>{trans.__('From')}</dt>
          <dd>{label(a)}</dd>
          <dt>{trans.__('To')}</dt>
          <dd>{label(b)}</dd>
        </dl>
        <LoadedDiff model={model} a={a} b={b} trans={trans} />
      </div>
    );
  }

  private _options: {
    model: ISnapshotsModel;
    a: string;
    b: string;
    trans: TranslationBundle;
  };
}
