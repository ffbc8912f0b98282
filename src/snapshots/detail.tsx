/**
 * One snapshot's detail in the Snapshots section: its actions (restore,
 * compare, push), what it is (commit and ref, parent, kind, push state), its
 * data, the profiles of its tables, the environment it recorded, the jobs
 * that ran on it, and the comparison with another snapshot.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { errorText } from '../api';
import { formatCount, LoadProblem, useLiveItem } from '../collection';
import { CommandIDs } from '../jobs/commands';
import { formatTimestamp } from '../jobs/format';
import { statusIcons } from '../jobs/icons';
import { statusLabel } from '../jobs/labels';
import { JOB_STATUSES, JobStatus } from '../jobs/types';
import { SnapshotCommandIDs } from './commands';
import { LoadedDiff, snapshotLabel } from './diff';
import { formatBytes, formatStat, rangeText, shortId } from './format';
import {
  canPush,
  defaultCompareTarget,
  diffOrder,
  withSnapshotSummary
} from './model';
import { KindTag, PushBadge } from './badges';
import type { ISnapshotsViewProps } from './section';
import {
  LineageNode,
  Snapshot,
  SnapshotSummary,
  TableProfile,
  VariablesSummary
} from './types';

/** Tables shown open at first; more than this start folded. */
export const TABLES_OPEN = 3;

/** The detail of a snapshot, under its row. */
export function SnapshotDetail(
  props: ISnapshotsViewProps & { summary: SnapshotSummary; now: number }
): JSX.Element {
  const { model, summary, trans } = props;
  const id = summary.id;
  const fetchSnapshot = React.useCallback(
    (wanted: string) => model.fetchSnapshot(wanted),
    [model]
  );
  const [snapshot, loadError] = useLiveItem(
    id,
    model.getSnapshot(id),
    fetchSnapshot,
    model.snapshotChanged
  );
  const [comparing, setComparing] = React.useState(false);
  const live = snapshot ? withSnapshotSummary(snapshot, summary) : null;
  return (
    <div className="jp-DataOps-jobDetail jp-DataOps-snapshotDetail">
      <Actions
        {...props}
        comparing={comparing}
        onCompare={() => setComparing(!comparing)}
      />
      {loadError && (
        <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
          <div>{loadError.message}</div>
          {loadError.hint && (
            <div className="jp-DataOps-hint">{loadError.hint}</div>
          )}
        </div>
      )}
      {summary.status === 'failed' && summary.error && (
        <div className="jp-DataOps-errorBox" role="alert">
          <div className="jp-DataOps-errorTitle">
            {trans.__('It failed: %1', summary.error)}
          </div>
        </div>
      )}
      {live && live.warnings.length > 0 && (
        <ul
          className="jp-DataOps-alert jp-DataOps-alert-warn jp-DataOps-snapshotWarnings"
          aria-label={trans.__('Warnings')}
        >
          {live.warnings.map((warning, index) => (
            <li key={index}>{warning}</li>
          ))}
        </ul>
      )}
      {comparing && summary.status === 'ready' && <ComparePanel {...props} />}
      <Overview {...props} snapshot={live} />
      {live && live.data.length > 0 && <DataPart {...props} snapshot={live} />}
      {live && Object.keys(live.profiles).length > 0 && (
        <Tables snapshot={live} trans={trans} />
      )}
      {live && <EnvironmentPart snapshot={live} trans={trans} />}
      {live?.variables && (
        <VariablesPart
          id={live.id}
          variables={live.variables}
          commands={props.commands}
          trans={trans}
        />
      )}
      {summary.status === 'ready' && <JobsPart {...props} snapshot={live} />}
      {!live && !loadError && (
        <div className="jp-DataOps-muted">{trans.__('Loading…')}</div>
      )}
    </div>
  );
}

/** Restore…, Compare with…, Push now; each disabled with the reason where it does not apply. */
function Actions(
  props: ISnapshotsViewProps & {
    summary: SnapshotSummary;
    comparing: boolean;
    onCompare: () => void;
  }
): JSX.Element {
  const { model, commands, summary, trans, comparing } = props;
  const [busy, setBusy] = React.useState<string | null>(null);
  const run = (action: string, command: string) => {
    setBusy(action);
    void commands
      .execute(command, { id: summary.id })
      .catch(() => undefined)
      .then(() => setBusy(null));
  };
  const underway = model.operations.find(
    operation => operation.id === summary.id
  );
  const notReady =
    summary.status === 'ready'
      ? null
      : summary.status === 'creating'
        ? trans.__('Wait until it is taken')
        : trans.__('It failed: there is nothing to use');
  const waiting =
    busy !== null || underway
      ? trans.__('Wait for the last action to finish')
      : null;
  const buttons: {
    id: string;
    label: string;
    kind?: 'primary';
    pressed?: boolean;
    disabledBecause: string | null;
    caption: string;
    onClick: () => void;
  }[] = [
    {
      id: 'restore',
      label:
        underway?.kind === 'restore'
          ? trans.__('Restoring…')
          : trans.__('Restore…'),
      kind: 'primary',
      disabledBecause: notReady ?? waiting,
      caption: trans.__(
        'Make the project (or some paths of it) what this snapshot recorded, after a safety snapshot'
      ),
      onClick: () => run('restore', SnapshotCommandIDs.restore)
    },
    {
      id: 'compare',
      label: trans.__('Compare with…'),
      pressed: comparing,
      disabledBecause: notReady,
      caption: trans.__(
        'What changed between this snapshot and another: files, data, tables, packages'
      ),
      onClick: props.onCompare
    }
  ];
  if (canPush(summary)) {
    buttons.push({
      id: 'push',
      label:
        underway?.kind === 'push' ? trans.__('Pushing…') : trans.__('Push now'),
      disabledBecause: waiting,
      caption: trans.__('Push its data to the DVC remote now'),
      onClick: () => run('push', SnapshotCommandIDs.push)
    });
  }
  return (
    <div className="jp-DataOps-actions">
      {buttons.map(button => (
        <button
          key={button.id}
          className={`jp-DataOps-action${
            button.kind === 'primary' ? ' jp-DataOps-primary' : ''
          }${button.pressed ? ' jp-mod-active' : ''}`}
          data-action={button.id}
          aria-pressed={button.pressed}
          title={button.disabledBecause ?? button.caption}
          disabled={button.disabledBecause !== null}
          onClick={button.onClick}
        >
          {button.label}
        </button>
      ))}
    </div>
  );
}

/** What the snapshot is: id, time, kind, commit and ref, parent, push state. */
function Overview(
  props: ISnapshotsViewProps & {
    summary: SnapshotSummary;
    snapshot: Snapshot | null;
    now: number;
  }
): JSX.Element {
  const { summary, snapshot, trans, now, onSelect } = props;
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-snapshotOverview">
      <dl className="jp-DataOps-fields">
        {summary.message && (
          <>
            <dt>{trans.__('Message')}</dt>
            <dd className="jp-DataOps-snapshotMessage">{summary.message}</dd>
          </>
        )}
        <dt>{trans.__('Taken')}</dt>
        <dd title={formatTimestamp(summary.created_at)}>
          {summary.author
            ? trans.__(
                '%1 by %2',
                formatTimestamp(summary.created_at, now),
                summary.author
              )
            : formatTimestamp(summary.created_at, now)}
        </dd>
        <dt>{trans.__('Kind')}</dt>
        <dd>
          <KindTag kind={summary.kind} trans={trans} />
        </dd>
        <dt>{trans.__('Commit')}</dt>
        <dd>
          {summary.commit ? (
            <>
              <code title={summary.commit}>{shortId(summary.commit, 10)}</code>
              {snapshot?.ref && (
                <div className="jp-DataOps-ref" title={snapshot.ref}>
                  {snapshot.ref}
                </div>
              )}
            </>
          ) : (
            <span className="jp-DataOps-muted">{trans.__('none')}</span>
          )}
        </dd>
        <dt>{trans.__('Parent')}</dt>
        <dd>
          {summary.parent_id ? (
            <>
              <button
                className="jp-DataOps-inlineLink jp-DataOps-snapshotLink"
                data-parent={summary.parent_id}
                title={trans.__('Open snapshot %1', summary.parent_id)}
                onClick={() => onSelect(summary.parent_id)}
              >
                {shortId(summary.parent_id)}
              </button>
              {summary.status === 'ready' && (
                <span className="jp-DataOps-muted">
                  {' '}
                  {summary.changed
                    ? trans.__('(changed since)')
                    : trans.__('(same as it)')}
                </span>
              )}
            </>
          ) : (
            <span className="jp-DataOps-muted">
              {trans.__('none (the first)')}
            </span>
          )}
        </dd>
        {summary.status === 'ready' && (
          <>
            <dt>{trans.__('Data')}</dt>
            <dd>
              {summary.nfiles === 0
                ? trans.__('none')
                : trans._n(
                    '%2 in %1 file',
                    '%2 in %1 files',
                    summary.nfiles,
                    formatBytes(summary.size, trans)
                  )}
            </dd>
            <dt>{trans.__('Push')}</dt>
            <dd className="jp-DataOps-pushValue">
              {summary.push_status === 'none' ? (
                <span className="jp-DataOps-muted">
                  {summary.nfiles === 0
                    ? trans.__('no data to push')
                    : trans.__('not pushed (no remote)')}
                </span>
              ) : (
                <PushBadge
                  snapshot={summary}
                  full={snapshot ?? undefined}
                  trans={trans}
                  withLabel={true}
                />
              )}
              {summary.push_error && summary.push_status !== 'pushed' && (
                <div className="jp-DataOps-pushError">{summary.push_error}</div>
              )}
            </dd>
          </>
        )}
        <dt>{trans.__('ID')}</dt>
        <dd>
          <code>{summary.id}</code>
        </dd>
      </dl>
    </section>
  );
}

/** The data paths it versions with DVC. */
function DataPart(
  props: ISnapshotsViewProps & { snapshot: Snapshot }
): JSX.Element {
  const { snapshot, trans, commands } = props;
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-snapshotData">
      <h3>
        {trans.__('Data')}
        <span className="jp-DataOps-partCount">{snapshot.data.length}</span>
      </h3>
      <ul className="jp-DataOps-dataEntries">
        {snapshot.data.map(entry => (
          <li
            key={entry.path}
            className="jp-DataOps-dataEntry"
            data-path={entry.path}
          >
            <div className="jp-DataOps-dataEntryTop">
              <span className="jp-DataOps-dataPath" title={entry.path}>
                {entry.path}
              </span>
              <button
                className="jp-DataOps-inlineLink"
                title={trans.__(
                  'Restore only %1 from this snapshot',
                  entry.path
                )}
                onClick={() =>
                  void commands.execute(SnapshotCommandIDs.restore, {
                    id: snapshot.id,
                    paths: [entry.path]
                  })
                }
              >
                {trans.__('restore')}
              </button>
            </div>
            <div className="jp-DataOps-dataEntryMeta">
              <span>{formatBytes(entry.size, trans)}</span>
              <span>{trans._n('%1 file', '%1 files', entry.nfiles)}</span>
              <code title={trans.__('DVC hash: %1', entry.hash)}>
                {shortId(entry.hash, 10)}
              </code>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** `3 rows × 4 columns` */
export function tableShapeText(
  profile: TableProfile,
  trans: TranslationBundle
): string {
  const columns = trans._n('%1 column', '%1 columns', profile.columns.length);
  if (profile.rows === null) {
    return columns;
  }
  return trans.__(
    '%1 × %2',
    trans._n('%1 row', '%1 rows', profile.rows),
    columns
  );
}

/** The profiles of its tables: shape, and per column type, nulls and range. */
function Tables(props: {
  snapshot: Snapshot;
  trans: TranslationBundle;
}): JSX.Element {
  const { snapshot, trans } = props;
  const tables = Object.entries(snapshot.profiles).sort(([a], [b]) =>
    a.localeCompare(b)
  );
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-snapshotTables">
      <h3>
        {trans.__('Tables')}
        <span className="jp-DataOps-partCount">{tables.length}</span>
      </h3>
      {tables.map(([path, profile]) => (
        <details
          key={path}
          className="jp-DataOps-tableProfile"
          data-path={path}
          open={tables.length <= TABLES_OPEN}
        >
          <summary>
            <span className="jp-DataOps-tablePath" title={path}>
              {path}
            </span>
            <span className="jp-DataOps-tableShape">
              {profile.error
                ? trans.__('not profiled')
                : tableShapeText(profile, trans)}
            </span>
          </summary>
          {profile.error ? (
            <div className="jp-DataOps-muted">{profile.error}</div>
          ) : (
            <div className="jp-DataOps-gridScroll">
              <table className="jp-DataOps-grid jp-DataOps-columnProfiles">
                <thead>
                  <tr>
                    <th>{trans.__('Column')}</th>
                    <th>{trans.__('Type')}</th>
                    <th className="jp-mod-number">{trans.__('Nulls')}</th>
                    <th className="jp-mod-number">{trans.__('Range')}</th>
                    <th className="jp-mod-number">{trans.__('Mean')}</th>
                  </tr>
                </thead>
                <tbody>
                  {profile.columns.map(column => (
                    <tr key={column.name} data-column={column.name}>
                      <th scope="row" title={column.name}>
                        {column.name}
                      </th>
                      <td className="jp-DataOps-dtype">{column.dtype}</td>
                      <td
                        className={`jp-mod-number${
                          column.nulls > 0 ? ' jp-mod-nulls' : ''
                        }`}
                        title={
                          profile.rows
                            ? trans.__(
                                '%1 of %2 rows',
                                formatCount(column.nulls),
                                formatCount(profile.rows)
                              )
                            : undefined
                        }
                      >
                        {formatCount(column.nulls)}
                      </td>
                      <td
                        className="jp-mod-number"
                        title={trans.__(
                          'min %1, max %2',
                          formatStat(column.min),
                          formatStat(column.max)
                        )}
                      >
                        {rangeText(column.min, column.max)}
                      </td>
                      <td
                        className="jp-mod-number"
                        title={
                          column.std !== null
                            ? trans.__('std %1', formatStat(column.std))
                            : undefined
                        }
                      >
                        {formatStat(column.mean)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </details>
      ))}
    </section>
  );
}

/** Packages shown before the user filters. */
export const PACKAGES_SHOWN = 500;

/** Python, the kernel, and its packages (a list to unfold and filter). */
function EnvironmentPart(props: {
  snapshot: Snapshot;
  trans: TranslationBundle;
}): JSX.Element {
  const { snapshot, trans } = props;
  const env = snapshot.environment;
  const [filter, setFilter] = React.useState('');
  const names = Object.keys(env.packages).sort((a, b) =>
    a.localeCompare(b, undefined, { sensitivity: 'base' })
  );
  const wanted = filter.trim().toLowerCase();
  const shown = names
    .filter(name => !wanted || name.toLowerCase().includes(wanted))
    .slice(0, PACKAGES_SHOWN);
  const summaryParts = [
    env.python ? trans.__('Python %1', env.python) : null,
    trans._n('%1 package', '%1 packages', names.length),
    env.kernel_name ? trans.__('kernel %1', env.kernel_name) : null
  ].filter(Boolean);
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-snapshotEnvironment">
      <h3>{trans.__('Environment')}</h3>
      {env.error && (
        <div className="jp-DataOps-alert jp-DataOps-alert-warn">
          {trans.__('Not fully recorded: %1', env.error)}
        </div>
      )}
      {names.length === 0 ? (
        <div className="jp-DataOps-envSummary">{summaryParts.join(' · ')}</div>
      ) : (
        <details className="jp-DataOps-packages">
          <summary
            className="jp-DataOps-envSummary"
            title={env.executable || undefined}
          >
            {summaryParts.join(' · ')}
          </summary>
          <input
            className="jp-DataOps-input jp-DataOps-packageFilter"
            type="search"
            value={filter}
            placeholder={trans.__('Filter packages')}
            aria-label={trans.__('Filter packages')}
            onChange={event => setFilter(event.target.value)}
          />
          <ul className="jp-DataOps-packageList">
            {shown.map(name => (
              <li key={name}>
                <span className="jp-DataOps-packageName">{name}</span>
                <span className="jp-DataOps-packageVersion">
                  {env.packages[name]}
                </span>
              </li>
            ))}
            {shown.length === 0 && (
              <li className="jp-DataOps-muted">{trans.__('No match.')}</li>
            )}
          </ul>
        </details>
      )}
    </section>
  );
}

/** Re-render when a command's label, caption or state changes. */
function useCommandState(commands: CommandRegistry, id: string): void {
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    const onChanged = (_: CommandRegistry, change: { id?: string }) => {
      if (change.id === undefined || change.id === id) {
        setTick(tick => tick + 1);
      }
    };
    commands.commandChanged.connect(onChanged);
    return () => {
      commands.commandChanged.disconnect(onChanged);
    };
  }, [commands, id]);
}

/**
 * The kernel variables it saved, and the ones it skipped with why; "Load
 * into …'s kernel" loads them into the current notebook's kernel.
 */
function VariablesPart(props: {
  id: string;
  variables: VariablesSummary;
  commands: CommandRegistry;
  trans: TranslationBundle;
}): JSX.Element {
  const { id, variables, commands, trans } = props;
  const { saved, skipped } = variables;
  const load = SnapshotCommandIDs.loadVariables;
  useCommandState(commands, load);
  const canLoad = saved.length > 0 && commands.hasCommand(load);
  const args = { id };
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-snapshotVariables">
      <h3>
        {trans.__('Variables')}
        <span className="jp-DataOps-partCount">{saved.length}</span>
      </h3>
      {saved.length > 0 ? (
        <table className="jp-DataOps-grid jp-DataOps-variableList">
          <tbody>
            {saved.map(variable => (
              <tr key={variable.name} data-variable={variable.name}>
                <th scope="row" title={variable.name}>
                  {variable.name}
                </th>
                <td className="jp-DataOps-dtype">{variable.type}</td>
                <td className="jp-mod-number">
                  {formatBytes(variable.bytes, trans)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <div className="jp-DataOps-muted">{trans.__('None saved.')}</div>
      )}
      {skipped.length > 0 && (
        <details className="jp-DataOps-skippedVariables">
          <summary>
            {trans._n('%1 skipped', '%1 skipped', skipped.length)}
          </summary>
          <ul>
            {skipped.map(variable => (
              <li key={variable.name}>
                <code>{variable.name}</code>{' '}
                <span className="jp-DataOps-muted">
                  {variable.reason ?? variable.type}
                </span>
              </li>
            ))}
          </ul>
        </details>
      )}
      {canLoad && (
        <div className="jp-DataOps-loadVariables">
          <button
            className="jp-DataOps-action jp-DataOps-loadButton"
            data-action="load-variables"
            title={commands.caption(load, args)}
            disabled={!commands.isEnabled(load, args)}
            onClick={() => void commands.execute(load, args)}
          >
            {commands.label(load, args)}
          </button>
        </div>
      )}
      {saved.length > 0 && (
        <div
          className="jp-DataOps-help"
          title={trans.__('Run it in a notebook of this project')}
        >
          {canLoad
            ? trans.__('Or run:')
            : trans.__('Load them into a kernel with:')}{' '}
          <code>%dataops snapshots load {shortId(id)}</code>
        </div>
      )}
    </section>
  );
}

/** The jobs that ran on it, from its lineage; each opens in the Jobs section. */
function JobsPart(
  props: ISnapshotsViewProps & {
    summary: SnapshotSummary;
    snapshot: Snapshot | null;
  }
): JSX.Element {
  const { model, commands, summary, snapshot, trans } = props;
  const [jobs, setJobs] = React.useState<LineageNode[] | null>(null);
  const [problem, setProblem] = React.useState<LoadProblem | null>(null);
  const known = JSON.stringify(snapshot?.jobs ?? []);
  React.useEffect(() => {
    let cancelled = false;
    model
      .lineage(summary.id)
      .then(lineage => {
        if (!cancelled) {
          setJobs(lineage.downstream.filter(node => node.kind === 'job'));
          setProblem(null);
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
  }, [model, summary.id, known]);
  const canOpen = commands.hasCommand(CommandIDs.openPanel);
  // The ids alone when the lineage could not be read.
  const nodes: LineageNode[] =
    jobs ??
    (problem
      ? (snapshot?.jobs ?? []).map(id => ({
          kind: 'job' as const,
          id,
          label: id,
          detail: {}
        }))
      : []);
  let body: JSX.Element;
  if (jobs === null && !problem) {
    body = <div className="jp-DataOps-muted">…</div>;
  } else if (nodes.length === 0) {
    body = (
      <div className="jp-DataOps-muted">
        {trans.__('No job ran on it yet.')}
      </div>
    );
  } else {
    body = (
      <ul className="jp-DataOps-runs" aria-label={trans.__('Jobs')}>
        {nodes.map(node => {
          const status = node.detail.status as JobStatus | undefined;
          const known = status && JOB_STATUSES.includes(status);
          const Icon = known ? statusIcons[status] : null;
          const open = () =>
            void commands.execute(CommandIDs.openPanel, { select: node.id });
          return (
            <li
              key={node.id}
              className={`jp-DataOps-run${
                known ? ` jp-DataOps-status-${status}` : ''
              }${canOpen ? '' : ' jp-mod-static'}`}
              data-job-id={node.id}
              role={canOpen ? 'button' : undefined}
              tabIndex={canOpen ? 0 : undefined}
              title={
                canOpen
                  ? trans.__('Open this job in the Jobs section')
                  : node.id
              }
              onClick={canOpen ? open : undefined}
              onKeyDown={
                canOpen
                  ? event => {
                      if (event.key === 'Enter' || event.key === ' ') {
                        event.preventDefault();
                        open();
                      }
                    }
                  : undefined
              }
            >
              {Icon && (
                <Icon.react tag="span" className="jp-DataOps-statusIcon" />
              )}
              <span className="jp-DataOps-runWhen">{node.label}</span>
              <span className="jp-DataOps-runStatus">
                {known ? statusLabel(status, trans) : ''}{' '}
                <code>{shortId(node.id)}</code>
              </span>
            </li>
          );
        })}
      </ul>
    );
  }
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-snapshotJobs">
      <h3>
        {trans.__('Jobs on it')}
        {nodes.length > 0 && (
          <span className="jp-DataOps-partCount">{nodes.length}</span>
        )}
      </h3>
      {body}
    </section>
  );
}

/** Choose another snapshot (its parent first) and see what changed. */
function ComparePanel(
  props: ISnapshotsViewProps & { summary: SnapshotSummary; now: number }
): JSX.Element {
  const { model, commands, summary, trans, now } = props;
  const [candidates, setCandidates] = React.useState<SnapshotSummary[] | null>(
    null
  );
  const [problem, setProblem] = React.useState<LoadProblem | null>(null);
  const [other, setOther] = React.useState<string | null>(null);
  React.useEffect(() => {
    let cancelled = false;
    model
      .listReady()
      .then(items => {
        if (!cancelled) {
          setCandidates(items);
          setOther(current => current ?? defaultCompareTarget(summary, items));
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
  }, [model, summary.id]);

  let body: JSX.Element | null = null;
  const options = (candidates ?? []).filter(item => item.id !== summary.id);
  if (problem) {
    body = (
      <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
        {problem.message}
      </div>
    );
  } else if (candidates === null) {
    body = <div className="jp-DataOps-muted">…</div>;
  } else if (other === null) {
    body = (
      <div className="jp-DataOps-muted">
        {trans.__('There is no other ready snapshot to compare with.')}
      </div>
    );
  }
  const otherSummary =
    other !== null
      ? (options.find(item => item.id === other) ?? model.getSummary(other))
      : undefined;
  // From the older to the newer; an unknown one is taken as older.
  const [a, b] =
    other === null
      ? [summary.id, summary.id]
      : otherSummary
        ? diffOrder(summary, otherSummary)
        : [other, summary.id];
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-compare">
      <h3>
        {trans.__('Compare')}
        {other !== null && !body && (
          <button
            className="jp-DataOps-inlineLink jp-DataOps-openDiff"
            title={trans.__('Show this comparison in a tab of the main area')}
            onClick={() =>
              void commands.execute(SnapshotCommandIDs.compare, { a, b })
            }
          >
            {trans.__('open in a tab')}
          </button>
        )}
      </h3>
      {candidates !== null && other !== null && (
        <div className="jp-DataOps-compareRow">
          <label htmlFor={`jp-DataOps-compareWith-${summary.id}`}>
            {trans.__('with')}
          </label>
          <select
            id={`jp-DataOps-compareWith-${summary.id}`}
            className="jp-DataOps-select jp-DataOps-compareSelect"
            value={other}
            onChange={event => setOther(event.target.value)}
          >
            {!options.some(item => item.id === other) && (
              <option value={other}>{shortId(other)}</option>
            )}
            {options.map(item => (
              <option key={item.id} value={item.id}>
                {item.id === summary.parent_id
                  ? trans.__('%1 (parent)', snapshotLabel(item, now))
                  : snapshotLabel(item, now)}
              </option>
            ))}
          </select>
        </div>
      )}
      {body}
      {other !== null && !body && (
        <>
          <div className="jp-DataOps-diffDirection">
            {trans.__('From %1 to %2', shortId(a), shortId(b))}
          </div>
          <LoadedDiff model={model} a={a} b={b} trans={trans} />
        </>
      )}
    </section>
  );
}
