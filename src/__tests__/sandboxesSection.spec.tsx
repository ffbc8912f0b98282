import { nullTranslator } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { DataOpsApiError } from '../api';
import { ISandboxesClient } from '../sandboxes/client';
import { StartPanel } from '../sandboxes/dialog';
import { SandboxesModel } from '../sandboxes/model';
import { SandboxesSection } from '../sandboxes/section';
import {
  ProfileList,
  Sandbox,
  SANDBOX_EVENT_SCHEMA_ID,
  SandboxCreate,
  SandboxPage
} from '../sandboxes/types';

const trans = nullTranslator.load('jupyter-dataops');
const GI = 2 ** 30;

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) {
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  expect(check()).toBe(true);
}

function type(node: Element | null, value: string): void {
  const input = node as HTMLInputElement;
  const proto = Object.getPrototypeOf(input);
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(input, value);
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

async function render(element: JSX.Element): Promise<Widget> {
  const widget = ReactWidget.create(element);
  Widget.attach(widget, document.body);
  widget.update();
  await until(() => widget.node.childElementCount > 0);
  return widget;
}

function makeSandbox(overrides: Partial<Sandbox> = {}): Sandbox {
  return {
    id: 'abc123def456',
    profile: 'local',
    owner: 'alice',
    team: null,
    status: 'provisioning',
    resources: { cpus: 1, memory_bytes: 2 * GI, gpus: 0, gpu_type: null },
    devices: [],
    provider: 'local',
    kernel_name: null,
    display_name: 'Sandbox local abc123 (1 CPU, 2Gi)',
    workdir: null,
    limits: null,
    env: {},
    steps: [
      { name: 'environment', status: 'done', detail: null, seconds: 0.1 },
      { name: 'packages', status: 'running', detail: null, seconds: null },
      { name: 'kernel spec', status: 'pending', detail: null, seconds: null }
    ],
    progress: 0.4,
    kernels: [],
    usage: {
      cpu_seconds: 0,
      gpu_seconds: 0,
      peak_memory_bytes: 0,
      wall_seconds: 0
    },
    idle_timeout: 3600,
    max_lifetime: 0,
    created_at: Date.now() / 1000,
    ready_at: null,
    stopped_at: null,
    last_activity_at: null,
    idle_stop_at: null,
    expires_at: null,
    warning: null,
    stop_reason: null,
    error: null,
    // Newer servers also say which job a sandbox was started for.
    job_id: null,
    ...overrides
  } as Sandbox;
}

function makeProfiles(): ProfileList {
  const local = {
    name: 'local',
    description: 'This machine',
    cpus: 2,
    memory_bytes: 8 * GI,
    gpus: 0,
    gpu_type: null,
    environment: '',
    image: null,
    packages: [],
    tools: [],
    data: [],
    env: {},
    secrets: {},
    idle_timeout: 3600,
    max_lifetime: 0,
    node_selector: {},
    tolerations: [],
    affinity: {},
    provider: null
  };
  return {
    items: [
      {
        profile: { ...local, name: 'big', gpus: 4, gpu_type: 'a100' },
        available: false,
        reason: 'available on the cluster only',
        where: 'cluster',
        fields: [],
        quotas: {},
        gpus_free: 0,
        provider: 'local',
        providers: []
      },
      {
        profile: local,
        available: true,
        reason: null,
        where: 'local',
        fields: [
          {
            field: 'cpus',
            default: 2,
            min: null,
            max: 2,
            choices: null,
            overridable: true,
            reason: null
          },
          {
            field: 'memory',
            default: 8 * GI,
            min: null,
            max: 8 * GI,
            choices: null,
            overridable: true,
            reason: null
          },
          {
            field: 'gpus',
            default: 0,
            min: null,
            max: 0,
            choices: null,
            overridable: false,
            reason: 'the policy allows no GPUs'
          }
        ],
        quotas: {
          sandboxes: { used: 0, limit: 2, scope: 'user' },
          gpus: { used: 0, limit: null, scope: 'user' }
        },
        gpus_free: 0,
        provider: 'local',
        providers: []
      }
    ],
    limits_method: 'rlimits',
    gpu_inventory: [],
    gpu_inventory_source: 'none'
  };
}

class FakeClient implements ISandboxesClient {
  sandboxes: Sandbox[] = [];
  started: SandboxCreate[] = [];
  refuse: DataOpsApiError | null = null;

  async listProfiles(): Promise<ProfileList> {
    return makeProfiles();
  }
  async listSandboxes(): Promise<SandboxPage> {
    return { items: [...this.sandboxes], total: this.sandboxes.length };
  }
  async getSandbox(id: string): Promise<Sandbox> {
    const found = this.sandboxes.find(item => item.id === id);
    if (!found) {
      throw new DataOpsApiError({
        kind: 'not_found',
        status: 404,
        message: 'gone'
      });
    }
    return found;
  }
  async startSandbox(request: SandboxCreate): Promise<Sandbox> {
    if (this.refuse) {
      throw this.refuse;
    }
    this.started.push(request);
    const sandbox = makeSandbox({ id: `new${this.started.length}` });
    this.sandboxes.push(sandbox);
    return sandbox;
  }
  async stopSandbox(id: string): Promise<Sandbox> {
    const sandbox = {
      ...(await this.getSandbox(id)),
      status: 'stopped' as const
    };
    this.sandboxes = this.sandboxes.map(item =>
      item.id === id ? sandbox : item
    );
    return sandbox;
  }
}

describe('StartPanel', () => {
  let widget: Widget | null = null;
  afterEach(() => {
    widget?.dispose();
    widget = null;
  });

  it('shows profiles, fields, quotas and the server’s refusal', async () => {
    const client = new FakeClient();
    client.refuse = new DataOpsApiError({
      kind: 'invalid_input',
      status: 400,
      message: "memory '32GB' is not a Kubernetes quantity",
      hint: 'Did you mean 32G or 32Gi?'
    });
    const started: Sandbox[] = [];
    widget = await render(
      <StartPanel
        trans={trans}
        loadProfiles={() => client.listProfiles()}
        start={request => client.startSandbox(request)}
        onStarted={sandbox => started.push(sandbox)}
        onClose={() => undefined}
      />
    );
    const node = widget.node;
    await until(() => node.querySelector('.jp-DataOps-startForm') !== null);
    // The profile that cannot start here is disabled, with why.
    const big = node.querySelector('[data-profile="big"]')!;
    expect(big.querySelector('input')!.disabled).toBe(true);
    expect(big.textContent).toContain('available on the cluster only');
    // The first one that can is chosen.
    expect(
      (node.querySelector('[data-profile="local"] input') as HTMLInputElement)
        .checked
    ).toBe(true);
    expect(node.textContent).toContain('Limits here: rlimits');
    const quotas = [...node.querySelectorAll('.jp-DataOps-quota')].map(
      chip => chip.textContent
    );
    expect(quotas).toEqual(['sandboxes 0 of 2', 'GPUs 0 (no limit)']);
    // GPUs are fixed, with the reason in the title and in words.
    const gpus = node.querySelector(
      '#jp-DataOps-sandbox-gpus'
    ) as HTMLInputElement;
    expect(gpus.disabled).toBe(true);
    expect(gpus.title).toContain('the policy allows no GPUs');
    expect(
      node.querySelector('[data-field="gpus"] .jp-DataOps-fieldNote')!
        .textContent
    ).toContain('the policy allows no GPUs');
    expect(
      node.querySelector('[data-field="memory"] .jp-DataOps-help')!.textContent
    ).toBe('default 8Gi · allowed up to 8Gi');

    // Out of range: said at once, nothing sent.
    type(node.querySelector('#jp-DataOps-sandbox-memory'), '64Gi');
    await until(
      () =>
        (node.querySelector('#jp-DataOps-sandbox-memory') as HTMLInputElement)
          .value === '64Gi'
    );
    (node.querySelector('[data-action="start"]') as HTMLElement).click();
    await until(
      () =>
        node.querySelector('[data-field="memory"] .jp-DataOps-fieldError') !==
        null
    );
    expect(client.started).toEqual([]);

    // Text it cannot read goes to the server, whose answer is shown.
    type(node.querySelector('#jp-DataOps-sandbox-memory'), '32GB');
    await until(
      () =>
        node.querySelector('[data-field="memory"] .jp-DataOps-fieldError') ===
        null
    );
    (node.querySelector('[data-action="start"]') as HTMLElement).click();
    await until(() => node.querySelector('.jp-DataOps-startError') !== null);
    expect(node.querySelector('.jp-DataOps-startError')!.textContent).toContain(
      'Did you mean 32G or 32Gi?'
    );
    expect(started).toEqual([]);

    // Then it starts.
    client.refuse = null;
    type(node.querySelector('#jp-DataOps-sandbox-memory'), '4Gi');
    await until(
      () =>
        (node.querySelector('#jp-DataOps-sandbox-memory') as HTMLInputElement)
          .value === '4Gi'
    );
    (node.querySelector('[data-action="start"]') as HTMLElement).click();
    await until(() => started.length === 1);
    expect(client.started).toEqual([{ profile: 'local', memory: '4Gi' }]);
  });
});

describe('StartPanel on a server with a cluster too', () => {
  let widget: Widget | null = null;
  afterEach(() => {
    widget?.dispose();
    widget = null;
  });

  it('offers where to run it, disabling where the profile cannot run, and sends the choice', async () => {
    const client = new FakeClient();
    const profiles = makeProfiles();
    const local = profiles.items[1];
    // A node of the cluster holds more than this machine: its CPU bound is 16.
    const nodeSized = local.fields.map(limit =>
      limit.field === 'cpus' ? { ...limit, max: 16 } : limit
    );
    local.providers = [
      {
        name: 'local',
        where: 'local',
        available: true,
        reason: null,
        fields: local.fields
      },
      {
        name: 'kubernetes',
        where: 'cluster',
        available: true,
        reason: null,
        fields: nodeSized
      }
    ];
    profiles.items[0].providers = [
      {
        name: 'local',
        where: 'local',
        available: false,
        reason: 'it runs the image x, and this machine has no container engine',
        fields: []
      },
      {
        name: 'kubernetes',
        where: 'cluster',
        available: true,
        reason: null,
        fields: []
      }
    ];
    widget = await render(
      <StartPanel
        trans={trans}
        loadProfiles={async () => profiles}
        start={request => client.startSandbox(request)}
        onStarted={() => undefined}
        onClose={() => undefined}
      />
    );
    const node = widget.node;
    await until(() => node.querySelector('#jp-DataOps-startProvider') !== null);
    const select = node.querySelector(
      '#jp-DataOps-startProvider'
    ) as HTMLSelectElement;
    expect(
      [...select.options].map(o => [o.value, o.textContent, o.disabled])
    ).toEqual([
      ['local', 'This machine (local)', false],
      ['kubernetes', 'Kubernetes cluster (kubernetes)', false]
    ]);
    expect(select.value).toBe('local');
    // 8 CPUs do not fit this machine (the form says so, nothing is sent)...
    type(node.querySelector('#jp-DataOps-sandbox-cpus'), '8');
    (node.querySelector('[data-action="start"]') as HTMLElement).click();
    await until(
      () =>
        node.querySelector('[data-field="cpus"] .jp-DataOps-fieldError') !==
        null
    );
    expect(client.started).toEqual([]);
    // ...and fit a node of the cluster.
    select.value = 'kubernetes';
    select.dispatchEvent(new Event('change', { bubbles: true }));
    await until(() => select.value === 'kubernetes');
    type(node.querySelector('#jp-DataOps-sandbox-cpus'), '8');
    (node.querySelector('[data-action="start"]') as HTMLElement).click();
    await until(() => client.started.length === 1);
    expect(client.started).toEqual([
      { profile: 'local', provider: 'kubernetes', cpus: '8' }
    ]);
  });
});

describe('SandboxesSection', () => {
  let section: SandboxesSection;
  let model: SandboxesModel;
  let client: FakeClient;
  let commands: CommandRegistry;
  const executed: [string, any][] = [];

  beforeEach(async () => {
    executed.length = 0;
    client = new FakeClient();
    client.sandboxes = [
      makeSandbox({ id: 'prov01' }),
      makeSandbox({
        id: 'ready1',
        status: 'ready',
        progress: 1,
        kernel_name: 'dataops-sandbox-ready1',
        warning: 'idle: it stops in 5 min',
        kernels: [
          {
            id: 'k1',
            pid: 10,
            started_at: 1700000000,
            ended_at: 1700000100,
            exit: 'killed by signal 9',
            oom: true
          }
        ]
      }),
      makeSandbox({
        id: 'gone01',
        status: 'failed',
        error: 'pip install failed',
        created_at: 1
      })
    ];
    model = new SandboxesModel({ client, poll: false, refreshDelay: 0 });
    commands = new CommandRegistry();
    for (const id of [
      'dataops:stop-sandbox',
      'dataops:open-notebook-in-sandbox'
    ]) {
      commands.addCommand(id, {
        execute: args => {
          executed.push([id, args]);
        }
      });
    }
    section = new SandboxesSection({ model, commands, trans });
    Widget.attach(section, document.body);
    await model.refresh();
    section.update();
    await until(
      () => section.node.querySelector('.jp-DataOps-sandbox') !== null
    );
  });

  afterEach(() => {
    section.dispose();
    model.dispose();
  });

  it('lists active sandboxes, then ended ones dimmed', () => {
    const rows = [...section.node.querySelectorAll('.jp-DataOps-sandbox')];
    expect(rows.map(row => row.getAttribute('data-id'))).toEqual([
      'prov01',
      'ready1',
      'gone01'
    ]);
    expect(rows[2].classList.contains('jp-mod-ended')).toBe(true);
    expect(
      rows[0].querySelector('.jp-DataOps-sandboxHolding')!.textContent
    ).toBe('1 CPU · 2Gi');
    expect(rows[0].querySelector('.jp-DataOps-sandboxStep')!.textContent).toBe(
      'packages…'
    );
    expect(
      rows[1].querySelector('.jp-DataOps-sandboxWarning')!.textContent
    ).toContain('stops in 5 min');
    expect(rows[2].querySelector('.jp-DataOps-jobErrorLine')!.textContent).toBe(
      'pip install failed'
    );
    expect(rows[2].querySelector('[data-action="stop"]')).toBeNull();
    (rows[1].querySelector('[data-action="stop"]') as HTMLElement).click();
    expect(executed).toEqual([['dataops:stop-sandbox', { id: 'ready1' }]]);
  });

  it('opens a detail with the kernel, its kernels and an OOM exit', async () => {
    section.select('ready1');
    await until(
      () => section.node.querySelector('.jp-DataOps-sandboxDetail') !== null
    );
    const detail = section.node.querySelector('.jp-DataOps-sandboxDetail')!;
    expect(
      detail.querySelector('.jp-DataOps-sandboxKernelName')!.textContent
    ).toBe('dataops-sandbox-ready1');
    expect(detail.textContent).toContain('kernel picker');
    expect(detail.querySelector('.jp-mod-oom')!.textContent).toContain(
      'out of memory (killed by signal 9)'
    );
    (
      detail.querySelector('[data-action="open-notebook"]') as HTMLElement
    ).click();
    expect(executed).toEqual([
      ['dataops:open-notebook-in-sandbox', { id: 'ready1' }]
    ]);
  });

  it('follows events: ready, then a warning', async () => {
    // The server's state changes, then its events say so.
    const ready = {
      ...client.sandboxes[0],
      status: 'ready' as const,
      progress: 1,
      kernel_name: 'dataops-sandbox-prov01'
    };
    client.sandboxes[0] = ready;
    model.handleEvent({
      schema_id: SANDBOX_EVENT_SCHEMA_ID,
      action: 'updated',
      id: 'prov01',
      seq: 5,
      status: 'ready',
      progress: 1
    } as any);
    const row = () => section.node.querySelector('[data-id="prov01"]')!;
    await until(() => row().getAttribute('data-status') === 'ready');
    expect(row().querySelector('.jp-DataOps-sandboxProgress')).toBeNull();
    client.sandboxes[0] = { ...ready, warning: 'idle: it stops in 5 min' };
    model.handleEvent({
      schema_id: SANDBOX_EVENT_SCHEMA_ID,
      action: 'updated',
      id: 'prov01',
      seq: 6,
      status: 'ready',
      progress: 1,
      warning: 'idle: it stops in 5 min'
    } as any);
    await until(
      () => row().querySelector('.jp-DataOps-sandboxWarning') !== null
    );
    expect(row().classList.contains('jp-mod-warning')).toBe(true);
  });
});
