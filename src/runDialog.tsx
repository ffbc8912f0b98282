/**
 * The "Run as job" dialog: a form built from the notebook's parameters cell.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { KernelSpec } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  IDataOpsClient,
  IJob,
  INotebookParameters,
  IParameterSpec,
  Parameters
} from './api';
import { errorText } from './labels';
import {
  buildParameterForm,
  FieldValue,
  fieldKind,
  IJobOptions,
  IJobOptionsInput,
  IParameterForm,
  MAX_RETRIES,
  validateJobOptions,
  validateParameters
} from './params';
import { IDataOpsModel } from './tokens';

/** What the dialog starts with: a re-run's values, or the user's after a refused submit. */
export interface IRunDialogInitial {
  /** Parameter values to prefill, e.g. the original job's. */
  parameters?: Parameters;
  /** The inputs exactly as typed, kept when the server refused a submit. */
  values?: { [name: string]: FieldValue };
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
  optionsInput: IJobOptionsInput;
}

interface IRunFormProps {
  client: IDataOpsClient;
  kernelspecs: KernelSpec.IManager;
  path: string;
  /** A re-run of this job, or a new run. */
  rerunOf: IJob | null;
  initial: IRunDialogInitial;
  trans: TranslationBundle;
  onChange: (request: IRunRequest | null) => void;
}

const EMPTY_OPTIONS: IJobOptionsInput = { name: '', timeout: '', retries: '0' };

/**
 * The form in the dialog. It loads the notebook's parameters, validates as the
 * user types, and reports the request to send (or null while it is invalid).
 */
export function RunJobForm(props: IRunFormProps): JSX.Element {
  const { client, kernelspecs, path, rerunOf, initial, trans } = props;
  const [info, setInfo] = React.useState<INotebookParameters | null>(null);
  const [loadError, setLoadError] = React.useState<{
    message: string;
    hint: string | null;
  } | null>(null);
  const [form, setForm] = React.useState<IParameterForm | null>(null);
  const [values, setValues] = React.useState<{ [name: string]: FieldValue }>(
    {}
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
  const optionCheck = validateJobOptions(options, trans);
  const valid =
    paramCheck !== null &&
    paramCheck.valid &&
    Object.keys(optionCheck.errors).length === 0 &&
    kernel !== '';

  React.useEffect(() => {
    if (valid && paramCheck) {
      props.onChange({
        parameters: rerunOf
          ? { ...(initial.parameters ?? {}), ...paramCheck.parameters }
          : paramCheck.parameters,
        kernelName: kernel || null,
        options: optionCheck.options,
        values,
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

  const setValue = (name: string, value: FieldValue) => {
    setValues(current => ({ ...current, [name]: value }));
    setTouched(current => ({ ...current, [name]: true }));
  };

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
      {info && !info.has_parameters_cell && (
        <div className="jp-DataOps-alert jp-DataOps-alert-info">
          {trans.__(
            'This notebook has no cell tagged “parameters”: it runs with the values written in it. Tag a cell “parameters” to set values here.'
          )}
        </div>
      )}
      {form && form.specs.length > 0 && (
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
      {info && info.has_parameters_cell && form && form.specs.length === 0 && (
        <div className="jp-DataOps-alert jp-DataOps-alert-info">
          {trans.__('The parameters cell assigns no variables.')}
        </div>
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
  spec: IParameterSpec;
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
  model: IDataOpsModel;
  kernelspecs: KernelSpec.IManager;
  path: string;
  rerunOf?: IJob | null;
  initial?: IRunDialogInitial;
  trans: TranslationBundle;
}): Promise<IJob | null> {
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
        kernelName: request.kernelName,
        options: request.optionsInput,
        error: errorText(reason)
      };
    }
  }
}
