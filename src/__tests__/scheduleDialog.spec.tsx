import { KernelSpec } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { DataOpsApiError } from '../api';
import { RunJobBody } from '../jobs/runDialog';
import { NotebookParameters } from '../jobs/types';
import { scheduleCreate, scheduleUpdate } from '../schedules/definition';
import { openEditDialog } from '../schedules/dialogs';
import { SchedulesModel } from '../schedules/model';
import { CronPreview, Schedule } from '../schedules/types';
import { FakeSchedulesClient, makeSchedule } from './fakeSchedulesClient';
import { makeExecutor } from './fixtures';

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
      other: { name: 'other', display_name: 'Other', language: 'python' }
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

const flush = (ms = 20) => new Promise(resolve => setTimeout(resolve, ms));

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) {
    await flush(10);
  }
  expect(check()).toBe(true);
}

function type(node: Element | null, value: string): void {
  const input = node as HTMLInputElement;
  const proto = Object.getPrototypeOf(input);
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(input, value);
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

function select(node: Element | null, value: string): void {
  const element = node as HTMLSelectElement;
  const proto = Object.getPrototypeOf(element);
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(element, value);
  element.dispatchEvent(new Event('change', { bubbles: true }));
}

function click(node: Element | null): void {
  (node as HTMLElement).click();
}

/** A preview that records what it was asked and answers or refuses. */
function previewer() {
  const calls: [string, string][] = [];
  let refuse: DataOpsApiError | null = null;
  const preview = async (cron: string, timezone: string) => {
    calls.push([cron, timezone]);
    if (refuse) {
      throw refuse;
    }
    const answer: CronPreview = {
      description: `Plain words for ${cron}`,
      timezone,
      next_runs: [1700010000, 1700096400, 1700182800, 1700269200, 1700355600],
      min_interval_seconds: 86400
    };
    return answer;
  };
  return {
    calls,
    preview,
    refuseWith: (error: DataOpsApiError | null) => {
      refuse = error;
    }
  };
}

function open(options: Partial<ConstructorParameters<typeof RunJobBody>[0]>) {
  const body = new RunJobBody({
    client,
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

describe('The run dialog, on a schedule', () => {
  let body: RunJobBody | null = null;
  afterEach(() => {
    body?.dispose();
    body = null;
  });
  const q = (selector: string) => body!.node.querySelector(selector);

  it('offers run now or on a schedule, and runs now by default', async () => {
    const { preview, calls } = previewer();
    body = open({ scheduling: { preview, previewDelay: 10 } });
    await until(() => body!.getValue() !== null);
    expect(body.getValue()!.mode).toBe('now');
    expect(q('#jp-DataOps-cron')).toBeNull();
    await flush(50);
    // No preview is asked for while running now.
    expect(calls).toHaveLength(0);
    click(q('input[name="jp-DataOps-mode"][value="schedule"]'));
    await until(() => q('#jp-DataOps-cron') !== null);
    await until(() => body!.getValue()?.mode === 'schedule');
    expect(body.getValue()!.schedule!.cron).toBe('0 6 * * *');
    // The browser's zone by default.
    expect(body.getValue()!.schedule!.timezone).toBe(
      Intl.DateTimeFormat().resolvedOptions().timeZone
    );
  });

  it('turns presets into expressions, and expressions back into presets', async () => {
    const { preview } = previewer();
    body = open({
      scheduling: { preview, previewDelay: 10 },
      initial: { mode: 'schedule' }
    });
    await until(() => q('#jp-DataOps-preset') !== null);
    const cron = () => (q('#jp-DataOps-cron') as HTMLInputElement).value;
    expect(cron()).toBe('0 6 * * *');
    select(q('#jp-DataOps-preset'), 'weekly');
    await until(() => q('#jp-DataOps-weekday') !== null);
    select(q('#jp-DataOps-weekday'), '5');
    type(q('#jp-DataOps-time'), '07:30');
    await until(() => cron() === '30 7 * * FRI');
    select(q('#jp-DataOps-preset'), 'hourly');
    await until(() => cron() === '30 * * * *');
    select(q('#jp-DataOps-preset'), 'monthly');
    await until(() => q('#jp-DataOps-monthday') !== null);
    select(q('#jp-DataOps-monthday'), '15');
    await until(() => cron() === '30 7 15 * *');
    select(q('#jp-DataOps-preset'), 'weekdays');
    await until(() => cron() === '30 7 * * MON-FRI');
    // Typing an expression picks the preset it is, or custom.
    type(q('#jp-DataOps-cron'), '0 9 * * *');
    await until(
      () => (q('#jp-DataOps-preset') as HTMLSelectElement).value === 'daily'
    );
    type(q('#jp-DataOps-cron'), '*/15 8-18 * * *');
    await until(
      () => (q('#jp-DataOps-preset') as HTMLSelectElement).value === 'custom'
    );
    await until(() => body!.getValue()?.schedule?.cron === '*/15 8-18 * * *');
  });

  it('shows the server’s preview once typing stops (one request for a burst)', async () => {
    const { preview, calls } = previewer();
    body = open({
      scheduling: { preview, previewDelay: 80 },
      initial: { mode: 'schedule' }
    });
    await until(() => q('.jp-DataOps-previewWords') !== null);
    expect(q('.jp-DataOps-previewWords')!.textContent).toBe(
      'Plain words for 0 6 * * *'
    );
    expect(q('.jp-DataOps-nextRuns')!.querySelectorAll('li')).toHaveLength(5);
    const before = calls.length;
    for (const text of ['1', '15', '15 ', '15 4', '15 4 * * *']) {
      type(q('#jp-DataOps-cron'), text);
      await flush(10);
    }
    await until(
      () =>
        q('.jp-DataOps-previewWords')?.textContent ===
        'Plain words for 15 4 * * *'
    );
    expect(calls.slice(before)).toEqual([
      ['15 4 * * *', Intl.DateTimeFormat().resolvedOptions().timeZone]
    ]);
    // The zone is part of the preview.
    type(q('#jp-DataOps-timezone'), 'Asia/Tokyo');
    await until(() => calls.some(([, zone]) => zone === 'Asia/Tokyo'));
    await until(
      () =>
        q('.jp-DataOps-previewLabel')?.textContent === 'Next runs (Asia/Tokyo)'
    );
  });

  it('shows the field the server names as invalid, and holds no request', async () => {
    const { preview, refuseWith } = previewer();
    body = open({
      scheduling: { preview, previewDelay: 10 },
      initial: { mode: 'schedule' }
    });
    await until(() => body!.getValue() !== null);
    refuseWith(
      new DataOpsApiError({
        kind: 'invalid_input',
        status: 400,
        message: "The minute field '61' is out of range 0-59.",
        hint: 'Use minute values from 0 to 59.',
        details: { expression: '61 6 * * *', field: 'minute' }
      })
    );
    type(q('#jp-DataOps-cron'), '61 6 * * *');
    await until(() => q('.jp-DataOps-fieldError') !== null);
    expect(q('.jp-DataOps-fieldError')!.textContent).toContain(
      "The minute field '61' is out of range 0-59."
    );
    expect(q('.jp-DataOps-fieldError')!.textContent).toContain(
      'Use minute values from 0 to 59.'
    );
    expect(q('#jp-DataOps-cron')!.classList).toContain('jp-DataOps-invalid');
    expect(q('.jp-DataOps-cronFields .jp-mod-error-field')!.textContent).toBe(
      'minute'
    );
    await until(() => body!.getValue() === null);
    expect(q('.jp-mod-error')).not.toBeNull();

    // An unknown zone is shown on the zone field.
    refuseWith(
      new DataOpsApiError({
        kind: 'invalid_input',
        status: 400,
        message: "Unknown time zone 'Mars/Olympus'.",
        details: { timezone: 'Mars/Olympus' }
      })
    );
    type(q('#jp-DataOps-cron'), '0 6 * * *');
    type(q('#jp-DataOps-timezone'), 'Mars/Olympus');
    await until(() =>
      (q('#jp-DataOps-timezone') as HTMLElement).classList.contains(
        'jp-DataOps-invalid'
      )
    );
    expect(q('#jp-DataOps-cron')!.classList).not.toContain(
      'jp-DataOps-invalid'
    );
    await until(() => body!.getValue() === null);

    refuseWith(null);
    type(q('#jp-DataOps-timezone'), 'UTC');
    await until(() => body!.getValue() !== null);
    expect(q('.jp-DataOps-fieldError')).toBeNull();
  });

  it('builds the schedule to create from the form', async () => {
    const { preview } = previewer();
    body = open({
      scheduling: { preview, previewDelay: 10 },
      initial: { mode: 'schedule' }
    });
    await until(() => body!.getValue() !== null);
    type(q('#jp-DataOps-param-alpha'), '0.7');
    type(q('#jp-DataOps-timezone'), 'Europe/Berlin');
    select(q('#jp-DataOps-concurrency'), 'replace');
    select(q('#jp-DataOps-misfire'), 'skip');
    await until(() => q('#jp-DataOps-grace') !== null);
    type(q('#jp-DataOps-grace'), '60');
    click(q('#jp-DataOps-notifySuccess'));
    type(q('#jp-DataOps-webhook'), 'https://hooks.example.org/T/B/secret');
    type(q('#jp-DataOps-emails'), 'ana@example.org, ops@example.org');
    type(q('#jp-DataOps-name'), 'nightly');
    await until(() => body!.getValue()?.schedule?.notify.email_to.length === 2);
    const request = body.getValue()!;
    expect(
      scheduleCreate({
        path: 'demo/train.ipynb',
        fields: request.schedule!,
        parameters: request.parameters,
        kernelName: request.kernelName,
        job: request.options
      })
    ).toEqual({
      notebook_path: 'demo/train.ipynb',
      cron: '0 6 * * *',
      timezone: 'Europe/Berlin',
      parameters: { alpha: 0.7 },
      kernel_name: 'python3',
      name: 'nightly',
      timeout_seconds: null,
      max_retries: null,
      misfire_policy: 'skip',
      misfire_grace_seconds: 60,
      concurrency_policy: 'replace',
      notify: {
        on_failure: true,
        on_success: true,
        webhook_url: 'https://hooks.example.org/T/B/secret',
        email_to: ['ana@example.org', 'ops@example.org']
      }
    });
    // Bad targets are named before the server is asked.
    type(q('#jp-DataOps-webhook'), 'ftp://example.org');
    type(q('#jp-DataOps-emails'), 'not-an-address');
    await until(() => body!.getValue() === null);
    expect(body.node.textContent).toContain('Enter an http(s) URL');
    expect(body.node.textContent).toContain(
      'Not an e-mail address: not-an-address'
    );
  });
});

describe('Editing a schedule', () => {
  let body: RunJobBody | null = null;
  afterEach(() => {
    body?.dispose();
    body = null;
  });
  const q = (selector: string) => body!.node.querySelector(selector);

  const SCHEDULE: Schedule = makeSchedule({
    notebook_path: 'demo/train.ipynb',
    cron: '0 6 * * MON-FRI',
    timezone: 'Europe/Berlin',
    parameters: { alpha: 0.5 },
    kernel_name: null,
    name: 'nightly',
    timeout_seconds: 600,
    notify: {
      on_failure: true,
      on_success: false,
      webhook_url: 'https://hooks.slack.com/services/…',
      email_to: ['ops@example.org']
    }
  });

  function openEdit(schedule: Schedule = SCHEDULE) {
    const { preview } = previewer();
    return open({
      path: schedule.notebook_path,
      scheduling: { preview, previewDelay: 10, edit: schedule },
      initial: {
        mode: 'schedule',
        parameters: schedule.parameters,
        kernelName: schedule.kernel_name,
        options: {
          name: schedule.name,
          timeout:
            schedule.timeout_seconds !== null
              ? String(schedule.timeout_seconds)
              : '',
          retries: ''
        }
      }
    });
  }

  /** The PATCH body the dialog's request makes. */
  function update(schedule: Schedule = SCHEDULE) {
    const request = body!.getValue()!;
    return scheduleUpdate(schedule, {
      fields: request.schedule!,
      parameters: request.parameters,
      kernelName: request.kernelName,
      kernelChanged: request.kernelChanged,
      job: request.options
    });
  }

  it('is prefilled, has no run-now choice, and sends nothing when nothing changed', async () => {
    body = openEdit();
    await until(() => body!.getValue() !== null);
    expect(q('.jp-DataOps-modeSwitch')).toBeNull();
    expect((q('#jp-DataOps-preset') as HTMLSelectElement).value).toBe(
      'weekdays'
    );
    expect((q('#jp-DataOps-time') as HTMLInputElement).value).toBe('06:00');
    expect((q('#jp-DataOps-webhook') as HTMLInputElement).value).toBe(
      'https://hooks.slack.com/services/…'
    );
    expect((q('#jp-DataOps-param-alpha') as HTMLInputElement).value).toBe(
      '0.5'
    );
    expect(update()).toEqual({});
  });

  it('sends only the fields that changed, never the redacted webhook', async () => {
    body = openEdit();
    await until(() => body!.getValue() !== null);
    type(q('#jp-DataOps-time'), '07:15');
    type(q('#jp-DataOps-param-alpha'), '0.9');
    await until(() => body!.getValue()?.schedule?.cron === '15 7 * * MON-FRI');
    await until(() => body!.getValue()?.parameters.alpha === 0.9);
    expect(update()).toEqual({
      cron: '15 7 * * MON-FRI',
      parameters: { alpha: 0.9 }
    });
    select(q('#jp-DataOps-kernel'), 'other');
    await until(() => body!.getValue()?.kernelName === 'other');
    expect(update().kernel_name).toBe('other');
    expect(update()).not.toHaveProperty('notify');
  });

  it('asks for the full webhook URL again to change the notifications', async () => {
    body = openEdit();
    await until(() => body!.getValue() !== null);
    click(q('#jp-DataOps-notifySuccess'));
    // The shortened URL cannot be sent back: the form says so and holds.
    await until(() => body!.getValue() === null);
    expect(body.node.textContent).toContain('enter the full URL again');
    type(
      q('#jp-DataOps-webhook'),
      'https://hooks.slack.com/services/T1/B2/new'
    );
    await until(() => body!.getValue() !== null);
    expect(update()).toEqual({
      notify: {
        on_failure: true,
        on_success: true,
        webhook_url: 'https://hooks.slack.com/services/T1/B2/new',
        email_to: ['ops@example.org']
      }
    });
    // Clearing it removes the webhook.
    type(q('#jp-DataOps-webhook'), '');
    await until(() => body!.getValue()?.schedule?.notify.webhook_url === null);
    expect(update().notify!.webhook_url).toBeNull();
  });

  it('changes e-mail addresses only with the webhook given again', async () => {
    body = openEdit();
    await until(() => body!.getValue() !== null);
    type(q('#jp-DataOps-emails'), 'ops@example.org, ana@example.org');
    await until(() => body!.getValue() === null);
    expect((q('#jp-DataOps-webhook') as HTMLElement).classList).toContain(
      'jp-DataOps-invalid'
    );
  });

  it('keeps the webhook of a schedule that has none out of the way', async () => {
    const plain = makeSchedule({ cron: '0 6 * * *', parameters: {} });
    body = openEdit(plain);
    await until(() => body!.getValue() !== null);
    click(q('#jp-DataOps-notifySuccess'));
    await until(() => body!.getValue()?.schedule?.notify.on_success === true);
    expect(update(plain)).toEqual({
      notify: {
        on_failure: true,
        on_success: true,
        webhook_url: null,
        email_to: []
      }
    });
  });

  it('says an edit cannot remove the timeout', async () => {
    body = openEdit();
    await until(() => body!.getValue() !== null);
    type(q('#jp-DataOps-timeout'), '');
    await until(() => body!.getValue() === null);
    expect(body.node.textContent).toContain(
      'An edit cannot remove the timeout'
    );
    type(q('#jp-DataOps-timeout'), '900');
    await until(() => body!.getValue() !== null);
    expect(update()).toEqual({ timeout_seconds: 900 });
  });
});

describe('Running a schedule now', () => {
  it('prefills its parameters and sends only the overrides', async () => {
    const schedule = makeSchedule({ parameters: { alpha: 0.5, seed: 3 } });
    const { preview, calls } = previewer();
    const body = open({
      scheduling: { preview, runNowOf: schedule },
      initial: { parameters: schedule.parameters, kernelName: null }
    });
    await until(() => body.getValue() !== null);
    expect(body.node.querySelector('.jp-DataOps-modeSwitch')).toBeNull();
    expect(body.node.querySelector('#jp-DataOps-kernel')).toBeNull();
    expect(body.node.querySelector('#jp-DataOps-name')).toBeNull();
    expect(
      (body.node.querySelector('#jp-DataOps-param-alpha') as HTMLInputElement)
        .value
    ).toBe('0.5');
    expect(body.getValue()!.changes).toEqual({});
    type(body.node.querySelector('#jp-DataOps-param-alpha'), '0.8');
    await until(() => body.getValue()?.changes.alpha === 0.8);
    expect(body.getValue()!.changes).toEqual({ alpha: 0.8 });
    expect(body.getValue()!.parameters).toEqual({ alpha: 0.8, seed: 3 });
    expect(calls).toHaveLength(0);
    body.dispose();
  });
});

describe('openEditDialog', () => {
  it('sends a PATCH with only what changed, and nothing when nothing did', async () => {
    const fake = new FakeSchedulesClient();
    const schedule = makeSchedule({
      id: 's1',
      cron: '0 6 * * *',
      notify: {
        on_failure: true,
        on_success: false,
        webhook_url: 'https://hooks.slack.com/services/…',
        email_to: []
      }
    });
    fake.schedules = [schedule];
    const model = new SchedulesModel({
      client: fake,
      poll: false,
      refreshDelay: 0
    });
    const edit = () =>
      openEditDialog({
        model,
        jobsClient: client,
        kernelspecs,
        schedule,
        trans
      });
    const accept = () =>
      document.body.querySelector(
        '.jp-Dialog .jp-Dialog-button.jp-mod-accept'
      ) as HTMLButtonElement;
    const dialogQ = (selector: string) =>
      document.body.querySelector(`.jp-Dialog ${selector}`);

    let pending = edit();
    await until(() => dialogQ('#jp-DataOps-param-alpha') !== null);
    await until(() => accept() !== null && !accept().disabled);
    expect(accept().textContent).toBe('Save');
    click(accept());
    expect(await pending).toEqual({ changed: false, schedule });
    expect(fake.updates).toEqual([]);

    pending = edit();
    await until(() => dialogQ('#jp-DataOps-time') !== null);
    type(dialogQ('#jp-DataOps-time'), '08:45');
    await until(
      () =>
        (dialogQ('#jp-DataOps-cron') as HTMLInputElement).value === '45 8 * * *'
    );
    await flush(50);
    await until(() => !accept().disabled);
    click(accept());
    const result = await pending;
    expect(result!.changed).toBe(true);
    expect(fake.updates).toEqual([['s1', { cron: '45 8 * * *' }]]);
    model.dispose();
  });

  it('moves the runs to the executor chosen in “Run on”', async () => {
    const fake = new FakeSchedulesClient();
    const schedule = makeSchedule({ id: 's1', cron: '0 6 * * *' });
    fake.schedules = [schedule];
    const model = new SchedulesModel({
      client: fake,
      poll: false,
      refreshDelay: 0
    });
    const dialogQ = (selector: string) =>
      document.body.querySelector(`.jp-Dialog ${selector}`);
    const accept = () =>
      dialogQ('.jp-Dialog-button.jp-mod-accept') as HTMLButtonElement;
    const pending = openEditDialog({
      model,
      jobsClient: client,
      kernelspecs,
      executors: [makeExecutor('local'), makeExecutor('kubernetes')],
      schedule,
      trans
    });
    await until(() => dialogQ('#jp-DataOps-executor') !== null);
    expect((dialogQ('#jp-DataOps-executor') as HTMLSelectElement).value).toBe(
      'local'
    );
    select(dialogQ('#jp-DataOps-executor'), 'kubernetes');
    await until(
      () =>
        (dialogQ('#jp-DataOps-executor') as HTMLSelectElement).value ===
        'kubernetes'
    );
    await flush(50);
    await until(() => !accept().disabled);
    click(accept());
    const result = await pending;
    expect(result!.changed).toBe(true);
    expect(result!.schedule.executor).toBe('kubernetes');
    expect(fake.updates).toEqual([['s1', { executor: 'kubernetes' }]]);
    model.dispose();
  });
});
