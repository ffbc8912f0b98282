import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { JOB_EVENT_SCHEMA_ID } from '../jobs/types';
import { SchedulesModel } from '../schedules/model';
import { SchedulesSection } from '../schedules/section';
import { outcomeCounts, Sparkline } from '../schedules/sparkline';
import { SCHEDULE_EVENT_SCHEMA_ID } from '../schedules/types';
import { FakeSchedulesClient, makeSchedule } from './fakeSchedulesClient';
import { makeJob } from './fixtures';

const trans = nullTranslator.load('jupyter-dataops');

const flush = (ms = 20) => new Promise(resolve => setTimeout(resolve, ms));

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) {
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  expect(check()).toBe(true);
}

/** Render a React element in an attached widget, and wait for it. */
async function render(element: JSX.Element): Promise<Widget> {
  const widget = ReactWidget.create(element);
  Widget.attach(widget, document.body);
  widget.update();
  await until(() => widget.node.childElementCount > 0);
  return widget;
}

describe('Sparkline', () => {
  it('draws one bar per outcome, coloured by class, with a tooltip', async () => {
    const widget = await render(
      <Sparkline
        recent={['completed', 'failed', 'skipped', 'missed', 'running']}
        trans={trans}
      />
    );
    const node = widget.node;
    const bars = node.querySelectorAll('rect');
    expect([...bars].map(bar => bar.getAttribute('data-outcome'))).toEqual([
      'completed',
      'failed',
      'skipped',
      'missed',
      'running'
    ]);
    expect(bars[1].getAttribute('class')).toContain('jp-DataOps-spark-failed');
    expect(bars[1].querySelector('title')!.textContent).toBe('2 of 5: Failed');
    // Runs that ended are taller than due times that did not run.
    expect(Number(bars[0].getAttribute('height'))).toBeGreaterThan(
      Number(bars[2].getAttribute('height'))
    );
    expect(node.querySelector('svg')!.getAttribute('aria-label')).toBe(
      'Last 5 due times: 1 running, 1 completed, 1 failed, 1 skipped, 1 missed'
    );
    widget.dispose();
    const empty = await render(<Sparkline recent={[]} trans={trans} />);
    expect(empty.node.textContent).toBe('not due yet');
    empty.dispose();
  });

  it('keeps the latest 20 outcomes', async () => {
    const recent = Array.from({ length: 30 }, (_, i) =>
      i < 10 ? 'failed' : 'completed'
    );
    const widget = await render(<Sparkline recent={recent} trans={trans} />);
    expect(widget.node.querySelectorAll('rect')).toHaveLength(20);
    expect(
      widget.node.querySelectorAll('.jp-DataOps-spark-failed')
    ).toHaveLength(0);
    widget.dispose();
  });

  it('counts outcomes in a stable order', () => {
    expect(outcomeCounts(['failed', 'completed', 'failed', 'odd'])).toEqual([
      ['completed', 1],
      ['failed', 2],
      ['odd', 1]
    ]);
  });
});

describe('SchedulesSection', () => {
  let section: SchedulesSection;
  let model: SchedulesModel;
  let client: FakeSchedulesClient;
  let commands: CommandRegistry;
  const executed: [string, any][] = [];

  beforeEach(async () => {
    executed.length = 0;
    client = new FakeSchedulesClient();
    const now = Date.now() / 1000;
    client.schedules = [
      makeSchedule({
        id: 's1',
        name: 'nightly',
        description: 'At 06:00, every day (Europe/Berlin)',
        next_run_at: now + 3 * 3600 + 60,
        next_runs: [now + 3 * 3600 + 60, now + 27 * 3600],
        last_run: { job_id: 'j2', status: 'running', due_at: now - 60 },
        recent: ['completed', 'failed', 'skipped', 'running'],
        notify: {
          on_failure: true,
          on_success: false,
          webhook_url: 'https://hooks.slack.com/services/…',
          email_to: ['ops@example.org']
        }
      }),
      makeSchedule({
        id: 's2',
        name: 'weekly',
        status: 'paused',
        next_run_at: null,
        next_runs: []
      })
    ];
    client.jobs = [
      makeJob({
        id: 'j2',
        schedule_id: 's1',
        status: 'running',
        due_at: now - 60,
        started_at: now - 50
      }),
      makeJob({
        id: 'j1',
        schedule_id: 's1',
        status: 'failed',
        due_at: now - 86400
      })
    ];
    client.firings = {
      s1: [
        {
          schedule_id: 's1',
          due_at: now - 60,
          fired_at: now - 59,
          version: 1,
          outcome: 'queued',
          job_id: 'j2',
          reason: null
        },
        {
          schedule_id: 's1',
          due_at: now - 3600,
          fired_at: now - 3590,
          version: 1,
          outcome: 'skipped',
          job_id: null,
          reason:
            'The previous run was still running (concurrency policy forbid).'
        }
      ]
    };
    model = new SchedulesModel({ client, poll: false, refreshDelay: 0 });
    commands = new CommandRegistry();
    for (const id of [
      'dataops:open-panel',
      'dataops:run-schedule-now',
      'dataops:pause-schedule',
      'dataops:resume-schedule',
      'dataops:edit-schedule',
      'dataops:delete-schedule',
      'dataops:show-schedule-runs'
    ]) {
      commands.addCommand(id, {
        execute: args => {
          executed.push([id, args]);
        }
      });
    }
    section = new SchedulesSection({ model, commands, trans });
    Widget.attach(section, document.body);
    await model.refresh();
    section.update();
    await until(
      () => section.node.querySelectorAll('.jp-DataOps-schedule').length === 2
    );
    // Let the view connect to the model's signals (an effect, after paint).
    await flush();
  });

  afterEach(() => {
    section.dispose();
    model.dispose();
  });

  const row = (id: string) =>
    section.node.querySelector(`[data-schedule-id="${id}"]`) as HTMLElement;

  it('lists schedules with their words, next run, last run and sparkline', () => {
    const nightly = row('s1');
    expect(nightly.querySelector('.jp-DataOps-jobName')!.textContent).toBe(
      'nightly'
    );
    expect(
      nightly.querySelector('.jp-DataOps-scheduleWords')!.textContent
    ).toBe('At 06:00, every day (Europe/Berlin)');
    expect(nightly.querySelector('.jp-DataOps-nextRun')!.textContent).toBe(
      'next in 3 h'
    );
    expect(nightly.querySelector('.jp-DataOps-lastRun')!.textContent).toBe(
      'Running'
    );
    expect(nightly.querySelectorAll('.jp-DataOps-spark')).toHaveLength(4);
    const weekly = row('s2');
    expect(weekly.getAttribute('data-status')).toBe('paused');
    expect(weekly.querySelector('.jp-DataOps-nextRun')!.textContent).toBe(
      'paused'
    );
    expect(weekly.querySelector('.jp-DataOps-lastRun')!.textContent).toBe(
      'never ran'
    );
    expect(weekly.querySelector('.jp-DataOps-sparkline')!.textContent).toBe(
      'not due yet'
    );
  });

  it('shows counts on the status chips and filters by status', async () => {
    const chip = (status: string) =>
      section.node.querySelector(
        `.jp-DataOps-chip[data-status="${status}"] .jp-DataOps-chipCount`
      )!.textContent;
    expect(chip('active')).toBe('1');
    expect(chip('paused')).toBe('1');
    (
      section.node.querySelector(
        '.jp-DataOps-chip[data-status="paused"]'
      ) as HTMLButtonElement
    ).click();
    await until(
      () => section.node.querySelectorAll('.jp-DataOps-schedule').length === 1
    );
    expect(client.queries[client.queries.length - 1].status).toEqual([
      'paused'
    ]);
  });

  it('follows schedule and job events live', async () => {
    model.handleEvent({
      schema_id: SCHEDULE_EVENT_SCHEMA_ID,
      action: 'updated',
      id: 's1',
      seq: 20,
      status: 'paused',
      next_run_at: null
    } as any);
    await until(() => row('s1').getAttribute('data-status') === 'paused');
    expect(
      section.node.querySelector(
        '.jp-DataOps-chip[data-status="paused"] .jp-DataOps-chipCount'
      )!.textContent
    ).toBe('2');
    model.handleEvent({
      schema_id: JOB_EVENT_SCHEMA_ID,
      action: 'updated',
      id: 'j2',
      seq: 21,
      status: 'completed'
    } as any);
    await until(
      () =>
        row('s1').querySelector('.jp-DataOps-lastRun')!.textContent ===
        'Completed'
    );
    const bars = row('s1').querySelectorAll('.jp-DataOps-spark');
    expect(bars[bars.length - 1].getAttribute('data-outcome')).toBe(
      'completed'
    );
  });

  it('opens a schedule’s detail: next runs, runs, due times and definition', async () => {
    (
      row('s1').querySelector('.jp-DataOps-scheduleSummary') as HTMLElement
    ).click();
    await until(
      () =>
        row('s1').querySelectorAll('.jp-DataOps-run').length === 2 &&
        row('s1').querySelectorAll('.jp-DataOps-firing').length === 2 &&
        row('s1').querySelector('.jp-DataOps-notifyValue') !== null
    );
    const detail = row('s1').querySelector('.jp-DataOps-scheduleDetail')!;
    expect(detail.querySelectorAll('.jp-DataOps-nextRuns li')).toHaveLength(2);
    expect(detail.textContent).toContain('0 6 * * *');
    expect(detail.textContent).toContain('alpha');
    // The webhook is shown as the server gives it (redacted).
    expect(
      detail.querySelector('.jp-DataOps-notifyValue')!.textContent
    ).toContain('https://hooks.slack.com/services/…');
    const skipped = detail.querySelector(
      '.jp-DataOps-firing[data-outcome="skipped"]'
    )!;
    expect(skipped.textContent).toContain('concurrency policy forbid');
    // A run opens in the Jobs section.
    (
      detail.querySelector('.jp-DataOps-run[data-job-id="j1"]') as HTMLElement
    ).click();
    expect(executed).toContainEqual(['dataops:open-panel', { select: 'j1' }]);
    (detail.querySelector('.jp-DataOps-showRuns') as HTMLElement).click();
    expect(executed).toContainEqual([
      'dataops:show-schedule-runs',
      { id: 's1' }
    ]);
  });

  it('says where a schedule’s runs go when it names an executor', async () => {
    client.schedules[1] = { ...client.schedules[1], executor: 'kubernetes' };
    await model.refresh();
    const open = async (id: string) => {
      (
        row(id).querySelector('.jp-DataOps-scheduleSummary') as HTMLElement
      ).click();
      await until(
        () => row(id).querySelector('.jp-DataOps-notifyValue') !== null
      );
      return row(id).querySelector('.jp-DataOps-scheduleDefinition')!;
    };
    const there = await open('s2');
    const value = there.querySelector('.jp-DataOps-scheduleExecutor')!;
    expect(value.previousElementSibling!.textContent).toBe('Runs on');
    expect(value.textContent).toBe('kubernetes');
    expect(value.getAttribute('title')).toBe('Kubernetes cluster (kubernetes)');
    // The server's default: nothing to say.
    const here = await open('s1');
    expect(here.querySelector('.jp-DataOps-scheduleExecutor')).toBeNull();
    expect(here.textContent).not.toContain('Runs on');
  });

  it('offers actions, each disabled with a reason where it does not apply', async () => {
    (
      row('s2').querySelector('.jp-DataOps-scheduleSummary') as HTMLElement
    ).click();
    await until(() => row('s2').querySelector('.jp-DataOps-actions') !== null);
    const action = (id: string) =>
      row('s2').querySelector(`[data-action="${id}"]`) as HTMLButtonElement;
    // Paused: it offers Resume, not Pause.
    expect(action('pause')).toBeNull();
    expect(action('resume')).not.toBeNull();
    expect(row('s2').textContent).toContain(
      'Paused: nothing runs until it is resumed.'
    );
    await until(() => !action('edit').disabled);
    action('resume').click();
    expect(executed).toContainEqual(['dataops:resume-schedule', { id: 's2' }]);
    await flush();
    await until(() => !action('delete').disabled);
    action('delete').click();
    expect(executed).toContainEqual(['dataops:delete-schedule', { id: 's2' }]);
  });

  it('explains why Edit waits for the schedule to load', async () => {
    let release: (() => void) | null = null;
    const original = client.getSchedule.bind(client);
    client.getSchedule = id =>
      new Promise(resolve => {
        release = () => resolve(original(id));
      });
    (
      row('s1').querySelector('.jp-DataOps-scheduleSummary') as HTMLElement
    ).click();
    await until(() => row('s1').querySelector('[data-action="edit"]') !== null);
    const edit = row('s1').querySelector(
      '[data-action="edit"]'
    ) as HTMLButtonElement;
    expect(edit.disabled).toBe(true);
    expect(edit.title).toBe('Wait for the schedule to load');
    await until(() => release !== null);
    release!();
    await until(
      () =>
        !(row('s1').querySelector('[data-action="edit"]') as HTMLButtonElement)
          .disabled
    );
  });

  it('reveals a schedule hidden by the filters', async () => {
    model.collection.setQuery({ status: ['active'] });
    await until(() => row('s2') === null);
    section.reveal('s2');
    await until(() => row('s2') !== null);
    expect(model.collection.query.status).toEqual([]);
    expect(section.selected).toBe('s2');
  });
});
