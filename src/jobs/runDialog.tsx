/**
 * The "Run as job" dialog: a form built from the notebook's parameters cell,
 * with free-form name/value rows for what the cell does not declare (or for a
 * notebook without one, whose parameters papermill injects in a new cell).
 *
 * Given a schedules model, it also offers "On a schedule" (the fields of
 * `schedules/form.tsx`), and the same form edits a schedule or runs one now.
 *
 * Given the sandboxes, it offers "Run in": the notebook's kernel, a ready
 * sandbox, or a new sandbox of a profile (`target.ts`).
 *
 * Given the server's executors, two or more, it offers "Run on": this machine,
 * a Kubernetes cluster… for a job now, and for a schedule's runs (a new one,
 * or an edit, which starts from where its runs go).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { KernelSpec } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { errorText, ExecutorCapabilities } from '../api';
import {
  editOptionErrors,
  IScheduleFields,
  IScheduleInput,
  newScheduleInput,
  scheduleCreate,
  scheduleInputOf,
  validateScheduleInput
} from '../schedules/definition';
import { ScheduleFields, useCronPreview } from '../schedules/form';
import { CronPreview, Schedule } from '../schedules/types';
import type { ISandboxesClient } from '../sandboxes/client';
import { ProfileView, Sandbox } from '../sandboxes/types';
import { IJobsModel, ISchedulesModel } from '../tokens';
import { IJobsClient } from './client';
import {
  buildParameterForm,
  FieldValue,
  fieldKind,
  FREE_PARAMETER_TYPES,
  FreeParameterType,
  IFreeParameter,
  IJobOptions,
  IJobOptionsInput,
  IParameterForm,
  MAX_RETRIES,
  usesPython,
  validateFreeParameters,
  validateJobOptions,
  validateParameters
} from './params';
import {
  executorLabel,
  IRunTargetOption,
  jobCreate,
  KERNEL_TARGET,
  optionText,
  RunTarget,
  runTargetOptions,
  sameTarget,
  sandboxesApply,
  targetOf
} from './target';
import { Job, NotebookParameters, Parameters, ParameterSpec } from './types';

/** Whether the dialog runs the notebook now or turns it into a schedule. */
export type RunMode = 'now' | 'schedule';

/** What the dialog starts with: a re-run's values, or the user's after a refused submit. */
export interface IRunDialogInitial {
  /** Parameter values to prefill, e.g. the original job's. */
  parameters?: Parameters;
  /** The inputs exactly as typed, kept when the server refused a submit. */
  values?: { [name: string]: FieldValue };
  /** The free-form rows as typed, kept when the server refused a submit. */
  freeRows?: IFreeParameter[];
  kernelName?: string | null;
  /** Whether the user chose the kernel (an edit sends it only then). */
  kernelTouched?: boolean;
  /** Where it runs: the kernel, a sandbox, a profile's new sandbox. */
  target?: RunTarget;
  /** The executor chosen in "Run on" (null: the server's default). */
  executor?: string | null;
  options?: IJobOptionsInput;
  /** Run now or on a schedule (where the dialog offers the choice). */
  mode?: RunMode;
  /** The schedule fields as typed. */
  schedule?: IScheduleInput;
  /** Why the last submit was refused. */
  error?: { message: string; hint: string | null };
}

/** What the dialog returns when the user presses Run. */
export interface IRunRequest {
  mode: RunMode;
  /** Every parameter to run with (a re-run's or a schedule's, with the changes). */
  parameters: Parameters;
  /** Only the parameters the user changed or added. */
  changes: Parameters;
  kernelName: string | null;
  /** Whether the user chose the kernel. */
  kernelChanged: boolean;
  /** Where it runs (the kernel, unless sandboxes are offered and one is chosen). */
  target: RunTarget;
  /**
   * The executor to run on, when the user chose another than the server's
   * default in "Run on"; null for the default (the request names none). In
   * an edit, the schedule's own until the user chooses another.
   */
  executor: string | null;
  options: IJobOptions;
  /** The schedule fields, checked (in schedule mode). */
  schedule: IScheduleFields | null;
  /** Kept to reopen the dialog as it was if the server refuses the request. */
  values: { [name: string]: FieldValue };
  freeRows: IFreeParameter[];
  optionsInput: IJobOptionsInput;
  scheduleInput: IScheduleInput | null;
}

/**
 * What the dialog needs for schedules: "On a schedule" is offered (or, for
 * an edit or a schedule's run now, the dialog is only about that).
 */
export interface IRunDialogScheduling {
  /** The server's preview of a cron expression in a zone. */
  preview: (cron: string, timezone: string) => Promise<CronPreview>;
  /** Edit this schedule: schedule mode only, prefilled from it. */
  edit?: Schedule | null;
  /** Run this schedule now: its parameters only, prefilled. */
  runNowOf?: Schedule | null;
  /** Milliseconds the preview waits for typing to stop. */
  previewDelay?: number;
}

/**
 * The executors "Run on" offers, the server's default first: the list, or
 * how to read it (a failure offers none).
 */
export type IRunExecutorSource =
  | ReadonlyArray<ExecutorCapabilities>
  | (() => Promise<ReadonlyArray<ExecutorCapabilities>>);

/** Where the dialog finds the sandboxes and profiles to offer in "Run in". */
export type IRunTargetSource = Pick<
  ISandboxesClient,
  'listSandboxes' | 'listProfiles'
>;

export interface IRunFormProps {
  client: Pick<IJobsClient, 'getNotebookParameters'>;
  kernelspecs: KernelSpec.IManager;
  /** Offers "Run in" a sandbox when given (not for a re-run or a run now). */
  sandboxes?: IRunTargetSource | null;
  /**
   * Offers "Run on" when they are two or more (not for a re-run or a
   * schedule's run now, which go where the job ran or the schedule's go).
   */
  executors?: IRunExecutorSource | null;
  path: string;
  /** A re-run of this job, or a new run. */
  rerunOf: Job | null;
  initial: IRunDialogInitial;
  trans: TranslationBundle;
  /** Offers schedules when given. */
  scheduling?: IRunDialogScheduling | null;
  /** The accept button's label in each mode, set when the mode changes. */
  acceptLabels?: { [mode in RunMode]: string };
  onChange: (request: IRunRequest | null) => void;
}

const EMPTY_OPTIONS: IJobOptionsInput = { name: '', timeout: '', retries: '' };

/** A language name without its version, lower case: `Python 3` -> `python`. */
function languageFamily(language: string | null | undefined): string | null {
  const name = (language ?? '').trim().toLowerCase();
  return name
    ? name.replace(/[\s\d.]+$/, '').replace(/^ipython/, 'python')
    : null;
}

/** A preview that is never asked for (no schedules offered). */
const NO_PREVIEW = (): Promise<CronPreview> =>
  Promise.reject(new Error('No preview.'));

/**
 * The form in the dialog. It loads the notebook's parameters, validates as the
 * user types, and reports the request to send (or null while it is invalid).
 */
export function RunJobForm(props: IRunFormProps): JSX.Element {
  const { client, kernelspecs, path, rerunOf, initial, trans } = props;
  const scheduling = props.scheduling ?? null;
  const editing = scheduling?.edit ?? null;
  const runNowOf = scheduling?.runNowOf ?? null;
  // The parameters start from the job's or schedule's own, and changes go over them.
  const prefilled = rerunOf !== null || editing !== null || runNowOf !== null;
  const canChoose = scheduling !== null && !prefilled;
  const [mode, setMode] = React.useState<RunMode>(
    editing ? 'schedule' : canChoose ? (initial.mode ?? 'now') : 'now'
  );
  const [scheduleInput, setScheduleInput] = React.useState<IScheduleInput>(
    () =>
      initial.schedule ??
      (editing ? scheduleInputOf(editing) : newScheduleInput())
  );
  const [info, setInfo] = React.useState<NotebookParameters | null>(null);
  const [loadError, setLoadError] = React.useState<{
    message: string;
    hint: string | null;
  } | null>(null);
  const [form, setForm] = React.useState<IParameterForm | null>(null);
  const [values, setValues] = React.useState<{ [name: string]: FieldValue }>(
    {}
  );
  const [freeRows, setFreeRows] = React.useState<IFreeParameter[]>(
    initial.freeRows ?? []
  );
  const [kernel, setKernel] = React.useState<string>(initial.kernelName ?? '');
  const [kernelTouched, setKernelTouched] = React.useState(
    initial.kernelTouched ?? false
  );
  // "Run in": not for a re-run (its kernel only) or a schedule's run now.
  const targetSource =
    rerunOf === null && runNowOf === null ? (props.sandboxes ?? null) : null;
  const [targetChoice, setTarget] = React.useState<RunTarget>(
    () => initial.target ?? (editing ? targetOf(editing) : KERNEL_TARGET)
  );
  const targets = useRunTargets(targetSource);
  // "Run on": not for a re-run (where its job ran) or a schedule's run now.
  const executors = useExecutors(
    rerunOf === null && runNowOf === null ? (props.executors ?? null) : null
  );
  const [executorChoice, setExecutor] = React.useState<string | null>(
    initial.executor !== undefined
      ? initial.executor
      : (editing?.executor ?? null)
  );
  const [options, setOptions] = React.useState<IJobOptionsInput>(
    initial.options ?? EMPTY_OPTIONS
  );
  const [touched, setTouched] = React.useState<{ [name: string]: boolean }>({});
  const [specs, setSpecs] = React.useState<KernelSpec.ISpecModels | null>(
    kernelspecs.specs
  );
  const container = React.useRef<HTMLDivElement>(null);
  const nextKey = React.useRef(
    Math.max(0, ...(initial.freeRows ?? []).map(row => row.key + 1))
  );
  const scheduled = mode === 'schedule';
  const executorNames = offeredExecutors(executors, editing);
  const offersExecutors = executorNames.length > 1;
  const defaultExecutor = executorNames[0] ?? null;
  const executor =
    offersExecutors &&
    executorChoice !== null &&
    executorNames.includes(executorChoice)
      ? executorChoice
      : defaultExecutor;
  const requestExecutor = chosenExecutor(
    offersExecutors ? executor : null,
    defaultExecutor,
    editing
  );
  // Sandboxes run on this machine: elsewhere, the notebook's kernel, or a
  // profile where the executor sizes a run's pod by it.
  const runsHere = !offersExecutors || sandboxesApply(executor);
  const sizedByProfile =
    offersExecutors &&
    (executors.find(item => item.name === executor)?.profiles ?? false);
  const keeps = runsHere || (sizedByProfile && targetChoice.kind === 'profile');
  const target = keeps ? targetChoice : KERNEL_TARGET;
  const preview = useCronPreview(
    scheduling?.preview ?? NO_PREVIEW,
    scheduled ? scheduleInput.cron : '',
    scheduleInput.timezone,
    scheduling?.previewDelay
  );

  React.useEffect(() => {
    if (!keeps && targetChoice.kind !== 'kernel') {
      setTarget(KERNEL_TARGET);
    }
  }, [keeps, targetChoice]);

  React.useEffect(() => {
    const onSpecs = (_: unknown, models: KernelSpec.ISpecModels) =>
      setSpecs(models);
    kernelspecs.specsChanged.connect(onSpecs);
    return () => {
      kernelspecs.specsChanged.disconnect(onSpecs);
    };
  }, [kernelspecs]);

  React.useEffect(() => {
    let cancelled = false;
    client
      .getNotebookParameters(path)
      .then(result => {
        if (cancelled) {
          return;
        }
        const built = buildParameterForm(
          result.parameters,
          initial.parameters ?? {},
          trans
        );
        setInfo(result);
        setForm(built);
        setValues({ ...built.initial, ...(initial.values ?? {}) });
        if (!initial.kernelName) {
          setKernel(
            result.kernel_name ?? kernelspecs.specs?.default ?? 'python3'
          );
        }
      })
      .catch(reason => {
        if (cancelled) {
          return;
        }
        setLoadError(errorText(reason));
        if (prefilled) {
          // The notebook may have moved; a re-run can still use the job's values.
          const built = buildParameterForm([], initial.parameters ?? {}, trans);
          setForm(built);
          setValues({ ...built.initial, ...(initial.values ?? {}) });
        }
        if (!initial.kernelName) {
          setKernel(kernelspecs.specs?.default ?? 'python3');
        }
      });
    return () => {
      cancelled = true;
    };
  }, [client, path]);

  const paramCheck = form
    ? validateParameters(form, values, { onlyChanged: true }, trans)
    : null;
  const freeCheck = validateFreeParameters(
    freeRows,
    {
      taken: form?.specs.map(spec => spec.name) ?? [],
      python: usesPython(info?.language)
    },
    trans
  );
  const optionCheck = validateJobOptions(options, trans);
  const optionErrors = {
    ...optionCheck.errors,
    ...(editing ? editOptionErrors(editing, optionCheck.options, trans) : {})
  };
  const scheduleCheck = scheduled
    ? validateScheduleInput(scheduleInput, trans, editing)
    : null;
  const previewRefused =
    scheduled &&
    preview.status === 'error' &&
    preview.cron === scheduleInput.cron &&
    preview.timezone === scheduleInput.timezone;
  const scheduleValid =
    !scheduled ||
    (scheduleCheck !== null &&
      Object.keys(scheduleCheck.errors).length === 0 &&
      !previewRefused);
  const valid =
    paramCheck !== null &&
    paramCheck.valid &&
    freeCheck.valid &&
    Object.keys(optionErrors).length === 0 &&
    (kernel !== '' || runNowOf !== null || target.kind !== 'kernel') &&
    scheduleValid;

  // A layout effect: the dialog's value is the form's as soon as the form
  // shows it (a passive effect could leave an early click with none: a cancel).
  React.useLayoutEffect(() => {
    if (valid && paramCheck) {
      const changes = { ...paramCheck.parameters, ...freeCheck.parameters };
      props.onChange({
        mode,
        parameters: {
          ...(prefilled ? (initial.parameters ?? {}) : {}),
          ...changes
        },
        changes,
        kernelName: kernel || null,
        kernelChanged: kernelTouched,
        target,
        executor: requestExecutor,
        options: optionCheck.options,
        schedule: scheduleCheck?.fields ?? null,
        values,
        freeRows,
        optionsInput: options,
        scheduleInput: scheduled ? scheduleInput : null
      });
    } else {
      props.onChange(null);
    }
    // Let the dialog re-check `.jp-mod-error` and enable or disable Run.
    container.current?.dispatchEvent(new Event('input', { bubbles: true }));
  });

  React.useEffect(() => {
    // The accept button says what it does: run, or create the schedule.
    const label = props.acceptLabels?.[mode];
    const button = container.current
      ?.closest('.jp-Dialog')
      ?.querySelector('.jp-Dialog-button.jp-mod-accept .jp-Dialog-buttonLabel');
    if (label && button) {
      button.textContent = label;
      button.setAttribute('title', label);
    }
  }, [mode]);

  const kernelNames = Object.keys(specs?.kernelspecs ?? {});
  if (kernel && !kernelNames.includes(kernel)) {
    kernelNames.push(kernel);
  }
  const kernelLanguage = languageFamily(specs?.kernelspecs[kernel]?.language);
  const notebookLanguage = languageFamily(info?.language);
  const languageMismatch =
    target.kind === 'kernel' &&
    kernelLanguage !== null &&
    notebookLanguage !== null &&
    kernelLanguage !== notebookLanguage;

  const setValue = (name: string, value: FieldValue) => {
    setValues(current => ({ ...current, [name]: value }));
    setTouched(current => ({ ...current, [name]: true }));
  };

  const declared = form?.specs.length ?? 0;
  // Without readable declarations, free-form rows are how parameters are given.
  const freeFirst = info !== null && declared === 0;

  return (
    <div
      className={`jp-DataOps-RunForm${
        scheduled ? ' jp-DataOps-RunForm-schedule' : ''
      }`}
      data-mode={mode}
      ref={container}
    >
      {!valid && <span className="jp-mod-error" hidden />}
      <div className="jp-DataOps-RunForm-notebook" title={path}>
        {path}
      </div>
      {canChoose && (
        <div
          className="jp-DataOps-modeSwitch"
          role="radiogroup"
          aria-label={trans.__('When to run')}
        >
          {(['now', 'schedule'] as RunMode[]).map(item => (
            <label
              key={item}
              className={`jp-DataOps-modeOption${
                mode === item ? ' jp-mod-active' : ''
              }`}
            >
              <input
                type="radio"
                name="jp-DataOps-mode"
                value={item}
                checked={mode === item}
                onChange={() => setMode(item)}
              />
              {item === 'now' ? trans.__('Run now') : trans.__('On a schedule')}
            </label>
          ))}
        </div>
      )}
      {initial.error && (
        <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
          <div>{initial.error.message}</div>
          {initial.error.hint && (
            <div className="jp-DataOps-hint">{initial.error.hint}</div>
          )}
        </div>
      )}
      {scheduled && (
        <ScheduleFields
          input={scheduleInput}
          errors={scheduleCheck?.errors ?? {}}
          preview={preview}
          redactedWebhook={!!editing?.notify.webhook_url}
          onChange={setScheduleInput}
          trans={trans}
        />
      )}
      {!form && !loadError && (
        <div className="jp-DataOps-RunForm-loading">
          {trans.__('Reading the notebook’s parameters…')}
        </div>
      )}
      {loadError && (
        <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
          <div>
            {trans.__(
              'Could not read the notebook’s parameters: %1',
              loadError.message
            )}
          </div>
          {loadError.hint && (
            <div className="jp-DataOps-hint">{loadError.hint}</div>
          )}
        </div>
      )}
      {info && info.warnings.length > 0 && (
        <ul
          className="jp-DataOps-alert jp-DataOps-alert-warn jp-DataOps-RunForm-warnings"
          aria-label={trans.__('Before you run')}
        >
          {info.warnings.map((warning, index) => (
            <li key={index}>{warning}</li>
          ))}
        </ul>
      )}
      {form && declared > 0 && (
        <fieldset className="jp-DataOps-RunForm-section">
          <legend>{trans.__('Parameters')}</legend>
          {form.specs.map(spec => (
            <ParameterField
              key={spec.name}
              spec={spec}
              value={values[spec.name] ?? form.initial[spec.name]}
              error={paramCheck?.errors[spec.name] ?? null}
              showError={
                touched[spec.name] === true || initial.values !== undefined
              }
              onChange={value => setValue(spec.name, value)}
              trans={trans}
            />
          ))}
        </fieldset>
      )}
      {(form || info) && (
        <FreeParameters
          rows={freeRows}
          errors={freeCheck.errors}
          heading={
            freeFirst ? trans.__('Parameters') : trans.__('Other parameters')
          }
          hint={
            freeFirst
              ? info?.has_parameters_cell
                ? trans.__(
                    'The parameters cell declares nothing this form can read: add names and values to pass.'
                  )
                : trans.__(
                    'Add names and values to set in a new cell at the top of the notebook.'
                  )
              : null
          }
          onChange={setFreeRows}
          onAdd={() =>
            setFreeRows(rows => [
              ...rows,
              { key: nextKey.current++, name: '', type: 'str', value: '' }
            ])
          }
          trans={trans}
        />
      )}
      {!runNowOf && (
        <fieldset className="jp-DataOps-RunForm-section">
          <legend>{scheduled ? trans.__('Each run') : trans.__('Job')}</legend>
          {offersExecutors && (
            <div className="jp-DataOps-field jp-DataOps-runOn">
              <label htmlFor="jp-DataOps-executor">{trans.__('Run on')}</label>
              <select
                id="jp-DataOps-executor"
                className="jp-mod-styled"
                value={executor ?? ''}
                onChange={event => setExecutor(event.target.value)}
              >
                {executorNames.map((name, index) => (
                  <option key={name} value={name}>
                    {executors.some(item => item.name === name)
                      ? executorLabel(name, index === 0, trans)
                      : trans.__(
                          '%1 (the server does not offer it now)',
                          executorLabel(name, false, trans)
                        )}
                  </option>
                ))}
              </select>
            </div>
          )}
          {targetSource && (
            <RunInField
              options={runTargetOptions(
                {
                  sandboxes: targets.sandboxes,
                  profiles: targets.profiles,
                  current: target,
                  scheduled,
                  executor: offersExecutors ? executor : null,
                  sizedByProfile
                },
                trans
              )}
              loading={targets.loading}
              error={targets.error}
              value={target}
              scheduled={scheduled}
              onChange={setTarget}
              trans={trans}
            />
          )}
          {target.kind === 'kernel' && (
            <div className="jp-DataOps-field">
              <label htmlFor="jp-DataOps-kernel">{trans.__('Kernel')}</label>
              <select
                id="jp-DataOps-kernel"
                className="jp-mod-styled"
                value={kernel}
                onChange={event => {
                  setKernel(event.target.value);
                  setKernelTouched(true);
                }}
              >
                {kernelNames.map(name => (
                  <option key={name} value={name}>
                    {specs?.kernelspecs[name]?.display_name ??
                      trans.__('%1 (not installed)', name)}
                  </option>
                ))}
              </select>
              {languageMismatch && (
                <div className="jp-DataOps-fieldWarning" role="status">
                  {trans.__(
                    'This kernel runs %1, and the notebook is written in %2.',
                    specs?.kernelspecs[kernel]?.language ?? '',
                    info?.language ?? ''
                  )}
                </div>
              )}
            </div>
          )}
          {!rerunOf && (
            <>
              <TextField
                id="jp-DataOps-name"
                label={trans.__('Name')}
                value={options.name}
                placeholder={PathExt.basename(path, '.ipynb')}
                error={optionErrors.name}
                onChange={name => setOptions({ ...options, name })}
              />
              <TextField
                id="jp-DataOps-timeout"
                label={trans.__('Timeout (seconds)')}
                value={options.timeout}
                placeholder={trans.__('No limit')}
                type="number"
                error={optionErrors.timeout}
                onChange={timeout => setOptions({ ...options, timeout })}
              />
              <TextField
                id="jp-DataOps-retries"
                label={trans.__('Retries on failure')}
                value={options.retries}
                placeholder={trans.__('Server default')}
                type="number"
                max={MAX_RETRIES}
                error={optionErrors.retries}
                onChange={retries => setOptions({ ...options, retries })}
              />
            </>
          )}
        </fieldset>
      )}
    </div>
  );
}

/**
 * The executor names "Run on" offers, the server's default first: those the
 * server lists, and the edited schedule's own if the server no longer lists
 * it (so an edit never moves its runs unasked). None until the list is known.
 */
export function offeredExecutors(
  executors: ReadonlyArray<ExecutorCapabilities>,
  editing: Pick<Schedule, 'executor'> | null
): string[] {
  const names = executors.map(item => item.name);
  const own = editing?.executor ?? null;
  return names.length > 0 && own !== null && !names.includes(own)
    ? [...names, own]
    : names;
}

/**
 * The executor a request names: the one chosen in "Run on" (null where it is
 * not offered), or null for the server's default. An edit keeps the
 * schedule's own while the choice is where its runs go now (or "Run on" is
 * not offered), so saving other changes never moves them.
 */
export function chosenExecutor(
  chosen: string | null,
  defaultExecutor: string | null,
  editing: Pick<Schedule, 'executor'> | null
): string | null {
  const own = editing?.executor ?? null;
  if (editing && (chosen === null || chosen === (own ?? defaultExecutor))) {
    return own;
  }
  return chosen !== null && chosen !== defaultExecutor ? chosen : null;
}

/** The executors "Run on" offers: the list given, or read once (none until then). */
function useExecutors(
  source: IRunExecutorSource | null
): ReadonlyArray<ExecutorCapabilities> {
  const [loaded, setLoaded] = React.useState<
    ReadonlyArray<ExecutorCapabilities>
  >([]);
  React.useEffect(() => {
    if (typeof source !== 'function') {
      return;
    }
    let cancelled = false;
    source().then(
      items => {
        if (!cancelled) {
          setLoaded(items ?? []);
        }
      },
      () => {
        // Without the server's info, nothing to choose: its default runs it.
      }
    );
    return () => {
      cancelled = true;
    };
  }, [source]);
  if (source === null) {
    return [];
  }
  return typeof source === 'function' ? loaded : source;
}

/** The sandboxes and profiles "Run in" offers, as the server lists them now. */
interface IRunTargets {
  sandboxes: Sandbox[];
  profiles: ProfileView[];
  loading: boolean;
  /** Why a list could not be read, or null. */
  error: string | null;
}

/** List the sandboxes and profiles once, when the dialog opens. */
function useRunTargets(source: IRunTargetSource | null): IRunTargets {
  const [state, setState] = React.useState<IRunTargets>({
    sandboxes: [],
    profiles: [],
    loading: source !== null,
    error: null
  });
  React.useEffect(() => {
    if (!source) {
      return;
    }
    let cancelled = false;
    const problems: string[] = [];
    const read = <T,>(request: Promise<T>, fallback: T): Promise<T> =>
      request.catch(reason => {
        problems.push(errorText(reason).message);
        return fallback;
      });
    void Promise.all([
      read(
        source.listSandboxes().then(page => page.items),
        [] as Sandbox[]
      ),
      read(
        source.listProfiles().then(list => list.items),
        [] as ProfileView[]
      )
    ]).then(([sandboxes, profiles]) => {
      if (!cancelled) {
        setState({
          sandboxes,
          profiles,
          loading: false,
          error: problems.length > 0 ? [...new Set(problems)].join(' ') : null
        });
      }
    });
    return () => {
      cancelled = true;
    };
  }, [source]);
  return state;
}

/**
 * "Run in": the notebook's kernel, a ready sandbox, or a new sandbox of a
 * profile; a profile that cannot start is shown disabled, with why.
 */
function RunInField(props: {
  options: IRunTargetOption[];
  loading: boolean;
  error: string | null;
  value: RunTarget;
  scheduled: boolean;
  onChange: (target: RunTarget) => void;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { options, value, trans } = props;
  if (!props.loading && !props.error && options.length < 2) {
    // Nowhere else to run: the server offers no sandbox or profile.
    return null;
  }
  let help: string | null = null;
  if (value.kind === 'sandbox') {
    help = props.scheduled
      ? trans.__(
          'Each run uses this sandbox’s kernel: it must be ready when a run is due.'
        )
      : trans.__(
          'The job runs with this sandbox’s kernel; the sandbox stays after it.'
        );
  } else if (value.kind === 'profile') {
    help = props.scheduled
      ? trans.__(
          'A sandbox of this profile is started for each run, and stopped when the run ends.'
        )
      : trans.__(
          'A sandbox of this profile is started for the job, and stopped when the job ends.'
        );
  }
  return (
    <div className="jp-DataOps-field jp-DataOps-runIn">
      <span id="jp-DataOps-runIn-label" className="jp-DataOps-runInTitle">
        {trans.__('Run in')}
      </span>
      <div
        className="jp-DataOps-runInOptions"
        role="radiogroup"
        aria-labelledby="jp-DataOps-runIn-label"
      >
        {options.map(option => {
          const active = sameTarget(option.target, value);
          return (
            <label
              key={option.key}
              className={`jp-DataOps-runInOption${
                active ? ' jp-mod-active' : ''
              }${option.disabled ? ' jp-mod-disabled' : ''}`}
              data-target={option.key}
              title={
                option.reason
                  ? `${optionText(option)}\n${option.reason}`
                  : optionText(option)
              }
            >
              <input
                type="radio"
                name="jp-DataOps-runIn"
                value={option.key}
                checked={active}
                disabled={option.disabled}
                onChange={() => props.onChange(option.target)}
              />
              <span className="jp-DataOps-runInMain">
                <span className="jp-DataOps-runInLine">
                  <span className="jp-DataOps-runInLabel">{option.label}</span>
                  {option.detail && (
                    <span className="jp-DataOps-runInDetail">
                      {option.detail}
                    </span>
                  )}
                </span>
                {option.reason && (
                  <span className="jp-DataOps-runInReason">
                    {option.reason}
                  </span>
                )}
              </span>
            </label>
          );
        })}
      </div>
      {props.loading && (
        <div className="jp-DataOps-help">
          {trans.__('Looking for sandboxes…')}
        </div>
      )}
      {props.error && (
        <div className="jp-DataOps-fieldWarning" role="status">
          {trans.__('The sandboxes could not be listed: %1', props.error)}
        </div>
      )}
      {help && <div className="jp-DataOps-help">{help}</div>}
    </div>
  );
}

/** Labels of the free-form parameter types. */
function freeTypeLabel(
  type: FreeParameterType,
  trans: TranslationBundle
): string {
  switch (type) {
    case 'str':
      return trans.__('text');
    case 'int':
      return trans.__('integer');
    case 'float':
      return trans.__('number');
    case 'bool':
      return trans.__('boolean');
    case 'any':
      return trans.__('JSON');
  }
}

/** Name/type/value rows for parameters the notebook does not declare. */
function FreeParameters(props: {
  rows: IFreeParameter[];
  errors: { [key: number]: { name?: string; value?: string } };
  heading: string;
  hint: string | null;
  onChange: (update: (rows: IFreeParameter[]) => IFreeParameter[]) => void;
  onAdd: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { rows, errors, trans } = props;
  const update = (key: number, changes: Partial<IFreeParameter>) =>
    props.onChange(current =>
      current.map(row => {
        if (row.key !== key) {
          return row;
        }
        const next = { ...row, ...changes };
        if (changes.type && changes.type !== row.type) {
          // Keep the text when it still makes sense; a checkbox starts off.
          next.value =
            changes.type === 'bool'
              ? false
              : typeof row.value === 'string'
                ? row.value
                : '';
        }
        return next;
      })
    );
  const remove = (key: number) =>
    props.onChange(current => current.filter(row => row.key !== key));
  const add = (
    <button
      type="button"
      className="jp-mod-styled jp-DataOps-linkButton jp-DataOps-addParameter"
      onClick={props.onAdd}
    >
      {trans.__('+ Add a parameter')}
    </button>
  );
  if (rows.length === 0 && !props.hint) {
    return <div className="jp-DataOps-RunForm-free">{add}</div>;
  }
  return (
    <fieldset className="jp-DataOps-RunForm-section jp-DataOps-RunForm-free">
      <legend>{props.heading}</legend>
      {props.hint && <div className="jp-DataOps-help">{props.hint}</div>}
      {rows.map((row, index) => {
        const error = errors[row.key] ?? {};
        const id = `jp-DataOps-free-${row.key}`;
        return (
          <div
            key={row.key}
            className="jp-DataOps-freeRow"
            data-row={index}
            role="group"
            aria-label={trans.__('Parameter %1', index + 1)}
          >
            <input
              id={`${id}-name`}
              className={`jp-mod-styled jp-DataOps-freeName${
                error.name ? ' jp-DataOps-invalid' : ''
              }`}
              type="text"
              placeholder={trans.__('name')}
              aria-label={trans.__('Name of parameter %1', index + 1)}
              spellCheck={false}
              value={row.name}
              onChange={event => update(row.key, { name: event.target.value })}
            />
            <select
              className="jp-mod-styled jp-DataOps-freeType"
              aria-label={trans.__('Type of parameter %1', index + 1)}
              value={row.type}
              onChange={event =>
                update(row.key, {
                  type: event.target.value as FreeParameterType
                })
              }
            >
              {FREE_PARAMETER_TYPES.map(type => (
                <option key={type} value={type}>
                  {freeTypeLabel(type, trans)}
                </option>
              ))}
            </select>
            {row.type === 'bool' ? (
              <input
                id={`${id}-value`}
                className="jp-DataOps-freeValue"
                type="checkbox"
                aria-label={trans.__('Value of parameter %1', index + 1)}
                checked={row.value === true}
                onChange={event =>
                  update(row.key, { value: event.target.checked })
                }
              />
            ) : (
              <input
                id={`${id}-value`}
                className={`jp-mod-styled jp-DataOps-freeValue${
                  error.value ? ' jp-DataOps-invalid' : ''
                }`}
                type="text"
                placeholder={trans.__('value')}
                aria-label={trans.__('Value of parameter %1', index + 1)}
                spellCheck={false}
                value={String(row.value)}
                onChange={event =>
                  update(row.key, { value: event.target.value })
                }
              />
            )}
            <button
              type="button"
              className="jp-DataOps-iconButton jp-DataOps-freeRemove"
              title={trans.__('Remove this parameter')}
              aria-label={trans.__('Remove parameter %1', index + 1)}
              onClick={() => remove(row.key)}
            >
              ×
            </button>
            {(error.name || error.value) && (
              <div className="jp-DataOps-fieldError" role="alert">
                {[error.name, error.value].filter(Boolean).join(' ')}
              </div>
            )}
          </div>
        );
      })}
      {add}
    </fieldset>
  );
}

function TextField(props: {
  id: string;
  label: string;
  value: string;
  placeholder?: string;
  type?: 'text' | 'number';
  max?: number;
  error?: string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <div className="jp-DataOps-field">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        className={`jp-mod-styled${props.error ? ' jp-DataOps-invalid' : ''}`}
        type={props.type ?? 'text'}
        min={props.type === 'number' ? 0 : undefined}
        max={props.max}
        step={props.type === 'number' ? 'any' : undefined}
        value={props.value}
        placeholder={props.placeholder}
        onChange={event => props.onChange(event.target.value)}
      />
      {props.error && (
        <div className="jp-DataOps-fieldError" role="alert">
          {props.error}
        </div>
      )}
    </div>
  );
}

function ParameterField(props: {
  spec: ParameterSpec;
  value: FieldValue;
  error: string | null;
  showError: boolean;
  onChange: (value: FieldValue) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { spec, value, error, trans } = props;
  const kind = fieldKind(spec.type);
  const id = `jp-DataOps-param-${spec.name}`;
  // Errors show once the user edits the field, so an empty required list
  // does not shout before anything was typed; Run stays disabled meanwhile.
  const shownError = error && props.showError ? error : null;
  const className = `jp-mod-styled${shownError ? ' jp-DataOps-invalid' : ''}`;
  let input: JSX.Element;
  switch (kind) {
    case 'bool':
      input = (
        <input
          id={id}
          name={spec.name}
          type="checkbox"
          checked={value === true}
          onChange={event => props.onChange(event.target.checked)}
        />
      );
      break;
    case 'int':
    case 'float':
      input = (
        <input
          id={id}
          name={spec.name}
          className={className}
          type="number"
          step={kind === 'int' ? 1 : 'any'}
          value={String(value)}
          onChange={event => props.onChange(event.target.value)}
        />
      );
      break;
    case 'str':
      input = (
        <input
          id={id}
          name={spec.name}
          className={className}
          type="text"
          value={String(value)}
          onChange={event => props.onChange(event.target.value)}
        />
      );
      break;
    case 'json':
      input = (
        <textarea
          id={id}
          name={spec.name}
          className={`${className} jp-DataOps-json`}
          rows={Math.min(8, Math.max(2, String(value).split('\n').length))}
          spellCheck={false}
          value={String(value)}
          onChange={event => props.onChange(event.target.value)}
        />
      );
      break;
  }
  return (
    <div
      className={`jp-DataOps-field jp-DataOps-param${
        kind === 'bool' ? ' jp-DataOps-param-bool' : ''
      }`}
    >
      <label htmlFor={id}>
        <span className="jp-DataOps-param-name">{spec.name}</span>
        <span className="jp-DataOps-param-type">{spec.type}</span>
      </label>
      {input}
      {spec.help && <div className="jp-DataOps-help">{spec.help}</div>}
      {spec.default_repr && (
        <div className="jp-DataOps-help">
          {trans.__('Default: %1', spec.default_repr)}
        </div>
      )}
      {shownError && (
        <div className="jp-DataOps-fieldError" role="alert">
          {shownError}
        </div>
      )}
    </div>
  );
}

/** The dialog body: the form, and the request it holds when Run is pressed. */
export class RunJobBody
  extends ReactWidget
  implements Dialog.IBodyWidget<IRunRequest | null>
{
  constructor(props: Omit<IRunFormProps, 'onChange'>) {
    super();
    this._props = props;
    this.addClass('jp-DataOps-RunDialog');
  }

  getValue(): IRunRequest | null {
    return this._request;
  }

  render(): JSX.Element {
    return (
      <RunJobForm
        {...this._props}
        onChange={request => {
          this._request = request;
        }}
      />
    );
  }

  private _props: Omit<IRunFormProps, 'onChange'>;
  private _request: IRunRequest | null = null;
}

/**
 * Show the run form in a dialog and submit what the user asks for; if the
 * server refuses, reopen the dialog as the user left it, with the server's
 * message. Resolves with what `submit` made, or null if the user cancelled.
 */
export async function showRunFormDialog<T>(options: {
  form: Omit<IRunFormProps, 'onChange' | 'initial'>;
  initial?: IRunDialogInitial;
  title: string;
  /** The accept button's label, or one per mode. */
  accept: string | { [mode in RunMode]: string };
  submit: (request: IRunRequest) => Promise<T>;
}): Promise<T | null> {
  const { trans } = options.form;
  let initial: IRunDialogInitial = options.initial ?? {};
  const labels =
    typeof options.accept === 'string'
      ? { now: options.accept, schedule: options.accept }
      : options.accept;
  for (;;) {
    const mode =
      initial.mode ?? (options.form.scheduling?.edit ? 'schedule' : 'now');
    const body = new RunJobBody({
      ...options.form,
      initial,
      acceptLabels: labels
    });
    const result = await showDialog<IRunRequest | null>({
      title: options.title,
      body,
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: labels[mode] })
      ],
      focusNodeSelector: 'input:not([type="radio"]), textarea, select'
    });
    const request = result.value;
    if (!result.button.accept || !request) {
      return null;
    }
    try {
      return await options.submit(request);
    } catch (reason) {
      initial = {
        parameters: initial.parameters,
        values: request.values,
        freeRows: request.freeRows,
        kernelName: request.kernelName,
        kernelTouched: request.kernelChanged,
        target: request.target,
        executor: request.executor,
        options: request.optionsInput,
        mode: request.mode,
        schedule: request.scheduleInput ?? undefined,
        error: errorText(reason)
      };
    }
  }
}

/**
 * The executors a job (or a schedule's runs) may name, the default first:
 * those the model knows, else asked of the server (none when it cannot say,
 * or is older).
 */
export function serverExecutors(
  model: Pick<IJobsModel, 'info' | 'client'>
): IRunExecutorSource {
  if (model.info) {
    return model.info.executors ?? [];
  }
  return async () => (await model.client.getInfo()).executors ?? [];
}

/** What the run dialog made: a job, or a schedule. */
export type RunDialogResult =
  { kind: 'job'; job: Job } | { kind: 'schedule'; schedule: Schedule };

/**
 * Open the run dialog for a notebook (or a re-run of a job), submit the job
 * (or, "On a schedule", create the schedule), and reopen the dialog with the
 * server's message if it refuses. A new job or schedule may choose where it
 * runs among the server's executors ("Run on", from the model's server info).
 *
 * Resolves with the new job or schedule, or null if the user cancelled.
 */
export async function openRunDialog(options: {
  model: IJobsModel;
  kernelspecs: KernelSpec.IManager;
  path: string;
  rerunOf?: Job | null;
  initial?: IRunDialogInitial;
  /** Offers "On a schedule" when given (not for a re-run). */
  schedules?: ISchedulesModel | null;
  /** Offers "Run in" a sandbox when given (not for a re-run). */
  sandboxes?: IRunTargetSource | null;
  trans: TranslationBundle;
}): Promise<RunDialogResult | null> {
  const { model, trans, path } = options;
  const rerunOf = options.rerunOf ?? null;
  const schedules = rerunOf ? null : (options.schedules ?? null);
  const scheduleMode = options.initial?.mode === 'schedule';
  return showRunFormDialog<RunDialogResult>({
    form: {
      client: model.client,
      kernelspecs: options.kernelspecs,
      sandboxes: rerunOf ? null : (options.sandboxes ?? null),
      executors: rerunOf ? null : serverExecutors(model),
      path,
      rerunOf,
      trans,
      scheduling: schedules
        ? { preview: (cron, zone) => schedules.preview(cron, zone) }
        : null
    },
    initial: options.initial,
    title: rerunOf
      ? trans.__('Re-run “%1”', rerunOf.name)
      : scheduleMode
        ? trans.__('Schedule “%1”', PathExt.basename(path))
        : schedules
          ? trans.__('Run “%1”', PathExt.basename(path))
          : trans.__('Run “%1” as a job', PathExt.basename(path)),
    accept: rerunOf
      ? trans.__('Re-run')
      : { now: trans.__('Run'), schedule: trans.__('Create schedule') },
    submit: async request => {
      if (rerunOf) {
        const job = await model.rerunJob(rerunOf.id, {
          parameters: request.parameters,
          kernel_name: request.kernelName
        });
        return { kind: 'job', job };
      }
      if (request.mode === 'schedule' && schedules && request.schedule) {
        const schedule = await schedules.createSchedule(
          scheduleCreate({
            path,
            fields: request.schedule,
            parameters: request.parameters,
            kernelName: request.kernelName,
            target: request.target,
            job: request.options,
            executor: request.executor
          })
        );
        return { kind: 'schedule', schedule };
      }
      const job = await model.createJob(
        jobCreate({
          path,
          parameters: request.parameters,
          kernelName: request.kernelName,
          target: request.target,
          job: request.options,
          executor: request.executor
        })
      );
      return { kind: 'job', job };
    }
  });
}
