import { KernelSpec } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { DataOpsApiError, ServerInfo } from '../api';
import { IJobsClient } from '../jobs/client';
import {
  IRunExecutorSource,
  IRunRequest,
  IRunTargetSource,
  openRunDialog,
  RunJobBody
} from '../jobs/runDialog';
import { jobCreate, KERNEL_TARGET } from '../jobs/target';
import { JobCreate, NotebookParameters } from '../jobs/types';
import { scheduleCreate, scheduleUpdate } from '../schedules/definition';
import { Schedule, ScheduleCreate } from '../schedules/types';
import { IJobsModel, ISchedulesModel } from '../tokens';
import { makeSchedule } from './fakeSchedulesClient';
import {
  makeExecutor,
  makeInfo,
  makeJob,
  makeProfileView,
  makeSandbox
} from './fixtures';

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

describe('The run dialog’s “Run on”', () => {
  const LOCAL = makeExecutor('local');
  const KUBERNETES = makeExecutor('kubernetes', { gpus: true });
  const sandboxes = {
    listSandboxes: async () => ({ items: [makeSandbox()], total: 1 }),
    listProfiles: async () => ({
      items: [makeProfileView('local')],
      limits_method: 'rlimits',
      gpu_inventory: [],
      gpu_inventory_source: 'none'
    })
  } as unknown as IRunTargetSource;

  let body: RunJobBody | null = null;
  afterEach(() => {
    body?.dispose();
    body = null;
  });
  const q = (selector: string) => body!.node.querySelector(selector);
  const runOn = () => q('#jp-DataOps-executor') as HTMLSelectElement | null;
  const request = (value: IRunRequest) =>
    jobCreate({
      path: 'demo/train.ipynb',
      parameters: value.parameters,
      kernelName: value.kernelName,
      target: value.target,
      job: value.options,
      executor: value.executor
    });

  it('is hidden with one executor, or none known', async () => {
    for (const executors of [[LOCAL], [], null, undefined]) {
      body = open({ executors, sandboxes });
      await until(() => body!.getValue() !== null);
      await until(() => q('[data-target="profile:local"]') !== null);
      expect(runOn()).toBeNull();
      expect(body.node.textContent).not.toContain('Run on');
      expect(body.getValue()!.executor).toBeNull();
      expect(request(body.getValue()!)).not.toHaveProperty('executor');
      body.dispose();
    }
    // The server's info could not be read: nothing to choose.
    body = open({
      executors: async () => {
        throw new DataOpsApiError({
          kind: 'network',
          status: 0,
          message: 'offline'
        });
      }
    });
    await until(() => body!.getValue() !== null);
    await new Promise(resolve => setTimeout(resolve, 20));
    expect(runOn()).toBeNull();
  });

  it('lists the executors, the server’s default first and chosen, and sends none for it', async () => {
    body = open({ executors: [LOCAL, KUBERNETES, makeExecutor('slurm')] });
    await until(() => runOn() !== null);
    const select = runOn()!;
    expect([...select.options].map(option => option.textContent)).toEqual([
      'This machine (local) (default)',
      'Kubernetes cluster (kubernetes)',
      'slurm'
    ]);
    expect([...select.options].map(option => option.value)).toEqual([
      'local',
      'kubernetes',
      'slurm'
    ]);
    expect(select.value).toBe('local');
    expect(q('label[for="jp-DataOps-executor"]')!.textContent).toBe('Run on');
    await until(() => body!.getValue() !== null);
    expect(body.getValue()!.executor).toBeNull();
    expect(request(body.getValue()!)).toEqual({
      notebook_path: 'demo/train.ipynb',
      parameters: {},
      kernel_name: 'other',
      name: null,
      timeout_seconds: null,
      max_retries: null
    });
  });

  it('reads the executors when the list is not known yet', async () => {
    body = open({ executors: async () => [KUBERNETES, LOCAL] });
    await until(() => runOn() !== null);
    expect(runOn()!.value).toBe('kubernetes');
    expect(runOn()!.options[0].textContent).toBe(
      'Kubernetes cluster (kubernetes) (default)'
    );
    await until(() => body!.getValue() !== null);
    expect(body.getValue()!.executor).toBeNull();
  });

  it('sends the executor chosen, where sandboxes of this machine do not apply', async () => {
    body = open({ executors: [LOCAL, KUBERNETES], sandboxes });
    await until(() => q('[data-target="sandbox:abc123def456"]') !== null);
    (q('[data-target="sandbox:abc123def456"] input') as HTMLElement).click();
    await until(() => body!.getValue()?.target.kind === 'sandbox');

    select(runOn()!, 'kubernetes');
    await until(() => body!.getValue()?.executor === 'kubernetes');
    // Back to the notebook's kernel; the sandbox and profile are disabled, with why.
    expect(body.getValue()!.target).toEqual(KERNEL_TARGET);
    expect(q('[data-target="kernel"] input')).toHaveProperty('checked', true);
    expect(q('#jp-DataOps-kernel')).not.toBeNull();
    for (const key of ['sandbox:abc123def456', 'profile:local']) {
      expect(q(`[data-target="${key}"] input`)).toHaveProperty(
        'disabled',
        true
      );
      expect(q(`[data-target="${key}"]`)!.textContent).toContain(
        'Sandboxes run on this machine only for now.'
      );
    }
    expect(q('[data-target="kernel"] input')).toHaveProperty('disabled', false);
    expect(request(body.getValue()!)).toEqual({
      notebook_path: 'demo/train.ipynb',
      parameters: {},
      kernel_name: 'other',
      name: null,
      timeout_seconds: null,
      max_retries: null,
      executor: 'kubernetes'
    });

    // Back on this machine: the sandboxes can be chosen again.
    select(runOn()!, 'local');
    await until(() => body!.getValue()?.executor === null);
    await until(
      () =>
        (q('[data-target="sandbox:abc123def456"] input') as HTMLInputElement)
          .disabled === false
    );
    expect(request(body.getValue()!)).not.toHaveProperty('executor');
  });

  it('sends a profile to an executor that sizes the run’s pod by it', async () => {
    const SIZING = makeExecutor('kubernetes', { gpus: true, profiles: true });
    body = open({ executors: [LOCAL, SIZING], sandboxes });
    await until(() => q('[data-target="profile:local"]') !== null);
    (q('[data-target="profile:local"] input') as HTMLElement).click();
    await until(() => body!.getValue()?.target.kind === 'profile');
    select(runOn()!, 'kubernetes');
    await until(() => body!.getValue()?.executor === 'kubernetes');
    // The profile stays chosen, as the size of the job's pod; the sandbox not.
    expect(body.getValue()!.target).toEqual({
      kind: 'profile',
      profile: 'local'
    });
    expect(q('[data-target="profile:local"]')!.textContent).toContain(
      'A pod on kubernetes sized like profile local'
    );
    expect(q('[data-target="sandbox:abc123def456"] input')).toHaveProperty(
      'disabled',
      true
    );
    expect(request(body.getValue()!)).toMatchObject({
      profile: 'local',
      executor: 'kubernetes'
    });
    expect(request(body.getValue()!)).not.toHaveProperty('kernel_name');
  });

  it('keeps the executor chosen when the dialog reopens after a refusal', async () => {
    body = open({
      executors: [LOCAL, KUBERNETES],
      initial: {
        executor: 'kubernetes',
        error: { message: 'No cluster.', hint: null }
      }
    });
    await until(() => body!.getValue() !== null);
    expect(runOn()!.value).toBe('kubernetes');
    expect(body.getValue()!.executor).toBe('kubernetes');
  });

  const preview = async (cron: string, timezone: string) => ({
    description: cron,
    timezone,
    next_runs: [],
    min_interval_seconds: 86400
  });

  it('is not offered for a re-run or a schedule’s run now', async () => {
    const executors = [LOCAL, KUBERNETES];
    body = open({
      executors,
      rerunOf: makeJob(),
      initial: { parameters: { alpha: 0.5 }, kernelName: 'python3' }
    });
    await until(() => body!.getValue() !== null);
    expect(runOn()).toBeNull();
    body.dispose();

    body = open({
      executors,
      scheduling: {
        preview,
        runNowOf: makeSchedule({ executor: 'kubernetes' })
      },
      initial: { parameters: { alpha: 0.5 } }
    });
    await until(() => body!.getValue() !== null);
    expect(runOn()).toBeNull();
  });

  it('sends the choice on a schedule as where its runs go', async () => {
    body = open({
      executors: [LOCAL, KUBERNETES],
      sandboxes,
      scheduling: { preview, previewDelay: 10 }
    });
    await until(() => runOn() !== null);
    select(runOn()!, 'kubernetes');
    await until(() => body!.getValue()?.executor === 'kubernetes');
    // The choice stays when the mode changes.
    (
      q('input[name="jp-DataOps-mode"][value="schedule"]') as HTMLElement
    ).click();
    await until(() => body!.getValue()?.mode === 'schedule');
    expect(runOn()!.value).toBe('kubernetes');
    expect(body.getValue()!.executor).toBe('kubernetes');
    // Sandboxes are this machine's: not for runs on the cluster.
    expect(q('[data-target="sandbox:abc123def456"] input')).toHaveProperty(
      'disabled',
      true
    );
    const created = () => {
      const value = body!.getValue()!;
      return scheduleCreate({
        path: 'demo/train.ipynb',
        fields: value.schedule!,
        parameters: value.parameters,
        kernelName: value.kernelName,
        target: value.target,
        job: value.options,
        executor: value.executor
      });
    };
    expect(created()).toMatchObject({
      kernel_name: 'other',
      executor: 'kubernetes'
    });
    // The server's default: the schedule names none, and may use a sandbox.
    select(runOn()!, 'local');
    await until(() => body!.getValue()?.executor === null);
    expect(created()).not.toHaveProperty('executor');
    await until(
      () =>
        (q('[data-target="sandbox:abc123def456"] input') as HTMLInputElement)
          .disabled === false
    );
  });

  it('starts an edit from where the schedule’s runs go, and sends only a change', async () => {
    const edit = (schedule: Schedule, executors: IRunExecutorSource | null) =>
      open({
        executors,
        scheduling: { preview, previewDelay: 10, edit: schedule },
        initial: { mode: 'schedule', parameters: schedule.parameters }
      });
    const update = (schedule: Schedule) => {
      const value = body!.getValue()!;
      return scheduleUpdate(schedule, {
        fields: value.schedule!,
        parameters: value.parameters,
        kernelName: value.kernelName,
        kernelChanged: value.kernelChanged,
        target: value.target,
        job: value.options,
        executor: value.executor
      });
    };
    const there = makeSchedule({
      executor: 'kubernetes',
      parameters: {},
      cron: '0 6 * * *',
      timezone: 'UTC'
    });
    body = edit(there, [LOCAL, KUBERNETES]);
    await until(() => runOn() !== null && body!.getValue() !== null);
    expect(runOn()!.value).toBe('kubernetes');
    expect(body.getValue()!.executor).toBe('kubernetes');
    expect(update(there)).toEqual({});
    select(runOn()!, 'local');
    await until(() => body!.getValue()?.executor === null);
    expect(update(there)).toEqual({ executor: null }); // back to the server's default
    body.dispose();

    // One the server no longer offers stays, said so, until the user picks another.
    body = edit(there, [LOCAL]);
    await until(() => runOn() !== null && body!.getValue() !== null);
    expect([...runOn()!.options].map(option => option.textContent)).toEqual([
      'This machine (local) (default)',
      'Kubernetes cluster (kubernetes) (the server does not offer it now)'
    ]);
    expect(runOn()!.value).toBe('kubernetes');
    expect(update(there)).toEqual({});
    body.dispose();

    // Without the server's executors nothing is offered, and nothing moves.
    body = edit(there, null);
    await until(() => body!.getValue() !== null);
    expect(runOn()).toBeNull();
    expect(update(there)).toEqual({});
    body.dispose();

    const here = { ...there, executor: null };
    body = edit(here, [LOCAL, KUBERNETES]);
    await until(() => runOn() !== null && body!.getValue() !== null);
    expect(runOn()!.value).toBe('local');
    expect(update(here)).toEqual({});
    select(runOn()!, 'kubernetes');
    await until(() => body!.getValue()?.executor === 'kubernetes');
    expect(update(here)).toEqual({ executor: 'kubernetes' });
  });
});

describe('openRunDialog’s “Run on”', () => {
  const dialogQ = (selector: string) =>
    document.body.querySelector(`.jp-Dialog ${selector}`);
  const accept = () =>
    dialogQ('.jp-Dialog-button.jp-mod-accept') as HTMLButtonElement | null;

  async function run(
    info: ServerInfo | null,
    choose: string | null
  ): Promise<JobCreate[]> {
    const sent: JobCreate[] = [];
    const model = {
      client: {
        ...client(async () => PARAMS),
        getInfo: async () => {
          if (!info) {
            throw new DataOpsApiError({
              kind: 'network',
              status: 0,
              message: 'offline'
            });
          }
          return info;
        }
      },
      info: null,
      createJob: async (request: JobCreate) => {
        sent.push(request);
        return makeJob({ id: 'job-9' });
      }
    } as unknown as IJobsModel;
    const pending = openRunDialog({
      model,
      kernelspecs,
      path: 'demo/train.ipynb',
      trans
    });
    await until(() => dialogQ('#jp-DataOps-param-alpha') !== null);
    if (choose) {
      await until(() => dialogQ('#jp-DataOps-executor') !== null);
      select(dialogQ('#jp-DataOps-executor') as HTMLSelectElement, choose);
      await until(
        () =>
          (dialogQ('#jp-DataOps-executor') as HTMLSelectElement).value ===
          choose
      );
    } else {
      // Let the server's info arrive.
      await new Promise(resolve => setTimeout(resolve, 20));
    }
    await until(() => accept() !== null && !accept()!.disabled);
    accept()!.click();
    const result = await pending;
    expect(result?.kind).toBe('job');
    return sent;
  }

  const TWO = makeInfo({
    executors: [makeExecutor('local'), makeExecutor('kubernetes')]
  });

  it('sends the executor the user picked', async () => {
    const sent = await run(TWO, 'kubernetes');
    expect(sent).toHaveLength(1);
    expect(sent[0].executor).toBe('kubernetes');
    expect(sent[0].kernel_name).toBe('other');
  });

  it('creates a schedule whose runs go to the executor the user picked', async () => {
    const created: ScheduleCreate[] = [];
    const schedules = {
      preview: async (cron: string, timezone: string) => ({
        description: cron,
        timezone,
        next_runs: [],
        min_interval_seconds: 86400
      }),
      createSchedule: async (request: ScheduleCreate) => {
        created.push(request);
        return makeSchedule({ executor: request.executor ?? null });
      }
    } as unknown as ISchedulesModel;
    const model = {
      client: client(async () => PARAMS),
      info: TWO,
      createJob: async () => {
        throw new Error('not a job');
      }
    } as unknown as IJobsModel;
    const pending = openRunDialog({
      model,
      kernelspecs,
      path: 'demo/train.ipynb',
      schedules,
      initial: { mode: 'schedule' },
      trans
    });
    await until(() => dialogQ('#jp-DataOps-executor') !== null);
    select(dialogQ('#jp-DataOps-executor') as HTMLSelectElement, 'kubernetes');
    await until(
      () =>
        (dialogQ('#jp-DataOps-executor') as HTMLSelectElement).value ===
        'kubernetes'
    );
    await until(() => accept() !== null && !accept()!.disabled);
    expect(accept()!.textContent).toBe('Create schedule');
    accept()!.click();
    const result = await pending;
    expect(result?.kind).toBe('schedule');
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      notebook_path: 'demo/train.ipynb',
      executor: 'kubernetes'
    });
  });

  it('sends no executor for the server’s default, or without the server’s info', async () => {
    for (const [info, choose] of [
      [TWO, null],
      [TWO, 'local'],
      [makeInfo(), null],
      [null, null]
    ] as const) {
      const sent = await run(info, choose);
      expect(sent).toHaveLength(1);
      expect(sent[0]).not.toHaveProperty('executor');
    }
  });
});
