import { KernelSpec } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { DataOpsApiError } from '../api';
import { IJobsClient } from '../jobs/client';
import { RunJobBody } from '../jobs/runDialog';
import { NotebookParameters } from '../jobs/types';
import { makeJob } from './fixtures';

const trans = nullTranslator.load('jupyter-dataops');

const kernelspecs = {
  specs: {
    default: 'python3',
    kernelspecs: {
      python3: {
        name: 'python3',
        display_name: 'Python 3 (ipykernel)',
        language: 'python'
      },
      other: {
        name: 'other',
        display_name: 'Other kernel',
        language: 'python'
      },
      ir: { name: 'ir', display_name: 'R', language: 'R' }
    }
  },
  specsChanged: new Signal<unknown, KernelSpec.ISpecModels>({})
} as unknown as KernelSpec.IManager;

const PARAMS: NotebookParameters = {
  path: 'demo/train.ipynb',
  has_parameters_cell: true,
  parameters: [
    {
      name: 'alpha',
      type: 'float',
      default: 0.1,
      default_repr: '0.1',
      help: 'Learning rate'
    },
    {
      name: 'layers',
      type: 'list',
      default: [32, 16],
      default_repr: '[32, 16]',
      help: ''
    },
    {
      name: 'verbose',
      type: 'bool',
      default: false,
      default_repr: 'False',
      help: ''
    }
  ],
  kernel_name: 'other',
  language: 'python',
  cell_count: 3,
  warnings: []
};

const NO_CELL_WARNING =
  "demo/plain.ipynb has no cell tagged 'parameters': the parameters are injected in a new cell at the top, as papermill does.";

function client(
  answer: () => Promise<NotebookParameters>
): Pick<IJobsClient, 'getNotebookParameters'> {
  return { getNotebookParameters: answer };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) {
      return;
    }
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  throw new Error('Timed out waiting for the form');
}

/** Set an input's value the way a user's typing does, so React sees it. */
function type(node: Element | null, value: string): void {
  const input = node as HTMLInputElement | HTMLTextAreaElement;
  const proto = Object.getPrototypeOf(input);
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(input, value);
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

/** Choose an option the way a user does, so React sees it. */
function select(node: HTMLSelectElement, value: string): void {
  const proto = Object.getPrototypeOf(node);
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(node, value);
  node.dispatchEvent(new Event('change', { bubbles: true }));
}

function open(options: Partial<ConstructorParameters<typeof RunJobBody>[0]>) {
  const body = new RunJobBody({
    client: client(async () => PARAMS),
    kernelspecs,
    path: 'demo/train.ipynb',
    rerunOf: null,
    initial: {},
    trans,
    ...options
  });
  Widget.attach(body, document.body);
  body.update();
  return body;
}

describe('RunJobBody', () => {
  let body: RunJobBody | null = null;
  afterEach(() => {
    body?.dispose();
    body = null;
  });

  it('builds one field per parameter, defaulting to the notebook’s kernel', async () => {
    body = open({});
    await until(() => body!.getValue() !== null);
    const node = body.node;
    expect(
      (node.querySelector('#jp-DataOps-param-alpha') as HTMLInputElement).type
    ).toBe('number');
    expect(
      (node.querySelector('#jp-DataOps-param-verbose') as HTMLInputElement).type
    ).toBe('checkbox');
    expect(
      node.querySelector('textarea#jp-DataOps-param-layers')
    ).not.toBeNull();
    expect(node.textContent).toContain('Learning rate');
    const value = body.getValue()!;
    expect(value.kernelName).toBe('other');
    expect(value.parameters).toEqual({});
    expect(value.options).toEqual({
      name: null,
      timeout_seconds: null,
      max_retries: null
    });
    // Nothing to warn about: no warning list.
    expect(node.querySelector('.jp-DataOps-RunForm-warnings')).toBeNull();
  });

  it('sends a changed value, typed', async () => {
    body = open({});
    await until(() => body!.getValue() !== null);
    type(body.node.querySelector('#jp-DataOps-param-alpha'), '0.7');
    await until(() => body!.getValue()?.parameters.alpha === 0.7);
    expect(body.getValue()!.parameters).toEqual({ alpha: 0.7 });
  });

  it('shows an inline error and holds no request while a field is invalid', async () => {
    body = open({});
    await until(() => body!.getValue() !== null);
    type(body.node.querySelector('#jp-DataOps-param-layers'), '[1,');
    await until(() => body!.getValue() === null);
    await until(
      () => body!.node.querySelector('.jp-DataOps-fieldError') !== null
    );
    expect(
      body.node.querySelector('.jp-DataOps-fieldError')!.textContent
    ).toContain('Not valid JSON');
    // The dialog disables Run while an element has `jp-mod-error`.
    expect(body.node.querySelector('.jp-mod-error')).not.toBeNull();
    type(body.node.querySelector('#jp-DataOps-param-layers'), '[1, 2]');
    await until(() => body!.getValue() !== null);
    expect(body.getValue()!.parameters).toEqual({ layers: [1, 2] });
    expect(body.node.querySelector('.jp-mod-error')).toBeNull();
  });

  it('checks the job options', async () => {
    body = open({});
    await until(() => body!.getValue() !== null);
    type(body.node.querySelector('#jp-DataOps-retries'), '11');
    await until(() => body!.getValue() === null);
    type(body.node.querySelector('#jp-DataOps-retries'), '2');
    type(body.node.querySelector('#jp-DataOps-timeout'), '30');
    type(body.node.querySelector('#jp-DataOps-name'), 'nightly');
    await until(() => body!.getValue()?.options.name === 'nightly');
    expect(body.getValue()!.options).toEqual({
      name: 'nightly',
      timeout_seconds: 30,
      max_retries: 2
    });
    type(body.node.querySelector('#jp-DataOps-retries'), '');
    await until(() => body!.getValue()?.options.max_retries === null);
  });

  it('shows the server’s warnings and takes free-form parameters for a notebook without a parameters cell', async () => {
    body = open({
      path: 'demo/plain.ipynb',
      client: client(async () => ({
        ...PARAMS,
        path: 'demo/plain.ipynb',
        has_parameters_cell: false,
        parameters: [],
        warnings: [NO_CELL_WARNING]
      }))
    });
    await until(() => body!.getValue() !== null);
    const node = body.node;
    expect(
      node.querySelector('.jp-DataOps-RunForm-warnings')!.textContent
    ).toBe(NO_CELL_WARNING);
    // No declared fields: the free-form rows are the parameters.
    expect(node.querySelector('.jp-DataOps-param')).toBeNull();
    expect(
      node.querySelector('.jp-DataOps-RunForm-free legend')!.textContent
    ).toBe('Parameters');
    expect(body.getValue()!.parameters).toEqual({});

    const add = () =>
      (
        node.querySelector('.jp-DataOps-addParameter') as HTMLButtonElement
      ).click();
    add();
    await until(
      () => node.querySelectorAll('.jp-DataOps-freeRow').length === 1
    );
    type(
      node.querySelector('.jp-DataOps-freeRow .jp-DataOps-freeName'),
      'alpha'
    );
    const typeSelect = node.querySelector(
      '.jp-DataOps-freeRow .jp-DataOps-freeType'
    ) as HTMLSelectElement;
    select(typeSelect, 'float');
    type(
      node.querySelector('.jp-DataOps-freeRow .jp-DataOps-freeValue'),
      '0.7'
    );
    await until(() => body!.getValue()?.parameters.alpha === 0.7);

    add();
    await until(
      () => node.querySelectorAll('.jp-DataOps-freeRow').length === 2
    );
    const second = node.querySelectorAll('.jp-DataOps-freeRow')[1];
    type(second.querySelector('.jp-DataOps-freeName'), 'class');
    type(second.querySelector('.jp-DataOps-freeValue'), 'x');
    // A Python keyword cannot be a parameter: Run is disabled, the row says why.
    await until(() => body!.getValue() === null);
    expect(
      second.querySelector('.jp-DataOps-fieldError')!.textContent
    ).toContain('Python keyword');
    expect(node.querySelector('.jp-mod-error')).not.toBeNull();
    type(second.querySelector('.jp-DataOps-freeName'), 'label');
    await until(() => body!.getValue()?.parameters.label === 'x');
    expect(body.getValue()!.parameters).toEqual({ alpha: 0.7, label: 'x' });

    // Removing a row drops its parameter.
    (
      second.querySelector('.jp-DataOps-freeRemove') as HTMLButtonElement
    ).click();
    await until(() => body!.getValue()?.parameters.label === undefined);
    expect(body.getValue()!.parameters).toEqual({ alpha: 0.7 });
    expect(body.getValue()!.freeRows).toHaveLength(1);
  });

  it('lets a notebook with a parameters cell take extra parameters too', async () => {
    body = open({});
    await until(() => body!.getValue() !== null);
    const node = body.node;
    expect(node.querySelector('.jp-DataOps-freeRow')).toBeNull();
    (
      node.querySelector('.jp-DataOps-addParameter') as HTMLButtonElement
    ).click();
    await until(
      () => node.querySelectorAll('.jp-DataOps-freeRow').length === 1
    );
    expect(
      node.querySelector('.jp-DataOps-RunForm-free legend')!.textContent
    ).toBe('Other parameters');
    // A name the cell declares is given twice.
    type(node.querySelector('.jp-DataOps-freeName'), 'alpha');
    type(node.querySelector('.jp-DataOps-freeValue'), 'x');
    await until(() => body!.getValue() === null);
    type(node.querySelector('.jp-DataOps-freeName'), 'seed');
    await until(() => body!.getValue()?.parameters.seed === 'x');
  });

  it('keeps free-form rows when the dialog reopens after a refusal', async () => {
    body = open({
      client: client(async () => ({
        ...PARAMS,
        has_parameters_cell: false,
        parameters: [],
        warnings: [NO_CELL_WARNING]
      })),
      initial: {
        freeRows: [{ key: 4, name: 'seed', type: 'int', value: '7' }],
        error: { message: 'The queue is full.', hint: null }
      }
    });
    await until(() => body!.getValue() !== null);
    expect(body.getValue()!.parameters).toEqual({ seed: 7 });
    expect(body.node.textContent).toContain('The queue is full.');
  });

  it('warns when the kernel does not speak the notebook’s language', async () => {
    body = open({});
    await until(() => body!.getValue() !== null);
    expect(body.node.querySelector('.jp-DataOps-fieldWarning')).toBeNull();
    select(
      body.node.querySelector('#jp-DataOps-kernel') as HTMLSelectElement,
      'ir'
    );
    await until(
      () => body!.node.querySelector('.jp-DataOps-fieldWarning') !== null
    );
    expect(
      body.node.querySelector('.jp-DataOps-fieldWarning')!.textContent
    ).toContain('R');
  });

  it('prefills a re-run and sends the original parameters with the changes', async () => {
    const job = makeJob({ parameters: { alpha: 0.5, extra: 'x' } });
    body = open({
      rerunOf: job,
      initial: { parameters: job.parameters, kernelName: 'python3' }
    });
    await until(() => body!.getValue() !== null);
    expect(
      (body.node.querySelector('#jp-DataOps-param-alpha') as HTMLInputElement)
        .value
    ).toBe('0.5');
    // Name, timeout and retries belong to the original job.
    expect(body.node.querySelector('#jp-DataOps-name')).toBeNull();
    type(body.node.querySelector('#jp-DataOps-param-alpha'), '0.9');
    await until(() => body!.getValue()?.parameters.alpha === 0.9);
    expect(body.getValue()!.parameters).toEqual({ alpha: 0.9, extra: 'x' });
    expect(body.getValue()!.kernelName).toBe('python3');
  });

  it('shows why the parameters could not be read, and the server’s refusal', async () => {
    body = open({
      client: client(async () => {
        throw new DataOpsApiError({
          kind: 'not_found',
          status: 404,
          message: 'No notebook demo/train.ipynb.',
          hint: 'Check the path.'
        });
      }),
      initial: {
        error: { message: 'Kernel nope is not installed.', hint: null }
      }
    });
    await until(() => body!.node.textContent!.includes('Check the path.'));
    expect(body.node.textContent).toContain('No notebook demo/train.ipynb.');
    expect(body.node.textContent).toContain('Kernel nope is not installed.');
    expect(body.getValue()).toBeNull();
  });
});
