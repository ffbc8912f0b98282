/**
 * "Run on": with a second executor offered (c.DataOps.job_executors =
 * ["kubernetes"] in the test server's configuration), "Run as job…" offers
 * this machine or the cluster. Choosing the cluster disables this machine's
 * sandboxes; the server has no settings pods could reach (the embedded
 * defaults), so the job is refused, and the dialog shows the reason naming
 * the settings to change, with nothing queued.
 */
import { expect, test } from '@jupyterlab/galata';

import { notebook, shot } from './helpers';

test.use({ autoGoto: true });

test.describe('DataOps: run a job on a cluster', () => {
  test('offers "Run on" and shows why the cluster refuses the embedded defaults', async ({
    page,
    tmpPath
  }) => {
    const name = 'on-cluster.ipynb';
    await page.contents.uploadContent(
      notebook([
        { source: 'alpha = 0.1', tags: ['parameters'] },
        { source: 'print(alpha)' }
      ]),
      'text',
      `${tmpPath}/${name}`
    );
    await page.sidebar.openTab('filebrowser');
    await page.filebrowser.refresh();
    await page
      .locator(
        `.jp-DirListing-item[data-file-type="notebook"]:has-text("${name}")`
      )
      .click({ button: 'right' });
    await page.locator('.lm-Menu-item:has-text("Run as job…")').first().click();
    const dialog = page.locator('.jp-Dialog');
    const form = dialog.locator('.jp-DataOps-RunForm');
    await expect(form).toBeVisible({ timeout: 30000 });

    const runOn = form.locator('#jp-DataOps-executor');
    await expect(runOn).toBeVisible({ timeout: 30000 });
    await expect(runOn.locator('option')).toHaveText([
      'This machine (local) (default)',
      'Kubernetes cluster (kubernetes)'
    ]);
    await expect(runOn).toHaveValue('local');
    await runOn.selectOption('kubernetes');
    await shot(page, 'k1-run-on-cluster');

    const jobs = await page.request.get('/dataops/api/jobs');
    const before = (await jobs.json()).total;
    const refused = page.waitForResponse(
      response =>
        response.url().endsWith('/dataops/api/jobs') &&
        response.request().method() === 'POST',
      { timeout: 30000 }
    );
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    const answer = await refused;
    expect(answer.status()).toBe(503);
    const body = await answer.json();
    expect(body.error).toBe('backend_unavailable');

    // The dialog comes back with the reason, the cluster still chosen.
    const alert = page.locator('.jp-Dialog .jp-DataOps-alert-error');
    await expect(alert).toContainText('pods cannot reach', { timeout: 30000 });
    await expect(alert).toContainText('c.DataOps.job_files_url');
    await expect(alert).toContainText('docs/kubernetes.md');
    await expect(page.locator('#jp-DataOps-executor')).toHaveValue(
      'kubernetes'
    );
    await shot(page, 'k2-cluster-refused');
    const after = await page.request.get('/dataops/api/jobs');
    expect((await after.json()).total).toBe(before);
    await page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-reject').click();
  });
});
