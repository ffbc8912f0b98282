/**
 * The Jobs section of the DataOps sidebar: the job list with its filters,
 * and each job's detail.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import {
  CollectionError,
  CollectionPager,
  CollectionSection,
  formatCount,
  useSignals
} from '../collection';
import type { ISandboxesModel } from '../sandboxes/tokens';
import { IJobsModel } from '../tokens';
import { JobDetail } from './detail';
import {
  formatDuration,
  formatRelativeTime,
  formatTimestamp,
  jobDuration,
  progressFraction,
  stripAnsi
} from './format';
import { statusIcons } from './icons';
import { sortLabel, statusLabel, statusText } from './labels';
import {
  isTerminal,
  JOB_SORTS,
  JOB_STATUSES,
  JobQuery,
  JobSort,
  JobStatus,
  JobSummary
} from './types';

/** Whether the list's filters let a job through (the page aside). */
export function matchesQuery(job: JobSummary, query: JobQuery): boolean {
  const statuses = query.status ?? [];
  if (statuses.length > 0 && !statuses.includes(job.status)) {
    return false;
  }
  if (query.notebook && job.notebook_path !== query.notebook) {
    return false;
  }
  if (query.id && query.id.length > 0 && !query.id.includes(job.id)) {
    return false;
  }
  if (query.schedule_id && job.schedule_id !== query.schedule_id) {
    return false;
  }
  return true;
}

/**
 * The current time in epoch seconds. Re-renders every second while a job
 * runs (its duration grows), else every 30 s (relative times age).
 */
export function useNow(fast: boolean): number {
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

export interface IJobsViewProps {
  model: IJobsModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** The job whose detail is open. */
  selected: string | null;
  onSelect: (id: string | null) => void;
  /** The sandboxes, to name the one a job ran in (when sandboxes are here). */
  sandboxes?: ISandboxesModel | null;
}

/** The whole section: filters, list and pager. */
export function JobsView(props: IJobsViewProps): JSX.Element {
  const { model, trans } = props;
  const jobs = model.collection;
  const pinned = props.selected !== null && !jobs.has(props.selected);
  useSignals(
    jobs.changed,
    model.actionsChanged,
    model.infoChanged,
    // A pinned job is off the page: its changes do not change the page.
    pinned ? jobs.itemChanged : null
  );
  const running = jobs.items.some(job => job.status === 'running');
  const now = useNow(running);
  return (
    <div className="jp-DataOps-panel jp-DataOps-jobsView">
      <Filters {...props} />
      <CollectionError model={jobs} trans={trans} />
      <JobList {...props} now={now} />
      <CollectionPager
        model={jobs}
        trans={trans}
        pageSizeLabel={trans.__('Jobs per page')}
      />
    </div>
  );
}

function Filters(props: IJobsViewProps): JSX.Element {
  const { model, trans } = props;
  const jobs = model.collection;
  const query = jobs.query;
  const statuses = query.status ?? [];
  const notebook = query.notebook ?? '';
  const [text, setText] = React.useState(notebook);
  // Follow changes made elsewhere, e.g. filters cleared to show a new job.
  React.useEffect(() => setText(notebook), [notebook]);
  // Send the notebook filter once the user pauses typing.
  React.useEffect(() => {
    const wanted = text.trim().replace(/^\/+/, '');
    if (wanted === notebook) {
      return;
    }
    const timer = setTimeout(
      () => jobs.setQuery({ notebook: wanted || null }),
      400
    );
    return () => clearTimeout(timer);
  }, [text]);

  const toggle = (status: JobStatus) => {
    const next = statuses.includes(status)
      ? statuses.filter(item => item !== status)
      : [...statuses, status];
    jobs.setQuery({ status: JOB_STATUSES.filter(s => next.includes(s)) });
  };
  const count = (status: JobStatus) => jobs.counts[status] ?? 0;
  const allCount = JOB_STATUSES.reduce((sum, status) => sum + count(status), 0);
  // Suggest the notebooks of the jobs seen on this page.
  const notebooks = [...new Set(jobs.items.map(job => job.notebook_path))]
    .sort()
    .slice(0, 50);
  const sort = query.sort ?? 'created_at';
  const order = query.order ?? 'desc';
  return (
    <div className="jp-DataOps-filters">
      <div
        className="jp-DataOps-chips"
        role="group"
        aria-label={trans.__('Filter by status')}
      >
        <button
          className={`jp-DataOps-chip${
            statuses.length === 0 ? ' jp-mod-active' : ''
          }`}
          aria-pressed={statuses.length === 0}
          onClick={() => jobs.setQuery({ status: [] })}
        >
          {trans.__('All')}
          <span className="jp-DataOps-chipCount">{formatCount(allCount)}</span>
        </button>
        {JOB_STATUSES.map(status => {
          const Icon = statusIcons[status];
          const active = statuses.includes(status);
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
                {formatCount(count(status))}
              </span>
            </button>
          );
        })}
      </div>
      {query.schedule_id && (
        <div className="jp-DataOps-filterRow jp-DataOps-scheduleFilter">
          <span
            className="jp-DataOps-filterTag"
            title={trans.__('Schedule %1', query.schedule_id)}
          >
            {trans.__(
              'Only the runs of schedule %1',
              query.schedule_id.slice(0, 8)
            )}
          </span>
          <button
            className="jp-DataOps-iconButton jp-DataOps-clearScheduleFilter"
            title={trans.__('Show the jobs of every schedule, and others')}
            aria-label={trans.__('Clear the schedule filter')}
            onClick={() => jobs.setQuery({ schedule_id: null })}
          >
            ×
          </button>
        </div>
      )}
      <div className="jp-DataOps-filterRow">
        <input
          className="jp-DataOps-input jp-DataOps-search"
          type="search"
          list="jp-DataOps-notebooks"
          placeholder={trans.__('Filter by notebook path…')}
          aria-label={trans.__('Filter by notebook path')}
          title={trans.__(
            'Only the jobs of this notebook (its full path from the server’s root)'
          )}
          value={text}
          onChange={event => setText(event.target.value)}
        />
        <datalist id="jp-DataOps-notebooks">
          {notebooks.map(path => (
            <option key={path} value={path} />
          ))}
        </datalist>
      </div>
      <div className="jp-DataOps-filterRow">
        <label className="jp-DataOps-sortLabel" htmlFor="jp-DataOps-sort">
          {trans.__('Sort by')}
        </label>
        <select
          id="jp-DataOps-sort"
          className="jp-DataOps-select jp-DataOps-sort"
          value={sort}
          onChange={event =>
            jobs.setQuery({ sort: event.target.value as JobSort })
          }
        >
          {JOB_SORTS.map(field => (
            <option key={field} value={field}>
              {sortLabel(field, trans)}
            </option>
          ))}
        </select>
        <button
          className="jp-DataOps-iconButton"
          title={
            order === 'desc'
              ? trans.__('Descending: click for ascending')
              : trans.__('Ascending: click for descending')
          }
          aria-label={trans.__('Sort order')}
          onClick={() =>
            jobs.setQuery({ order: order === 'desc' ? 'asc' : 'desc' })
          }
        >
          <span className="jp-DataOps-orderArrow" aria-hidden="true">
            {order === 'desc' ? '↓' : '↑'}
          </span>
        </button>
      </div>
    </div>
  );
}

function JobList(props: IJobsViewProps & { now: number }): JSX.Element {
  const { model, trans, selected } = props;
  const jobs = model.collection;
  // A selected job the filters or the page hide stays in view, pinned on top.
  const pinned =
    selected !== null && !jobs.has(selected)
      ? (model.getSummary(selected) ?? null)
      : null;
  if (!jobs.ready && !pinned) {
    if (jobs.error) {
      return <div />;
    }
    return <div className="jp-DataOps-empty">{trans.__('Loading jobs…')}</div>;
  }
  const filtered =
    (jobs.query.status ?? []).length > 0 ||
    !!jobs.query.notebook ||
    !!jobs.query.schedule_id;
  return (
    <ul className="jp-DataOps-jobs" aria-label={trans.__('Jobs')}>
      {pinned && (
        <JobRow
          key={`pinned-${pinned.id}`}
          {...props}
          job={pinned}
          expanded={true}
          pinned={true}
        />
      )}
      {jobs.items.length === 0 && (
        <li className="jp-DataOps-empty">
          {filtered
            ? trans.__('No jobs match these filters.')
            : trans.__(
                'No jobs yet. Right-click a notebook in the file browser and choose “Run as job…”.'
              )}
        </li>
      )}
      {jobs.items.map(job => (
        <JobRow
          key={job.id}
          {...props}
          job={job}
          expanded={selected === job.id}
          pinned={false}
        />
      ))}
    </ul>
  );
}

function JobRow(
  props: IJobsViewProps & {
    job: JobSummary;
    now: number;
    expanded: boolean;
    pinned: boolean;
  }
): JSX.Element {
  const { model, job, trans, now, expanded, pinned } = props;
  const Icon = statusIcons[job.status];
  const duration = jobDuration(job, now);
  const fraction = progressFraction(job);
  const label = statusLabel(job.status, trans);
  const active = !isTerminal(job.status);
  const showProgress = active && model.capabilities.progress;
  const toggle = () => props.onSelect(expanded ? null : job.id);
  return (
    <li
      className={`jp-DataOps-job jp-DataOps-status-${job.status}${
        expanded ? ' jp-mod-expanded' : ''
      }${pinned ? ' jp-mod-pinned' : ''}`}
      data-job-id={job.id}
      data-status={job.status}
    >
      {pinned && (
        <div className="jp-DataOps-pinnedNote">
          {trans.__('Not on this page or hidden by the filters')}
        </div>
      )}
      <div
        className="jp-DataOps-jobSummary"
        role="button"
        tabIndex={0}
        aria-expanded={expanded}
        onClick={toggle}
        onKeyDown={event => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            toggle();
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
              {statusText(job, trans)}
              {duration !== null && ` · ${formatDuration(duration, trans)}`}
            </span>
          </div>
          {showProgress && (
            <div
              className="jp-DataOps-progress"
              role="progressbar"
              aria-label={trans.__('Progress of %1', job.name)}
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
          {job.warning_count > 0 && !expanded && (
            <div className="jp-DataOps-jobWarningLine">
              {trans._n('%1 warning', '%1 warnings', job.warning_count)}
            </div>
          )}
        </div>
      </div>
      {expanded && <JobDetail {...props} summary={job} />}
    </li>
  );
}

/** The Jobs section's body: the view, and which job's detail is open. */
export class JobsSection extends CollectionSection<IJobsModel> {
  constructor(options: JobsSection.IOptions) {
    super(options, 'jp-DataOps-jobsSection');
    this._sandboxes = options.sandboxes ?? null;
  }

  /**
   * Show a job: open its detail, and clear the filters if they hide it
   * (a job on another page stays pinned on top of this one).
   */
  reveal(id: string): void {
    const jobs = this.model.collection;
    const job = this.model.getSummary(id);
    if (job && !jobs.has(id) && !matchesQuery(job, jobs.query)) {
      jobs.setQuery({ status: [], notebook: null, schedule_id: null });
    }
    this.select(id);
  }

  render(): JSX.Element {
    return <JobsView {...this.viewProps()} sandboxes={this._sandboxes} />;
  }

  private _sandboxes: ISandboxesModel | null;
}

export namespace JobsSection {
  export interface IOptions extends CollectionSection.IOptions<IJobsModel> {
    /** The sandboxes, to name the one a job ran in. */
    sandboxes?: ISandboxesModel | null;
  }
}
