import { nullTranslator } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { DiffView } from '../snapshots/diff';
import { TakeSnapshotBody } from '../snapshots/dialogs';
import { SnapshotsModel } from '../snapshots/model';
import { createTakeButton, SnapshotsSection } from '../snapshots/section';
import { SNAPSHOT_EVENT_SCHEMA_ID } from '../snapshots/types';
import {
  FakeSnapshotsClient,
  makeDiff,
  makeSnapshot,
  makeWorkspace
} from './fakeSnapshotsClient';

const trans = nullTranslator.load('jupyter-dataops');

const flush = (ms = 20) => new Promise(resolve => setTimeout(resolve, ms));

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

function select(node: Element | null, value: string): void {
  const element = node as HTMLSelectElement;
  const proto = Object.getPrototypeOf(element);
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(element, value);
  element.dispatchEvent(new Event('change', { bubbles: true }));
}

function click(node: Element | null): void {
  (node as HTMLElement).click();
}

/** Render a React element in an attached widget, and wait for it. */
async function render(element: JSX.Element): Promise<Widget> {
  const widget = ReactWidget.create(element);
  Widget.attach(widget, document.body);
  widget.update();
  await until(() => widget.node.childElementCount > 0);
  return widget;
}

describe('SnapshotsSection', () => {
  let section: SnapshotsSection;
  let model: SnapshotsModel;
  let client: FakeSnapshotsClient;
  let commands: CommandRegistry;
  let loadable = true;
  const executed: [string, any][] = [];
  const now = Date.now() / 1000;

  beforeEach(async () => {
    executed.length = 0;
    client = new FakeSnapshotsClient();
    client.snapshots = [
      makeSnapshot({
        id: 'taking000000',
        message: 'big data',
        status: 'creating',
        commit: null,
        push_status: 'none',
        created_at: now - 5,
        phase: 'hashing data'
      } as object),
      makeSnapshot({
        id: 'broken000000',
        message: '',
        status: 'failed',
        commit: null,
        push_status: 'none',
        error: 'DVC could not version the data',
        created_at: now - 60
      }),
      makeSnapshot({
        id: 'second000000',
        message: 'more sales',
        parent_id: 'first0000000',
        created_at: now - 120,
        size: 2048,
        nfiles: 3,
        push_status: 'failed',
        push_error: 'remote unreachable',
        push_attempts: 6,
        jobs: ['job000000001'],
        warnings: ['Edited in place since an earlier snapshot: data/a.csv'],
        variables: {
          saved: [{ name: 'df', type: 'DataFrame', bytes: 2048, reason: null }],
          skipped: [
            {
              name: 'lock',
              type: 'lock',
              bytes: 0,
              reason: 'cannot be pickled'
            }
          ],
          bytes: 2048,
          sha256: 'abc'
        }
      }),
      makeSnapshot({
        id: 'first0000000',
        message: 'raw sales',
        created_at: now - 3600,
        kind: 'safety'
      })
    ];
    client.workspace = makeWorkspace({
      latest_id: 'second000000',
      changed: true
    });
    model = new SnapshotsModel({
      client,
      poll: false,
      refreshDelay: 0,
      workspaceDelay: 0
    });
    commands = new CommandRegistry();
    loadable = true;
    commands.addCommand('dataops:load-snapshot-variables', {
      label: () =>
        loadable
          ? 'Load into analysis.ipynb’s kernel'
          : 'Load into a notebook’s kernel',
      caption: () => (loadable ? 'Load them' : 'Open a notebook first'),
      isEnabled: () => loadable,
      execute: args => {
        executed.push(['dataops:load-snapshot-variables', args]);
      }
    });
    for (const id of [
      'dataops:open-panel',
      'dataops:take-snapshot',
      'dataops:restore-snapshot',
      'dataops:push-snapshot',
      'dataops:compare-snapshots'
    ]) {
      commands.addCommand(id, {
        execute: args => {
          executed.push([id, args]);
        }
      });
    }
    section = new SnapshotsSection({ model, commands, trans });
    Widget.attach(section, document.body);
    await model.refresh();
    section.update();
    await until(
      () => section.node.querySelectorAll('.jp-DataOps-snapshot').length === 4
    );
    // Let the view connect to the model's signals (an effect, after paint).
    await flush();
  });

  afterEach(() => {
    section.dispose();
    model.dispose();
  });

  const row = (id: string) =>
    section.node.querySelector(`[data-snapshot-id="${id}"]`) as HTMLElement;

  const open = async (id: string) => {
    click(row(id).querySelector('.jp-DataOps-snapshotSummary'));
    await until(
      () => row(id).querySelector('.jp-DataOps-snapshotOverview') !== null
    );
  };

  it('lists snapshots with id, kind, size, author, time and push state', () => {
    const second = row('second000000');
    expect(second.querySelector('.jp-DataOps-jobName')!.textContent).toBe(
      'more sales'
    );
    expect(second.querySelector('.jp-DataOps-snapshotId')!.textContent).toBe(
      'second00'
    );
    expect(second.querySelector('.jp-DataOps-kindTag')!.textContent).toBe(
      'manual'
    );
    expect(second.querySelector('.jp-DataOps-snapshotSize')!.textContent).toBe(
      '2 KB · 3 files'
    );
    expect(second.querySelector('.jp-DataOps-jobTime')!.textContent).toBe(
      'alice2 min ago'
    );
    const badge = second.querySelector('.jp-DataOps-pushBadge')!;
    expect(badge.getAttribute('data-push-status')).toBe('failed');
    expect(
      row('first0000000').querySelector('.jp-DataOps-kindTag')!.textContent
    ).toBe('safety');
    expect(
      row('first0000000')
        .querySelector('.jp-DataOps-pushBadge')!
        .getAttribute('data-push-status')
    ).toBe('pushed');
  });

  it('shows a snapshot being taken with its phase, and failures greyed with their reasons', async () => {
    const taking = row('taking000000');
    expect(taking.getAttribute('data-status')).toBe('creating');
    expect(taking.querySelector('.jp-DataOps-snapshotSize')!.textContent).toBe(
      'hashing data…'
    );
    expect(taking.querySelector('.jp-DataOps-pushBadge')).toBeNull();
    const broken = row('broken000000');
    expect(broken.className).toContain('jp-DataOps-snapshotStatus-failed');
    expect(broken.querySelector('.jp-DataOps-jobName')!.textContent).toBe(
      '(no message)'
    );
    // The reasons come with the summaries: no full snapshot is fetched.
    expect(
      (broken.querySelector('.jp-DataOps-snapshotSummary') as HTMLElement).title
    ).toBe('Failed: DVC could not version the data');
    const badge = () =>
      row('second000000').querySelector('.jp-DataOps-pushBadge') as HTMLElement;
    expect(badge().title).toBe(
      'Pushing its data to the DVC remote failed: remote unreachable'
    );
    expect(client.gets).toEqual([]);
    // Once fetched in full (its detail opened), the tries are told too.
    await open('second000000');
    await until(
      () =>
        badge().title ===
        'Pushing its data to the DVC remote failed (6 tries): remote unreachable'
    );
  });

  it('says whether the project changed since the newest snapshot', async () => {
    const workspace = section.node.querySelector('.jp-DataOps-workspace')!;
    expect(workspace.getAttribute('data-state')).toBe('changed');
    expect(workspace.textContent).toContain('Changed since second00');
    expect(workspace.textContent).toContain('Data: data');
    expect(workspace.textContent).toContain('Remote: …/dvc-remote');
    click(workspace.querySelector('.jp-DataOps-snapshotLink'));
    expect(section.selected).toBe('second000000');

    client.workspace = makeWorkspace({
      latest_id: 'second000000',
      changed: false,
      matches_id: 'second000000'
    });
    await model.fetchWorkspace();
    await until(
      () =>
        section.node
          .querySelector('.jp-DataOps-workspace')!
          .getAttribute('data-state') === 'unchanged'
    );
    // After a restore: the newest is the safety snapshot, the project is
    // exactly the one restored.
    client.workspace = makeWorkspace({
      latest_id: 'first0000000',
      changed: true,
      matches_id: 'second000000'
    });
    await model.fetchWorkspace();
    await until(
      () =>
        section.node
          .querySelector('.jp-DataOps-workspace')!
          .getAttribute('data-state') === 'matches'
    );
    const state = section.node.querySelector('.jp-DataOps-workspaceState')!;
    expect(state.textContent).toBe('Matches second00');
    section.select(null);
    click(state.querySelector('.jp-DataOps-snapshotLink'));
    expect(section.selected).toBe('second000000');
    client.workspace = makeWorkspace({
      latest_id: 'second000000',
      changed: false,
      matches_id: 'second000000'
    });
    await model.fetchWorkspace();
    await until(() =>
      section.node
        .querySelector('.jp-DataOps-workspaceState')!
        .textContent!.includes('Unchanged since second00')
    );
    client.workspace = makeWorkspace({
      ready: false,
      missing: ['git', 'DVC'],
      git_root: null,
      dvc_root: null
    });
    await model.fetchWorkspace();
    await until(() =>
      section.node
        .querySelector('.jp-DataOps-workspace')!
        .textContent!.includes('Not set up for snapshots (git and DVC missing)')
    );
  });

  it('shows a snapshot being taken as an operation, then the list', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>(resolve => (release = resolve));
    client.create = async request => {
      await gate;
      return makeSnapshot({ id: 'new000000000', message: request.message });
    };
    const pending = model.takeSnapshot({ message: 'third' });
    await until(
      () => section.node.querySelector('.jp-DataOps-operation') !== null
    );
    const operation = section.node.querySelector('.jp-DataOps-operation')!;
    expect(operation.getAttribute('data-kind')).toBe('take');
    expect(
      operation.querySelector('.jp-DataOps-operationText')!.textContent
    ).toBe('Taking snapshot “third”…');
    expect(
      operation.querySelector('.jp-DataOps-operationPhase')!.textContent
    ).toBe('hashing data');
    release();
    await pending;
    await until(
      () => section.node.querySelector('.jp-DataOps-operation') === null
    );
  });

  it('filters by kind', async () => {
    click(section.node.querySelector('.jp-DataOps-chip[data-kind="safety"]'));
    await until(
      () => section.node.querySelectorAll('.jp-DataOps-snapshot').length === 1
    );
    expect(client.queries[client.queries.length - 1].kind).toEqual(['safety']);
    expect(
      section.node
        .querySelector('.jp-DataOps-chip[data-kind="safety"]')!
        .getAttribute('aria-pressed')
    ).toBe('true');
    // A snapshot the filters hide is shown when asked for.
    section.reveal('second000000');
    await until(() => row('second000000') !== null);
    expect(model.collection.query.kind).toEqual([]);
  });

  it('opens a snapshot’s detail: commit, parent, data, tables, environment, variables, jobs', async () => {
    await open('second000000');
    await until(
      () =>
        row('second000000').querySelector('.jp-DataOps-snapshotData') !== null
    );
    const detail = row('second000000').querySelector(
      '.jp-DataOps-snapshotDetail'
    )!;
    expect(detail.textContent).toContain('0ff0c9a2cc');
    expect(detail.querySelector('.jp-DataOps-ref')!.textContent).toBe(
      'refs/dataops/snapshots/a1b2c3d4e5f6'
    );
    expect(
      detail.querySelector('.jp-DataOps-snapshotWarnings')!.textContent
    ).toContain('Edited in place');
    expect(detail.querySelector('.jp-DataOps-pushError')!.textContent).toBe(
      'remote unreachable'
    );
    // Data entries, with a restore of that path only.
    const entry = detail.querySelector('.jp-DataOps-dataEntry')!;
    expect(entry.getAttribute('data-path')).toBe('data');
    expect(entry.textContent).toContain('51790b9d34');
    click(entry.querySelector('.jp-DataOps-inlineLink'));
    expect(executed).toContainEqual([
      'dataops:restore-snapshot',
      { id: 'second000000', paths: ['data'] }
    ]);
    // The table's profile.
    const table = detail.querySelector(
      '.jp-DataOps-tableProfile[data-path="data/sales.csv"]'
    )!;
    expect(table.querySelector('.jp-DataOps-tableShape')!.textContent).toBe(
      '3 rows × 3 columns'
    );
    const sales = table.querySelector('tr[data-column="sales"]')!;
    expect(
      [...sales.querySelectorAll('td')].map(cell => cell.textContent)
    ).toEqual(['float64', '1', '7.25–10.5', '8.875']);
    // The environment, its packages filtered.
    const env = detail.querySelector('.jp-DataOps-snapshotEnvironment')!;
    expect(env.querySelector('.jp-DataOps-envSummary')!.textContent).toBe(
      'Python 3.11.7 · 3 packages · kernel python3'
    );
    type(env.querySelector('.jp-DataOps-packageFilter'), 'pan');
    await until(
      () => env.querySelectorAll('.jp-DataOps-packageList li').length === 1
    );
    expect(env.querySelector('.jp-DataOps-packageList')!.textContent).toBe(
      'pandas3.1.1'
    );
    // Variables saved and skipped.
    const variables = detail.querySelector('.jp-DataOps-snapshotVariables')!;
    expect(variables.querySelector('tr[data-variable="df"]')!.textContent).toBe(
      'dfDataFrame2 KB'
    );
    expect(variables.textContent).toContain('cannot be pickled');
    expect(variables.textContent).toContain('%dataops snapshots load second00');
    // Loaded into the current notebook's kernel, when there is one.
    const load = () =>
      variables.querySelector(
        '[data-action="load-variables"]'
      ) as HTMLButtonElement;
    expect(load().textContent).toBe('Load into analysis.ipynb’s kernel');
    expect(load().disabled).toBe(false);
    click(load());
    expect(executed).toContainEqual([
      'dataops:load-snapshot-variables',
      { id: 'second000000' }
    ]);
    loadable = false;
    commands.notifyCommandChanged('dataops:load-snapshot-variables');
    await until(() => load().disabled);
    expect(load().textContent).toBe('Load into a notebook’s kernel');
    expect(load().title).toBe('Open a notebook first');
    // The jobs that ran on it open in the Jobs section.
    await until(
      () => detail.querySelector('.jp-DataOps-run[data-job-id]') !== null
    );
    click(detail.querySelector('.jp-DataOps-run[data-job-id="job000000001"]'));
    expect(executed).toContainEqual([
      'dataops:open-panel',
      { select: 'job000000001' }
    ]);
    // The parent opens.
    click(detail.querySelector('.jp-DataOps-snapshotLink[data-parent]'));
    expect(section.selected).toBe('first0000000');
  });

  it('offers restore, compare and push where they apply', async () => {
    await open('second000000');
    const action = (id: string) =>
      row('second000000').querySelector(
        `[data-action="${id}"]`
      ) as HTMLButtonElement;
    expect(action('push')).not.toBeNull();
    click(action('restore'));
    expect(executed).toContainEqual([
      'dataops:restore-snapshot',
      { id: 'second000000' }
    ]);
    await flush();
    await until(() => !action('push').disabled);
    click(action('push'));
    expect(executed).toContainEqual([
      'dataops:push-snapshot',
      { id: 'second000000' }
    ]);
    // A pushed one has no push; a failed one restores nothing.
    await open('first0000000');
    expect(
      row('first0000000').querySelector('[data-action="push"]')
    ).toBeNull();
    await open('broken000000');
    const restore = row('broken000000').querySelector(
      '[data-action="restore"]'
    ) as HTMLButtonElement;
    expect(restore.disabled).toBe(true);
    expect(restore.title).toBe('It failed: there is nothing to use');
    await until(
      () => row('broken000000').querySelector('.jp-DataOps-errorTitle') !== null
    );
    expect(
      row('broken000000').querySelector('.jp-DataOps-errorTitle')!.textContent
    ).toBe('It failed: DVC could not version the data');
  });

  it('compares with the parent by default, from the older to the newer', async () => {
    await open('second000000');
    const detail = row('second000000');
    click(detail.querySelector('[data-action="compare"]'));
    await until(() => detail.querySelector('.jp-DataOps-tableChange') !== null);
    const choice = detail.querySelector(
      '.jp-DataOps-compareSelect'
    ) as HTMLSelectElement;
    expect(choice.value).toBe('first0000000');
    // Ready snapshots only, itself left out.
    expect([...choice.options].map(option => option.value)).toEqual([
      'first0000000'
    ]);
    expect(client.diffs).toEqual([['first0000000', 'second000000']]);
    expect(detail.querySelector('.jp-DataOps-diffDirection')!.textContent).toBe(
      'From first000 to second00'
    );
    expect(detail.querySelector('.jp-DataOps-rowChange')!.textContent).toBe(
      '3 → 4 rows (+1)'
    );
    click(detail.querySelector('.jp-DataOps-openDiff'));
    expect(executed).toContainEqual([
      'dataops:compare-snapshots',
      { a: 'first0000000', b: 'second000000' }
    ]);
    select(choice, 'first0000000');
  });

  it('follows snapshot events: a push that succeeds', async () => {
    client.set({ ...client.snapshots[2], push_status: 'pushed' });
    model.handleEvent({
      schema_id: SNAPSHOT_EVENT_SCHEMA_ID,
      action: 'updated',
      id: 'second000000',
      seq: client.seq,
      status: 'ready',
      push_status: 'pushed'
    } as any);
    await until(
      () =>
        row('second000000')
          .querySelector('.jp-DataOps-pushBadge')!
          .getAttribute('data-push-status') === 'pushed'
    );
  });
});

describe('DiffView', () => {
  it('groups files, data, tables and packages, with marks', async () => {
    const widget = await render(<DiffView diff={makeDiff()} trans={trans} />);
    const node = widget.node;
    expect(node.querySelector('.jp-DataOps-diffSummary')!.textContent).toBe(
      'Changed: 2 files, 1 data file, 1 table, 2 packages'
    );
    const files = node.querySelector('[data-group="files"]')!;
    expect(
      [...files.querySelectorAll('.jp-DataOps-change')].map(item => [
        item.getAttribute('data-change'),
        item.querySelector('.jp-DataOps-changeMark')!.textContent
      ])
    ).toEqual([
      ['modified', '~'],
      ['added', '+']
    ]);
    const table = node.querySelector('.jp-DataOps-tableChange')!;
    expect(table.querySelector('.jp-DataOps-rowChange')!.className).toContain(
      'jp-mod-more'
    );
    expect(table.querySelector('tr[data-column="sales"]')!.textContent).toBe(
      'salesnulls 1 → 0mean 8.875 → 8.375'
    );
    expect(table.querySelector('tr[data-column="region"]')!.textContent).toBe(
      'regionadded str'
    );
    expect(table.querySelector('tr[data-column="id"]')!.textContent).toBe(
      'idtype changed int64 → float64'
    );
    const packages = node.querySelector('[data-group="environment"]')!;
    expect(packages.querySelector('[data-package="pandas"]')!.textContent).toBe(
      '~pandas2.2.0 → 3.1.1'
    );
    expect(packages.querySelector('[data-package="polars"]')!.textContent).toBe(
      '+polars1.0.0'
    );
    widget.dispose();
  });

  it('says when nothing differs', async () => {
    const widget = await render(
      <DiffView
        diff={makeDiff({ files: [], data: [], tables: [], packages: [] })}
        trans={trans}
      />
    );
    expect(widget.node.textContent).toBe('No differences.');
    widget.dispose();
  });
});

describe('the take dialog', () => {
  it('explains the set-up of a project that is not set up', async () => {
    const body = new TakeSnapshotBody({
      workspace: makeWorkspace({
        ready: false,
        missing: ['git', 'DVC'],
        root: '/srv/project'
      }),
      matching: null,
      trans
    });
    Widget.attach(body, document.body);
    body.update();
    await until(() => body.node.querySelector('.jp-DataOps-takeForm') !== null);
    const note = body.node.querySelector('.jp-DataOps-setupNote')!;
    expect(note.textContent).toContain(
      'This project is not yet a git and DVC repository.'
    );
    expect(note.textContent).toContain('/srv/project');
    expect(note.querySelectorAll('li')).toHaveLength(2);
    type(body.node.querySelector('#jp-DataOps-snapshotMessage'), 'first');
    type(body.node.querySelector('#jp-DataOps-snapshotPaths'), 'data, models');
    expect(body.getValue()).toEqual({
      message: 'first',
      paths: 'data, models',
      variables: false
    });
    // No notebook kernel: nothing to ask about variables.
    expect(body.node.querySelector('#jp-DataOps-snapshotVariables')).toBeNull();
    body.dispose();
  });

  it('says when the project is what a snapshot recorded', async () => {
    const matching = makeSnapshot({
      id: 'second000000',
      message: 'more sales'
    });
    const body = new TakeSnapshotBody({
      workspace: makeWorkspace({
        latest_id: 'safety000000',
        changed: true,
        matches_id: matching.id
      }),
      matching,
      trans
    });
    Widget.attach(body, document.body);
    body.update();
    await until(() => body.node.querySelector('.jp-DataOps-takeForm') !== null);
    expect(body.node.querySelector('.jp-DataOps-setupNote')).toBeNull();
    expect(body.node.textContent).toContain(
      'Nothing changed since snapshot second00 (“more sales”)'
    );
    body.dispose();
  });

  it('offers to save the variables of the current notebook’s kernel', async () => {
    const body = new TakeSnapshotBody({
      workspace: makeWorkspace({ max_variable_bytes: 256 * 1024 * 1024 }),
      matching: null,
      kernelNotebook: 'analysis.ipynb',
      initial: { message: 'with variables' },
      trans
    });
    Widget.attach(body, document.body);
    body.update();
    await until(() => body.node.querySelector('.jp-DataOps-takeForm') !== null);
    const box = body.node.querySelector(
      '#jp-DataOps-snapshotVariables'
    ) as HTMLInputElement;
    expect(box.checked).toBe(false);
    expect(box.closest('label')!.textContent).toBe(
      'Also save the variables of analysis.ipynb’s kernel'
    );
    expect(
      body.node.querySelector('.jp-DataOps-variablesField')!.textContent
    ).toContain('up to 256 MB in all');
    click(box);
    await until(() => body.getValue().variables);
    expect(body.getValue()).toEqual({
      message: 'with variables',
      paths: '',
      variables: true
    });
    body.dispose();
  });
});

describe('the Take snapshot button', () => {
  it('runs the take command, and spins while a snapshot is taken', async () => {
    const client = new FakeSnapshotsClient();
    const model = new SnapshotsModel({ client, poll: false });
    const commands = new CommandRegistry();
    const executed: string[] = [];
    commands.addCommand('dataops:take-snapshot', {
      execute: () => {
        executed.push('take');
      }
    });
    const button = createTakeButton({ model, commands, trans });
    Widget.attach(button, document.body);
    button.update();
    await until(() => button.node.querySelector('button') !== null);
    await flush();
    const node = button.node.querySelector('button')!;
    expect(node.textContent).toBe('Take snapshot');
    node.click();
    expect(executed).toEqual(['take']);
    let release: () => void = () => undefined;
    const gate = new Promise<void>(resolve => (release = resolve));
    client.create = async () => {
      await gate;
      return makeSnapshot();
    };
    const pending = model.takeSnapshot({});
    await until(() => button.node.querySelector('button')!.disabled);
    expect(button.node.textContent).toBe('Taking…');
    release();
    await pending;
    await until(() => !button.node.querySelector('button')!.disabled);
    button.dispose();
    model.dispose();
  });
});
