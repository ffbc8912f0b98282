/**
 * The DataOps user journey against a real JupyterLab with the server extension:
 * run a notebook as a job from the file browser with a changed parameter,
 * watch it complete in the Jobs section of the DataOps sidebar and open its
 * executed notebook; give free-form parameters to a notebook without a
 * parameters cell and see its error cell and traceback; cancel and re-run;
 * page through the list by cursor.
 */
import { expect, test } from '@jupyterlab/galata';
import { Page } from '@playwright/test';

import { notebook, shot } from './helpers';

async function openDataOps(page: Page): Promise<void> {
  await page.sidebar.openTab('jp-DataOps-sidebar');
  await expect(
    page.locator('#jp-DataOps-sidebar .jp-DataOps-section[data-section="jobs"]')
  ).toBeVisible();
  await expect(
    page.locator('.jp-DataOps-panel.jp-DataOps-jobsView')
  ).toBeVisible();
}

/** Right-click a notebook in the file browser and choose "Run as job…". */
async function runFromFileBrowser(page: Page, name: string): Promise<void> {
  await page.sidebar.openTab('filebrowser');
  await page.filebrowser.refresh();
  const item = page.locator(
    `.jp-DirListing-item[data-file-type="notebook"]:has-text("${name}")`
  );
  await item.click({ button: 'right' });
  await page.locator('.lm-Menu-item:has-text("Run as job…")').first().click();
  await expect(page.locator('.jp-Dialog .jp-DataOps-RunForm')).toBeVisible();
}

test.use({ autoGoto: true });

test.describe('DataOps jobs', () => {
  test('runs a notebook with a changed parameter and opens the output', async ({
    page,
    tmpPath
  }) => {
    const name = 'train.ipynb';
    await page.contents.uploadContent(
      notebook([
        { source: 'alpha = 0.1\nlayers = [32, 16]', tags: ['parameters'] },
        { source: 'print(alpha * 2)' }
      ]),
      'text',
      `${tmpPath}/${name}`
    );

    await openDataOps(page);
    await shot(page, '01-sidebar-open');

    await runFromFileBrowser(page, name);
    const dialog = page.locator('.jp-Dialog');
    const alpha = dialog.locator('#jp-DataOps-param-alpha');
    await expect(alpha).toHaveValue('0.1');
    await expect(dialog.locator('#jp-DataOps-kernel')).toHaveValue('python3');
    const run = dialog.locator('.jp-Dialog-button.jp-mod-accept');

    // A broken list is reported inline and Run is disabled until it is fixed.
    const layers = dialog.locator('#jp-DataOps-param-layers');
    await layers.fill('[32,');
    await expect(dialog.locator('.jp-DataOps-fieldError')).toContainText(
      'Not valid JSON'
    );
    await expect(run).toBeDisabled();
    await shot(page, '02-dialog-invalid');
    await layers.fill('[32, 16]');
    await expect(dialog.locator('.jp-DataOps-fieldError')).toHaveCount(0);

    await alpha.fill('0.7');
    await expect(run).toBeEnabled();
    await shot(page, '03-dialog-filled');
    await run.click();
    await expect(dialog).toHaveCount(0);

    // The sidebar opens on the new job and follows it to the end.
    const panel = page.locator('.jp-DataOps-panel.jp-DataOps-jobsView');
    await expect(panel).toBeVisible();
    // Newest first: on a retry, this run's job is the top one for this path.
    const row = panel
      .locator('.jp-DataOps-job')
      .filter({ hasText: `${tmpPath}/${name}` })
      .first();
    await expect(row).toHaveAttribute('data-status', 'completed', {
      timeout: 60000
    });
    await expect(
      page.locator('.jp-toast-message').filter({
        hasText: 'completed'
      })
    ).toBeVisible();
    await shot(page, '04-job-completed');

    const detail = row.locator('.jp-DataOps-jobDetail');
    if (!(await detail.isVisible())) {
      await row.locator('.jp-DataOps-jobSummary').click();
    }
    await expect(detail.locator('.jp-DataOps-params')).toContainText('alpha');
    await expect(detail.locator('.jp-DataOps-params')).toContainText('0.7');
    await shot(page, '05-job-detail');

    await detail.locator('button:has-text("Open output")').click();
    const output = page.locator('.jp-NotebookPanel .jp-OutputArea-output');
    await expect(output.filter({ hasText: '1.4' })).toBeVisible({
      timeout: 30000
    });
    await shot(page, '06-output-notebook');

    await detail.locator('button:has-text("Logs")').click();
    await expect(page.locator('.jp-DataOps-logs')).toContainText('1.4');
    await shot(page, '07-logs');

    await detail.locator('button:has-text("View HTML")').click();
    const frame = page.frameLocator('.jp-DataOps-htmlView iframe');
    await expect(frame.locator('body')).toContainText('1.4', {
      timeout: 30000
    });
    await shot(page, '08-html');
  });

  test('takes free-form parameters for a notebook without a parameters cell, and shows its failing cell', async ({
    page,
    tmpPath
  }) => {
    const name = 'broken.ipynb';
    await page.contents.uploadContent(
      notebook([
        { source: 'print("start")' },
        { source: 'raise ValueError(f"bad value {x}")' },
        { source: 'print("never")' }
      ]),
      'text',
      `${tmpPath}/${name}`
    );
    // Run it from the notebook's toolbar button this time.
    await page.filebrowser.open(`${tmpPath}/${name}`);
    await page.locator('.jp-DataOps-runButton').first().click();
    const dialog = page.locator('.jp-Dialog');
    // The server warns that parameters go into a new cell at the top.
    await expect(dialog.locator('.jp-DataOps-RunForm-warnings')).toContainText(
      'no cell tagged'
    );
    await dialog.locator('.jp-DataOps-addParameter').click();
    const row = dialog.locator('.jp-DataOps-freeRow').first();
    await row.locator('.jp-DataOps-freeName').fill('x');
    await row.locator('.jp-DataOps-freeType').selectOption('int');
    await row.locator('.jp-DataOps-freeValue').fill('7');
    await shot(page, '09-dialog-no-parameters');
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    await expect(dialog).toHaveCount(0);

    const panel = page.locator('.jp-DataOps-panel.jp-DataOps-jobsView');
    const job = panel
      .locator('.jp-DataOps-job')
      .filter({ hasText: `${tmpPath}/${name}` })
      .first();
    await expect(job).toHaveAttribute('data-status', 'failed', {
      timeout: 60000
    });
    await expect(job.locator('.jp-DataOps-jobErrorLine')).toContainText(
      'ValueError'
    );
    const detail = job.locator('.jp-DataOps-jobDetail');
    if (!(await detail.isVisible())) {
      await job.locator('.jp-DataOps-jobSummary').click();
    }
    await expect(detail.locator('.jp-DataOps-errorTitle')).toContainText(
      /Failed in cell \d/
    );
    const traceback = detail.locator('.jp-DataOps-traceback');
    await expect(traceback).toContainText('ValueError: bad value 7');
    expect(await traceback.textContent()).not.toContain('\u001b');
    // The job says the parameters were injected.
    await expect(detail.locator('.jp-DataOps-warnings')).toContainText(
      'no cell tagged'
    );
    await expect(detail.locator('.jp-DataOps-params')).toContainText('x');
    await shot(page, '10-job-failed');
    const jobId = await job.getAttribute('data-job-id');

    // Failed jobs can be filtered on and deleted after a confirmation.
    await panel.locator('.jp-DataOps-chip[data-status="failed"]').click();
    await expect(
      panel.locator('.jp-DataOps-job[data-status="completed"]')
    ).toHaveCount(0);
    await expect(job).toBeVisible();
    const search = panel.locator('.jp-DataOps-search');
    await search.fill('no-such-notebook.ipynb');
    await expect(panel.locator('.jp-DataOps-empty')).toContainText(
      'No jobs match these filters.'
    );
    await search.fill(`${tmpPath}/${name}`);
    await expect(job).toBeVisible();
    await detail.locator('button:has-text("Delete")').click();
    await page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-warn').click();
    await expect(panel.locator(`[data-job-id="${jobId}"]`)).toHaveCount(0);
    // The failed count follows: the filters show every failed job of this
    // notebook, and there are none left.
    await expect(panel.locator('.jp-DataOps-empty')).toContainText(
      'No jobs match these filters.'
    );
    await shot(page, '11-after-delete');
  });

  test('shows progress while running, cancels, and re-runs with a new value', async ({
    page,
    tmpPath
  }) => {
    const name = 'slow.ipynb';
    await page.contents.uploadContent(
      notebook([
        { source: 'import time\npause = 1.5', tags: ['parameters'] },
        { source: 'time.sleep(pause)' },
        { source: 'time.sleep(pause)' },
        { source: 'time.sleep(pause)' },
        { source: 'time.sleep(pause)' },
        { source: 'time.sleep(pause)' },
        { source: 'print("done", pause)' }
      ]),
      'text',
      `${tmpPath}/${name}`
    );
    await openDataOps(page);
    await runFromFileBrowser(page, name);
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('#jp-DataOps-param-pause')).toHaveValue('1.5');
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();

    const panel = page.locator('.jp-DataOps-panel.jp-DataOps-jobsView');
    const row = panel
      .locator('.jp-DataOps-job')
      .filter({ hasText: `${tmpPath}/${name}` })
      .first();
    await expect(row).toHaveAttribute('data-status', 'running', {
      timeout: 30000
    });
    // Cells complete one by one; server events move the bar (the fallback
    // poll alone is far slower than this timeout).
    await expect(row.locator('.jp-DataOps-progressText')).toHaveText(
      /^[2-6]\/\d+ cells$/,
      { timeout: 8000 }
    );
    await expect(row.locator('.jp-DataOps-progressBar')).toBeVisible();
    await shot(page, '12-job-running');

    const detail = row.locator('.jp-DataOps-jobDetail');
    if (!(await detail.isVisible())) {
      await row.locator('.jp-DataOps-jobSummary').click();
    }
    await detail.locator('button:has-text("Cancel")').click();
    await expect(row).toHaveAttribute('data-status', 'cancelled', {
      timeout: 30000
    });
    await expect(
      page.locator('.jp-toast-message').filter({ hasText: 'cancelled' })
    ).toBeVisible();
    await shot(page, '13-job-cancelled');

    // Re-run the cancelled job with a shorter pause.
    await detail.locator('button:has-text("Re-run")').click();
    const pause = dialog.locator('#jp-DataOps-param-pause');
    await expect(pause).toHaveValue('1.5');
    await pause.fill('0');
    await shot(page, '14-rerun-dialog');
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    await expect(dialog).toHaveCount(0);
    const rerun = panel.locator('.jp-DataOps-job.jp-mod-expanded');
    await expect(rerun).toHaveAttribute('data-status', 'completed', {
      timeout: 60000
    });
    await expect(rerun.locator('.jp-DataOps-params')).toContainText('pause');
    await expect(rerun.locator('.jp-DataOps-fields')).toContainText(
      'Re-run of'
    );
    await shot(page, '15-rerun-completed');
  });

  test('pages and sorts the job list', async ({ page, tmpPath }) => {
    const name = 'quick.ipynb';
    await page.contents.uploadContent(
      notebook([{ source: 'n = 0', tags: ['parameters'] }, { source: 'n' }]),
      'text',
      `${tmpPath}/${name}`
    );
    // Twelve jobs through the REST API, named so that sorting is visible.
    for (let i = 0; i < 12; i++) {
      const response = await page.request.post('/dataops/api/jobs', {
        data: {
          notebook_path: `${tmpPath}/${name}`,
          parameters: { n: i },
          name: `quick-${String(i).padStart(2, '0')}`,
          max_retries: 0
        }
      });
      expect(response.status()).toBe(201);
    }
    await openDataOps(page);
    const panel = page.locator('.jp-DataOps-panel.jp-DataOps-jobsView');
    await panel.locator('.jp-DataOps-search').fill(`${tmpPath}/${name}`);
    const range = panel.locator('.jp-DataOps-pageText');
    await expect(range).toHaveText(/^1–12 of (about )?12$/);
    await panel.locator('.jp-DataOps-pageSize').selectOption('10');
    await expect(range).toHaveText(/^1–10 of (about )?12$/);
    await expect(panel.locator('.jp-DataOps-job')).toHaveCount(10);

    await panel.locator('#jp-DataOps-sort').selectOption('name');
    await panel.locator('button[aria-label="Sort order"]').click();
    await expect(panel.locator('.jp-DataOps-jobName').first()).toHaveText(
      'quick-00'
    );
    await expect(
      panel.locator('button[aria-label="Previous page"]')
    ).toBeDisabled();
    await panel.locator('button[aria-label="Next page"]').click();
    await expect(range).toHaveText(/^11–12 of (about )?12$/);
    await expect(panel.locator('.jp-DataOps-jobName')).toHaveText([
      'quick-10',
      'quick-11'
    ]);
    await expect(
      panel.locator('button[aria-label="Next page"]')
    ).toBeDisabled();
    await panel.locator('button[aria-label="Previous page"]').click();
    await expect(range).toHaveText(/^1–10 of (about )?12$/);
    await expect(panel.locator('.jp-DataOps-jobName').first()).toHaveText(
      'quick-00'
    );
    await shot(page, '16-paged-sorted');
  });
});
