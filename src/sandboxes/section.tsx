/**
 * The Sandboxes section of the DataOps sidebar: the project's sandboxes
 * (status, profile, what each holds, provisioning progress with the
 * current step, a warning when one will stop soon, the error of a failed
 * one, Stop on active ones; ended ones below, dimmed) and each sandbox's
 * detail; and the "Start" button of its heading.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import {
  CollectionError,
  CollectionSection,
  HeadingButton,
  headingWidget,
  useSignals
} from '../collection';
import { formatRelativeTime, formatTimestamp } from '../jobs/format';
import { useNow } from '../jobs/section';
import { SandboxCommandIDs } from './commands';
import { SandboxDetail } from './detail';
import {
  currentStep,
  holdingText,
  isActive,
  provisionProgress,
  sandboxOrder
} from './format';
import { sandboxIcon, startSandboxIcon } from './icons';
import { sandboxStatusHelp, sandboxStatusLabel } from './labels';
import { ISandboxesModel } from './tokens';
import { Sandbox, SandboxStatus } from './types';

export interface ISandboxesViewProps {
  model: ISandboxesModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** The sandbox whose detail is open. */
  selected: string | null;
  onSelect: (id: string | null) => void;
}

/** A sandbox's status as a coloured pill: a dot (pulsing while it changes) and a word. */
export function SandboxStatusBadge(props: {
  status: SandboxStatus;
  trans: TranslationBundle;
  error?: string | null;
}): JSX.Element {
  const { status, trans, error } = props;
  const help = sandboxStatusHelp(status, trans);
  return (
    <span
      className={`jp-DataOps-statusBadge jp-DataOps-sandboxStatus-${status}`}
      data-status={status}
      title={error ? trans.__('%1: %2', help, error) : help}
    >
      <span className="jp-DataOps-badgeDot" aria-hidden="true" />
      {sandboxStatusLabel(status, trans)}
    </span>
  );
}

/** A Stop button that runs the stop command, and says so while it runs. */
export function StopButton(props: {
  sandbox: Sandbox;
  commands: CommandRegistry;
  trans: TranslationBundle;
  className?: string;
}): JSX.Element {
  const { sandbox, commands, trans } = props;
  const [busy, setBusy] = React.useState(false);
  const stopping = busy || sandbox.status === 'stopping';
  return (
    <button
      className={`jp-DataOps-action jp-DataOps-danger jp-DataOps-sandboxStop${
        props.className ? ` ${props.className}` : ''
      }`}
      data-action="stop"
      disabled={stopping}
      title={trans.__(
        'Stop it: its kernels shut down, its kernel leaves the kernel picker and its devices are freed'
      )}
      onClick={event => {
        // In a row, the click is not for the row.
        event.stopPropagation();
        setBusy(true);
        void commands
          .execute(SandboxCommandIDs.stop, { id: sandbox.id })
          .catch(() => undefined)
          .then(() => setBusy(false));
      }}
      onKeyDown={event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.stopPropagation();
        }
      }}
    >
      {stopping ? trans.__('Stopping…') : trans.__('Stop')}
    </button>
  );
}

/** The whole section: the active sandboxes, the ended ones, each detail. */
export function SandboxesView(props: ISandboxesViewProps): JSX.Element {
  const { model, trans } = props;
  const sandboxes = model.collection;
  useSignals(sandboxes.changed);
  const busy = sandboxes.items.some(
    item => item.status === 'provisioning' || item.status === 'stopping'
  );
  const now = useNow(busy);
  return (
    <div className="jp-DataOps-panel jp-DataOps-sandboxesView">
      <CollectionError model={sandboxes} trans={trans} />
      <SandboxList {...props} now={now} />
    </div>
  );
}

function SandboxList(
  props: ISandboxesViewProps & { now: number }
): JSX.Element {
  const { model, trans, commands } = props;
  const sandboxes = model.collection;
  if (!sandboxes.ready) {
    if (sandboxes.error) {
      return <div />;
    }
    return (
      <div className="jp-DataOps-empty">{trans.__('Loading sandboxes…')}</div>
    );
  }
  const { active, ended } = sandboxOrder(sandboxes.items);
  const row = (sandbox: Sandbox) => (
    <SandboxRow
      key={sandbox.id}
      {...props}
      sandbox={sandbox}
      expanded={props.selected === sandbox.id}
    />
  );
  return (
    <div className="jp-DataOps-sandboxLists">
      {active.length === 0 && (
        <div className="jp-DataOps-empty jp-DataOps-sandboxesEmpty">
          <sandboxIcon.react
            tag="span"
            className="jp-DataOps-emptyIcon"
            aria-hidden="true"
          />
          <div>
            {trans.__(
              'No sandbox running. Start one from a profile: it gets its own CPUs, memory and GPUs, and its kernel shows in the kernel picker.'
            )}
          </div>
          <button
            className="jp-DataOps-action jp-DataOps-primary"
            data-action="start-empty"
            onClick={() => void commands.execute(SandboxCommandIDs.start)}
          >
            {trans.__('Start a sandbox…')}
          </button>
        </div>
      )}
      {active.length > 0 && (
        <ul
          className="jp-DataOps-jobs jp-DataOps-sandboxes"
          aria-label={trans.__('Active sandboxes')}
        >
          {active.map(row)}
        </ul>
      )}
      {ended.length > 0 && (
        <>
          <div className="jp-DataOps-sandboxEndedTitle">
            {trans.__('Ended')}
            <span className="jp-DataOps-partCount">{ended.length}</span>
          </div>
          <ul
            className="jp-DataOps-jobs jp-DataOps-sandboxes jp-mod-ended"
            aria-label={trans.__('Ended sandboxes')}
          >
            {ended.map(row)}
          </ul>
        </>
      )}
    </div>
  );
}

/** The provisioning bar, with the step under way. */
export function ProvisionProgress(props: {
  sandbox: Sandbox;
  trans: TranslationBundle;
}): JSX.Element {
  const { sandbox, trans } = props;
  const fraction = provisionProgress(sandbox);
  const step = currentStep(sandbox.steps);
  const percent = Math.round(fraction * 100);
  return (
    <div className="jp-DataOps-sandboxProgress">
      <div className="jp-DataOps-progress">
        <div
          className="jp-DataOps-progressTrack"
          role="progressbar"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent}
        >
          <div
            className="jp-DataOps-progressBar"
            style={{ width: `${Math.max(3, percent)}%` }}
          />
        </div>
        <span className="jp-DataOps-progressText">{percent} %</span>
      </div>
      {step && (
        <div className="jp-DataOps-sandboxStep" data-step={step.name}>
          {step.status === 'running'
            ? trans.__('%1…', step.name)
            : trans.__('next: %1', step.name)}
          {step.detail && (
            <span className="jp-DataOps-muted"> {step.detail}</span>
          )}
        </div>
      )}
    </div>
  );
}

function SandboxRow(
  props: ISandboxesViewProps & {
    sandbox: Sandbox;
    now: number;
    expanded: boolean;
  }
): JSX.Element {
  const { sandbox, trans, expanded, now, commands } = props;
  const toggle = () => props.onSelect(expanded ? null : sandbox.id);
  const active = isActive(sandbox.status);
  const when = sandbox.stopped_at ?? sandbox.created_at;
  return (
    <li
      className={`jp-DataOps-job jp-DataOps-sandbox jp-DataOps-sandboxStatus-${
        sandbox.status
      }${expanded ? ' jp-mod-expanded' : ''}${active ? '' : ' jp-mod-ended'}${
        sandbox.warning && active ? ' jp-mod-warning' : ''
      }`}
      data-id={sandbox.id}
      data-status={sandbox.status}
      data-profile={sandbox.profile}
    >
      <div
        className="jp-DataOps-jobSummary jp-DataOps-sandboxSummary"
        role="button"
        tabIndex={0}
        aria-expanded={expanded}
        onClick={toggle}
        onKeyDown={event => {
          if (event.target !== event.currentTarget) {
            return;
          }
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            toggle();
          }
        }}
      >
        <div className="jp-DataOps-jobMain">
          <div className="jp-DataOps-jobTop">
            <span className="jp-DataOps-sandboxTitle">
              <SandboxStatusBadge
                status={sandbox.status}
                error={sandbox.error}
                trans={trans}
              />
              <span
                className="jp-DataOps-jobName jp-DataOps-sandboxProfile"
                title={sandbox.display_name}
              >
                {sandbox.profile}
              </span>
              <span className="jp-DataOps-sandboxId">
                {sandbox.id.slice(0, 6)}
              </span>
            </span>
            {active && sandbox.status !== 'stopping' && !expanded ? (
              <StopButton sandbox={sandbox} commands={commands} trans={trans} />
            ) : (
              <span
                className="jp-DataOps-jobTime"
                title={formatTimestamp(when)}
              >
                {formatRelativeTime(when, now, trans)}
              </span>
            )}
          </div>
          <div className="jp-DataOps-sandboxHolding">
            {holdingText(sandbox, trans)}
          </div>
          {sandbox.status === 'provisioning' && (
            <ProvisionProgress sandbox={sandbox} trans={trans} />
          )}
          {sandbox.warning && active && (
            <div className="jp-DataOps-sandboxWarning" role="status">
              ⚠ {sandbox.warning}
            </div>
          )}
          {sandbox.error && (
            <div className="jp-DataOps-jobErrorLine" title={sandbox.error}>
              {sandbox.error}
            </div>
          )}
          {!active && sandbox.stop_reason && !sandbox.error && (
            <div
              className="jp-DataOps-sandboxReason"
              title={sandbox.stop_reason}
            >
              {sandbox.stop_reason}
            </div>
          )}
        </div>
      </div>
      {expanded && <SandboxDetail {...props} />}
    </li>
  );
}

/** The Sandboxes section's body: the view, and which sandbox's detail is open. */
export class SandboxesSection extends CollectionSection<ISandboxesModel> {
  constructor(options: CollectionSection.IOptions<ISandboxesModel>) {
    super(options, 'jp-DataOps-sandboxesSection');
  }

  render(): JSX.Element {
    return <SandboxesView {...this.viewProps()} />;
  }
}

/** A widget for the section heading's "Start" button. */
export function createStartButton(options: {
  commands: CommandRegistry;
  trans: TranslationBundle;
}): ReactWidget {
  const { commands, trans } = options;
  return headingWidget(
    <HeadingButton
      commands={commands}
      command={SandboxCommandIDs.start}
      label={trans.__('Start')}
      title={trans.__(
        'Start a sandbox from a profile: CPUs, memory and GPUs of its own, with a kernel in the kernel picker'
      )}
      icon={startSandboxIcon}
      className="jp-DataOps-startSandboxButton"
    />
  );
}
