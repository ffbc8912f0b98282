import {
  checkStart,
  currentStep,
  defaultProfile,
  disabledReason,
  emptyStartInput,
  fieldHelp,
  fieldLimit,
  fieldRangeText,
  formatMemory,
  formatTimeout,
  gpuText,
  holdingText,
  parseCpus,
  parseMemory,
  profileText,
  provisionProgress,
  quotaLines,
  sandboxOrder,
  timeUntilText
} from '../sandboxes/format';
import { patchSandbox } from '../sandboxes/model';
import { sandboxNews } from '../sandboxes/notify';
import { ProfileView, Sandbox } from '../sandboxes/types';

const GI = 2 ** 30;

function makeSandbox(overrides: Partial<Sandbox> = {}): Sandbox {
  return {
    id: 'abc123def456',
    profile: 'gpu-small',
    owner: 'alice',
    team: null,
    status: 'ready',
    resources: { cpus: 2, memory_bytes: 8 * GI, gpus: 1, gpu_type: 't4' },
    devices: [{ index: 0, uuid: null, type: 't4', memory_bytes: 16 * GI }],
    provider: 'local',
    kernel_name: 'dataops-sandbox-abc123def456',
    display_name: 'Sandbox gpu-small abc123 (2 CPU, 8Gi, 1× t4)',
    workdir: '/data/sandboxes/abc123def456/work',
    limits: { method: 'rlimits', detail: 'memory 8Gi (RLIMIT_DATA)' },
    env: {},
    steps: [
      { name: 'environment', status: 'done', detail: null, seconds: 0.1 },
      { name: 'packages', status: 'skipped', detail: null, seconds: 0.1 },
      { name: 'kernel spec', status: 'done', detail: null, seconds: 0.1 }
    ],
    progress: 1,
    kernels: [],
    usage: {
      cpu_seconds: 0,
      gpu_seconds: 0,
      peak_memory_bytes: 0,
      wall_seconds: 10
    },
    idle_timeout: 3600,
    max_lifetime: 0,
    created_at: 1700000000,
    ready_at: 1700000001,
    stopped_at: null,
    last_activity_at: 1700000001,
    idle_stop_at: 1700003601,
    expires_at: null,
    warning: null,
    stop_reason: null,
    error: null,
    // Newer servers also say which job a sandbox was started for.
    job_id: null,
    ...overrides
  } as Sandbox;
}

function makeView(overrides: Partial<ProfileView> = {}): ProfileView {
  return {
    profile: {
      name: 'gpu-small',
      description: 'One T4',
      cpus: 2,
      memory_bytes: 8 * GI,
      gpus: 1,
      gpu_type: 't4',
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
    },
    available: true,
    reason: null,
    where: 'local',
    fields: [
      {
        field: 'cpus',
        default: 2,
        min: 0.5,
        max: 4,
        choices: null,
        overridable: true,
        reason: null
      },
      {
        field: 'memory',
        default: 8 * GI,
        min: null,
        max: 16 * GI,
        choices: null,
        overridable: true,
        reason: null
      },
      {
        field: 'gpus',
        default: 1,
        min: null,
        max: 2,
        choices: null,
        overridable: true,
        reason: null
      },
      {
        field: 'idle_timeout',
        default: 3600,
        min: null,
        max: 7200,
        choices: null,
        overridable: true,
        reason: null
      },
      {
        field: 'max_lifetime',
        default: 0,
        min: null,
        max: null,
        choices: null,
        overridable: false,
        reason: 'the policy does not let users change it'
      },
      {
        field: 'gpu_type',
        default: 't4',
        min: null,
        max: null,
        choices: ['a100', 't4'],
        overridable: true,
        reason: null
      }
    ],
    quotas: {
      sandboxes: { used: 0, limit: 2, scope: 'user' },
      gpus: { used: 1, limit: 2, scope: 'user' },
      gpu_hours_today: { used: 0.5, limit: 8, scope: 'user' }
    },
    gpus_free: 1,
    provider: 'local',
    providers: [],
    ...overrides
  };
}

describe('quantities', () => {
  it('reads Kubernetes quantities as the server does', () => {
    expect(parseMemory('16Gi')).toBe(16 * GI);
    expect(parseMemory('16G')).toBe(16e9);
    expect(parseMemory('512Mi')).toBe(512 * 2 ** 20);
    expect(parseMemory('1.5Gi')).toBe(1.5 * GI);
    expect(parseMemory('1073741824')).toBe(GI);
    expect(parseMemory('32GB')).toBeNull();
    expect(parseMemory('32 Gi')).toBeNull();
    expect(parseMemory('100m')).toBeNull();
    expect(parseCpus('2')).toBe(2);
    expect(parseCpus('500m')).toBe(0.5);
    expect(parseCpus('1.5')).toBe(1.5);
    expect(parseCpus('two')).toBeNull();
  });

  it('writes memory as a binary quantity', () => {
    expect(formatMemory(8 * GI)).toBe('8Gi');
    expect(formatMemory(512 * 2 ** 20)).toBe('512Mi');
    expect(formatMemory(25276514304)).toBe('23.5Gi');
    expect(formatMemory(1536 * 2 ** 20)).toBe('1.5Gi');
    expect(formatMemory(100)).toBe('100');
    expect(formatMemory(null)).toBe('');
  });
});

describe('what a sandbox holds', () => {
  it('says CPUs, memory and its GPUs', () => {
    expect(holdingText(makeSandbox())).toBe('2 CPU · 8Gi · GPU 0 (t4)');
    expect(
      holdingText(
        makeSandbox({
          resources: { cpus: 0.5, memory_bytes: GI, gpus: 0, gpu_type: null },
          devices: []
        })
      )
    ).toBe('0.5 CPU · 1Gi');
    expect(
      gpuText(2, 'a100', [
        { index: 0, type: 'a100' },
        { index: 1, type: 'a100' }
      ])
    ).toBe('GPUs 0, 1 (a100)');
    expect(gpuText(2, 't4', [])).toBe('2× t4');
    expect(profileText(makeView().profile)).toBe('2 CPU · 8Gi · 1× t4');
  });

  it('orders active sandboxes before ended ones, newest first', () => {
    const { active, ended } = sandboxOrder([
      makeSandbox({ id: 'old', status: 'stopped', created_at: 1 }),
      makeSandbox({ id: 'a', status: 'ready', created_at: 2 }),
      makeSandbox({ id: 'b', status: 'provisioning', created_at: 3 }),
      makeSandbox({ id: 'f', status: 'failed', created_at: 4 })
    ]);
    expect(active.map(item => item.id)).toEqual(['b', 'a']);
    expect(ended.map(item => item.id)).toEqual(['f', 'old']);
  });

  it('follows provisioning: the step under way and the progress', () => {
    const steps: Sandbox['steps'] = [
      { name: 'environment', status: 'done', detail: null, seconds: 1 },
      { name: 'packages', status: 'running', detail: 'pip', seconds: null },
      { name: 'kernel spec', status: 'pending', detail: null, seconds: null }
    ];
    expect(currentStep(steps)?.name).toBe('packages');
    expect(currentStep(steps.slice(2))?.name).toBe('kernel spec');
    expect(currentStep(steps.slice(0, 1))).toBeNull();
    expect(
      provisionProgress({ status: 'provisioning', progress: 0, steps })
    ).toBeCloseTo(1 / 3);
    expect(
      provisionProgress({ status: 'provisioning', progress: 0.5, steps })
    ).toBe(0.5);
    expect(provisionProgress({ status: 'ready', progress: 0, steps })).toBe(1);
  });

  it('says times to come and timeouts', () => {
    expect(timeUntilText(1000, 1000)).toBe('now');
    expect(timeUntilText(1300, 1000)).toBe('in 5 min');
    expect(timeUntilText(1000 + 7800, 1000)).toBe('in 2 h 10 min');
    expect(formatTimeout(3600)).toBe('1 h');
    expect(formatTimeout(900)).toBe('15 min');
    expect(formatTimeout(0)).toBe('never');
  });
});

describe('the start form', () => {
  it('shows quotas as used of limit', () => {
    const lines = quotaLines({
      ...makeView().quotas,
      team_gpus: { used: 2, limit: 2, scope: 'team ml' }
    });
    expect(lines.map(line => line.text)).toEqual([
      'sandboxes 0 of 2',
      'GPUs 1 of 2',
      'GPU-hours today 0.5 of 8',
      'team ml: GPUs 2 of 2'
    ]);
    expect(lines.map(line => line.full)).toEqual([false, false, false, true]);
    expect(
      quotaLines({ sandboxes: { used: 1, limit: null, scope: 'user' } })[0].text
    ).toBe('sandboxes 1 (no limit)');
  });

  it('shows each field’s default, range and why it is fixed', () => {
    const view = makeView();
    const cpus = fieldLimit(view, 'cpus')!;
    expect(fieldRangeText(cpus)).toBe('0.5–4');
    expect(fieldHelp(cpus)).toBe('default 2 · allowed 0.5–4');
    const memory = fieldLimit(view, 'memory')!;
    expect(fieldHelp(memory)).toBe('default 8Gi · allowed up to 16Gi');
    expect(fieldHelp(fieldLimit(view, 'idle_timeout')!)).toBe(
      'default 1 h · allowed up to 2 h'
    );
    expect(fieldHelp(fieldLimit(view, 'max_lifetime')!)).toBe(
      'default no limit'
    );
    expect(disabledReason(cpus)).toBeNull();
    expect(disabledReason(fieldLimit(view, 'max_lifetime'))).toBe(
      'the policy does not let users change it'
    );
    expect(
      disabledReason({
        ...cpus,
        field: 'gpus',
        overridable: false,
        reason: 'the policy allows no GPUs'
      })
    ).toBe('the policy allows no GPUs');
    expect(disabledReason(undefined)).toMatch(/does not offer/);
  });

  it('picks the first profile that can start', () => {
    const off = makeView({
      available: false,
      reason: 'available on the cluster only',
      where: 'cluster'
    });
    off.profile = { ...off.profile, name: 'big' };
    expect(defaultProfile([off, makeView()])?.profile.name).toBe('gpu-small');
    expect(defaultProfile([off])?.profile.name).toBe('big');
    expect(defaultProfile([])).toBeNull();
  });

  it('sends only what the user changed', () => {
    const view = makeView();
    expect(checkStart(view, emptyStartInput('gpu-small'))).toEqual({
      request: { profile: 'gpu-small' }
    });
    expect(
      checkStart(view, {
        ...emptyStartInput('gpu-small'),
        cpus: '500m',
        memory: ' 12Gi ',
        gpus: '2',
        gpu_type: 'a100',
        idle_timeout: '30'
      })
    ).toEqual({
      request: {
        profile: 'gpu-small',
        cpus: '500m',
        memory: '12Gi',
        gpus: 2,
        gpu_type: 'a100',
        idle_timeout: 1800
      }
    });
  });

  it('refuses obviously out-of-range numbers, saying why', () => {
    const view = makeView();
    const input = emptyStartInput('gpu-small');
    expect(checkStart(view, { ...input, cpus: '8' }).errors?.cpus).toBe(
      'At most 4 (the policy’s maximum); 8 is over by 4.'
    );
    expect(checkStart(view, { ...input, cpus: '100m' }).errors?.cpus).toBe(
      'At least 0.5 (the policy’s minimum); 0.1 is under by 0.4.'
    );
    expect(checkStart(view, { ...input, memory: '64Gi' }).errors?.memory).toBe(
      'At most 16Gi (the policy’s maximum); 64Gi is over by 48Gi.'
    );
    expect(checkStart(view, { ...input, gpus: '1.5' }).errors?.gpus).toMatch(
      /whole number/
    );
    expect(checkStart(view, { ...input, gpus: '3' }).errors?.gpus).toMatch(
      /At most 2/
    );
    expect(
      checkStart(view, { ...input, idle_timeout: '0' }).errors?.idle_timeout
    ).toMatch(/0 means no limit/);
    expect(
      checkStart(view, { ...input, gpu_type: 'h100' }).errors?.gpu_type
    ).toBe('Choose one of: a100, t4.');
  });

  it('sends where to run it only when it differs, and refuses where it cannot run', () => {
    const view = makeView({
      provider: 'local',
      providers: [
        {
          name: 'local',
          where: 'local',
          available: true,
          reason: null,
          fields: []
        },
        {
          name: 'kubernetes',
          where: 'cluster',
          available: false,
          reason: "the cluster offers no GPU type 't4'",
          fields: []
        }
      ]
    });
    const input = emptyStartInput('gpu-small');
    expect(checkStart(view, { ...input, provider: 'local' })).toEqual({
      request: { profile: 'gpu-small' }
    });
    expect(
      checkStart(view, { ...input, provider: 'kubernetes' }).errors?.profile
    ).toBe(
      "gpu-small cannot run on kubernetes: the cluster offers no GPU type 't4'"
    );
    expect(
      checkStart(view, { ...input, provider: 'slurm' }).errors?.profile
    ).toBe('gpu-small cannot run on slurm: this server does not offer it');
  });

  it('leaves text it cannot read to the server, which says what was meant', () => {
    const view = makeView();
    expect(
      checkStart(view, { ...emptyStartInput('gpu-small'), memory: '32GB' })
    ).toEqual({ request: { profile: 'gpu-small', memory: '32GB' } });
  });

  it('never sends a field the policy does not let users change', () => {
    const view = makeView();
    expect(
      checkStart(view, { ...emptyStartInput('gpu-small'), max_lifetime: '60' })
    ).toEqual({ request: { profile: 'gpu-small' } });
  });

  it('refuses a profile that cannot start here', () => {
    const view = makeView({
      available: false,
      reason: 'available on the cluster only'
    });
    expect(checkStart(view, emptyStartInput('gpu-small')).errors?.profile).toBe(
      'gpu-small cannot start here: available on the cluster only'
    );
    expect(checkStart(null, emptyStartInput('')).errors?.profile).toBe(
      'Choose a profile.'
    );
  });
});

describe('sandbox events', () => {
  it('patch status, progress, warning and error', () => {
    const sandbox = makeSandbox({ warning: 'old', error: 'old' });
    const patched = patchSandbox(sandbox, {
      action: 'updated',
      id: sandbox.id,
      seq: 3,
      status: 'ready',
      progress: 1
    });
    expect(patched.status).toBe('ready');
    expect(patched.warning).toBeNull();
    expect(patched.error).toBeNull();
    expect(
      patchSandbox(sandbox, {
        action: 'updated',
        id: sandbox.id,
        seq: 4,
        status: 'bogus',
        warning: 'idle: stops in 5 min'
      })
    ).toMatchObject({ status: 'ready', warning: 'idle: stops in 5 min' });
  });

  it('tell warnings, failures and kernel picker changes once', () => {
    const ready = makeSandbox();
    const provisioning = makeSandbox({
      status: 'provisioning',
      kernel_name: null
    });
    expect(sandboxNews(provisioning, ready)).toMatchObject({
      ready: true,
      warning: null,
      failed: false
    });
    const warned = makeSandbox({ warning: 'stops in 5 min' });
    expect(sandboxNews(ready, warned).warning).toBe('stops in 5 min');
    // Already warned: nothing new.
    expect(sandboxNews(warned, { ...warned }).warning).toBeNull();
    // Not seen live: no warning.
    expect(sandboxNews(undefined, warned).warning).toBeNull();
    const failed = makeSandbox({ status: 'failed', error: 'boom' });
    expect(sandboxNews(provisioning, failed)).toMatchObject({
      failed: true,
      ended: true
    });
    expect(sandboxNews(failed, { ...failed }).failed).toBe(false);
    const stopped = makeSandbox({ status: 'stopped' });
    expect(sandboxNews(ready, stopped)).toMatchObject({
      ended: true,
      ready: false
    });
  });
});
