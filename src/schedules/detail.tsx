/**
 * One schedule's detail in the Schedules section: its actions, next runs,
 * runs (jobs with its `schedule_id`), firings (with why a due time was
 * skipped or missed) and definition.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { errorText } from '../api';
import {
  ICollectionModel,
  LoadProblem,
  useLiveItem,
  useSignals
} from '../collection';
import { CommandIDs } from '../jobs/commands';
import {
  formatDuration,
  formatRelativeTime,
  formatTimestamp,
  jobDuration
} from '../jobs/format';
import { statusIcons } from '../jobs/icons';
import { statusText } from '../jobs/labels';
import { jsonText } from '../jobs/params';
import { executorLabel, scheduleTargetText, targetOf } from '../jobs/target';
import { JobQuery, JobSummary } from '../jobs/types';
import { SandboxCommandIDs } from '../sandboxes/commands';
import { ScheduleCommandIDs } from './commands';
import { browserTimeZone, formatInZone } from './cron';
import { concurrencyShort, firingOutcomeLabel, misfireLabel } from './labels';
import { withScheduleSummary } from './model';
import type { ISchedulesViewProps } from './section';
import { Firing, Schedule, ScheduleSummary } from './types';

/** How many firings the detail lists. */
export const FIRINGS_SHOWN = 10;

/** The detail of a schedule, under its row. */
export function ScheduleDetail(
  props: ISchedulesViewProps & { summary: ScheduleSummary; now: number }
): JSX.Element {
  const { model, summary, trans, now } = props;
  const id = summary.id;
  const fetchSchedule = React.useCallback(
    (wanted: string) => model.fetchSchedule(wanted),
    [model]
  );
  const [schedule, loadError] = useLiveItem(
    id,
    model.getSchedule(id),
    fetchSchedule,
    model.scheduleChanged
  );

  const live = schedule ? withScheduleSummary(schedule, summary) : null;
  return (
    <div className="jp-DataOps-jobDetail jp-DataOps-scheduleDetail">
      <Actions {...props} schedule={live} />
      {loadError && (
        <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
          <div>{loadError.message}</div>
          {loadError.hint && (
            <div className="jp-DataOps-hint">{loadError.hint}</div>
          )}
        </div>
      )}
      <NextRuns summary={summary} schedule={live} trans={trans} />
      <Runs {...props} />
      <Firings {...props} />
      <Definition
        summary={summary}
        schedule={live}
        now={now}
        commands={props.commands}
        trans={trans}
      />
    </div>
  );
}

/**
 * Where the runs go: the kernel (the notebook's unless one was chosen), a
 * sandbox (a link to it), or a new sandbox of a profile for each run.
 */
function RunsIn(props: {
  schedule: Schedule;
  commands: CommandRegistry;
  trans: TranslationBundle;
}): JSX.Element {
  const { schedule, commands, trans } = props;
  const target = targetOf(schedule);
  const text = scheduleTargetText(schedule, trans);
  if (target.kind === 'kernel' || text === null) {
    return (
      <>
        <dt>{trans.__('Kernel')}</dt>
        <dd>
          {schedule.kernel_name ?? (
            <span className="jp-DataOps-muted">
              {trans.__('the notebook’s')}
            </span>
          )}
        </dd>
      </>
    );
  }
  return (
    <>
      <dt>{trans.__('Runs')}</dt>
      <dd className="jp-DataOps-scheduleTarget" data-target={target.kind}>
        {target.kind === 'sandbox' &&
        commands.hasCommand(SandboxCommandIDs.open) ? (
          <button
            className="jp-DataOps-inlineLink jp-DataOps-sandboxLink"
            data-sandbox-id={target.sandbox}
            title={trans.__(
              'Show sandbox %1 in the Sandboxes section',
              target.sandbox
            )}
            onClick={() =>
              void commands.execute(SandboxCommandIDs.open, {
                select: target.sandbox
              })
            }
          >
            {text}
          </button>
        ) : (
          text
        )}
      </dd>
    </>
  );
}

/** The action buttons, each disabled with the reason where it does not apply. */
function Actions(
  props: ISchedulesViewProps & {
    summary: ScheduleSummary;
    schedule: Schedule | null;
  }
): JSX.Element {
  const { commands, summary, schedule, trans } = props;
  const [busy, setBusy] = React.useState<string | null>(null);
  const run = (action: string, command: string) => {
    setBusy(action);
    void commands
      .execute(command, { id: summary.id })
      .catch(() => undefined)
      .then(() => setBusy(null));
  };
  const paused = summary.status === 'paused';
  const loading = schedule === null;
  const buttons: {
    id: string;
    command: string;
    label: string;
    kind?: 'primary' | 'danger';
    disabledBecause: string | null;
    caption: string;
  }[] = [
    {
      id: 'run-now',
      command: ScheduleCommandIDs.runNow,
      label: busy === 'run-now' ? trans.__('Running…') : trans.__('Run now…'),
      kind: 'primary',
      disabledBecause: null,
      caption: trans.__(
        'Run the notebook now with this schedule’s definition, changing parameters if you like'
      )
    },
    paused
      ? {
          id: 'resume',
          command: ScheduleCommandIDs.resume,
          label: trans.__('Resume'),
          disabledBecause: null,
          caption: trans.__(
            'Fire again from now on (times that passed while paused do not run)'
          )
        }
      : {
          id: 'pause',
          command: ScheduleCommandIDs.pause,
          label: trans.__('Pause'),
          disabledBecause: null,
          caption: trans.__('Stop firing until it is resumed')
        },
    {
      id: 'edit',
      command: ScheduleCommandIDs.edit,
      label: trans.__('Edit…'),
      disabledBecause: loading
        ? trans.__('Wait for the schedule to load')
        : null,
      caption: trans.__(
        'Change the schedule: a new version; past runs keep the one they ran with'
      )
    },
    {
      id: 'delete',
      command: ScheduleCommandIDs.remove,
      label: trans.__('Delete…'),
      kind: 'danger',
      disabledBecause: null,
      caption: trans.__('Delete the schedule, keeping or deleting its runs')
    }
  ];
  return (
    <div className="jp-DataOps-actions">
      {buttons.map(button => {
        const reason =
          button.disabledBecause ??
          (busy !== null
            ? trans.__('Wait for the last action to finish')
            : null);
        const kind =
          button.kind === 'primary'
            ? ' jp-DataOps-primary'
            : button.kind === 'danger'
              ? ' jp-DataOps-danger'
              : '';
        return (
          <button
            key={button.id}
            className={`jp-DataOps-action${kind}`}
            data-action={button.id}
            title={reason ?? button.caption}
            disabled={reason !== null}
            onClick={() => run(button.id, button.command)}
          >
            {button.label}
          </button>
        );
      })}
    </div>
  );
}

/** The next five due times, in the schedule's zone. */
function NextRuns(props: {
  summary: ScheduleSummary;
  schedule: Schedule | null;
  trans: TranslationBundle;
}): JSX.Element {
  const { summary, schedule, trans } = props;
  const local = browserTimeZone();
  let body: JSX.Element;
  if (summary.status === 'paused') {
    body = (
      <div className="jp-DataOps-muted">
        {trans.__('Paused: nothing runs until it is resumed.')}
      </div>
    );
  } else if (!schedule) {
    body = <div className="jp-DataOps-muted">…</div>;
  } else if (schedule.next_runs.length === 0) {
    body = <div className="jp-DataOps-muted">{trans.__('No next run.')}</div>;
  } else {
    body = (
      <ol className="jp-DataOps-nextRuns">
        {schedule.next_runs.map(time => (
          <li
            key={time}
            title={
              summary.timezone !== local
                ? trans.__(
                    '%1 in your zone (%2)',
                    formatInZone(time, local, { year: true }),
                    local
                  )
                : formatInZone(time, local, { year: true })
            }
          >
            {formatInZone(time, summary.timezone)}
          </li>
        ))}
      </ol>
    );
  }
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-scheduleNext">
      <h3>{trans.__('Next runs (%1)', summary.timezone)}</h3>
      {body}
    </section>
  );
}

/** The schedule's latest runs: ordinary jobs, opened in the Jobs section. */
function Runs(
  props: ISchedulesViewProps & { summary: ScheduleSummary; now: number }
): JSX.Element {
  const { model, commands, summary, trans, now } = props;
  const id = summary.id;
  const [runs, setRuns] = React.useState<ICollectionModel<
    JobSummary,
    JobQuery
  > | null>(null);
  React.useEffect(() => {
    const opened = model.openRuns(id);
    setRuns(opened);
    return () => opened.dispose();
  }, [model, id]);
  useSignals(runs?.changed);
  // The summary changes when the schedule fires: its new run shows.
  const fired = JSON.stringify([summary.last_run, summary.recent]);
  React.useEffect(() => {
    if (runs?.ready) {
      void runs.refresh();
    }
  }, [fired]);

  let body: JSX.Element;
  if (!runs || (!runs.ready && !runs.error)) {
    body = <div className="jp-DataOps-muted">{trans.__('Loading runs…')}</div>;
  } else if (runs.error) {
    body = (
      <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
        {runs.error.message}
      </div>
    );
  } else if (runs.items.length === 0) {
    body = <div className="jp-DataOps-muted">{trans.__('No runs yet.')}</div>;
  } else {
    body = (
      <ul className="jp-DataOps-runs" aria-label={trans.__('Runs')}>
        {runs.items.map(job => {
          const Icon = statusIcons[job.status];
          const duration = jobDuration(job, now);
          const open = () =>
            void commands.execute(CommandIDs.openPanel, { select: job.id });
          return (
            <li
              key={job.id}
              className={`jp-DataOps-run jp-DataOps-status-${job.status}`}
              data-job-id={job.id}
              data-status={job.status}
              role="button"
              tabIndex={0}
              title={trans.__('Open this run in the Jobs section')}
              onClick={open}
              onKeyDown={event => {
                if (event.key === 'Enter' || event.key === ' ') {
                  event.preventDefault();
                  open();
                }
              }}
            >
              <Icon.react tag="span" className="jp-DataOps-statusIcon" />
              <span className="jp-DataOps-runWhen">
                {job.due_at !== null
                  ? formatInZone(job.due_at, summary.timezone)
                  : trans.__(
                      'run now, %1',
                      formatRelativeTime(job.created_at, now, trans)
                    )}
              </span>
              <span className="jp-DataOps-runStatus">
                {statusText(job, trans)}
                {duration !== null && ` · ${formatDuration(duration, trans)}`}
              </span>
            </li>
          );
        })}
      </ul>
    );
  }
  const total = runs?.ready ? runs.total : null;
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-scheduleRuns">
      <h3>
        {trans.__('Runs')}
        {total !== null && total > 0 && (
          <span className="jp-DataOps-partCount">{total}</span>
        )}
        <button
          className="jp-DataOps-linkButton jp-DataOps-inlineLink jp-DataOps-showRuns"
          title={trans.__(
            'Show every run of this schedule in the Jobs section, filtered'
          )}
          onClick={() =>
            void commands.execute(ScheduleCommandIDs.showRuns, { id })
          }
        >
          {trans.__('all in Jobs')}
        </button>
      </h3>
      {body}
    </section>
  );
}

/** What became of the latest due times: queued, skipped or missed, and why. */
function Firings(
  props: ISchedulesViewProps & { summary: ScheduleSummary; now: number }
): JSX.Element {
  const { model, commands, summary, trans } = props;
  const id = summary.id;
  const [firings, setFirings] = React.useState<Firing[] | null>(null);
  const [error, setError] = React.useState<LoadProblem | null>(null);
  const fired = JSON.stringify([
    summary.next_run_at,
    summary.recent,
    summary.version
  ]);
  React.useEffect(() => {
    let cancelled = false;
    model
      .firings(id, FIRINGS_SHOWN)
      .then(items => {
        if (!cancelled) {
          setFirings(items);
          setError(null);
        }
      })
      .catch(reason => {
        if (!cancelled) {
          setError(errorText(reason));
        }
      });
    return () => {
      cancelled = true;
    };
  }, [model, id, fired]);

  let body: JSX.Element;
  if (error) {
    body = (
      <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
        {error.message}
      </div>
    );
  } else if (firings === null) {
    body = <div className="jp-DataOps-muted">…</div>;
  } else if (firings.length === 0) {
    body = (
      <div className="jp-DataOps-muted">{trans.__('No due time yet.')}</div>
    );
  } else {
    body = (
      <ul className="jp-DataOps-firings" aria-label={trans.__('Firings')}>
        {firings.map(firing => (
          <li
            key={firing.due_at}
            className={`jp-DataOps-firing jp-DataOps-outcome-${firing.outcome}`}
            data-outcome={firing.outcome}
          >
            <span
              className="jp-DataOps-firingDue"
              title={trans.__(
                'Due %1, handled %2 (version %3)',
                formatInZone(firing.due_at, summary.timezone, { year: true }),
                formatTimestamp(firing.fired_at),
                firing.version
              )}
            >
              {formatInZone(firing.due_at, summary.timezone)}
            </span>
            <span className="jp-DataOps-outcome">
              {firingOutcomeLabel(firing.outcome, trans)}
            </span>
            {firing.job_id && (
              <button
                className="jp-DataOps-inlineLink"
                title={trans.__('Open this run in the Jobs section')}
                onClick={() =>
                  void commands.execute(CommandIDs.openPanel, {
                    select: firing.job_id
                  })
                }
              >
                {trans.__('run')}
              </button>
            )}
            {firing.reason && (
              <span className="jp-DataOps-firingReason">{firing.reason}</span>
            )}
          </li>
        ))}
      </ul>
    );
  }
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-scheduleFirings">
      <h3>{trans.__('Due times')}</h3>
      {body}
    </section>
  );
}

/** The schedule's definition: notebook, cron, zone, parameters, policies, notifications. */
function Definition(props: {
  summary: ScheduleSummary;
  schedule: Schedule | null;
  now: number;
  commands: CommandRegistry;
  trans: TranslationBundle;
}): JSX.Element {
  const { summary, schedule, now, trans } = props;
  const muted = (text: string) => (
    <span className="jp-DataOps-muted">{text}</span>
  );
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-scheduleDefinition">
      <h3>{trans.__('Definition (version %1)', summary.version)}</h3>
      <dl className="jp-DataOps-fields">
        <dt>{trans.__('Notebook')}</dt>
        <dd className="jp-DataOps-pathValue">{summary.notebook_path}</dd>
        <dt>{trans.__('When')}</dt>
        <dd>
          {summary.description} <code>{summary.cron}</code>
        </dd>
        <dt>{trans.__('Time zone')}</dt>
        <dd>{summary.timezone}</dd>
        <dt>{trans.__('Parameters')}</dt>
        <dd>
          {!schedule ? (
            muted('…')
          ) : Object.keys(schedule.parameters).length === 0 ? (
            muted(trans.__('Notebook defaults'))
          ) : (
            <table className="jp-DataOps-params">
              <tbody>
                {Object.entries(schedule.parameters).map(([name, value]) => (
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
        {schedule && (
          <>
            <RunsIn
              schedule={schedule}
              commands={props.commands}
              trans={trans}
            />
            {!!schedule.executor && (
              <>
                <dt>{trans.__('Runs on')}</dt>
                <dd
                  className="jp-DataOps-scheduleExecutor"
                  title={executorLabel(schedule.executor, false, trans)}
                >
                  {schedule.executor}
                </dd>
              </>
            )}
            <dt>{trans.__('Timeout')}</dt>
            <dd>
              {schedule.timeout_seconds !== null
                ? formatDuration(schedule.timeout_seconds, trans)
                : muted(trans.__('none'))}
            </dd>
            <dt>{trans.__('Retries')}</dt>
            <dd>
              {schedule.max_retries !== null
                ? schedule.max_retries
                : muted(trans.__('server default'))}
            </dd>
            <dt>{trans.__('Missed times')}</dt>
            <dd>
              {schedule.misfire_policy === 'skip'
                ? trans.__(
                    '%1 (grace %2)',
                    misfireLabel(schedule.misfire_policy, trans),
                    formatDuration(schedule.misfire_grace_seconds, trans)
                  )
                : misfireLabel(schedule.misfire_policy, trans)}
            </dd>
            <dt>{trans.__('Overlaps')}</dt>
            <dd>{concurrencyShort(schedule.concurrency_policy, trans)}</dd>
            <dt>{trans.__('Notify')}</dt>
            <dd className="jp-DataOps-notifyValue">
              <NotifyText schedule={schedule} trans={trans} />
            </dd>
          </>
        )}
        {summary.owner && (
          <>
            <dt>{trans.__('Owner')}</dt>
            <dd>{summary.owner}</dd>
          </>
        )}
        <dt>{trans.__('Created')}</dt>
        <dd title={formatTimestamp(summary.created_at)}>
          {formatTimestamp(summary.created_at, now)}
        </dd>
        {summary.updated_at !== summary.created_at && (
          <>
            <dt>{trans.__('Changed')}</dt>
            <dd title={formatTimestamp(summary.updated_at)}>
              {formatTimestamp(summary.updated_at, now)}
            </dd>
          </>
        )}
        <dt>{trans.__('Schedule ID')}</dt>
        <dd>
          <code>{summary.id}</code>
        </dd>
      </dl>
    </section>
  );
}

/** Who hears how runs end. */
function NotifyText(props: {
  schedule: Schedule;
  trans: TranslationBundle;
}): JSX.Element {
  const { schedule, trans } = props;
  const notify = schedule.notify;
  const when = [
    notify.on_failure ? trans.__('on failure') : null,
    notify.on_success ? trans.__('on success') : null
  ].filter(Boolean);
  const targets: string[] = [];
  if (notify.webhook_url) {
    targets.push(trans.__('webhook %1', notify.webhook_url));
  }
  if (notify.email_to.length > 0) {
    targets.push(notify.email_to.join(', '));
  }
  if (when.length === 0 || targets.length === 0) {
    return <span>{trans.__('JupyterLab notifications when a run fails')}</span>;
  }
  return (
    <span>
      {trans.__('%1: %2', when.join(trans.__(' and ')), targets.join('; '))}
    </span>
  );
}
