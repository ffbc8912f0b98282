import { KernelSpec } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { DataOpsApiError } from '../api';
import { JobsModel } from '../jobs/model';
import { IRunTargetSource, openRunDialog, RunJobBody } from '../jobs/runDialog';
import { JobsSection } from '../jobs/section';
import {
  executorLabel,
  jobCreate,
  KERNEL_TARGET,
  optionText,
  profileTargetLabel,
  runTargetOptions,
  sandboxesApply,
  sandboxOfJob,
  sandboxTargetLabel,
  scheduleTargetText,
  targetFields,
  targetKey,
  targetOf
} from '../jobs/target';
import { JobCreate, NotebookParameters } from '../jobs/types';
import { SandboxCommandIDs } from '../sandboxes/commands';
import { SandboxesModel } from '../sandboxes/model';
import { ISandboxesModel } from '../sandboxes/tokens';
import { Sandbox } from '../sandboxes/types';
import { scheduleCreate, scheduleUpdate } from '../schedules/definition';
import { IJobsModel } from '../tokens';
import { FakeJobsClient } from './fakeJobsClient';
import { makeSchedule } from './fakeSchedulesClient';
import { makeJob, makeProfileView, makeSandbox } from './fixtures';

const trans = nullTranslator.load('jupyter-dataops');

const GI = 2 ** 30;

const OPTIONS = { name: null, timeout_seconds: null, max_retries: null };

const SANDBOX = makeSandbox();
const CPU_SANDBOX = makeSandbox({
  id: 'fed987cba654',
  profile: 'local',
  kernel_name: 'dataops-sandbox-fed987cba654',
  resources: { cpus: 1, memory_bytes: 2 * GI, gpus: 0, gpu_type: null },
  devices: []
});
const PROVISIONING = makeSandbox({
  id: 'prov00000001',
  status: 'provisioning'
});
const STOPPED = makeSandbox({ id: 'stop00000001', status: 'stopped' });

const LOCAL = makeProfileView('local');
const GPU = makeProfileView('gpu', {
  profile: { cpus: 4, memory_bytes: 16 * GI, gpus: 1, gpu_type: 'a100' },
  available: false,
  reason: 'No a100 GPU here (the inventory has t4 only).'
});

describe('Run targets', () => {
  it('names a target by a key, and reads one from a schedule', () => {
    expect(targetKey(KERNEL_TARGET)).toBe('kernel');
    expect(targetKey({ kind: 'sandbox', sandbox: 'abc' })).toBe('sandbox:abc');
    expect(targetKey({ kind: 'profile', profile: 'gpu' })).toBe('profile:gpu');
    expect(targetOf({ sandbox: null, profile: null })).toEqual(KERNEL_TARGET);
    expect(targetOf({ sandbox: 'abc', profile: null })).toEqual({
      kind: 'sandbox',
      sandbox: 'abc'
    });
    expect(targetOf({ profile: 'gpu' })).toEqual({
      kind: 'profile',
      profile: 'gpu'
    });
  });

  it('labels a sandbox with its profile, short id and what it holds', () => {
    expect(sandboxTargetLabel(SANDBOX, trans)).toBe(
      'Sandbox gpu-small abc123 · 1 CPU · 2Gi · GPU 0 (t4)'
    );
    expect(sandboxTargetLabel(CPU_SANDBOX, trans)).toBe(
      'Sandbox local fed987 · 1 CPU · 2Gi'
    );
    expect(profileTargetLabel('local', false, trans)).toBe(
      'A new sandbox of profile local'
    );
    expect(profileTargetLabel('local', true, trans)).toBe(
      'A new sandbox of profile local for each run'
    );
  });

  it('offers the kernel, each ready sandbox, then a new sandbox of each profile', () => {
    const options = runTargetOptions(
      {
        sandboxes: [SANDBOX, PROVISIONING, CPU_SANDBOX, STOPPED],
        profiles: [LOCAL, GPU]
      },
      trans
    );
    expect(options.map(optionText)).toEqual([
      'The notebook’s kernel',
      'Sandbox gpu-small abc123 · 1 CPU · 2Gi · GPU 0 (t4)',
      'Sandbox local fed987 · 1 CPU · 2Gi',
      'A new sandbox of profile local · 1 CPU · 2Gi',
      'A new sandbox of profile gpu · 4 CPU · 16Gi · 1× a100'
    ]);
    expect(options.map(option => option.key)).toEqual([
      'kernel',
      'sandbox:abc123def456',
      'sandbox:fed987cba654',
      'profile:local',
      'profile:gpu'
    ]);
    // The profile the policy refuses is shown, disabled, with why.
    expect(options.map(option => option.disabled)).toEqual([
      false,
      false,
      false,
      false,
      true
    ]);
    expect(options[4].reason).toBe(
      'No a100 GPU here (the inventory has t4 only).'
    );
    expect(options.slice(0, 4).every(option => option.reason === null)).toBe(
      true
    );
  });

  it('keeps the chosen target offered when it is no longer ready or offered', () => {
    const stopped = runTargetOptions(
      {
        sandboxes: [STOPPED],
        profiles: [],
        current: { kind: 'sandbox', sandbox: STOPPED.id }
      },
      trans
    );
    expect(stopped.map(option => option.key)).toEqual([
      'kernel',
      'sandbox:stop00000001'
    ]);
    expect(stopped[1].label).toBe('Sandbox gpu-small stop00');
    expect(stopped[1].reason).toBe(
      'Not ready (Stopped): a run needs it ready.'
    );
    const gone = runTargetOptions(
      {
        sandboxes: [],
        profiles: [GPU],
        current: { kind: 'sandbox', sandbox: 'gone12345678' }
      },
      trans
    );
    expect(gone[1].label).toBe('Sandbox gone12');
    expect(gone[1].reason).toBe('No such sandbox now: a run needs it ready.');
    // A schedule's unavailable profile stays chosen (the user may keep it).
    const scheduled = runTargetOptions(
      {
        sandboxes: [],
        profiles: [GPU],
        current: { kind: 'profile', profile: 'gpu' },
        scheduled: true
      },
      trans
    );
    expect(scheduled[1].label).toBe(
      'A new sandbox of profile gpu for each run'
    );
    expect(scheduled[1].disabled).toBe(false);
    expect(scheduled[1].reason).toContain('No a100 GPU here');
    const unknown = runTargetOptions(
      {
        sandboxes: [],
        profiles: [],
        current: { kind: 'profile', profile: 'old' }
      },
      trans
    );
    expect(unknown.map(option => option.key)).toEqual([
      'kernel',
      'profile:old'
    ]);
    expect(unknown[1].reason).toBe('The server offers no such profile now.');
  });

  it('gives exactly one of kernel_name, sandbox and profile', () => {
    expect(targetFields(KERNEL_TARGET, 'python3')).toEqual({
      kernel_name: 'python3'
    });
    expect(targetFields(KERNEL_TARGET, null)).toEqual({ kernel_name: null });
    expect(
      targetFields({ kind: 'sandbox', sandbox: 'abc' }, 'python3')
    ).toEqual({ sandbox: 'abc' });
    expect(
      targetFields({ kind: 'profile', profile: 'gpu' }, 'python3')
    ).toEqual({ profile: 'gpu' });
    const targets = [
      KERNEL_TARGET,
      { kind: 'sandbox' as const, sandbox: 'abc' },
      { kind: 'profile' as const, profile: 'gpu' }
    ];
    for (const target of targets) {
      const request = jobCreate({
        path: 'demo/train.ipynb',
        parameters: { alpha: 1 },
        kernelName: 'python3',
        target,
        job: OPTIONS
      });
      const given = (['kernel_name', 'sandbox', 'profile'] as const).filter(
        key => key in request
      );
      expect(given).toHaveLength(1);
    }
    expect(
      jobCreate({
        path: 'demo/train.ipynb',
        parameters: { alpha: 1 },
        kernelName: 'python3',
        target: { kind: 'sandbox', sandbox: 'abc123def456' },
        job: { name: 'train', timeout_seconds: 60, max_retries: 1 }
      })
    ).toEqual({
      notebook_path: 'demo/train.ipynb',
      parameters: { alpha: 1 },
      sandbox: 'abc123def456',
      name: 'train',
      timeout_seconds: 60,
      max_retries: 1
    });
    // Without a target, the kernel (as before).
    expect(
      jobCreate({
        path: 'a.ipynb',
        parameters: {},
        kernelName: 'python3',
        job: OPTIONS
      })
    ).toEqual({
      notebook_path: 'a.ipynb',
      parameters: {},
      kernel_name: 'python3',
      ...OPTIONS
    });
  });

  it('names the executors, and sends one only when chosen', () => {
    expect(executorLabel('local', true, trans)).toBe(
      'This machine (local) (default)'
    );
    expect(executorLabel('kubernetes', false, trans)).toBe(
      'Kubernetes cluster (kubernetes)'
    );
    expect(executorLabel('slurm', false, trans)).toBe('slurm');
    expect(sandboxesApply(null)).toBe(true);
    expect(sandboxesApply('local')).toBe(true);
    expect(sandboxesApply('kubernetes')).toBe(false);
    const create = (executor?: string | null) =>
      jobCreate({
        path: 'a.ipynb',
        parameters: {},
        kernelName: 'python3',
        job: OPTIONS,
        executor
      });
    expect(create()).not.toHaveProperty('executor');
    expect(create(null)).not.toHaveProperty('executor');
    expect(create('kubernetes').executor).toBe('kubernetes');
  });

  it('disables the sandboxes and profiles on another executor than this machine’s', () => {
    const lists = { sandboxes: [SANDBOX], profiles: [LOCAL, GPU] };
    const here = runTargetOptions({ ...lists, executor: 'local' }, trans);
    expect(here).toEqual(runTargetOptions(lists, trans));
    const there = runTargetOptions({ ...lists, executor: 'kubernetes' }, trans);
    expect(there.map(option => option.key)).toEqual(
      here.map(option => option.key)
    );
    expect(there.map(option => option.disabled)).toEqual([
      false,
      true,
      true,
      true
    ]);
    expect(there[0].reason).toBeNull();
    for (const option of there.slice(1)) {
      expect(option.reason).toBe('Sandboxes run on this machine only for now.');
    }
  });

  it('offers the profiles, as pod sizes, on an executor that sizes runs by them', () => {
    const lists = { sandboxes: [SANDBOX], profiles: [LOCAL, GPU] };
    const there = runTargetOptions(
      { ...lists, executor: 'kubernetes', sizedByProfile: true },
      trans
    );
    expect(
      there.map(option => [option.key, option.disabled, option.reason])
    ).toEqual([
      ['kernel', false, null],
      [
        'sandbox:abc123def456',
        true,
        'Sandboxes run on this machine only for now.'
      ],
      // GPU cannot start a sandbox here; the cluster may have one (the server checks).
      ['profile:local', false, null],
      ['profile:gpu', false, null]
    ]);
    expect(there[3].label).toBe('A pod on kubernetes sized like profile gpu');
    expect(there[3].detail).toContain('a100');
  });

  it('puts the target in a schedule to create', () => {
    const fields = {
      cron: '0 6 * * *',
      timezone: 'UTC',
      misfire_policy: 'run_once' as const,
      misfire_grace_seconds: 300,
      concurrency_policy: 'forbid' as const,
      notify: {
        on_failure: true,
        on_success: false,
        webhook_url: null,
        email_to: []
      }
    };
    const create = (target?: Parameters<typeof targetFields>[0]) =>
      scheduleCreate({
        path: 'demo/train.ipynb',
        fields,
        parameters: {},
        kernelName: 'python3',
        target,
        job: OPTIONS
      });
    expect(create().kernel_name).toBe('python3');
    const inSandbox = create({ kind: 'sandbox', sandbox: 'abc123def456' });
    expect(inSandbox.sandbox).toBe('abc123def456');
    expect(inSandbox).not.toHaveProperty('kernel_name');
    expect(inSandbox).not.toHaveProperty('profile');
    const perRun = create({ kind: 'profile', profile: 'local' });
    expect(perRun.profile).toBe('local');
    expect(perRun).not.toHaveProperty('kernel_name');
    expect(perRun).not.toHaveProperty('sandbox');
  });

  it('sends a schedule’s new target only when it changed', () => {
    const fields = {
      cron: '0 6 * * *',
      timezone: 'Europe/Berlin',
      misfire_policy: 'run_once' as const,
      misfire_grace_seconds: 300,
      concurrency_policy: 'forbid' as const,
      notify: {
        on_failure: true,
        on_success: false,
        webhook_url: null,
        email_to: []
      }
    };
    const inSandbox = makeSchedule({ sandbox: 'abc123def456' });
    const update = (
      schedule: ReturnType<typeof makeSchedule>,
      target: Parameters<typeof targetFields>[0] | undefined,
      kernelName: string | null = 'python3'
    ) =>
      scheduleUpdate(schedule, {
        fields,
        parameters: schedule.parameters,
        kernelName,
        kernelChanged: false,
        target,
        job: OPTIONS
      });
    expect(update(inSandbox, undefined)).toEqual({});
    expect(
      update(inSandbox, { kind: 'sandbox', sandbox: 'abc123def456' })
    ).toEqual({});
    expect(update(inSandbox, { kind: 'profile', profile: 'local' })).toEqual({
      profile: 'local'
    });
    // Back to a kernel: the one chosen (the server drops the sandbox).
    expect(update(inSandbox, KERNEL_TARGET)).toEqual({
      kernel_name: 'python3'
    });
    const onKernel = makeSchedule({ kernel_name: 'python3' });
    expect(update(onKernel, { kind: 'sandbox', sandbox: 'fed987' })).toEqual({
      sandbox: 'fed987'
    });
    expect(update(onKernel, KERNEL_TARGET)).toEqual({});
  });

  it('says where a schedule’s runs go', () => {
    expect(scheduleTargetText({ sandbox: 'abc123def456' }, trans)).toBe(
      'in sandbox abc123'
    );
    expect(scheduleTargetText({ profile: 'gpu' }, trans)).toBe(
      'in a sandbox of profile gpu per run'
    );
    expect(scheduleTargetText({ sandbox: null, profile: null }, trans)).toBe(
      null
    );
  });

  it('finds the sandbox a job ran in: started for it, else by its kernel', () => {
    const forJob = makeSandbox({
      id: 'job000000001',
      job_id: 'job-1',
      kernel_name: 'dataops-sandbox-job000000001',
      status: 'stopped'
    });
    expect(
      sandboxOfJob({ id: 'job-1', kernel_name: 'whatever' }, [SANDBOX, forJob])
    ).toBe(forJob);
    expect(
      sandboxOfJob(
        { id: 'job-2', kernel_name: 'dataops-sandbox-abc123def456' },
        [forJob, SANDBOX]
      )
    ).toBe(SANDBOX);
    expect(
      sandboxOfJob({ id: 'job-3', kernel_name: 'python3' }, [SANDBOX, forJob])
    ).toBeNull();
  });
});

const kernelspecs = {
  specs: {
    default: 'python3',
    kernelspecs: {
      python3: {
        name: 'python3',
        display_name: 'Python 3 (ipykernel)',
        language: 'python'
      }
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
      help: ''
    }
  ],
  kernel_name: 'python3',
  language: 'python',
  cell_count: 2,
  warnings: []
};

const client = { getNotebookParameters: async () => PARAMS };

function source(
  sandboxes: Sandbox[] = [SANDBOX, PROVISIONING],
  profiles = [LOCAL, GPU]
): IRunTargetSource & { calls: number } {
  const result = {
    calls: 0,
    listSandboxes: async () => {
      result.calls++;
      return { items: sandboxes, total: sandboxes.length };
    },
    listProfiles: async () => ({
      items: profiles,
      limits_method: 'rlimits',
      gpu_inventory: [],
      gpu_inventory_source: 'none'
    })
  };
  return result;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) {
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  expect(check()).toBe(true);
}

function click(node: Element | null): void {
  (node as HTMLElement).click();
}

describe('The run dialog’s “Run in”', () => {
  let body: RunJobBody | null = null;
  afterEach(() => {
    body?.dispose();
    body = null;
  });
  const q = (selector: string) => body!.node.querySelector(selector);

  function open(options: Partial<ConstructorParameters<typeof RunJobBody>[0]>) {
    const widget = new RunJobBody({
      client,
      kernelspecs,
      path: 'demo/train.ipynb',
      rerunOf: null,
      initial: {},
      trans,
      ...options
    });
    Widget.attach(widget, document.body);
    widget.update();
    return widget;
  }

  it('runs on the notebook’s kernel by default, and in a chosen sandbox or profile', async () => {
    body = open({ sandboxes: source() });
    await until(() => q('[data-target="profile:gpu"]') !== null);
    const labels = [...body.node.querySelectorAll('.jp-DataOps-runInOption')];
    expect(labels.map(label => label.getAttribute('data-target'))).toEqual([
      'kernel',
      'sandbox:abc123def456',
      'profile:local',
      'profile:gpu'
    ]);
    expect(labels[1].querySelector('.jp-DataOps-runInLabel')!.textContent).toBe(
      'Sandbox gpu-small abc123'
    );
    expect(
      labels[1].querySelector('.jp-DataOps-runInDetail')!.textContent
    ).toBe('1 CPU · 2Gi · GPU 0 (t4)');
    expect(labels[1].getAttribute('title')).toBe(
      'Sandbox gpu-small abc123 · 1 CPU · 2Gi · GPU 0 (t4)'
    );
    // The profile that cannot start: disabled, with why.
    const gpu = q('[data-target="profile:gpu"] input') as HTMLInputElement;
    expect(gpu.disabled).toBe(true);
    expect(q('[data-target="profile:gpu"]')!.textContent).toContain(
      'No a100 GPU here'
    );
    await until(() => body!.getValue() !== null);
    expect(body.getValue()!.target).toEqual(KERNEL_TARGET);
    expect(q('#jp-DataOps-kernel')).not.toBeNull();

    click(q('[data-target="sandbox:abc123def456"] input'));
    await until(() => body!.getValue()?.target.kind === 'sandbox');
    // The sandbox's kernel runs it: no kernel to choose.
    expect(q('#jp-DataOps-kernel')).toBeNull();
    expect(body.node.textContent).toContain('this sandbox’s kernel');
    const request = body.getValue()!;
    expect(
      jobCreate({
        path: 'demo/train.ipynb',
        parameters: request.parameters,
        kernelName: request.kernelName,
        target: request.target,
        job: request.options
      })
    ).toEqual({
      notebook_path: 'demo/train.ipynb',
      parameters: {},
      sandbox: 'abc123def456',
      ...OPTIONS
    });

    click(q('[data-target="profile:local"] input'));
    await until(() => body!.getValue()?.target.kind === 'profile');
    expect(body.getValue()!.target).toEqual({
      kind: 'profile',
      profile: 'local'
    });
    expect(body.node.textContent).toContain(
      'started for the job, and stopped when the job ends'
    );
    click(q('[data-target="kernel"] input'));
    await until(() => q('#jp-DataOps-kernel') !== null);
    expect(body.getValue()!.target).toEqual(KERNEL_TARGET);
  });

  it('says a profile’s sandbox is started per run on a schedule', async () => {
    body = open({
      sandboxes: source(),
      scheduling: {
        preview: async (cron, timezone) => ({
          description: cron,
          timezone,
          next_runs: [],
          min_interval_seconds: 86400
        }),
        previewDelay: 10
      },
      initial: {
        mode: 'schedule',
        target: { kind: 'profile', profile: 'local' }
      }
    });
    await until(() => q('[data-target="profile:local"]') !== null);
    expect(q('[data-target="profile:local"] input')).toHaveProperty(
      'checked',
      true
    );
    expect(q('[data-target="profile:local"]')!.textContent).toContain(
      'A new sandbox of profile local for each run'
    );
    await until(() => body!.getValue() !== null);
    expect(body.getValue()!.target).toEqual({
      kind: 'profile',
      profile: 'local'
    });
  });

  it('is not offered without sandboxes, for a re-run, or with nowhere else to run', async () => {
    body = open({});
    await until(() => body!.getValue() !== null);
    expect(q('.jp-DataOps-runIn')).toBeNull();
    body.dispose();

    const lists = source();
    body = open({
      sandboxes: lists,
      rerunOf: makeJob(),
      initial: { parameters: { alpha: 0.5 }, kernelName: 'python3' }
    });
    await until(() => body!.getValue() !== null);
    expect(q('.jp-DataOps-runIn')).toBeNull();
    expect(lists.calls).toBe(0);
    body.dispose();

    body = open({ sandboxes: source([PROVISIONING], []) });
    await until(() => body!.getValue() !== null);
    await new Promise(resolve => setTimeout(resolve, 20));
    expect(q('.jp-DataOps-runIn')).toBeNull();
  });

  it('says when the sandboxes cannot be listed, and still runs on the kernel', async () => {
    body = open({
      sandboxes: {
        listSandboxes: async () => {
          throw new DataOpsApiError({
            kind: 'backend_unavailable',
            status: 500,
            message: 'The store is locked.'
          });
        },
        listProfiles: source().listProfiles
      }
    });
    await until(() => body!.node.textContent!.includes('The store is locked.'));
    expect(body.node.textContent).toContain(
      'The sandboxes could not be listed'
    );
    expect(q('[data-target="profile:local"]')).not.toBeNull();
    await until(() => body!.getValue() !== null);
  });
});

describe('openRunDialog with a sandbox', () => {
  it('sends the sandbox, and reopens with the server’s refusal and the choice kept', async () => {
    const sent: JobCreate[] = [];
    let refusal: DataOpsApiError | null = new DataOpsApiError({
      kind: 'conflict',
      status: 409,
      message: 'Sandbox abc123def456 is provisioning, not ready.',
      hint: 'Wait until it is ready, or choose another.'
    });
    const model = {
      client,
      createJob: async (request: JobCreate) => {
        sent.push(request);
        if (refusal) {
          const reason = refusal;
          refusal = null;
          throw reason;
        }
        return makeJob({ id: 'job-9', kernel_name: SANDBOX.kernel_name! });
      }
    } as unknown as IJobsModel;
    const dialogQ = (selector: string) =>
      document.body.querySelector(`.jp-Dialog ${selector}`);
    const accept = () =>
      dialogQ('.jp-Dialog-button.jp-mod-accept') as HTMLButtonElement | null;

    const pending = openRunDialog({
      model,
      kernelspecs,
      path: 'demo/train.ipynb',
      sandboxes: source(),
      trans
    });
    await until(() => dialogQ('[data-target="sandbox:abc123def456"]') !== null);
    click(dialogQ('[data-target="sandbox:abc123def456"] input'));
    await until(() => dialogQ('#jp-DataOps-kernel') === null);
    await until(() => accept() !== null && !accept()!.disabled);
    click(accept());
    // Refused: the dialog is back with the server's words, the sandbox still chosen.
    await until(
      () =>
        !!dialogQ('.jp-DataOps-alert-error')?.textContent?.includes(
          'is provisioning, not ready'
        )
    );
    expect(dialogQ('.jp-DataOps-alert-error')!.textContent).toContain(
      'Wait until it is ready'
    );
    // Only the reopened dialog (the refused one is gone, not closing still).
    await until(
      () => document.body.querySelectorAll('.jp-Dialog').length === 1
    );
    await until(() =>
      Boolean(
        (
          dialogQ(
            '[data-target="sandbox:abc123def456"] input'
          ) as HTMLInputElement | null
        )?.checked
      )
    );
    await until(() => accept() !== null && !accept()!.disabled);
    click(accept());
    const result = await pending;
    expect(result?.kind).toBe('job');
    expect(sent).toHaveLength(2);
    for (const request of sent) {
      expect(request.sandbox).toBe('abc123def456');
      expect(request).not.toHaveProperty('kernel_name');
      expect(request).not.toHaveProperty('profile');
    }
  });
});

describe('The job detail’s sandbox', () => {
  it('links a job to the sandbox started for it, through the sandboxes command', async () => {
    const jobsClient = new FakeJobsClient();
    jobsClient.jobs = [
      makeJob({
        id: 'job-1',
        status: 'completed',
        kernel_name: 'dataops-sandbox-job000000001'
      }),
      makeJob({ id: 'job-2', status: 'completed', kernel_name: 'python3' })
    ];
    const jobs = new JobsModel({
      client: jobsClient,
      poll: false,
      refreshDelay: 0
    });
    const lists = source([
      makeSandbox({
        id: 'job000000001',
        job_id: 'job-1',
        status: 'stopped',
        kernel_name: 'dataops-sandbox-job000000001'
      })
    ]);
    const sandboxes: ISandboxesModel = new SandboxesModel({
      client: {
        ...lists,
        getSandbox: async () => makeSandbox(),
        startSandbox: async () => makeSandbox(),
        stopSandbox: async () => makeSandbox()
      },
      poll: false,
      refreshDelay: 0
    });
    const commands = new CommandRegistry();
    const section = new JobsSection({
      model: jobs,
      commands,
      trans,
      sandboxes
    });
    Widget.attach(section, document.body);
    const text = (selector: string) =>
      section.node.querySelector(selector)?.textContent ?? null;
    try {
      await jobs.refresh();
      await sandboxes.refresh();
      // Without the Sandboxes section: its name, not a link.
      section.select('job-1');
      await until(() => text('.jp-DataOps-jobKernel') !== null);
      await until(() => text('.jp-DataOps-jobKernel')!.startsWith('Sandbox'));
      expect(text('.jp-DataOps-jobKernel')).toBe(
        'Sandbox job000 (started for this job)'
      );
      expect(section.node.querySelector('.jp-DataOps-sandboxLink')).toBeNull();
      const opened: unknown[] = [];
      commands.addCommand(SandboxCommandIDs.open, {
        execute: args => {
          opened.push(args);
        }
      });
      section.select(null);
      section.select('job-1');
      await until(
        () => section.node.querySelector('.jp-DataOps-sandboxLink') !== null
      );
      click(section.node.querySelector('.jp-DataOps-sandboxLink'));
      expect(opened).toEqual([{ select: 'job000000001' }]);
      // A job on a plain kernel shows the kernel.
      section.select('job-2');
      await until(() => text('.jp-DataOps-jobKernel') === 'python3');
    } finally {
      section.dispose();
      jobs.dispose();
      sandboxes.dispose();
    }
  });
});
