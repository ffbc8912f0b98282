/**
 * Sandboxes where the server offers a Kubernetes cluster beside this machine
 * (c.DataOps.sandbox_providers): the start form says where the profile runs
 * and offers "Run on". On the test server's embedded defaults a pod could not
 * reach the store, so the cluster is offered but disabled, saying which
 * setting to change; nothing contacts a cluster and nothing starts.
 */
import { expect, test } from '@jupyterlab/galata';

import { shot } from './helpers';

test.use({ autoGoto: true });

test('the start form offers the cluster, disabled with what to change', async ({
  page
}) => {
  await page.sidebar.openTab('jp-DataOps-sidebar');
  const heading = page
    .locator('#jp-DataOps-sidebar .lm-AccordionPanel-title')
    .filter({
      has: page.locator('.lm-AccordionPanel-titleLabel', {
        hasText: /^Sandboxes$/i
      })
    });
  await expect(heading).toBeVisible();
  const before = (
    await (await page.request.get('/dataops/api/sandboxes')).json()
  ).total;
  await heading.locator('.jp-DataOps-startSandboxButton').click();
  const dialog = page.locator('.jp-Dialog');
  const form = dialog.locator('.jp-DataOps-startForm');
  await expect(form).toBeVisible({ timeout: 30000 });
  const runOn = form.locator('#jp-DataOps-startProvider');
  await expect(runOn).toBeVisible();
  await expect(runOn).toHaveValue('local');
  const options = runOn.locator('option');
  await expect(options).toHaveCount(2);
  await expect(options.nth(0)).toHaveText('This machine (local)');
  await expect(options.nth(1)).toBeDisabled();
  await expect(options.nth(1)).toContainText('Kubernetes cluster (kubernetes)');
  await expect(options.nth(1)).toContainText(
    "the store is a sqlite file on the server's disk"
  );
  await expect(options.nth(1)).toContainText('c.Kubernetes.server_url');
  // Why, also in words under the choice (a closed select hides its options).
  await expect(form.locator('.jp-DataOps-providerReason')).toContainText(
    "Not on kubernetes: its pod could not reach the store is a sqlite file on the server's disk"
  );
  await runOn.scrollIntoViewIfNeeded();
  await shot(page, 'k3-sandbox-run-on');
  await dialog.locator('.jp-mod-reject').click();
  await expect(dialog).toHaveCount(0);
  const after = (
    await (await page.request.get('/dataops/api/sandboxes')).json()
  ).total;
  expect(after).toBe(before);
});
