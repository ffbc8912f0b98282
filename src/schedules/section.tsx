/**
 * The Schedules section of the DataOps sidebar: status chips with counts,
 * the schedule list (next run, last run, a sparkline of recent outcomes),
 * and each schedule's detail.
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
import { formatTimestamp } from '../jobs/format';
import { statusIcons } from '../jobs/icons';
import { statusLabel } from '../jobs/labels';
import { useNow } from '../jobs/section';
import { ISchedulesModel } from '../tokens';
import { formatInZone, formatRelative } from './cron';
import { ScheduleDetail } from './detail';
import { scheduleStatusIcons } from './icons';
import { scheduleSortLabel, scheduleStatusLabel } from './labels';
import { Sparkline } from './sparkline';
import {
  SCHEDULE_SORTS,
  SCHEDULE_STATUSES,
  ScheduleQuery,
  ScheduleSort,
  ScheduleStatus,
  ScheduleSummary
} from './types';

/** Whether the list's filters let a schedule through (the page aside). */
export function matchesScheduleQuery(
  schedule: ScheduleSummary,
  query: ScheduleQuery
): boolean {
  const statuses = query.status ?? [];
  if (statuses.length > 0 && !statuses.includes(schedule.status)) {
    return false;
  }
  if (query.notebook && schedule.notebook_path !== query.notebook) {
    return false;
  }
  return true;
}

export interface ISchedulesViewProps {
  model: ISchedulesModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** The schedule whose detail is open. */
  selected: string | null;
  onSelect: (id: string | null) => void;
}

/** The whole section: chips, list and pager. */
export function SchedulesView(props: ISchedulesViewProps): JSX.Element {
  const { model, trans } = props;
  const schedules = model.collection;
  const pinned = props.selected !== null && !schedules.has(props.selected);
  useSignals(schedules.changed, pinned ? schedules.itemChanged : null);
  // Tick each second while a run is due within two minutes ("in 40 s").
  const soon = schedules.items.some(
    item =>
      item.next_run_at !== null && item.next_run_at - Date.now() / 1000 < 120
  );
  const now = useNow(soon);
  return (
    <div className="jp-DataOps-panel jp-DataOps-schedulesView">
      <Filters {...props} />
      <CollectionError model={schedules} trans={trans} />
      <ScheduleList {...props} now={now} />
      <CollectionPager
        model={schedules}
        trans={trans}
        pageSizeLabel={trans.__('Schedules per page')}
      />
    </div>
  );
}

function Filters(props: ISchedulesViewProps): JSX.Element {
  const { model, trans } = props;
  const schedules = model.collection;
  const query = schedules.query;
  const statuses = query.status ?? [];
  const toggle = (status: ScheduleStatus) => {
    const next = statuses.includes(status)
      ? statuses.filter(item => item !== status)
      : [...statuses, status];
    schedules.setQuery({
      status: SCHEDULE_STATUSES.filter(item => next.includes(item))
    });
  };
  const count = (status: ScheduleStatus) => schedules.counts[status] ?? 0;
  const allCount = SCHEDULE_STATUSES.reduce(
    (sum, status) => sum + count(status),
    0
  );
  const sort = query.sort ?? 'created_at';
  const order = query.order ?? 'desc';
  return (
    <div className="jp-DataOps-filters">
      <div
        className="jp-DataOps-chips"
        role="group"
        aria-label={trans.__('Filter schedules by status')}
      >
        <button
          className={`jp-DataOps-chip${
            statuses.length === 0 ? ' jp-mod-active' : ''
          }`}
          aria-pressed={statuses.length === 0}
          onClick={() => schedules.setQuery({ status: [] })}
        >
          {trans.__('All')}
          <span className="jp-DataOps-chipCount">{formatCount(allCount)}</span>
        </button>
        {SCHEDULE_STATUSES.map(status => {
          const Icon = scheduleStatusIcons[status];
          const active = statuses.includes(status);
          return (
            <button
              key={status}
              className={`jp-DataOps-chip jp-DataOps-scheduleStatus-${status}${
                active ? ' jp-mod-active' : ''
              }`}
              aria-pressed={active}
              data-status={status}
              title={trans.__(
                'Show %1 schedules',
                scheduleStatusLabel(status, trans).toLowerCase()
              )}
              onClick={() => toggle(status)}
            >
              <Icon.react tag="span" className="jp-DataOps-statusIcon" />
              {scheduleStatusLabel(status, trans)}
              <span className="jp-DataOps-chipCount">
                {formatCount(count(status))}
              </span>
            </button>
          );
        })}
      </div>
      <div className="jp-DataOps-filterRow">
        <label
          className="jp-DataOps-sortLabel"
          htmlFor="jp-DataOps-scheduleSort"
        >
          {trans.__('Sort by')}
        </label>
        <select
          id="jp-DataOps-scheduleSort"
          className="jp-DataOps-select jp-DataOps-sort"
          value={sort}
          onChange={event =>
            schedules.setQuery({ sort: event.target.value as ScheduleSort })
          }
        >
          {SCHEDULE_SORTS.map(field => (
            <option key={field} value={field}>
              {scheduleSortLabel(field, trans)}
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
          aria-label={trans.__('Sort order of schedules')}
          onClick={() =>
            schedules.setQuery({ order: order === 'desc' ? 'asc' : 'desc' })
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

function ScheduleList(
  props: ISchedulesViewProps & { now: number }
): JSX.Element {
  const { model, trans, selected } = props;
  const schedules = model.collection;
  const pinned =
    selected !== null && !schedules.has(selected)
      ? (model.getSummary(selected) ?? null)
      : null;
  if (!schedules.ready && !pinned) {
    if (schedules.error) {
      return <div />;
    }
    return (
      <div className="jp-DataOps-empty">{trans.__('Loading schedules…')}</div>
    );
  }
  const filtered =
    (schedules.query.status ?? []).length > 0 || !!schedules.query.notebook;
  return (
    <ul
      className="jp-DataOps-jobs jp-DataOps-schedules"
      aria-label={trans.__('Schedules')}
    >
      {pinned && (
        <ScheduleRow
          key={`pinned-${pinned.id}`}
          {...props}
          schedule={pinned}
          expanded={true}
          pinned={true}
        />
      )}
      {schedules.items.length === 0 && (
        <li className="jp-DataOps-empty">
          {filtered
            ? trans.__('No schedules match these filters.')
            : trans.__(
                'No schedules yet. Right-click a notebook in the file browser and choose “Schedule…”, or choose “On a schedule” in the run dialog.'
              )}
        </li>
      )}
      {schedules.items.map(schedule => (
        <ScheduleRow
          key={schedule.id}
          {...props}
          schedule={schedule}
          expanded={selected === schedule.id}
          pinned={false}
        />
      ))}
    </ul>
  );
}

/** When the schedule runs next: `in 3 h`, or why it does not. */
export function NextRun(props: {
  schedule: ScheduleSummary;
  now: number;
  trans: TranslationBundle;
}): JSX.Element {
  const { schedule, now, trans } = props;
  if (schedule.status === 'paused') {
    return (
      <span className="jp-DataOps-nextRun jp-mod-paused">
        {trans.__('paused')}
      </span>
    );
  }
  if (schedule.next_run_at === null) {
    return (
      <span className="jp-DataOps-nextRun">{trans.__('no next run')}</span>
    );
  }
  return (
    <span
      className="jp-DataOps-nextRun"
      title={trans.__(
        'Next run: %1 (%2)',
        formatInZone(schedule.next_run_at, schedule.timezone, { year: true }),
        schedule.timezone
      )}
    >
      {trans.__('next %1', formatRelative(schedule.next_run_at, now, trans))}
    </span>
  );
}

/** The last run's status, with its icon. */
export function LastRunBadge(props: {
  schedule: ScheduleSummary;
  trans: TranslationBundle;
}): JSX.Element {
  const { schedule, trans } = props;
  const last = schedule.last_run;
  if (!last) {
    return (
      <span className="jp-DataOps-lastRun jp-DataOps-muted">
        {trans.__('never ran')}
      </span>
    );
  }
  const Icon = statusIcons[last.status];
  return (
    <span
      className={`jp-DataOps-lastRun jp-DataOps-status-${last.status}`}
      data-status={last.status}
      title={
        last.due_at !== null
          ? trans.__(
              'Last run (due %1): %2',
              formatTimestamp(last.due_at),
              statusLabel(last.status, trans)
            )
          : trans.__('Last run (run now): %1', statusLabel(last.status, trans))
      }
    >
      <Icon.react tag="span" className="jp-DataOps-statusIcon" />
      {statusLabel(last.status, trans)}
    </span>
  );
}

function ScheduleRow(
  props: ISchedulesViewProps & {
    schedule: ScheduleSummary;
    now: number;
    expanded: boolean;
    pinned: boolean;
  }
): JSX.Element {
  const { schedule, trans, now, expanded, pinned } = props;
  const Icon = scheduleStatusIcons[schedule.status];
  const toggle = () => props.onSelect(expanded ? null : schedule.id);
  return (
    <li
      className={`jp-DataOps-job jp-DataOps-schedule jp-DataOps-scheduleStatus-${
        schedule.status
      }${expanded ? ' jp-mod-expanded' : ''}${pinned ? ' jp-mod-pinned' : ''}`}
      data-schedule-id={schedule.id}
      data-status={schedule.status}
    >
      {pinned && (
        <div className="jp-DataOps-pinnedNote">
          {trans.__('Not on this page or hidden by the filters')}
        </div>
      )}
      <div
        className="jp-DataOps-jobSummary jp-DataOps-scheduleSummary"
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
        <span
          title={scheduleStatusLabel(schedule.status, trans)}
          className="jp-DataOps-jobIcon"
        >
          <Icon.react tag="span" className="jp-DataOps-statusIcon" />
        </span>
        <div className="jp-DataOps-jobMain">
          <div className="jp-DataOps-jobTop">
            <span className="jp-DataOps-jobName" title={schedule.name}>
              {schedule.name}
            </span>
            <NextRun schedule={schedule} now={now} trans={trans} />
          </div>
          <div
            className="jp-DataOps-scheduleWords"
            title={`${schedule.cron} · ${schedule.notebook_path}`}
          >
            {schedule.description}
          </div>
          <div className="jp-DataOps-scheduleBottom">
            <LastRunBadge schedule={schedule} trans={trans} />
            <Sparkline recent={schedule.recent} trans={trans} />
          </div>
        </div>
      </div>
      {expanded && <ScheduleDetail {...props} summary={schedule} />}
    </li>
  );
}

/** The Schedules section's body: the view, and which schedule's detail is open. */
export class SchedulesSection extends CollectionSection<ISchedulesModel> {
  constructor(options: CollectionSection.IOptions<ISchedulesModel>) {
    super(options, 'jp-DataOps-schedulesSection');
  }

  /** Show a schedule: open its detail, clearing filters that hide it. */
  reveal(id: string): void {
    const schedules = this.model.collection;
    const schedule = this.model.getSummary(id);
    if (
      schedule &&
      !schedules.has(id) &&
      !matchesScheduleQuery(schedule, schedules.query)
    ) {
      schedules.setQuery({ status: [], notebook: null });
    }
    this.select(id);
  }

  render(): JSX.Element {
    return <SchedulesView {...this.viewProps()} />;
  }
}
