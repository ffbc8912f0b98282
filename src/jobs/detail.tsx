/**
 * One job's detail in the Jobs section: its actions, error, warnings and
 * fields, from the full job (fetched on opening) kept live by the list.
 */
import * as React from 'react';

import { useLiveItem, useSignals } from '../collection';
import { ScheduleCommandIDs } from '../schedules/commands';
import { IJobAction } from '../tokens';
import { SandboxCommandIDs } from '../sandboxes/commands';
import { formatMemory } from '../sandboxes/format';
import {
  formatDuration,
  formatTimestamp,
  jobDuration,
  stripAnsi
} from './format';
import { statusText } from './labels';
import { withSummary } from './model';
import { jsonText } from './params';
import type { IJobsViewProps } from './section';
import {
  executorLabel,
  LOCAL_EXECUTOR,
  sandboxOfJob,
  shortSandboxId
} from './target';
import { Job, JobSummary } from './types';

/** The command that opens a schedule, if the schedules plugin is there. */
const OPEN_SCHEDULES = ScheduleCommandIDs.open;

/**
 * The command that reveals a snapshot `{ id }`, if the snapshots plugin is
 * there (its `SnapshotCommandIDs.openSnapshot`): named here, since snapshots
 * build on jobs and jobs do not import them.
 */
export const OPEN_SNAPSHOT = 'dataops:open-snapshot';

/** The detail of a job, under its row. */
export function JobDetail(
  props: IJobsViewProps & { summary: JobSummary; now: number }
): JSX.Element {
  const { model, summary, trans, now } = props;
  const id = summary.id;
  const fetchJob = React.useCallback(
    (wanted: string) => model.fetchJob(wanted),
    [model]
  );
  const [job, loadError] = useLiveItem(
    id,
    model.getJob(id),
    fetchJob,
    model.jobChanged
  );

  const live = job ? withSummary(job, summary) : null;
  const duration = jobDuration(summary, now);
  const notebookFilter = model.collection.query.notebook ?? null;
  return (
    <div className="jp-DataOps-jobDetail">
      {live ? (
        <Actions {...props} job={live} />
      ) : (
        <div className="jp-DataOps-actions jp-DataOps-muted">
          {loadError ? null : trans.__('Loading the job…')}
        </div>
      )}
      {loadError && (
        <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
          <div>{loadError.message}</div>
          {loadError.hint && (
            <div className="jp-DataOps-hint">{loadError.hint}</div>
          )}
        </div>
      )}
      <ErrorBox {...props} job={live} />
      {live && live.warnings.length > 0 && (
        <ul className="jp-DataOps-warnings" aria-label={trans.__('Warnings')}>
          {live.warnings.map((warning, index) => (
            <li key={index}>{warning}</li>
          ))}
        </ul>
      )}
      <dl className="jp-DataOps-fields">
        <dt>{trans.__('Status')}</dt>
        <dd className="jp-DataOps-statusValue">{statusText(summary, trans)}</dd>
        <dt>{trans.__('Parameters')}</dt>
        <dd>
          {!live ? (
            <span className="jp-DataOps-muted">…</span>
          ) : Object.keys(live.parameters).length === 0 ? (
            <span className="jp-DataOps-muted">
              {trans.__('Notebook defaults')}
            </span>
          ) : (
            <table className="jp-DataOps-params">
              <tbody>
                {Object.entries(live.parameters).map(([name, value]) => (
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
        <dd className="jp-DataOps-pathValue">
          {summary.notebook_path}
          {notebookFilter !== summary.notebook_path && (
            <button
              className="jp-DataOps-linkButton jp-DataOps-filterNotebook"
              title={trans.__('Show only the jobs of this notebook')}
              onClick={() =>
                model.collection.setQuery({ notebook: summary.notebook_path })
              }
            >
              {trans.__('only this notebook')}
            </button>
          )}
        </dd>
        <dt>{trans.__('Kernel')}</dt>
        <dd className="jp-DataOps-jobKernel">
          <KernelValue {...props} summary={summary} />
        </dd>
        {summary.executor !== LOCAL_EXECUTOR && (
          <>
            <dt>{trans.__('Runs on')}</dt>
            <dd
              className="jp-DataOps-jobExecutor"
              title={executorLabel(summary.executor, false, trans)}
            >
              {summary.executor}
            </dd>
          </>
        )}
        {summary.owner && (
          <>
            <dt>{trans.__('Owner')}</dt>
            <dd className="jp-DataOps-owner">{summary.owner}</dd>
          </>
        )}
        <dt>{trans.__('Created')}</dt>
        <dd title={formatTimestamp(summary.created_at)}>
          {formatTimestamp(summary.created_at, now)}
        </dd>
        {summary.started_at !== null && (
          <>
            <dt>{trans.__('Started')}</dt>
            <dd title={formatTimestamp(summary.started_at)}>
              {formatTimestamp(summary.started_at, now)}
            </dd>
          </>
        )}
        {summary.finished_at !== null && (
          <>
            <dt>{trans.__('Finished')}</dt>
            <dd title={formatTimestamp(summary.finished_at)}>
              {formatTimestamp(summary.finished_at, now)}
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
        <dd>
          {trans.__('%1 of %2', summary.attempt, summary.max_retries + 1)}
        </dd>
        {live && live.usage && (
          <>
            <dt>{trans.__('Used')}</dt>
            <dd
              className="jp-DataOps-jobUsage"
              title={trans.__(
                'What its kernel used: CPU time, GPU time (GPUs × wall time), peak memory'
              )}
            >
              {trans.__(
                'CPU %1 s · GPU %2 s · peak %3',
                live.usage.cpu_seconds.toFixed(1),
                live.usage.gpu_seconds.toFixed(1),
                formatMemory(live.usage.peak_memory_bytes)
              )}
            </dd>
          </>
        )}
        {live && live.timeout_seconds !== null && (
          <>
            <dt>{trans.__('Timeout')}</dt>
            <dd>{formatDuration(live.timeout_seconds, trans)}</dd>
          </>
        )}
        {summary.schedule_id && (
          <>
            <dt>{trans.__('Schedule')}</dt>
            <dd className="jp-DataOps-scheduleValue">
              {summary.due_at !== null
                ? trans.__(
                    'version %1, due %2',
                    summary.schedule_version ?? '?',
                    formatTimestamp(summary.due_at, now)
                  )
                : trans.__(
                    'version %1, run now',
                    summary.schedule_version ?? '?'
                  )}
              {props.commands.hasCommand(OPEN_SCHEDULES) && (
                <button
                  className="jp-DataOps-linkButton jp-DataOps-filterNotebook"
                  title={trans.__('Open the schedule that ran this job')}
                  onClick={() =>
                    void props.commands.execute(OPEN_SCHEDULES, {
                      select: summary.schedule_id
                    })
                  }
                >
                  {trans.__('open schedule')}
                </button>
              )}
            </dd>
          </>
        )}
        {summary.snapshot_id && (
          <>
            <dt>{trans.__('Snapshot')}</dt>
            <dd className="jp-DataOps-jobSnapshot">
              {props.commands.hasCommand(OPEN_SNAPSHOT) ? (
                <button
                  className="jp-DataOps-inlineLink jp-DataOps-snapshotLink"
                  data-snapshot-id={summary.snapshot_id}
                  title={trans.__(
                    'The snapshot of the project this job ran on (%1): show it in the Snapshots section',
                    summary.snapshot_id
                  )}
                  onClick={() =>
                    void props.commands.execute(OPEN_SNAPSHOT, {
                      id: summary.snapshot_id
                    })
                  }
                >
                  {summary.snapshot_id.slice(0, 8)}
                </button>
              ) : (
                <code title={summary.snapshot_id}>
                  {summary.snapshot_id.slice(0, 8)}
                </code>
              )}
            </dd>
          </>
        )}
        {summary.rerun_of && (
          <>
            <dt>{trans.__('Re-run of')}</dt>
            <dd>
              <code>{summary.rerun_of}</code>
            </dd>
          </>
        )}
        <dt>{trans.__('Job ID')}</dt>
        <dd>
          <code>{summary.id}</code>
        </dd>
      </dl>
    </div>
  );
}

/**
 * The kernel a job ran with, or the sandbox it ran in (the one started for
 * it, or the ready one whose kernel it used), as a link to that sandbox.
 */
function KernelValue(
  props: IJobsViewProps & { summary: JobSummary }
): JSX.Element {
  const { summary, trans, commands } = props;
  const sandboxes = props.sandboxes ?? null;
  useSignals(sandboxes?.collection.changed);
  const sandbox = sandboxes
    ? sandboxOfJob(summary, sandboxes.collection.items)
    : null;
  if (!sandbox) {
    return <>{summary.kernel_name}</>;
  }
  const label = trans.__('Sandbox %1', shortSandboxId(sandbox.id));
  const startedForIt = sandbox.job_id === summary.id;
  return (
    <>
      {commands.hasCommand(SandboxCommandIDs.open) ? (
        <button
          className="jp-DataOps-inlineLink jp-DataOps-sandboxLink"
          data-sandbox-id={sandbox.id}
          title={trans.__(
            'Its kernel: %1. Show sandbox %2 in the Sandboxes section',
            summary.kernel_name,
            sandbox.id
          )}
          onClick={() =>
            void commands.execute(SandboxCommandIDs.open, {
              select: sandbox.id
            })
          }
        >
          {label}
        </button>
      ) : (
        <span title={summary.kernel_name}>{label}</span>
      )}
      {startedForIt && (
        <span className="jp-DataOps-muted">
          {' '}
          {trans.__('(started for this job)')}
        </span>
      )}
    </>
  );
}

/** The buttons other plugins registered, for this job. */
function Actions(props: IJobsViewProps & { job: Job }): JSX.Element {
  const { model, job, commands } = props;
  const resolve = (
    value: IJobAction['label'] | IJobAction['caption']
  ): string | undefined => (typeof value === 'function' ? value(job) : value);
  return (
    <div className="jp-DataOps-actions">
      {model.actions
        .filter(action => action.isVisible?.(job) ?? true)
        .map(action => {
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
              title={resolve(action.caption)}
              disabled={!(action.isEnabled?.(job) ?? true)}
              onClick={() =>
                void commands.execute(action.command, { id: job.id })
              }
            >
              {resolve(action.label)}
            </button>
          );
        })}
    </div>
  );
}

/** Why the job failed (with its traceback once the full job is here), or how it was cancelled. */
function ErrorBox(
  props: IJobsViewProps & { summary: JobSummary; job: Job | null }
): JSX.Element | null {
  const { summary, job, trans } = props;
  const error = job?.error ?? summary.error;
  if (!error) {
    return null;
  }
  if (summary.status === 'cancelled') {
    return (
      <div className="jp-DataOps-note">
        {stripAnsi(error.evalue) || trans.__('Cancelled.')}
      </div>
    );
  }
  const traceback = job?.error?.traceback ?? [];
  return (
    <div className="jp-DataOps-errorBox">
      <div className="jp-DataOps-errorTitle">
        {error.cell_index !== null
          ? trans.__('Failed in cell %1', error.cell_index)
          : trans.__('Failed')}
        {': '}
        <strong>{error.ename}</strong>
        {error.evalue ? `: ${stripAnsi(error.evalue)}` : ''}
      </div>
      {traceback.length > 0 && (
        <pre className="jp-DataOps-traceback">
          {stripAnsi(traceback.join('\n'))}
        </pre>
      )}
    </div>
  );
}
