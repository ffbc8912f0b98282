/**
 * Snapshots against a real JupyterLab with the server extension, git and
 * DVC: in a project that is not yet a git and DVC repository, take a
 * snapshot through the dialog (agreeing to set the project up), see it listed
 * with its data pushed, change a data file, see the project as changed, take
 * a second snapshot, open its detail (data, table profile, environment),
 * compare the two (a table's row count moved), and restore the first one
 * (after a safety snapshot), getting the first data back.
 *
 * Snapshots version the server's root directory (galata's fresh temporary
 * one); its data path is `data/` (the default).
 */
import { expect, test } from '@jupyterlab/galata';
import { APIRequestContext, Locator, Page } from '@playwright/test';

import { notebook, shot } from './helpers';

const FIRST_CSV = 'id,city,sales\n1,Lyon,10.5\n2,Nantes,7.25\n3,Lille,\n';
const SECOND_CSV =
  'id,city,sales\n1,Lyon,12.5\n2,Nantes,7.25\n3,Lille,4.0\n4,Brest,9.75\n';

/** Write a text file at a path of the server's root, through the contents API. */
async function writeFile(
  request: APIRequestContext,
  path: string,
  content: string
): Promise<void> {
  const response = await request.put(`/api/contents/${path}`, {
    data: { type: 'file', format: 'text', content }
  });
  expect(response.ok()).toBe(true);
}

async function readFile(
  request: APIRequestContext,
  path: string
): Promise<string> {
  const response = await request.get(`/api/contents/${path}?content=1`);
  expect(response.ok()).toBe(true);
  return (await response.json()).content;
}

/** The heading of a section of the DataOps sidebar (with its toolbar). */
function headingOf(page: Page, title: string): Locator {
  return page.locator('#jp-DataOps-sidebar .lm-AccordionPanel-title').filter({
    has: page.locator('.lm-AccordionPanel-titleLabel', {
      hasText: new RegExp(`^${title}$`, 'i')
    })
  });
}

/** Collapse a section of the DataOps sidebar, to give the others room. */
async function collapse(page: Page, title: string): Promise<void> {
  const heading = headingOf(page, title);
  if ((await heading.getAttribute('aria-expanded')) === 'true') {
    await heading.locator('.lm-AccordionPanel-titleLabel').click();
  }
  await expect(heading).toHaveAttribute('aria-expanded', 'false');
}

/** The row of the snapshot with this message. */
function rowOf(section: Locator, message: string): Locator {
  return section.locator('.jp-DataOps-snapshot').filter({
    has: section.page().locator('.jp-DataOps-jobName', {
      hasText: new RegExp(`^${message}$`)
    })
  });
}

test.use({ autoGoto: true });

test.describe('DataOps snapshots', () => {
  test('sets the project up, takes, compares and restores snapshots', async ({
    page
  }) => {
    test.setTimeout(180000);
    const request = page.request;
    // Unique messages, should the test run again against the same server.
    const tag = Date.now().toString(36).slice(-4);
    const first = `raw sales ${tag}`;
    const second = `more sales ${tag}`;
    if (!(await page.contents.directoryExists('data'))) {
      await page.contents.createDirectory('data');
    }
    await writeFile(request, 'data/sales.csv', FIRST_CSV);
    const before = await (
      await request.get('/dataops/api/snapshots/workspace')
    ).json();

    await page.sidebar.openTab('jp-DataOps-sidebar');
    const section = page.locator(
      '#jp-DataOps-sidebar .jp-DataOps-section[data-section="snapshots"]'
    );
    await expect(section).toBeVisible();
    await collapse(page, 'Jobs');
    await collapse(page, 'Schedules');
    const workspace = section.locator('.jp-DataOps-workspace');
    const heading = headingOf(page, 'Snapshots');
    if (!before.ready) {
      await expect(workspace).toHaveAttribute('data-state', 'not-set-up');
      await expect(workspace).toContainText('Not set up for snapshots');
    }
    await shot(page, 'n01-snapshots-empty');

    // The first snapshot: the dialog explains the set-up and asks to agree.
    await heading.locator('.jp-DataOps-takeButton').click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-DataOps-takeForm')).toBeVisible();
    const accept = dialog.locator('.jp-Dialog-button.jp-mod-accept');
    if (!before.ready) {
      await expect(dialog.locator('.jp-DataOps-setupNote')).toContainText(
        'not yet a git and DVC repository'
      );
      await expect(accept).toContainText('Set up and take snapshot');
    }
    await dialog.locator('#jp-DataOps-snapshotMessage').fill(first);
    await shot(page, 'n02-take-dialog-setup');
    await accept.click();
    await expect(dialog).toHaveCount(0);
    // While it is taken (set-up included, a second or two), the section says so.
    await section
      .locator('.jp-DataOps-operation[data-kind="take"]')
      .waitFor({ timeout: 1000 })
      .then(() => shot(page, 'n02b-taking'))
      .catch(() => undefined);

    // It is listed, ready, and its data reaches the DVC remote.
    const firstRow = rowOf(section, first);
    await expect(firstRow).toHaveAttribute('data-status', 'ready', {
      timeout: 60000
    });
    await expect(firstRow.locator('.jp-DataOps-kindTag')).toHaveText('manual');
    await expect(firstRow.locator('.jp-DataOps-snapshotSize')).toContainText(
      '1 file'
    );
    await expect(
      firstRow.locator('.jp-DataOps-pushBadge[data-push-status="pushed"]')
    ).toBeVisible({ timeout: 60000 });
    await expect(workspace).toHaveAttribute('data-state', 'unchanged');
    await expect(workspace).toContainText('Unchanged since');
    await shot(page, 'n03-first-snapshot');

    // A data file changes: the project is changed since the newest snapshot.
    await writeFile(request, 'data/sales.csv', SECOND_CSV);
    await heading.locator('.jp-DataOps-refresh').click();
    await expect(workspace).toHaveAttribute('data-state', 'changed', {
      timeout: 30000
    });

    // The second one: the project is set up now, so no set-up is asked for.
    await heading.locator('.jp-DataOps-takeButton').click();
    await expect(dialog.locator('.jp-DataOps-takeForm')).toHaveAttribute(
      'data-ready',
      'true'
    );
    await expect(dialog.locator('.jp-DataOps-setupNote')).toHaveCount(0);
    await expect(accept).toHaveText('Take snapshot');
    await dialog.locator('#jp-DataOps-snapshotMessage').fill(second);
    await accept.click();
    await expect(dialog).toHaveCount(0);
    const secondRow = rowOf(section, second);
    await expect(secondRow).toHaveAttribute('data-status', 'ready', {
      timeout: 60000
    });
    await expect(
      secondRow.locator('.jp-DataOps-pushBadge[data-push-status="pushed"]')
    ).toBeVisible({ timeout: 60000 });
    // Newest first.
    await expect(
      section.locator('.jp-DataOps-snapshot').first()
    ).toHaveAttribute(
      'data-snapshot-id',
      (await secondRow.getAttribute('data-snapshot-id'))!
    );
    await shot(page, 'n04-two-snapshots');

    // Its detail: data, the table's profile, the environment.
    await secondRow.locator('.jp-DataOps-snapshotSummary').click();
    const detail = secondRow.locator('.jp-DataOps-snapshotDetail');
    await expect(detail).toBeVisible();
    await expect(detail.locator('.jp-DataOps-dataEntry')).toHaveAttribute(
      'data-path',
      'data'
    );
    const table = detail.locator(
      '.jp-DataOps-tableProfile[data-path="data/sales.csv"]'
    );
    await expect(table.locator('.jp-DataOps-tableShape')).toHaveText(
      '4 rows × 3 columns'
    );
    await expect(
      table.locator('tr[data-column="sales"] .jp-mod-number').first()
    ).toHaveText('0');
    await expect(
      detail.locator('.jp-DataOps-snapshotEnvironment')
    ).toContainText('Python');
    await expect(detail.locator('.jp-DataOps-snapshotLink')).toHaveText(
      (await firstRow.getAttribute('data-snapshot-id'))!.slice(0, 8)
    );
    await shot(page, 'n05-snapshot-detail');

    // Compared with its parent (the first): the table has one row more.
    await detail.locator('button[data-action="compare"]').click();
    const compare = detail.locator('.jp-DataOps-compare');
    await expect(compare.locator('.jp-DataOps-compareSelect')).toHaveValue(
      (await firstRow.getAttribute('data-snapshot-id'))!
    );
    const tableChange = compare.locator(
      '.jp-DataOps-tableChange[data-path="data/sales.csv"]'
    );
    await expect(tableChange.locator('.jp-DataOps-rowChange')).toHaveText(
      '3 → 4 rows (+1)'
    );
    await expect(tableChange.locator('tr[data-column="sales"]')).toContainText(
      'nulls'
    );
    await expect(
      compare.locator('.jp-DataOps-diffGroup[data-group="data"]')
    ).toContainText('data/sales.csv');
    await compare.scrollIntoViewIfNeeded();
    await shot(page, 'n06-compare');

    // The same comparison in a tab of the main area, wider.
    await compare.locator('.jp-DataOps-openDiff').click();
    const panel = page.locator('.jp-DataOps-diffPanel');
    await expect(panel.locator('.jp-DataOps-rowChange')).toHaveText(
      '3 → 4 rows (+1)'
    );
    await shot(page, 'n07-compare-tab');

    // Restore the first: a safety snapshot is taken first.
    await secondRow.locator('.jp-DataOps-snapshotSummary').click();
    await firstRow.locator('.jp-DataOps-snapshotSummary').click();
    const firstDetail = firstRow.locator('.jp-DataOps-snapshotDetail');
    await firstDetail.locator('button[data-action="restore"]').click();
    const confirm = page.locator('.jp-Dialog');
    await expect(confirm).toContainText('safety snapshot');
    await shot(page, 'n08-restore-confirm');
    await confirm.locator('.jp-Dialog-button.jp-mod-warn').click();
    await expect(confirm).toHaveCount(0);
    const firstId = (await firstRow.getAttribute('data-snapshot-id'))!;
    await expect(
      page
        .locator('.jp-toast-message')
        .filter({ hasText: `Restored ${firstId.slice(0, 8)}; safety snapshot` })
    ).toBeVisible({ timeout: 60000 });
    expect(await readFile(request, 'data/sales.csv')).toBe(FIRST_CSV);
    // The project is what the first recorded (not the newest, the safety one).
    await expect(workspace).toHaveAttribute('data-state', 'matches');
    await expect(workspace.locator('.jp-DataOps-workspaceState')).toHaveText(
      `Matches ${firstId.slice(0, 8)}`
    );
    await expect(
      section.locator('.jp-DataOps-snapshot[data-kind="safety"]').first()
    ).toHaveAttribute('data-status', 'ready');
    // Let the notification finish sliding in.
    await page.waitForTimeout(600);
    await shot(page, 'n09-restored');
  });

  test('takes a snapshot from the notebook toolbar and the command palette', async ({
    page
  }) => {
    await page.notebook.createNew('analysis.ipynb');
    const button = page.locator(
      '.jp-NotebookPanel-toolbar .jp-DataOps-snapshotButton'
    );
    await expect(button).toBeVisible();
    await button.click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-DataOps-takeForm')).toBeVisible();
    await shot(page, 'n10-notebook-toolbar');
    await dialog.locator('.jp-Dialog-button.jp-mod-reject').click();
    await expect(dialog).toHaveCount(0);

    await page.keyboard.press('Control+Shift+C');
    const palette = page.locator('#command-palette');
    // The palette finds it by its category and label: "DataOps: Take Snapshot…".
    await palette.locator('input').fill('dataops take snapshot');
    const item = palette.locator('.lm-CommandPalette-item', {
      hasText: 'Take Snapshot…'
    });
    await expect(item).toBeVisible();
    await shot(page, 'n11-command-palette');
    await item.click();
    await expect(dialog.locator('.jp-DataOps-takeForm')).toBeVisible();
    await dialog
      .locator('#jp-DataOps-snapshotMessage')
      .fill('from the palette');
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    await expect(
      page
        .locator('#jp-DataOps-sidebar .jp-DataOps-snapshot')
        .filter({ hasText: 'from the palette' })
        .first()
    ).toHaveAttribute('data-status', 'ready', { timeout: 60000 });
  });

  test('saves a notebook kernel’s variables with a snapshot and loads them back', async ({
    page,
    tmpPath
  }) => {
    test.setTimeout(180000);
    const tag = Date.now().toString(36).slice(-4);
    const message = `with alpha ${tag}`;
    if (!(await page.contents.directoryExists('data'))) {
      await page.contents.createDirectory('data');
      await writeFile(page.request, 'data/sales.csv', FIRST_CSV);
    }
    const name = 'variables.ipynb';
    await page.contents.uploadContent(
      notebook([
        { source: 'alpha = 0.25' },
        { source: 'del alpha' },
        { source: 'print(alpha)' }
      ]),
      'text',
      `${tmpPath}/${name}`
    );
    await page.notebook.openByPath(`${tmpPath}/${name}`);
    await page.notebook.activate(name);
    await page.notebook.runCell(0);

    await page.sidebar.openTab('jp-DataOps-sidebar');
    const section = page.locator(
      '#jp-DataOps-sidebar .jp-DataOps-section[data-section="snapshots"]'
    );
    await expect(section).toBeVisible();
    await collapse(page, 'Jobs');
    await collapse(page, 'Schedules');

    // Take it from the notebook's toolbar: the dialog offers the kernel's variables.
    await page
      .locator('.jp-NotebookPanel-toolbar .jp-DataOps-snapshotButton')
      .click();
    const dialog = page.locator('.jp-Dialog');
    const box = dialog.locator('#jp-DataOps-snapshotVariables');
    await expect(box).not.toBeChecked();
    await expect(dialog.locator('.jp-DataOps-variablesField')).toContainText(
      `Also save the variables of ${name}’s kernel`
    );
    await dialog.locator('#jp-DataOps-snapshotMessage').fill(message);
    await box.check();
    await shot(page, 'n12-take-dialog-variables');
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    await expect(dialog).toHaveCount(0);

    // The kernel took it; it is listed, selected, with alpha among its variables.
    const row = rowOf(section, message);
    await expect(row).toHaveAttribute('data-status', 'ready', {
      timeout: 60000
    });
    const detail = row.locator('.jp-DataOps-snapshotDetail');
    await expect(detail).toBeVisible();
    const variables = detail.locator('.jp-DataOps-snapshotVariables');
    await expect(variables.locator('tr[data-variable="alpha"]')).toContainText(
      'float'
    );
    const load = variables.locator('[data-action="load-variables"]');
    await expect(load).toHaveText(`Load into ${name}’s kernel`);
    await expect(load).toBeEnabled();
    await variables.scrollIntoViewIfNeeded();
    await shot(page, 'n13-snapshot-variables');

    // Gone from the kernel, then loaded back from the snapshot.
    await page.notebook.runCell(1);
    await load.click();
    const id = (await row.getAttribute('data-snapshot-id'))!;
    await expect(
      page
        .locator('.jp-toast-message')
        .filter({ hasText: `Loaded alpha from snapshot ${id.slice(0, 8)}` })
    ).toBeVisible({ timeout: 30000 });
    await page.waitForTimeout(600);
    await shot(page, 'n14-variables-loaded');
    await page.notebook.runCell(2);
    expect((await page.notebook.getCellTextOutput(2))?.join('')).toContain(
      '0.25'
    );

    // What the kernel refuses (the magic's UsageError) is told in a notification.
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute(
        'dataops:load-snapshot-variables',
        { id: 'ffff0000' }
      )
    );
    const refused = page
      .locator('.jp-toast-message')
      .filter({ hasText: 'Could not load the variables: ' });
    await expect(refused).toBeVisible({ timeout: 30000 });
    await page.waitForTimeout(600);
    await shot(page, 'n15-load-refused');
  });
});
