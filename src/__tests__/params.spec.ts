import { ParameterSpec } from '../jobs/types';
import {
  buildParameterForm,
  fieldKind,
  inferType,
  initialFieldValue,
  parseField,
  parameterNameError,
  usesPython,
  validateFreeParameters,
  validateJobOptions,
  validateParameters
} from '../jobs/params';

function spec(
  name: string,
  type: ParameterSpec['type'],
  value: ParameterSpec['default'],
  default_repr = JSON.stringify(value)
): ParameterSpec {
  return { name, type, default: value, default_repr, help: '' };
}

describe('fieldKind', () => {
  it('gives numbers, bools and strings their own inputs and JSON to the rest', () => {
    expect(fieldKind('int')).toBe('int');
    expect(fieldKind('float')).toBe('float');
    expect(fieldKind('bool')).toBe('bool');
    expect(fieldKind('str')).toBe('str');
    expect(fieldKind('list')).toBe('json');
    expect(fieldKind('dict')).toBe('json');
    expect(fieldKind('none')).toBe('json');
    expect(fieldKind('any')).toBe('json');
  });
});

describe('inferType', () => {
  it('infers the type papermill would', () => {
    expect(inferType(3)).toBe('int');
    expect(inferType(0.5)).toBe('float');
    expect(inferType(true)).toBe('bool');
    expect(inferType('a')).toBe('str');
    expect(inferType([1])).toBe('list');
    expect(inferType({ a: 1 })).toBe('dict');
    expect(inferType(null)).toBe('none');
  });
});

describe('initialFieldValue', () => {
  it('starts from the default', () => {
    expect(initialFieldValue(spec('alpha', 'float', 0.1))).toBe('0.1');
    expect(initialFieldValue(spec('n', 'int', 10))).toBe('10');
    expect(initialFieldValue(spec('flag', 'bool', true))).toBe(true);
    expect(initialFieldValue(spec('label', 'str', 'run'))).toBe('run');
    expect(initialFieldValue(spec('xs', 'list', [1, 2]))).toBe('[1,2]');
    expect(initialFieldValue(spec('cfg', 'dict', { a: 1 }))).toBe('{"a":1}');
    expect(initialFieldValue(spec('x', 'none', null))).toBe('null');
  });

  it('prefers a given value (a re-run) over the default', () => {
    expect(initialFieldValue(spec('alpha', 'float', 0.1), 0.7)).toBe('0.7');
    expect(initialFieldValue(spec('flag', 'bool', true), false)).toBe(false);
  });

  it('indents long JSON', () => {
    const long = { key: 'x'.repeat(80) };
    expect(initialFieldValue(spec('cfg', 'dict', long))).toContain('\n');
  });
});

describe('parseField', () => {
  it('reads whole numbers for int', () => {
    expect(parseField('int', ' 42 ')).toEqual({ ok: true, value: 42 });
    expect(parseField('int', '-3')).toEqual({ ok: true, value: -3 });
    expect(parseField('int', '3.5')).toMatchObject({ ok: false });
    expect(parseField('int', '')).toMatchObject({
      ok: false,
      error: 'Enter a whole number.'
    });
    expect(parseField('int', '99999999999999999999')).toMatchObject({
      ok: false
    });
  });

  it('reads numbers for float', () => {
    expect(parseField('float', '0.7')).toEqual({ ok: true, value: 0.7 });
    expect(parseField('float', '1e-3')).toEqual({ ok: true, value: 0.001 });
    expect(parseField('float', '.5')).toEqual({ ok: true, value: 0.5 });
    expect(parseField('float', '2')).toEqual({ ok: true, value: 2 });
    expect(parseField('float', 'abc')).toMatchObject({ ok: false });
    expect(parseField('float', '1.2.3')).toMatchObject({ ok: false });
    expect(parseField('float', 'Infinity')).toMatchObject({ ok: false });
  });

  it('keeps strings as typed, spaces included', () => {
    expect(parseField('str', ' a b ')).toEqual({ ok: true, value: ' a b ' });
    expect(parseField('str', '')).toEqual({ ok: true, value: '' });
  });

  it('reads checkboxes for bool', () => {
    expect(parseField('bool', true)).toEqual({ ok: true, value: true });
    expect(parseField('bool', false)).toEqual({ ok: true, value: false });
  });

  it('checks JSON and its shape for list and dict', () => {
    expect(parseField('list', '[1, "a"]')).toEqual({
      ok: true,
      value: [1, 'a']
    });
    expect(parseField('list', '{"a": 1}')).toMatchObject({ ok: false });
    expect(parseField('dict', '{"a": [1]}')).toEqual({
      ok: true,
      value: { a: [1] }
    });
    expect(parseField('dict', '[1]')).toMatchObject({ ok: false });
    expect(parseField('dict', 'null')).toMatchObject({ ok: false });
    expect(parseField('list', '[1,')).toMatchObject({ ok: false });
    expect(parseField('list', '')).toMatchObject({ ok: false });
  });

  it('takes any JSON for any and none, empty meaning null', () => {
    expect(parseField('any', '"text"')).toEqual({ ok: true, value: 'text' });
    expect(parseField('none', '')).toEqual({ ok: true, value: null });
    expect(parseField('any', 'not json')).toMatchObject({ ok: false });
  });
});

describe('validateParameters', () => {
  const specs = [
    spec('alpha', 'float', 0.1),
    spec('epochs', 'int', 10),
    spec('verbose', 'bool', false),
    spec('layers', 'list', [32, 16])
  ];

  it('sends only what changed for a new run', () => {
    const form = buildParameterForm(specs);
    const result = validateParameters(
      form,
      { ...form.initial, alpha: '0.7' },
      { onlyChanged: true }
    );
    expect(result.valid).toBe(true);
    expect(result.errors).toEqual({});
    expect(result.parameters).toEqual({ alpha: 0.7 });
  });

  it('sends every field when asked', () => {
    const form = buildParameterForm(specs);
    const result = validateParameters(form, form.initial, {
      onlyChanged: false
    });
    expect(result.parameters).toEqual({
      alpha: 0.1,
      epochs: 10,
      verbose: false,
      layers: [32, 16]
    });
  });

  it('reports each invalid field and is invalid', () => {
    const form = buildParameterForm(specs);
    const result = validateParameters(
      form,
      { ...form.initial, alpha: 'abc', epochs: '1.5', layers: '{' },
      { onlyChanged: true }
    );
    expect(result.valid).toBe(false);
    expect(Object.keys(result.errors).sort()).toEqual([
      'alpha',
      'epochs',
      'layers'
    ]);
  });

  it('prefills a re-run and keeps parameters the notebook does not declare', () => {
    const form = buildParameterForm(specs, { alpha: 0.9, extra: 'x' });
    expect(form.initial.alpha).toBe('0.9');
    expect(form.specs.map(s => s.name)).toContain('extra');
    expect(form.specs.find(s => s.name === 'extra')!.type).toBe('str');
    const result = validateParameters(form, form.initial, {
      onlyChanged: false
    });
    expect(result.parameters.alpha).toBe(0.9);
    expect(result.parameters.extra).toBe('x');
  });
});

describe('validateJobOptions', () => {
  it('accepts empty options as defaults, retries being the server’s', () => {
    expect(validateJobOptions({ name: ' ', timeout: '', retries: '' })).toEqual(
      {
        errors: {},
        options: { name: null, timeout_seconds: null, max_retries: null }
      }
    );
    expect(
      validateJobOptions({ name: '', timeout: '', retries: '0' }).options
        .max_retries
    ).toBe(0);
  });

  it('reads name, timeout and retries', () => {
    expect(
      validateJobOptions({ name: 'nightly', timeout: '90.5', retries: '2' })
        .options
    ).toEqual({ name: 'nightly', timeout_seconds: 90.5, max_retries: 2 });
  });

  it('refuses a bad timeout and too many retries', () => {
    const { errors } = validateJobOptions({
      name: 'x'.repeat(201),
      timeout: '0',
      retries: '11'
    });
    expect(Object.keys(errors).sort()).toEqual(['name', 'retries', 'timeout']);
    expect(
      validateJobOptions({ name: '', timeout: '-5', retries: '1.5' }).errors
    ).toHaveProperty('retries');
  });
});

describe('free-form parameters', () => {
  const row = (
    key: number,
    name: string,
    type: 'str' | 'int' | 'float' | 'bool' | 'any',
    value: string | boolean
  ) => ({ key, name, type, value });

  it('reads each row as its type', () => {
    const result = validateFreeParameters(
      [
        row(0, 'alpha', 'float', '0.5'),
        row(1, 'epochs', 'int', '3'),
        row(2, 'label', 'str', 'run 1'),
        row(3, 'verbose', 'bool', true),
        row(4, 'layers', 'any', '[32, 16]')
      ],
      { python: true }
    );
    expect(result.valid).toBe(true);
    expect(result.parameters).toEqual({
      alpha: 0.5,
      epochs: 3,
      label: 'run 1',
      verbose: true,
      layers: [32, 16]
    });
  });

  it('ignores empty rows and flags bad names, duplicates and values by row', () => {
    const result = validateFreeParameters(
      [
        row(0, '', 'str', ''),
        row(1, '2fast', 'str', 'x'),
        row(2, 'lambda', 'int', '1'),
        row(3, 'alpha', 'int', '1'),
        row(4, 'beta', 'int', '1.5'),
        row(5, 'gamma', 'str', 'ok'),
        row(6, 'gamma', 'str', 'again')
      ],
      { python: true, taken: ['alpha'] }
    );
    expect(result.valid).toBe(false);
    expect(Object.keys(result.errors).map(Number)).toEqual([1, 2, 3, 4, 6]);
    expect(result.errors[2].name).toContain('Python keyword');
    expect(result.errors[3].name).toContain('twice');
    expect(result.errors[4].value).toContain('whole number');
    expect(result.parameters).toEqual({ gamma: 'ok' });
  });

  it('allows Python keywords as names in other languages', () => {
    expect(parameterNameError('lambda', false)).toBeNull();
    expect(parameterNameError('lambda', true)).not.toBeNull();
    expect(parameterNameError('été', true)).toBeNull();
    expect(parameterNameError('a-b', false)).not.toBeNull();
  });

  it('treats an unknown language as Python, as the server does', () => {
    expect(usesPython(null)).toBe(true);
    expect(usesPython('python')).toBe(true);
    expect(usesPython('Python 3')).toBe(true);
    expect(usesPython('R')).toBe(false);
  });
});
