/**
 * The "Run as job" dialog: a form built from the notebook's parameters cell,
 * with free-form name/value rows for what the cell does not declare (or for a
 * notebook without one, whose parameters papermill injects in a new cell).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { KernelSpec } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { errorText } from '../api';
import { IJobsModel } from '../tokens';
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
import { Job, NotebookParameters, Parameters, ParameterSpec } from './types';

/** What the dialog starts with: a re-run's values, or the user's after a refused submit. */
export interface IRunDialogInitial {
  /** Parameter values to prefill, e.g. the original job's. */
  parameters?: Parameters;
  /** The inputs exactly as typed, kept when the server refused a submit. */
  values?: { [name: string]: FieldValue };
  /** The free-form rows as typed, kept when the server refused a submit. */
  freeRows?: IFreeParameter[];
  kernelName?: string | null;
  options?: IJobOptionsInput;
  /** Why the last submit was refused. */
  error?: { message: string; hint: string | null };
}

/** What the dialog returns when the user presses Run. */
export interface IRunRequest {
  parameters: Parameters;
  kernelName: string | null;
  options: IJobOptions;
  /** Kept to reopen the dialog as it was if the server refuses the request. */
  values: { [name: string]: FieldValue };
  freeRows: IFreeParameter[];
  optionsInput: IJobOptionsInput;
}

interface IRunFormProps {
  client: Pick<IJobsClient, 'getNotebookParameters'>;
  kernelspecs: KernelSpec.IManager;
  path: string;
  /** A re-run of this job, or a new run. */
  rerunOf: Job | null;
  initial: IRunDialogInitial;
  trans: TranslationBundle;
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

/**
 * The form in the dialog. It loads the notebook's parameters, validates as the
 * user types, and reports the request to send (or null while it is invalid).
 */
export function RunJobForm(props: IRunFormProps): JSX.Element {
  const { client, kernelspecs, path, rerunOf, initial, trans } = props;
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
        if (rerunOf) {
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
  const valid =
    paramCheck !== null &&
    paramCheck.valid &&
    freeCheck.valid &&
    Object.keys(optionCheck.errors).length === 0 &&
    kernel !== '';

  React.useEffect(() => {
    if (valid && paramCheck) {
      props.onChange({
        parameters: {
          ...(rerunOf ? (initial.parameters ?? {}) : {}),
          ...paramCheck.parameters,
          ...freeCheck.parameters
        },
        kernelName: kernel || null,
        options: optionCheck.options,
        values,
        freeRows,
        optionsInput: options
      });
    } else {
      props.onChange(null);
    }
    // Let the dialog re-check `.jp-mod-error` and enable or disable Run.
    container.current?.dispatchEvent(new Event('input', { bubbles: true }));
  });

  const kernelNames = Object.keys(specs?.kernelspecs ?? {});
  if (kernel && !kernelNames.includes(kernel)) {
    kernelNames.push(kernel);
  }
  const kernelLanguage = languageFamily(specs?.kernelspecs[kernel]?.language);
  const notebookLanguage = languageFamily(info?.language);
  const languageMismatch =
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
    <div className="jp-DataOps-RunForm" ref={container}>
      {!valid && <span className="jp-mod-error" hidden />}
      <div className="jp-DataOps-RunForm-notebook" title={path}>
        {path}
      </div>
      {initial.error && (
        <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
          <div>{initial.error.message}</div>
          {initial.error.hint && (
            <div className="jp-DataOps-hint">{initial.error.hint}</div>
          )}
        </div>
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
      <fieldset className="jp-DataOps-RunForm-section">
        <legend>{trans.__('Job')}</legend>
        <div className="jp-DataOps-field">
          <label htmlFor="jp-DataOps-kernel">{trans.__('Kernel')}</label>
          <select
            id="jp-DataOps-kernel"
            className="jp-mod-styled"
            value={kernel}
            onChange={event => setKernel(event.target.value)}
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
        {!rerunOf && (
          <>
            <TextField
              id="jp-DataOps-name"
              label={trans.__('Name')}
              value={options.name}
              placeholder={PathExt.basename(path, '.ipynb')}
              error={optionCheck.errors.name}
              onChange={name => setOptions({ ...options, name })}
            />
            <TextField
              id="jp-DataOps-timeout"
              label={trans.__('Timeout (seconds)')}
              value={options.timeout}
              placeholder={trans.__('No limit')}
              type="number"
              error={optionCheck.errors.timeout}
              onChange={timeout => setOptions({ ...options, timeout })}
            />
            <TextField
              id="jp-DataOps-retries"
              label={trans.__('Retries on failure')}
              value={options.retries}
              placeholder={trans.__('Server default')}
              type="number"
              max={MAX_RETRIES}
              error={optionCheck.errors.retries}
              onChange={retries => setOptions({ ...options, retries })}
            />
          </>
        )}
      </fieldset>
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
 * Open the run dialog for a notebook (or a re-run of a job), submit the job,
 * and reopen the dialog with the server's message if it refuses.
 *
 * Resolves with the new job, or null if the user cancelled.
 */
export async function openRunDialog(options: {
  model: IJobsModel;
  kernelspecs: KernelSpec.IManager;
  path: string;
  rerunOf?: Job | null;
  initial?: IRunDialogInitial;
  trans: TranslationBundle;
}): Promise<Job | null> {
  const { model, trans, path } = options;
  const rerunOf = options.rerunOf ?? null;
  let initial: IRunDialogInitial = options.initial ?? {};
  for (;;) {
    const body = new RunJobBody({
      client: model.client,
      kernelspecs: options.kernelspecs,
      path,
      rerunOf,
      initial,
      trans
    });
    const result = await showDialog<IRunRequest | null>({
      title: rerunOf
        ? trans.__('Re-run “%1”', rerunOf.name)
        : trans.__('Run “%1” as a job', PathExt.basename(path)),
      body,
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({
          label: rerunOf ? trans.__('Re-run') : trans.__('Run')
        })
      ],
      focusNodeSelector: 'input, textarea, select'
    });
    const request = result.value;
    if (!result.button.accept || !request) {
      return null;
    }
    try {
      if (rerunOf) {
        return await model.rerunJob(rerunOf.id, {
          parameters: request.parameters,
          kernel_name: request.kernelName
        });
      }
      return await model.createJob({
        notebook_path: path,
        parameters: request.parameters,
        kernel_name: request.kernelName,
        name: request.options.name,
        timeout_seconds: request.options.timeout_seconds,
        max_retries: request.options.max_retries
      });
    } catch (reason) {
      initial = {
        parameters: initial.parameters,
        values: request.values,
        freeRows: request.freeRows,
        kernelName: request.kernelName,
        options: request.optionsInput,
        error: errorText(reason)
      };
    }
  }
}
