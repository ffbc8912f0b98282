/**
 * The start dialog: pick a profile (those that cannot start here shown
 * disabled, with why), change what the policy lets users change (each field
 * with the profile's default and the allowed range; the others disabled,
 * with why), see the quotas and how limits apply here, then start. The
 * server's refusals (a value it cannot read, a limit broken, GPUs held) are
 * shown in the form, with its hint.
 */
import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { errorText } from '../api';
import { LoadProblem } from '../collection';
import {
  checkStart,
  defaultProfile,
  disabledReason,
  emptyStartInput,
  fieldHelp,
  fieldLimit,
  fieldValueText,
  IStartInput,
  profileText,
  quotaLines
} from './format';
import { fieldLabel } from './labels';
import {
  ProfileList,
  ProfileView,
  Sandbox,
  SandboxCreate,
  SandboxField
} from './types';

export interface IStartPanelProps {
  trans: TranslationBundle;
  loadProfiles: () => Promise<ProfileList>;
  start: (request: SandboxCreate) => Promise<Sandbox>;
  /** It started: the dialog closes. */
  onStarted: (sandbox: Sandbox) => void;
  onClose: () => void;
}

type Stage =
  | { kind: 'loading' }
  | { kind: 'failed-loading'; problem: LoadProblem }
  | { kind: 'form'; problem: LoadProblem | null }
  | { kind: 'starting' };

/** The start dialog's body: the form, its buttons, the server's answer. */
export function StartPanel(props: IStartPanelProps): JSX.Element {
  const { trans } = props;
  const [stage, setStage] = React.useState<Stage>({ kind: 'loading' });
  const [profiles, setProfiles] = React.useState<ProfileList | null>(null);
  const [input, setInput] = React.useState<IStartInput>(emptyStartInput(''));
  const [errors, setErrors] = React.useState<
    Partial<Record<SandboxField | 'profile', string>>
  >({});
  const mounted = React.useRef(true);
  React.useEffect(() => {
    mounted.current = true;
    props
      .loadProfiles()
      .then(list => {
        if (!mounted.current) {
          return;
        }
        setProfiles(list);
        setInput(
          emptyStartInput(defaultProfile(list.items)?.profile.name ?? '')
        );
        setStage({ kind: 'form', problem: null });
      })
      .catch(reason => {
        if (mounted.current) {
          setStage({ kind: 'failed-loading', problem: errorText(reason) });
        }
      });
    return () => {
      mounted.current = false;
    };
  }, []);

  const profileView =
    profiles?.items.find(item => item.profile.name === input.profile) ?? null;
  // What may be asked depends on where it runs (this machine's size, a node's).
  const chosen = (profileView?.providers ?? []).find(
    choice => choice.name === input.provider
  );
  const view =
    profileView && chosen && (chosen.fields ?? []).length > 0
      ? { ...profileView, fields: chosen.fields ?? [] }
      : profileView;

  const submit = () => {
    if (stage.kind !== 'form') {
      return;
    }
    const checked = checkStart(view, input, trans);
    if (checked.errors) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    setStage({ kind: 'starting' });
    props
      .start(checked.request)
      .then(sandbox => {
        if (mounted.current) {
          props.onStarted(sandbox);
        }
      })
      .catch(reason => {
        if (mounted.current) {
          setStage({ kind: 'form', problem: errorText(reason) });
        }
      });
  };

  let body: JSX.Element;
  switch (stage.kind) {
    case 'loading':
      body = (
        <div className="jp-DataOps-muted">
          {trans.__('Loading the profiles…')}
        </div>
      );
      break;
    case 'failed-loading':
      body = <Problem problem={stage.problem} trans={trans} />;
      break;
    default:
      body =
        profiles && profiles.items.length > 0 ? (
          <StartForm
            profiles={profiles}
            view={view}
            input={input}
            errors={errors}
            problem={stage.kind === 'form' ? stage.problem : null}
            disabled={stage.kind === 'starting'}
            onChange={next => {
              setInput(next);
              setErrors({});
            }}
            onSubmit={submit}
            trans={trans}
          />
        ) : (
          <div className="jp-DataOps-alert jp-DataOps-alert-info" role="note">
            {trans.__('No profile is offered here: ask an operator.')}
          </div>
        );
  }
  const canStart =
    (stage.kind === 'form' || stage.kind === 'starting') &&
    view !== null &&
    view.available;
  return (
    <div className="jp-DataOps-startPanel" data-stage={stage.kind}>
      <div className="jp-DataOps-startBody">{body}</div>
      <div className="jp-DataOps-publishButtons jp-DataOps-startButtons">
        <button
          className="jp-Dialog-button jp-mod-reject jp-mod-styled"
          onClick={props.onClose}
        >
          <div className="jp-Dialog-buttonLabel">{trans.__('Cancel')}</div>
        </button>
        <button
          className="jp-Dialog-button jp-mod-accept jp-mod-styled"
          data-action="start"
          disabled={!canStart || stage.kind === 'starting'}
          onClick={submit}
        >
          <div className="jp-Dialog-buttonLabel">
            {stage.kind === 'starting'
              ? trans.__('Starting…')
              : trans.__('Start')}
          </div>
        </button>
      </div>
    </div>
  );
}

function Problem(props: {
  problem: LoadProblem;
  trans: TranslationBundle;
  className?: string;
}): JSX.Element {
  return (
    <div
      className={`jp-DataOps-alert jp-DataOps-alert-error${
        props.className ? ` ${props.className}` : ''
      }`}
      role="alert"
    >
      <div className="jp-DataOps-startErrorMessage">
        {props.problem.message}
      </div>
      {props.problem.hint && (
        <div className="jp-DataOps-hint">{props.problem.hint}</div>
      )}
    </div>
  );
}

/** The start form: profile, fields, quotas. */
export function StartForm(props: {
  profiles: ProfileList;
  view: ProfileView | null;
  input: IStartInput;
  errors: Partial<Record<SandboxField | 'profile', string>>;
  problem: LoadProblem | null;
  disabled: boolean;
  onChange: (input: IStartInput) => void;
  onSubmit: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { profiles, view, input, errors, trans } = props;
  return (
    <form
      className="jp-DataOps-startForm"
      onSubmit={event => {
        event.preventDefault();
        props.onSubmit();
      }}
      onKeyDown={event => {
        const target = event.target as HTMLElement;
        if (event.key === 'Enter' && target instanceof HTMLInputElement) {
          if (target.type !== 'radio') {
            event.preventDefault();
            props.onSubmit();
          }
        }
      }}
    >
      {props.problem && (
        <Problem
          problem={props.problem}
          trans={trans}
          className="jp-DataOps-startError"
        />
      )}
      <div className="jp-DataOps-field">
        <label>{trans.__('Profile')}</label>
        <div
          className="jp-DataOps-profiles"
          role="radiogroup"
          aria-label={trans.__('Profile')}
        >
          {profiles.items.map(item => {
            const name = item.profile.name;
            const active = name === input.profile;
            return (
              <label
                key={name}
                className={`jp-DataOps-profileChoice${
                  active ? ' jp-mod-active' : ''
                }${item.available ? '' : ' jp-mod-disabled'}`}
                data-profile={name}
                title={
                  item.available
                    ? item.profile.description
                    : (item.reason ?? '')
                }
              >
                <input
                  type="radio"
                  name="jp-DataOps-profile"
                  value={name}
                  checked={active}
                  disabled={!item.available || props.disabled}
                  onChange={() => props.onChange(emptyStartInput(name))}
                />
                <span className="jp-DataOps-profileMain">
                  <span className="jp-DataOps-profileTop">
                    <b>{name}</b>
                    <span className="jp-DataOps-profileWhere">
                      {item.where === 'cluster'
                        ? trans.__('cluster')
                        : trans.__('this machine')}
                    </span>
                  </span>
                  <span className="jp-DataOps-profileGives">
                    {profileText(item.profile, trans)}
                  </span>
                  {item.profile.description && (
                    <span className="jp-DataOps-help">
                      {item.profile.description}
                    </span>
                  )}
                  {!item.available && (
                    <span className="jp-DataOps-profileReason">
                      {item.reason ?? trans.__('It cannot start here.')}
                    </span>
                  )}
                </span>
              </label>
            );
          })}
        </div>
        {errors.profile && (
          <div className="jp-DataOps-fieldError">{errors.profile}</div>
        )}
      </div>
      {view && (
        <>
          <div className="jp-DataOps-startFacts">
            <span className="jp-DataOps-limitsMethod">
              {trans.__('Limits here: %1', profiles.limits_method)}
            </span>
            {view.gpus_free > 0 && (
              <span>{trans.__('GPUs free: %1', view.gpus_free)}</span>
            )}
          </div>
          {(view.providers ?? []).length > 1 && (
            <div className="jp-DataOps-field jp-DataOps-startProvider">
              <label htmlFor="jp-DataOps-startProvider">
                {trans.__('Run on')}
              </label>
              <select
                id="jp-DataOps-startProvider"
                value={input.provider || view.provider}
                disabled={props.disabled}
                onChange={event =>
                  props.onChange({ ...input, provider: event.target.value })
                }
              >
                {(view.providers ?? []).map(choice => (
                  <option
                    key={choice.name}
                    value={choice.name}
                    disabled={!choice.available}
                    title={choice.reason ?? ''}
                  >
                    {(choice.where === 'cluster'
                      ? trans.__('Kubernetes cluster (%1)', choice.name)
                      : trans.__('This machine (%1)', choice.name)) +
                      (choice.available
                        ? ''
                        : ` — ${choice.reason ?? trans.__('unavailable')}`)}
                  </option>
                ))}
              </select>
              {(view.providers ?? [])
                .filter(choice => !choice.available)
                .map(choice => (
                  <div
                    key={choice.name}
                    className="jp-DataOps-help jp-DataOps-providerReason"
                  >
                    {trans.__(
                      'Not on %1: %2',
                      choice.name,
                      choice.reason ?? ''
                    )}
                  </div>
                ))}
            </div>
          )}
          <QuotaChips view={view} trans={trans} />
          <div className="jp-DataOps-startFields">
            {(['cpus', 'memory', 'gpus', 'gpu_type'] as const).map(field => (
              <FieldInput key={field} field={field} {...props} view={view} />
            ))}
            {(['idle_timeout', 'max_lifetime'] as const).map(field => (
              <FieldInput key={field} field={field} {...props} view={view} />
            ))}
          </div>
        </>
      )}
    </form>
  );
}

function QuotaChips(props: {
  view: ProfileView;
  trans: TranslationBundle;
}): JSX.Element | null {
  const lines = quotaLines(props.view.quotas, props.trans);
  if (lines.length === 0) {
    return null;
  }
  return (
    <div className="jp-DataOps-quotas" aria-label={props.trans.__('Quotas')}>
      <span className="jp-DataOps-quotasTitle">{props.trans.__('Quotas')}</span>
      {lines.map(line => (
        <span
          key={line.key}
          className={`jp-DataOps-countChip jp-DataOps-quota${
            line.full ? ' jp-mod-full' : ''
          }`}
          data-quota={line.key}
        >
          {line.text}
        </span>
      ))}
    </div>
  );
}

/** One field: its input (or why it cannot be changed), default and range. */
function FieldInput(props: {
  field: SandboxField;
  view: ProfileView;
  input: IStartInput;
  errors: Partial<Record<SandboxField | 'profile', string>>;
  disabled: boolean;
  onChange: (input: IStartInput) => void;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { field, view, input, trans } = props;
  const limit = fieldLimit(view, field);
  if (!limit) {
    return null;
  }
  const reason = disabledReason(limit, trans);
  const id = `jp-DataOps-sandbox-${field}`;
  const error = props.errors[field];
  const placeholder = fieldValueText(
    field,
    field === 'idle_timeout' || field === 'max_lifetime'
      ? typeof limit.default === 'number'
        ? Math.round(limit.default / 60)
        : limit.default
      : limit.default,
    trans
  );
  const common = {
    id,
    disabled: reason !== null || props.disabled,
    title: reason ? trans.__('Cannot be changed: %1', reason) : undefined,
    'aria-invalid': error ? true : undefined,
    className: `jp-mod-styled${error ? ' jp-DataOps-invalid' : ''}`
  };
  const set = (value: string) => props.onChange({ ...input, [field]: value });
  let control: JSX.Element;
  if (field === 'gpu_type') {
    const choices = limit.choices ?? [];
    control = (
      <select
        {...common}
        value={input.gpu_type}
        onChange={event => set(event.target.value)}
      >
        <option value="">
          {trans.__(
            'default (%1)',
            fieldValueText('gpu_type', limit.default, trans)
          )}
        </option>
        {choices.map(choice => (
          <option key={choice} value={choice}>
            {choice}
          </option>
        ))}
      </select>
    );
  } else {
    const numeric =
      field === 'gpus' || field === 'idle_timeout' || field === 'max_lifetime';
    control = (
      <input
        {...common}
        type={numeric ? 'number' : 'text'}
        min={numeric ? 0 : undefined}
        step={field === 'gpus' ? 1 : numeric ? 'any' : undefined}
        inputMode={numeric ? 'decimal' : undefined}
        spellCheck={false}
        autoComplete="off"
        placeholder={
          field === 'idle_timeout' || field === 'max_lifetime'
            ? String(
                typeof limit.default === 'number'
                  ? Math.round(limit.default / 60)
                  : ''
              )
            : placeholder
        }
        value={input[field]}
        onChange={event => set(event.target.value)}
      />
    );
  }
  return (
    <div
      className={`jp-DataOps-field jp-DataOps-startField${
        reason ? ' jp-mod-disabled' : ''
      }`}
      data-field={field}
    >
      <label htmlFor={id}>{fieldLabel(field, trans)}</label>
      {control}
      <div className="jp-DataOps-help">{fieldHelp(limit, trans)}</div>
      {reason && (
        <div className="jp-DataOps-fieldNote" data-reason={reason}>
          {trans.__('Fixed: %1', reason)}
        </div>
      )}
      {error && <div className="jp-DataOps-fieldError">{error}</div>}
    </div>
  );
}

/** The start dialog's body widget. */
class StartBody extends ReactWidget {
  constructor(private _props: IStartPanelProps) {
    super();
    this.addClass('jp-DataOps-startDialog');
  }

  render(): JSX.Element {
    return <StartPanel {...this._props} />;
  }
}

/**
 * Open the start dialog; it closes itself (its own buttons, Escape, or once
 * the sandbox started). Resolves with the started sandbox, or null.
 */
export async function openStartDialog(
  options: Omit<IStartPanelProps, 'onClose' | 'onStarted'> & { title: string }
): Promise<Sandbox | null> {
  let dialog: Dialog<unknown> | null = null;
  let started: Sandbox | null = null;
  const body = new StartBody({
    ...options,
    onStarted: sandbox => {
      started = sandbox;
      // Closed as cancelled: the dialog has no button of its own to resolve with.
      dialog?.reject();
    },
    onClose: () => dialog?.reject()
  });
  // No footer buttons: the body has its own; Enter in a field starts.
  dialog = new Dialog({
    title: options.title,
    body,
    buttons: [],
    hasClose: true
  });
  dialog.addClass('jp-DataOps-publishDialogHost');
  dialog.addClass('jp-DataOps-startDialogHost');
  await dialog.launch();
  return started;
}
