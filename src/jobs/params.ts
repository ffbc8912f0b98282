/**
 * The run dialog's form logic, as pure functions: which input each parameter
 * gets, how the text the user typed becomes a JSON value, and what is wrong
 * with it. The React form only renders what these return.
 */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import { JSONValue, Parameters, ParameterSpec, ParameterType } from './types';

/** The kind of input a parameter is edited with. */
export type FieldKind = 'int' | 'float' | 'bool' | 'str' | 'json';

/** What an input holds: the text typed, or a checkbox's state. */
export type FieldValue = string | boolean;

/** The result of reading one input. */
export type ParseResult =
  { ok: true; value: JSONValue } | { ok: false; error: string };

const defaultTrans = nullTranslator.load('jupyter-dataops');

/** Which input edits a parameter of this type. */
export function fieldKind(type: ParameterType): FieldKind {
  switch (type) {
    case 'int':
    case 'float':
    case 'bool':
    case 'str':
      return type;
    default:
      return 'json';
  }
}

/** The parameter type papermill would infer for a JSON value. */
export function inferType(value: JSONValue): ParameterType {
  if (value === null) {
    return 'none';
  }
  if (typeof value === 'boolean') {
    return 'bool';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? 'int' : 'float';
  }
  if (typeof value === 'string') {
    return 'str';
  }
  if (Array.isArray(value)) {
    return 'list';
  }
  return 'dict';
}

/** Write a JSON value as the text of a JSON input: compact when short, indented when long. */
export function jsonText(value: JSONValue): string {
  const compact = JSON.stringify(value);
  if (compact === undefined) {
    return '';
  }
  return compact.length > 60 ? JSON.stringify(value, null, 2) : compact;
}

/**
 * The value an input starts with: `value` when given (a re-run's parameter),
 * else the parameter's default.
 */
export function initialFieldValue(
  spec: ParameterSpec,
  value?: JSONValue
): FieldValue {
  const source = value === undefined ? spec.default : value;
  switch (fieldKind(spec.type)) {
    case 'bool':
      return source === true;
    case 'int':
    case 'float':
      if (typeof source === 'number') {
        return String(source);
      }
      if (typeof source === 'string') {
        return source;
      }
      return '';
    case 'str':
      if (typeof source === 'string') {
        return source;
      }
      return source === null || source === undefined
        ? ''
        : JSON.stringify(source);
    case 'json':
      return source === undefined ? '' : jsonText(source);
  }
}

const INT_PATTERN = /^[+-]?\d+$/;
const FLOAT_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Read one input into the JSON value sent to the server, or say what is wrong.
 *
 * `parseField('int', '3')` gives `{ ok: true, value: 3 }`;
 * `parseField('int', '3.5')` gives an error message.
 */
export function parseField(
  type: ParameterType,
  input: FieldValue,
  trans: TranslationBundle = defaultTrans
): ParseResult {
  const kind = fieldKind(type);
  if (kind === 'bool') {
    return { ok: true, value: input === true };
  }
  const text = typeof input === 'string' ? input : String(input);
  if (kind === 'str') {
    return { ok: true, value: text };
  }
  const trimmed = text.trim();
  if (kind === 'int') {
    if (!INT_PATTERN.test(trimmed)) {
      return { ok: false, error: trans.__('Enter a whole number.') };
    }
    const value = Number(trimmed);
    if (!Number.isSafeInteger(value)) {
      return { ok: false, error: trans.__('This number is too large.') };
    }
    return { ok: true, value };
  }
  if (kind === 'float') {
    if (!FLOAT_PATTERN.test(trimmed)) {
      return { ok: false, error: trans.__('Enter a number, e.g. 0.5.') };
    }
    const value = Number(trimmed);
    if (!Number.isFinite(value)) {
      return { ok: false, error: trans.__('This number is too large.') };
    }
    return { ok: true, value };
  }
  // JSON inputs: list, dict, none and any.
  if (!trimmed) {
    if (type === 'none' || type === 'any') {
      return { ok: true, value: null };
    }
    return {
      ok: false,
      error:
        type === 'list'
          ? trans.__('Enter a JSON list, e.g. [1, 2].')
          : trans.__('Enter a JSON object, e.g. {"key": 1}.')
    };
  }
  let value: JSONValue;
  try {
    value = JSON.parse(trimmed) as JSONValue;
  } catch (reason) {
    return {
      ok: false,
      error: trans.__('Not valid JSON: %1', (reason as Error).message)
    };
  }
  if (type === 'list' && !Array.isArray(value)) {
    return { ok: false, error: trans.__('Enter a JSON list, e.g. [1, 2].') };
  }
  if (
    type === 'dict' &&
    (value === null || typeof value !== 'object' || Array.isArray(value))
  ) {
    return {
      ok: false,
      error: trans.__('Enter a JSON object, e.g. {"key": 1}.')
    };
  }
  return { ok: true, value };
}

/** The parameters form: the specs it edits and the values it started with. */
export interface IParameterForm {
  specs: ParameterSpec[];
  initial: { [name: string]: FieldValue };
}

/**
 * Build the form for a notebook's parameters, prefilled with `values` when
 * given (a re-run). Values for parameters the notebook does not declare get
 * their own fields, typed from the value, so a re-run keeps them.
 */
export function buildParameterForm(
  specs: ParameterSpec[],
  values: Parameters = {},
  trans: TranslationBundle = defaultTrans
): IParameterForm {
  const all = [...specs];
  const declared = new Set(specs.map(spec => spec.name));
  for (const [name, value] of Object.entries(values)) {
    if (!declared.has(name)) {
      all.push({
        name,
        type: inferType(value),
        default: value,
        default_repr: jsonText(value),
        help: trans.__('Not in the notebook’s parameters cell.')
      });
    }
  }
  const initial: { [name: string]: FieldValue } = {};
  for (const spec of all) {
    initial[spec.name] = initialFieldValue(spec, values[spec.name]);
  }
  return { specs: all, initial };
}

/** The outcome of validating the parameters form. */
export interface IParameterValidation {
  /** An error message per invalid field. */
  errors: { [name: string]: string };
  /** The parameters to send. */
  parameters: Parameters;
  valid: boolean;
}

/**
 * Validate the form and collect the parameters to send.
 *
 * With `onlyChanged`, fields left at their initial value are not sent, so the
 * notebook's own defaults apply (a new run); otherwise every field is sent
 * (a re-run, which replaces the original parameters one by one).
 */
export function validateParameters(
  form: IParameterForm,
  values: { [name: string]: FieldValue },
  options: { onlyChanged: boolean },
  trans: TranslationBundle = defaultTrans
): IParameterValidation {
  const errors: { [name: string]: string } = {};
  const parameters: Parameters = {};
  for (const spec of form.specs) {
    const value = values[spec.name] ?? form.initial[spec.name];
    const changed = value !== form.initial[spec.name];
    const result = parseField(spec.type, value, trans);
    if (!result.ok) {
      errors[spec.name] = result.error;
      continue;
    }
    if (changed || !options.onlyChanged) {
      parameters[spec.name] = result.value;
    }
  }
  return { errors, parameters, valid: Object.keys(errors).length === 0 };
}

/** The job options of the run dialog, as typed. */
export interface IJobOptionsInput {
  name: string;
  timeout: string;
  /** Empty for the server's default. */
  retries: string;
}

/** The job options, read and checked, named as `JobCreate` names them. */
export interface IJobOptions {
  name: string | null;
  timeout_seconds: number | null;
  /** Null for the server's default. */
  max_retries: number | null;
}

/** The most retries the server accepts. */
export const MAX_RETRIES = 10;

/** Check the job options; errors are keyed by field (`name`, `timeout`, `retries`). */
export function validateJobOptions(
  input: IJobOptionsInput,
  trans: TranslationBundle = defaultTrans
): { errors: { [field: string]: string }; options: IJobOptions } {
  const errors: { [field: string]: string } = {};
  const name = input.name.trim();
  if (name.length > 200) {
    errors.name = trans.__('Use at most 200 characters.');
  }
  let timeout: number | null = null;
  const timeoutText = input.timeout.trim();
  if (timeoutText) {
    const value = Number(timeoutText);
    if (!FLOAT_PATTERN.test(timeoutText) || !(value > 0)) {
      errors.timeout = trans.__(
        'Enter a number of seconds above 0, or leave empty for no limit.'
      );
    } else {
      timeout = value;
    }
  }
  let retries: number | null = null;
  const retriesText = input.retries.trim();
  if (retriesText) {
    const value = Number(retriesText);
    if (!INT_PATTERN.test(retriesText) || value < 0 || value > MAX_RETRIES) {
      errors.retries = trans.__(
        'Enter a whole number from 0 to %1, or leave empty for the server’s default.',
        MAX_RETRIES
      );
    } else {
      retries = value;
    }
  }
  return {
    errors,
    options: {
      name: name || null,
      timeout_seconds: timeout,
      max_retries: retries
    }
  };
}

/** The types a free-form parameter can be given. */
export type FreeParameterType = Extract<
  ParameterType,
  'str' | 'int' | 'float' | 'bool' | 'any'
>;

/** The free-form types, in the order the run dialog offers them. */
export const FREE_PARAMETER_TYPES: ReadonlyArray<FreeParameterType> = [
  'str',
  'int',
  'float',
  'bool',
  'any'
];

/** A name/value row the user adds for a notebook without a parameters cell. */
export interface IFreeParameter {
  /** Stable among the rows, for React. */
  key: number;
  name: string;
  type: FreeParameterType;
  value: FieldValue;
}

/** The outcome of validating the free-form rows. */
export interface IFreeParameterValidation {
  /** Error messages per row key. */
  errors: { [key: number]: { name?: string; value?: string } };
  parameters: Parameters;
  valid: boolean;
}

// Python's keywords: a parameter with one of these names would be a SyntaxError.
const PYTHON_KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del ' +
    'elif else except finally for from global if import in is lambda ' +
    'nonlocal not or pass raise return try while with yield'
  ).split(' ')
);

const NAME_PATTERN = /^[\p{L}_][\p{L}\p{N}_]*$/u;

/** Whether the notebook's parameters are written as Python (the default). */
export function usesPython(language: string | null | undefined): boolean {
  return !language || /^i?python/i.test(language.trim());
}

/**
 * Why a name cannot be a parameter, or null if it can: it must be an
 * identifier, and in Python not a keyword.
 */
export function parameterNameError(
  name: string,
  python: boolean,
  trans: TranslationBundle = defaultTrans
): string | null {
  if (!name) {
    return trans.__('Enter a name.');
  }
  if (!NAME_PATTERN.test(name)) {
    return trans.__(
      'Use letters, digits and underscores, not starting with a digit.'
    );
  }
  if (python && PYTHON_KEYWORDS.has(name)) {
    return trans.__('“%1” is a Python keyword.', name);
  }
  return null;
}

/**
 * Validate the free-form rows: names unique (also among `taken`, the
 * notebook's own parameters) and valid, values of their type. Rows left
 * entirely empty are ignored.
 */
export function validateFreeParameters(
  rows: ReadonlyArray<IFreeParameter>,
  options: { taken?: ReadonlyArray<string>; python: boolean },
  trans: TranslationBundle = defaultTrans
): IFreeParameterValidation {
  const errors: IFreeParameterValidation['errors'] = {};
  const parameters: Parameters = {};
  const seen = new Set(options.taken ?? []);
  for (const row of rows) {
    const name = row.name.trim();
    if (!name && (row.value === '' || row.value === false)) {
      continue;
    }
    const rowErrors: { name?: string; value?: string } = {};
    const nameError = parameterNameError(name, options.python, trans);
    if (nameError) {
      rowErrors.name = nameError;
    } else if (seen.has(name)) {
      rowErrors.name = trans.__('“%1” is given twice.', name);
    }
    seen.add(name);
    const result = parseField(row.type, row.value, trans);
    if (!result.ok) {
      rowErrors.value = result.error;
    }
    if (rowErrors.name || rowErrors.value) {
      errors[row.key] = rowErrors;
    } else if (result.ok) {
      parameters[name] = result.value;
    }
  }
  return { errors, parameters, valid: Object.keys(errors).length === 0 };
}
