/**
 * One sandbox's detail in the Sandboxes section: "Open a notebook in it"
 * and Stop, its kernel (to pick in the kernel picker), its provisioning
 * steps, what it holds and how limits apply, its devices, what it used, the
 * kernels that ran in it (an out-of-memory end stands out), and when it
 * stops.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatDuration, formatTimestamp } from '../jobs/format';
import { formatBytes } from '../snapshots/format';
import { SandboxCommandIDs } from './commands';
import { formatTimeout, holdingText, isActive, timeUntilText } from './format';
import { stepMark, stepStatusLabel } from './labels';
import type { ISandboxesViewProps } from './section';
import { StopButton } from './section';
import { KernelRecord, Sandbox } from './types';

/** The detail of a sandbox, under its row. */
export function SandboxDetail(
  props: ISandboxesViewProps & { sandbox: Sandbox; now: number }
): JSX.Element {
  const { model, sandbox } = props;
  React.useEffect(() => {
    // Its newest state: the list's may be a moment old.
    void model.fetchSandbox(sandbox.id).catch(() => undefined);
  }, [model, sandbox.id, sandbox.status]);
  return (
    <div className="jp-DataOps-jobDetail jp-DataOps-sandboxDetail">
      <Actions {...props} />
      {sandbox.status === 'failed' && sandbox.error && (
        <div className="jp-DataOps-errorBox" role="alert">
          <div className="jp-DataOps-errorTitle">{sandbox.error}</div>
        </div>
      )}
      {sandbox.warning && isActive(sandbox.status) && (
        <div className="jp-DataOps-alert jp-DataOps-alert-warn" role="status">
          {sandbox.warning}
        </div>
      )}
      <KernelPart {...props} />
      <StepsPart {...props} />
      <ResourcesPart {...props} />
      <UsagePart {...props} />
      <KernelsPart {...props} />
      <TimesPart {...props} />
    </div>
  );
}

function Actions(
  props: ISandboxesViewProps & { sandbox: Sandbox }
): JSX.Element {
  const { commands, sandbox, trans } = props;
  const ready = sandbox.status === 'ready' && !!sandbox.kernel_name;
  if (!isActive(sandbox.status)) {
    return <></>;
  }
  return (
    <div className="jp-DataOps-actions">
      <button
        className="jp-DataOps-action jp-DataOps-primary"
        data-action="open-notebook"
        disabled={!ready}
        title={
          ready
            ? trans.__(
                'Create an untitled notebook running %1',
                sandbox.display_name
              )
            : trans.__('It has no kernel until it is ready')
        }
        onClick={() =>
          void commands.execute(SandboxCommandIDs.openNotebook, {
            id: sandbox.id
          })
        }
      >
        {trans.__('Open a notebook in it')}
      </button>
      <StopButton sandbox={sandbox} commands={commands} trans={trans} />
    </div>
  );
}

function KernelPart(
  props: ISandboxesViewProps & { sandbox: Sandbox }
): JSX.Element {
  const { sandbox, trans } = props;
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-sandboxKernel">
      <h3>{trans.__('Kernel')}</h3>
      {sandbox.kernel_name ? (
        <>
          <dl className="jp-DataOps-fields">
            <dt>{trans.__('Shown as')}</dt>
            <dd className="jp-DataOps-sandboxDisplayName">
              {sandbox.display_name}
            </dd>
            <dt>{trans.__('Name')}</dt>
            <dd>
              <code className="jp-DataOps-sandboxKernelName">
                {sandbox.kernel_name}
              </code>
            </dd>
          </dl>
          <div className="jp-DataOps-help">
            {isActive(sandbox.status)
              ? trans.__(
                  'Pick it in the kernel picker (Kernel › Change Kernel…) of any notebook to run that notebook in this sandbox.'
                )
              : trans.__('It left the kernel picker when the sandbox ended.')}
          </div>
        </>
      ) : (
        <div className="jp-DataOps-muted">
          {sandbox.status === 'provisioning'
            ? trans.__('Its kernel spec is written once it is set up.')
            : trans.__('It has no kernel.')}
        </div>
      )}
    </section>
  );
}

function StepsPart(
  props: ISandboxesViewProps & { sandbox: Sandbox }
): JSX.Element | null {
  const { sandbox, trans } = props;
  if (sandbox.steps.length === 0) {
    return null;
  }
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-sandboxSteps">
      <h3>{trans.__('Steps')}</h3>
      <ol className="jp-DataOps-sandboxStepList">
        {sandbox.steps.map(step => (
          <li
            key={step.name}
            className={`jp-DataOps-sandboxStepItem jp-mod-${step.status}`}
            data-step={step.name}
            data-status={step.status}
            title={stepStatusLabel(step.status, trans)}
          >
            <span className="jp-DataOps-sandboxStepMark" aria-hidden="true">
              {stepMark(step.status)}
            </span>
            <span className="jp-DataOps-sandboxStepName">{step.name}</span>
            {step.seconds !== null &&
              (step.status === 'done' || step.status === 'failed') && (
                <span
                  className="jp-DataOps-sandboxStepTime"
                  title={trans.__(
                    'Finished %1 after provisioning began',
                    formatDuration(step.seconds, trans)
                  )}
                >
                  {trans.__('+%1', formatDuration(step.seconds, trans))}
                </span>
              )}
            {step.detail && (
              <span
                className="jp-DataOps-sandboxStepDetail"
                title={step.detail}
              >
                {step.detail}
              </span>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}

function ResourcesPart(
  props: ISandboxesViewProps & { sandbox: Sandbox }
): JSX.Element {
  const { sandbox, trans } = props;
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-sandboxResources">
      <h3>{trans.__('Resources')}</h3>
      <dl className="jp-DataOps-fields">
        <dt>{trans.__('Holds')}</dt>
        <dd>{holdingText(sandbox, trans)}</dd>
        <dt>{trans.__('Limits')}</dt>
        <dd className="jp-DataOps-sandboxLimits">
          {sandbox.limits ? (
            <>
              <b>{sandbox.limits.method}</b>
              {sandbox.limits.detail && ` · ${sandbox.limits.detail}`}
            </>
          ) : (
            <span className="jp-DataOps-muted">
              {trans.__('not applied yet')}
            </span>
          )}
        </dd>
        <dt>{trans.__('Devices')}</dt>
        <dd>
          {sandbox.devices.length === 0
            ? trans.__('no GPU')
            : sandbox.devices
                .map(device =>
                  device.memory_bytes
                    ? trans.__(
                        'GPU %1 · %2 · %3',
                        device.index,
                        device.type,
                        formatBytes(device.memory_bytes, trans)
                      )
                    : trans.__('GPU %1 · %2', device.index, device.type)
                )
                .join('; ')}
        </dd>
        {sandbox.workdir && (
          <>
            <dt>{trans.__('Folder')}</dt>
            <dd className="jp-DataOps-pathValue">{sandbox.workdir}</dd>
          </>
        )}
        <dt>{trans.__('Provider')}</dt>
        <dd>{sandbox.provider}</dd>
      </dl>
      {Object.keys(sandbox.env).length > 0 && (
        <details className="jp-DataOps-sandboxEnv">
          <summary>
            {trans._n(
              '%1 environment variable',
              '%1 environment variables',
              Object.keys(sandbox.env).length
            )}
          </summary>
          <pre>
            {Object.entries(sandbox.env)
              .map(([key, value]) => `${key}=${value}`)
              .join('\n')}
          </pre>
        </details>
      )}
    </section>
  );
}

function UsagePart(
  props: ISandboxesViewProps & { sandbox: Sandbox }
): JSX.Element {
  const { sandbox, trans } = props;
  const usage = sandbox.usage;
  const seconds = (value: number) =>
    value > 0 ? formatDuration(value, trans) : trans.__('0 s');
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-sandboxUsage">
      <h3>{trans.__('Usage')}</h3>
      <div className="jp-DataOps-usageGrid">
        <div className="jp-DataOps-usageCell" data-usage="cpu">
          <b>{seconds(usage.cpu_seconds)}</b>
          <span>{trans.__('CPU time')}</span>
        </div>
        <div className="jp-DataOps-usageCell" data-usage="gpu">
          <b>{seconds(usage.gpu_seconds)}</b>
          <span>{trans.__('GPU time')}</span>
        </div>
        <div className="jp-DataOps-usageCell" data-usage="memory">
          <b>{formatBytes(usage.peak_memory_bytes, trans)}</b>
          <span>{trans.__('peak memory')}</span>
        </div>
        <div className="jp-DataOps-usageCell" data-usage="wall">
          <b>{seconds(usage.wall_seconds)}</b>
          <span>{trans.__('wall time')}</span>
        </div>
      </div>
    </section>
  );
}

/** How a kernel ended, in words. */
export function kernelEndText(
  kernel: KernelRecord,
  trans: TranslationBundle
): string {
  if (kernel.ended_at === null) {
    return trans.__('running');
  }
  if (kernel.oom) {
    return kernel.exit
      ? trans.__('out of memory (%1)', kernel.exit)
      : trans.__('out of memory');
  }
  return kernel.exit ?? trans.__('ended');
}

function KernelsPart(
  props: ISandboxesViewProps & { sandbox: Sandbox; now: number }
): JSX.Element | null {
  const { sandbox, trans, now } = props;
  if (sandbox.kernels.length === 0) {
    return null;
  }
  const kernels = [...sandbox.kernels].sort(
    (a, b) => b.started_at - a.started_at
  );
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-sandboxKernels">
      <h3>
        {trans.__('Kernels')}
        <span className="jp-DataOps-partCount">{kernels.length}</span>
      </h3>
      <ul className="jp-DataOps-kernelList">
        {kernels.map(kernel => (
          <li
            key={kernel.id}
            className={`jp-DataOps-kernelItem${kernel.oom ? ' jp-mod-oom' : ''}${
              kernel.ended_at === null ? ' jp-mod-running' : ''
            }`}
            data-oom={kernel.oom ? 'true' : 'false'}
          >
            <code title={kernel.id}>{kernel.id.slice(0, 8)}</code>
            {kernel.pid !== null && (
              <span className="jp-DataOps-muted">
                {trans.__('pid %1', kernel.pid)}
              </span>
            )}
            <span
              className="jp-DataOps-kernelTime"
              title={formatTimestamp(kernel.started_at)}
            >
              {formatTimestamp(kernel.started_at, now)}
            </span>
            <span className="jp-DataOps-kernelExit">
              {kernelEndText(kernel, trans)}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function TimesPart(
  props: ISandboxesViewProps & { sandbox: Sandbox; now: number }
): JSX.Element {
  const { sandbox, trans, now } = props;
  const active = isActive(sandbox.status);
  const at = (time: number) => (
    <span title={formatTimestamp(time)}>{formatTimestamp(time, now)}</span>
  );
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-sandboxTimes">
      <h3>{trans.__('Lifetime')}</h3>
      <dl className="jp-DataOps-fields">
        <dt>{trans.__('Started')}</dt>
        <dd>{at(sandbox.created_at)}</dd>
        {sandbox.ready_at !== null && (
          <>
            <dt>{trans.__('Ready')}</dt>
            <dd>{at(sandbox.ready_at)}</dd>
          </>
        )}
        <dt>{trans.__('Idle timeout')}</dt>
        <dd>{formatTimeout(sandbox.idle_timeout, trans)}</dd>
        {active && sandbox.idle_stop_at !== null && (
          <>
            <dt>{trans.__('Idle stop')}</dt>
            <dd
              className={`jp-DataOps-sandboxIdleStop${
                sandbox.warning ? ' jp-mod-warning' : ''
              }`}
            >
              {at(sandbox.idle_stop_at)} (
              {timeUntilText(sandbox.idle_stop_at, now, trans)})
            </dd>
          </>
        )}
        <dt>{trans.__('Max lifetime')}</dt>
        <dd>
          {formatTimeout(sandbox.max_lifetime, trans, trans.__('no limit'))}
        </dd>
        {active && sandbox.expires_at !== null && (
          <>
            <dt>{trans.__('Expires')}</dt>
            <dd>
              {at(sandbox.expires_at)} (
              {timeUntilText(sandbox.expires_at, now, trans)})
            </dd>
          </>
        )}
        {sandbox.stopped_at !== null && (
          <>
            <dt>{trans.__('Stopped')}</dt>
            <dd>{at(sandbox.stopped_at)}</dd>
          </>
        )}
        {sandbox.stop_reason && (
          <>
            <dt>{trans.__('Why')}</dt>
            <dd>{sandbox.stop_reason}</dd>
          </>
        )}
        {sandbox.owner && (
          <>
            <dt>{trans.__('Owner')}</dt>
            <dd>
              {sandbox.team
                ? trans.__('%1 (team %2)', sandbox.owner, sandbox.team)
                : sandbox.owner}
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}
