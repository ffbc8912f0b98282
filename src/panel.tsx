/**
 * The DataOps sidebar: the job list with its filters, and each job's detail.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, refreshIcon, UseSignal } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import { IJob, JOB_STATUSES, JobStatus, SortField, SortOrder } from './api';
import {
  formatDuration,
  formatRelativeTime,
  formatTimestamp,
  jobDuration,
  progressFraction,
  stripAnsi
} from './format';
import { dataOpsIcon, statusIcons } from './icons';
import { SORT_FIELDS, sortLabel, statusLabel } from './labels';
import { PAGE_SIZES } from './model';
import { jsonText } from './params';
import { IDataOpsModel } from './tokens';

/** The ids of the commands the panel's buttons run. */
export namespace CommandIDs {
  export const runJob = 'dataops:run-job';
  export const openPanel = 'dataops:open-panel';
  export const openOutput = 'dataops:open-output';
  export const viewHtml = 'dataops:view-html';
  export const viewLogs = 'dataops:view-logs';
  export const cancelJob = 'dataops:cancel-job';
  export const rerunJob = 'dataops:rerun-job';
  export const deleteJob = 'dataops:delete-job';
  export const refresh = 'dataops:refresh';
}

/**
 * The current time in epoch seconds. Re-renders every second while a job
 * runs (its duration grows), else every 30 s (relative times age).
 */
function useNow(fast: boolean): number {
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    const timer = setInterval(
      () => setTick(tick => tick + 1),
      fast ? 1000 : 30000
    );
    return () => clearInterval(timer);
  }, [fast]);
  // Read the clock on every render, so a render caused by the model (a job
  // that just started) does not show a time from before it.
  return Date.now() / 1000;
}

interface IPanelProps {
  model: IDataOpsModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  selected: string | null;
  onSelect: (id: string | null) => void;
}

/** The whole sidebar. */
export function JobsView(props: IPanelProps): JSX.Element {
  const { model, trans } = props;
  const running = model.jobs.some(job => job.status === 'running');
  const now = useNow(running);
  return (
    <div className="jp-DataOps-panel">
      <header className="jp-DataOps-header">
        <dataOpsIcon.react tag="span" className="jp-DataOps-headerIcon" />
        <h2 className="jp-DataOps-title">{trans.__('DataOps jobs')}</h2>
        <button
          className="jp-DataOps-iconButton"
          title={trans.__('Refresh the job list')}
          aria-label={trans.__('Refresh the job list')}
          onClick={() => void model.refresh()}
        >
          <refreshIcon.react
            tag="span"
            className={model.loading ? 'jp-DataOps-spin' : ''}
          />
        </button>
      </header>
      <Filters {...props} />
      {model.error && (
        <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
          <div>{model.error.message}</div>
          {model.error.hint && (
            <div className="jp-DataOps-hint">{model.error.hint}</div>
          )}
          <button
            className="jp-mod-styled jp-DataOps-linkButton"
            onClick={() => void model.refresh()}
          >
            {trans.__('Try again')}
          </button>
        </div>
      )}
      <JobList {...props} now={now} />
      <Pager {...props} />
    </div>
  );
}

function Filters(props: IPanelProps): JSX.Element {
  const { model, trans } = props;
  const query = model.query;
  const [text, setText] = React.useState(query.notebook);
  // Follow changes made elsewhere, e.g. filters cleared to show a new job.
  React.useEffect(() => setText(model.query.notebook), [model.query.notebook]);
  // Send the notebook filter once the user pauses typing.
  React.useEffect(() => {
    if (text === model.query.notebook) {
      return;
    }
    const timer = setTimeout(() => model.setQuery({ notebook: text }), 300);
    return () => clearTimeout(timer);
  }, [text]);

  const toggle = (status: JobStatus) => {
    const current = query.status;
    const next = current.includes(status)
      ? current.filter(item => item !== status)
      : [...current, status];
    model.setQuery({ status: JOB_STATUSES.filter(s => next.includes(s)) });
  };
  const allCount = JOB_STATUSES.reduce(
    (sum, status) => sum + (model.counts[status] ?? 0),
    0
  );
  return (
    <div className="jp-DataOps-filters">
      <div
        className="jp-DataOps-chips"
        role="group"
        aria-label={trans.__('Filter by status')}
      >
        <button
          className={`jp-DataOps-chip${
            query.status.length === 0 ? ' jp-mod-active' : ''
          }`}
          aria-pressed={query.status.length === 0}
          onClick={() => model.setQuery({ status: [] })}
        >
          {trans.__('All')}
          <span className="jp-DataOps-chipCount">{allCount}</span>
        </button>
        {JOB_STATUSES.map(status => {
          const Icon = statusIcons[status];
          const active = query.status.includes(status);
          return (
            <button
              key={status}
              className={`jp-DataOps-chip jp-DataOps-status-${status}${
                active ? ' jp-mod-active' : ''
              }`}
              aria-pressed={active}
              data-status={status}
              title={trans.__('Show %1 jobs', statusLabel(status, trans))}
              onClick={() => toggle(status)}
            >
              <Icon.react tag="span" className="jp-DataOps-statusIcon" />
              {statusLabel(status, trans)}
              <span className="jp-DataOps-chipCount">
                {model.counts[status] ?? 0}
              </span>
            </button>
          );
        })}
      </div>
      <div className="jp-DataOps-filterRow">
        <input
          className="jp-DataOps-input jp-DataOps-search"
          type="search"
          placeholder={trans.__('Filter by notebook…')}
          aria-label={trans.__('Filter by notebook')}
          value={text}
          onChange={event => setText(event.target.value)}
        />
      </div>
      <div className="jp-DataOps-filterRow">
        <label className="jp-DataOps-sortLabel" htmlFor="jp-DataOps-sort">
          {trans.__('Sort by')}
        </label>
        <select
          id="jp-DataOps-sort"
          className="jp-DataOps-select jp-DataOps-sort"
          value={query.sort}
          onChange={event =>
            model.setQuery({ sort: event.target.value as SortField })
          }
        >
          {SORT_FIELDS.map(field => (
            <option key={field} value={field}>
              {sortLabel(field, trans)}
            </option>
          ))}
        </select>
        <button
          className="jp-DataOps-iconButton"
          title={
            query.order === 'desc'
              ? trans.__('Descending: click for ascending')
              : trans.__('Ascending: click for descending')
          }
          aria-label={trans.__('Sort order')}
          onClick={() =>
            model.setQuery({
              order: (query.order === 'desc' ? 'asc' : 'desc') as SortOrder
            })
          }
        >
          <span className="jp-DataOps-orderArrow" aria-hidden="true">
            {query.order === 'desc' ? '↓' : '↑'}
          </span>
        </button>
      </div>
    </div>
  );
}

function JobList(props: IPanelProps & { now: number }): JSX.Element {
  const { model, trans } = props;
  if (!model.ready) {
    if (model.error) {
      return <div />;
    }
    return <div className="jp-DataOps-empty">{trans.__('Loading jobs…')}</div>;
  }
  if (model.jobs.length === 0) {
    const filtered =
      model.query.status.length > 0 || model.query.notebook !== '';
    return (
      <div className="jp-DataOps-empty">
        {filtered
          ? trans.__('No jobs match these filters.')
          : trans.__(
              'No jobs yet. Right-click a notebook in the file browser and choose “Run as job…”.'
            )}
      </div>
    );
  }
  return (
    <ul className="jp-DataOps-jobs" aria-label={trans.__('Jobs')}>
      {model.jobs.map(job => (
        <JobRow
          key={job.id}
          {...props}
          job={job}
          expanded={props.selected === job.id}
        />
      ))}
    </ul>
  );
}

function JobRow(
  props: IPanelProps & { job: IJob; now: number; expanded: boolean }
): JSX.Element {
  const { job, trans, now, expanded } = props;
  const Icon = statusIcons[job.status];
  const duration = jobDuration(job, now);
  const fraction = progressFraction(job);
  const label = statusLabel(job.status, trans);
  return (
    <li
      className={`jp-DataOps-job jp-DataOps-status-${job.status}${
        expanded ? ' jp-mod-expanded' : ''
      }`}
      data-job-id={job.id}
      data-status={job.status}
    >
      <div
        className="jp-DataOps-jobSummary"
        role="button"
        tabIndex={0}
        aria-expanded={expanded}
        onClick={() => props.onSelect(expanded ? null : job.id)}
        onKeyDown={event => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            props.onSelect(expanded ? null : job.id);
          }
        }}
      >
        <span title={label} className="jp-DataOps-jobIcon">
          <Icon.react tag="span" className="jp-DataOps-statusIcon" />
        </span>
        <div className="jp-DataOps-jobMain">
          <div className="jp-DataOps-jobTop">
            <span className="jp-DataOps-jobName" title={job.name}>
              {job.name}
            </span>
            <span
              className="jp-DataOps-jobTime"
              title={formatTimestamp(job.created_at)}
            >
              {formatRelativeTime(job.created_at, now, trans)}
            </span>
          </div>
          <div className="jp-DataOps-jobSub">
            <span className="jp-DataOps-jobPath" title={job.notebook_path}>
              {job.notebook_path}
            </span>
            <span className="jp-DataOps-jobStatusText">
              {label}
              {duration !== null && ` · ${formatDuration(duration, trans)}`}
            </span>
          </div>
          {(job.status === 'running' || job.status === 'queued') && (
            <div
              className="jp-DataOps-progress"
              role="progressbar"
              aria-valuemin={0}
              aria-valuemax={job.progress.cells_total}
              aria-valuenow={job.progress.cells_completed}
              title={trans.__(
                '%1 of %2 cells',
                job.progress.cells_completed,
                job.progress.cells_total
              )}
            >
              <div className="jp-DataOps-progressTrack">
                <div
                  className="jp-DataOps-progressBar"
                  style={{ width: `${Math.round(fraction * 100)}%` }}
                />
              </div>
              <span className="jp-DataOps-progressText">
                {job.progress.cells_total
                  ? trans.__(
                      '%1/%2 cells',
                      job.progress.cells_completed,
                      job.progress.cells_total
                    )
                  : job.status === 'queued'
                    ? trans.__('waiting')
                    : trans.__('starting')}
              </span>
            </div>
          )}
          {job.status === 'failed' && job.error && (
            <div className="jp-DataOps-jobErrorLine" title={job.error.evalue}>
              {job.error.cell_index !== null
                ? trans.__(
                    'Cell %1: %2',
                    job.error.cell_index,
                    `${job.error.ename}: ${stripAnsi(job.error.evalue)}`
                  )
                : `${job.error.ename}: ${stripAnsi(job.error.evalue)}`}
            </div>
          )}
        </div>
      </div>
      {expanded && <JobDetail {...props} />}
    </li>
  );
}

function JobDetail(props: IPanelProps & { job: IJob; now: number }) {
  const { job, trans, commands, now } = props;
  const run = (command: string) =>
    void commands.execute(command, { id: job.id });
  const duration = jobDuration(job, now);
  const parameters = Object.entries(job.parameters);
  return (
    <div className="jp-DataOps-jobDetail">
      <div className="jp-DataOps-actions">
        {props.model.jobActions
          .filter(action => action.isVisible?.(job) ?? true)
          .map(action => {
            const label =
              typeof action.label === 'function'
                ? action.label(job)
                : action.label;
            const caption =
              typeof action.caption === 'function'
                ? action.caption(job)
                : action.caption;
            const kind =
              action.kind === 'primary'
                ? ' jp-DataOps-primary'
                : action.kind === 'danger'
                  ? ' jp-DataOps-danger'
                  : '';
            return (
              <button
                key={action.id}
                className={`jp-DataOps-action${kind}`}
                data-action={action.id}
                title={caption}
                disabled={!(action.isEnabled?.(job) ?? true)}
                onClick={() => run(action.command)}
              >
                {label}
              </button>
            );
          })}
      </div>
      {job.error && job.status === 'cancelled' && (
        <div className="jp-DataOps-note">
          {stripAnsi(job.error.evalue) || trans.__('Cancelled.')}
        </div>
      )}
      {job.error && job.status !== 'cancelled' && (
        <div className="jp-DataOps-errorBox">
          <div className="jp-DataOps-errorTitle">
            {job.error.cell_index !== null
              ? trans.__('Failed in cell %1', job.error.cell_index)
              : trans.__('Failed')}
            {': '}
            <strong>{job.error.ename}</strong>
            {job.error.evalue ? `: ${stripAnsi(job.error.evalue)}` : ''}
          </div>
          {job.error.traceback.length > 0 && (
            <pre className="jp-DataOps-traceback">
              {stripAnsi(job.error.traceback.join('\n'))}
            </pre>
          )}
        </div>
      )}
      {job.warnings.length > 0 && (
        <ul className="jp-DataOps-warnings">
          {job.warnings.map((warning, index) => (
            <li key={index}>{warning}</li>
          ))}
        </ul>
      )}
      <dl className="jp-DataOps-fields">
        <dt>{trans.__('Parameters')}</dt>
        <dd>
          {parameters.length === 0 ? (
            <span className="jp-DataOps-muted">
              {trans.__('Notebook defaults')}
            </span>
          ) : (
            <table className="jp-DataOps-params">
              <tbody>
                {parameters.map(([name, value]) => (
                  <tr key={name}>
                    <th>{name}</th>
                    <td>
                      <code>{jsonText(value)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </dd>
        <dt>{trans.__('Notebook')}</dt>
        <dd className="jp-DataOps-pathValue">{job.notebook_path}</dd>
        <dt>{trans.__('Kernel')}</dt>
        <dd>{job.kernel_name}</dd>
        <dt>{trans.__('Created')}</dt>
        <dd title={formatTimestamp(job.created_at)}>
          {formatTimestamp(job.created_at, now)}
        </dd>
        {job.started_at !== null && (
          <>
            <dt>{trans.__('Started')}</dt>
            <dd title={formatTimestamp(job.started_at)}>
              {formatTimestamp(job.started_at, now)}
            </dd>
          </>
        )}
        {job.finished_at !== null && (
          <>
            <dt>{trans.__('Finished')}</dt>
            <dd title={formatTimestamp(job.finished_at)}>
              {formatTimestamp(job.finished_at, now)}
            </dd>
          </>
        )}
        {duration !== null && (
          <>
            <dt>{trans.__('Duration')}</dt>
            <dd>{formatDuration(duration, trans)}</dd>
          </>
        )}
        <dt>{trans.__('Attempt')}</dt>
        <dd>{trans.__('%1 of %2', job.attempt, job.max_retries + 1)}</dd>
        {job.timeout_seconds !== null && (
          <>
            <dt>{trans.__('Timeout')}</dt>
            <dd>{formatDuration(job.timeout_seconds, trans)}</dd>
          </>
        )}
        {job.rerun_of && (
          <>
            <dt>{trans.__('Re-run of')}</dt>
            <dd>
              <code>{job.rerun_of}</code>
            </dd>
          </>
        )}
        <dt>{trans.__('Executor')}</dt>
        <dd>{job.executor}</dd>
        <dt>{trans.__('Job ID')}</dt>
        <dd>
          <code>{job.id}</code>
        </dd>
      </dl>
    </div>
  );
}

function Pager(props: IPanelProps): JSX.Element | null {
  const { model, trans } = props;
  if (!model.ready) {
    return null;
  }
  const { page, pageCount, query } = model;
  return (
    <footer className="jp-DataOps-pager">
      <button
        className="jp-DataOps-iconButton"
        disabled={page <= 1}
        aria-label={trans.__('Previous page')}
        title={trans.__('Previous page')}
        onClick={() => model.setPage(page - 1)}
      >
        ‹
      </button>
      <span className="jp-DataOps-pageText">
        {trans.__('Page %1 of %2', page, pageCount)}
      </span>
      <button
        className="jp-DataOps-iconButton"
        disabled={page >= pageCount}
        aria-label={trans.__('Next page')}
        title={trans.__('Next page')}
        onClick={() => model.setPage(page + 1)}
      >
        ›
      </button>
      <span className="jp-DataOps-total">
        {trans._n('%1 job', '%1 jobs', model.total)}
      </span>
      <select
        className="jp-DataOps-select jp-DataOps-pageSize"
        aria-label={trans.__('Jobs per page')}
        title={trans.__('Jobs per page')}
        value={query.limit}
        onChange={event =>
          model.setQuery({ limit: Number(event.target.value) })
        }
      >
        {PAGE_SIZES.map(size => (
          <option key={size} value={size}>
            {size}
          </option>
        ))}
      </select>
    </footer>
  );
}

/** The sidebar widget. */
export class JobsPanel extends ReactWidget {
  constructor(options: {
    model: IDataOpsModel;
    commands: CommandRegistry;
    trans: TranslationBundle;
  }) {
    super();
    this._model = options.model;
    this._commands = options.commands;
    this._trans = options.trans;
    this.addClass('jp-DataOps-sidebar');
  }

  /** The job whose detail is open, or null. */
  get selected(): string | null {
    return this._selected;
  }

  /** Open one job's detail (and close any other). */
  select(id: string | null): void {
    this._selected = id;
    this._selectionChanged.emit();
  }

  get selectionChanged(): ISignal<this, void> {
    return this._selectionChanged;
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this._selectionChanged}>
        {() => (
          <UseSignal signal={this._model.jobActionsChanged}>
            {() => (
              <UseSignal signal={this._model.changed}>
                {() => (
                  <JobsView
                    model={this._model}
                    commands={this._commands}
                    trans={this._trans}
                    selected={this._selected}
                    onSelect={id => this.select(id)}
                  />
                )}
              </UseSignal>
            )}
          </UseSignal>
        )}
      </UseSignal>
    );
  }

  private _model: IDataOpsModel;
  private _commands: CommandRegistry;
  private _trans: TranslationBundle;
  private _selected: string | null = null;
  private _selectionChanged = new Signal<this, void>(this);
}
