import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';

import { addJobActions } from '../jobs/actions';
import { OPEN_SNAPSHOT } from '../jobs/detail';
import { JobsModel } from '../jobs/model';
import { JobsSection } from '../jobs/section';
import { JOB_EVENT_SCHEMA_ID } from '../jobs/types';
import { SnapshotCommandIDs } from '../snapshots/commands';
import { FakeJobsClient } from './fakeJobsClient';
import { makeExecutor, makeInfo, makeJob } from './fixtures';

const trans = nullTranslator.load('jupyter-dataops');

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) {
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  expect(check()).toBe(true);
}

const INFO = makeInfo();

describe('JobsSection', () => {
  let section: JobsSection;
  let model: JobsModel;
  let client: FakeJobsClient;
  let commands: CommandRegistry;

  beforeEach(async () => {
    client = new FakeJobsClient();
    client.jobs = [
      makeJob({
        id: 'run',
        name: 'train',
        status: 'running',
        started_at: 1700000001,
        pending_reason: 'starting a kernel',
        progress: { cells_completed: 1, cells_total: 4, current_cell: 1 }
      }),
      makeJob({
        id: 'warn',
        name: 'plain',
        status: 'completed',
        owner: 'bob',
        started_at: 1700000001,
        finished_at: 1700000003,
        warnings: ['plain.ipynb has no cell tagged parameters']
      }),
      makeJob({
        id: 'bad',
        name: 'broken',
        status: 'failed',
        executor: 'kubernetes',
        error: {
          cell_index: 1,
          ename: 'ValueError',
          evalue: 'bad value 1',
          traceback: ['Traceback (most recent call last)', 'ValueError: bad']
        }
      })
    ];
    client.total = 1234;
    client.info = INFO;
    model = new JobsModel({ client, poll: false, refreshDelay: 0 });
    addJobActions(model, trans);
    commands = new CommandRegistry();
    section = new JobsSection({ model, commands, trans });
    Widget.attach(section, document.body);
    await model.loadInfo();
    await model.refresh();
    section.update();
    await until(
      () => section.node.querySelectorAll('.jp-DataOps-job').length === 3
    );
  });

  afterEach(() => {
    section.dispose();
    model.dispose();
  });

  const text = (selector: string) =>
    section.node.querySelector(selector)?.textContent ?? null;

  it('shows counts, an estimated total and the page’s range', () => {
    expect(text('.jp-DataOps-pageText')).toBe('1–3 of about 1,234');
    expect(
      text('.jp-DataOps-chip[data-status="failed"] .jp-DataOps-chipCount')
    ).toBe('1');
    expect(
      (
        section.node.querySelector(
          'button[aria-label="Next page"]'
        ) as HTMLButtonElement
      ).disabled
    ).toBe(false);
  });

  it('moves a job between the status counts as its events arrive', async () => {
    const chip = (status: string) =>
      text(`.jp-DataOps-chip[data-status="${status}"] .jp-DataOps-chipCount`);
    expect(chip('running')).toBe('1');
    client.set(makeJob({ id: 'run', name: 'train', status: 'failed' }));
    model.handleEvent({
      schema_id: JOB_EVENT_SCHEMA_ID,
      action: 'updated',
      id: 'run',
      seq: client.seq,
      status: 'failed'
    });
    await until(() => chip('failed') === '2');
    expect(chip('running')).toBe('0');
  });

  it('says why a job waits, and shows its progress', () => {
    const row = section.node.querySelector('[data-job-id="run"]')!;
    expect(
      row.querySelector('.jp-DataOps-jobStatusText')!.textContent
    ).toContain('Running (starting a kernel)');
    expect(row.querySelector('.jp-DataOps-progressText')!.textContent).toBe(
      '1/4 cells'
    );
  });

  it('offers Cancel and a progress bar only when the executor supports them', async () => {
    section.select('run');
    await until(
      () =>
        !!section.node.querySelector(
          '[data-action="logs"], [data-action="view-logs"]'
        )
    );
    expect(section.node.querySelector('[data-action="cancel"]')).not.toBeNull();

    client.info = makeInfo({
      executor: makeExecutor('local', {
        cancel: false,
        progress: false,
        logs: false
      })
    });
    await model.loadInfo();
    await until(
      () => section.node.querySelector('[data-action="cancel"]') === null
    );
    expect(section.node.querySelector('.jp-DataOps-progress')).toBeNull();
    expect(section.node.querySelector('[data-action="view-logs"]')).toBeNull();
  });

  it('shows a job’s warnings, owner and parameters in its detail', async () => {
    expect(text('[data-job-id="warn"] .jp-DataOps-jobWarningLine')).toBe(
      '1 warning'
    );
    section.select('warn');
    await until(() => !!section.node.querySelector('.jp-DataOps-warnings'));
    expect(text('.jp-DataOps-warnings')).toContain('no cell tagged parameters');
    expect(text('.jp-DataOps-owner')).toBe('bob');
    expect(text('.jp-DataOps-params')).toContain('alpha');
    // Finished: delete and re-run, no cancel.
    expect(section.node.querySelector('[data-action="delete"]')).not.toBeNull();
    expect(section.node.querySelector('[data-action="cancel"]')).toBeNull();
  });

  it('says where a job runs when it is not this machine', async () => {
    section.select('bad');
    await until(() => !!section.node.querySelector('.jp-DataOps-jobExecutor'));
    const value = section.node.querySelector('.jp-DataOps-jobExecutor')!;
    expect(value.textContent).toBe('kubernetes');
    expect(value.getAttribute('title')).toBe('Kubernetes cluster (kubernetes)');
    expect(value.previousElementSibling!.textContent).toBe('Runs on');
    // A job on this machine: nothing to say.
    section.select('warn');
    await until(() => text('.jp-DataOps-owner') === 'bob');
    expect(section.node.querySelector('.jp-DataOps-jobExecutor')).toBeNull();
  });

  it('shows the traceback of a failed job once the full job is here', async () => {
    expect(text('[data-job-id="bad"] .jp-DataOps-jobErrorLine')).toBe(
      'Cell 1: ValueError: bad value 1'
    );
    section.select('bad');
    await until(() => !!section.node.querySelector('.jp-DataOps-traceback'));
    expect(text('.jp-DataOps-errorTitle')).toContain('Failed in cell 1');
  });

  it('reveals a job the filters hide', async () => {
    model.collection.setQuery({ status: ['failed'] });
    await until(
      () => section.node.querySelectorAll('.jp-DataOps-job').length === 1
    );
    section.reveal('warn');
    expect(model.collection.query.status).toEqual([]);
    await until(
      () => !!section.node.querySelector('[data-job-id="warn"].jp-mod-expanded')
    );
  });

  it('pins a selected job that is on no page of this list', async () => {
    model.collection.setQuery({ notebook: 'other.ipynb' });
    await until(() => !!section.node.querySelector('.jp-DataOps-empty'));
    section.select('bad');
    await until(
      () => !!section.node.querySelector('.jp-DataOps-job.jp-mod-pinned')
    );
    expect(text('.jp-DataOps-pinnedNote')).toContain('Not on this page');
  });

  it('shows only a schedule’s runs, says so, and clears that filter', async () => {
    client.jobs = client.jobs.map(job =>
      job.id === 'bad'
        ? {
            ...job,
            schedule_id: 'sched-123456789',
            schedule_version: 2,
            due_at: 1700000000
          }
        : job
    );
    model.collection.setQuery({ schedule_id: 'sched-123456789' });
    await until(
      () => section.node.querySelectorAll('.jp-DataOps-job').length === 1
    );
    expect(text('.jp-DataOps-filterTag')).toBe(
      'Only the runs of schedule sched-12'
    );
    section.select('bad');
    await until(
      () => !!section.node.querySelector('.jp-DataOps-scheduleValue')
    );
    expect(text('.jp-DataOps-scheduleValue')).toContain('version 2, due');
    (
      section.node.querySelector(
        '.jp-DataOps-clearScheduleFilter'
      ) as HTMLButtonElement
    ).click();
    await until(
      () => section.node.querySelectorAll('.jp-DataOps-job').length === 3
    );
    expect(section.node.querySelector('.jp-DataOps-filterTag')).toBeNull();
  });

  it('links a job to the snapshot it ran on, through the snapshots command', async () => {
    const opened: unknown[] = [];
    client.jobs = client.jobs.map(job =>
      job.id === 'warn' ? { ...job, snapshot_id: 'snap1234567890ab' } : job
    );
    await model.refresh();
    // Without the snapshots plugin: the id, not a link.
    section.select('warn');
    await until(() => !!section.node.querySelector('.jp-DataOps-jobSnapshot'));
    expect(text('.jp-DataOps-jobSnapshot')).toBe('snap1234');
    expect(
      section.node.querySelector('.jp-DataOps-jobSnapshot button')
    ).toBeNull();
    commands.addCommand(OPEN_SNAPSHOT, {
      execute: args => {
        opened.push(args);
      }
    });
    section.select(null);
    section.select('warn');
    await until(
      () => !!section.node.querySelector('.jp-DataOps-jobSnapshot button')
    );
    (
      section.node.querySelector(
        '.jp-DataOps-jobSnapshot button'
      ) as HTMLButtonElement
    ).click();
    expect(opened).toEqual([{ id: 'snap1234567890ab' }]);
    // The snapshots plugin registers it under the same id.
    expect(OPEN_SNAPSHOT).toBe(SnapshotCommandIDs.openSnapshot);
    // No snapshot, no field.
    section.select('bad');
    await until(() => !!section.node.querySelector('.jp-DataOps-traceback'));
    expect(section.node.querySelector('.jp-DataOps-jobSnapshot')).toBeNull();
  });
});
