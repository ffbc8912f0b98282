/**
 * Endpoints against a real JupyterLab with the server extension, MLflow and
 * real model servers: a notebook cell trains a small scikit-learn model;
 * "Publish model" in the cell's toolbar asks the kernel what the cell
 * trained, publishes it as `iris` (the magic, in the kernel: logged to
 * MLflow, registered, served), and the catalogue shows it running; its
 * detail charts its traffic, and "Try it" gets an answer from the version
 * served.
 *
 * MLflow's store and the model servers live in the test server's own data
 * directory (see jupyter_server_test_config.py).
 */
import { expect, test } from '@jupyterlab/galata';
import { Locator, Page } from '@playwright/test';

import { notebook, shot } from './helpers';

const TRAIN = [
  'from sklearn.linear_model import LogisticRegression',
  'from sklearn.datasets import load_iris',
  'X, y = load_iris(return_X_y=True, as_frame=True)',
  'clf = LogisticRegression(max_iter=200).fit(X, y)'
].join('\n');

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

/** Expand a section of the DataOps sidebar. */
async function expand(page: Page, title: string): Promise<void> {
  const heading = headingOf(page, title);
  if ((await heading.getAttribute('aria-expanded')) !== 'true') {
    await heading.locator('.lm-AccordionPanel-titleLabel').click();
  }
  await expect(heading).toHaveAttribute('aria-expanded', 'true');
}

test.use({ autoGoto: true });

test.describe('DataOps endpoints', () => {
  test('publishes a model from a cell, serves it and tries it', async ({
    page,
    tmpPath
  }) => {
    test.setTimeout(300000);
    const name = 'train.ipynb';
    await page.contents.uploadContent(
      notebook([{ source: TRAIN }]),
      'text',
      `${tmpPath}/${name}`
    );
    await page.notebook.openByPath(`${tmpPath}/${name}`);
    await page.notebook.activate(name);

    // The Endpoints section, empty at first.
    await page.sidebar.openTab('jp-DataOps-sidebar');
    const section = page.locator(
      '#jp-DataOps-sidebar .jp-DataOps-section[data-section="endpoints"]'
    );
    // It starts collapsed, leaving the others their room.
    await expect(headingOf(page, 'Endpoints')).toBeVisible();
    await collapse(page, 'Jobs');
    await collapse(page, 'Schedules');
    await collapse(page, 'Snapshots');
    await expand(page, 'Endpoints');
    await expect(section).toBeVisible();
    await expect(
      section
        .locator('.jp-DataOps-endpointsEmpty, .jp-DataOps-endpoint')
        .first()
    ).toBeVisible();
    await shot(page, 'e01-endpoints-empty');

    // The cell trains the model.
    await page.notebook.runCell(0);
    await page.notebook.selectCells(0);

    // "Publish model" in the cell's toolbar.
    const button = page.locator(
      '.jp-cell-toolbar [data-jp-item-name="dataops-publish-model"]'
    );
    await expect(button).toBeVisible();
    await button.click();

    // The dialog asked the kernel: the cell's model, its default name, an example.
    const dialog = page.locator('.jp-Dialog');
    const form = dialog.locator('.jp-DataOps-publishForm');
    await expect(form).toBeVisible({ timeout: 60000 });
    await expect(
      form.locator('.jp-DataOps-candidate[data-variable="clf"]')
    ).toHaveClass(/jp-mod-active/);
    const nameInput = form.locator('#jp-DataOps-endpointName');
    await expect(nameInput).toHaveValue('clf');
    await expect(form.locator('#jp-DataOps-publishExample')).toHaveValue('X');
    await expect(form.locator('.jp-DataOps-exampleSlice')).toHaveValue('[:5]');
    // A name the server would refuse is said at once.
    await nameInput.fill('Iris_Model');
    await expect(form.locator('.jp-DataOps-fieldError')).toHaveText(
      'Lower-case letters only.'
    );
    await nameInput.fill('iris');
    await expect(form.locator('.jp-DataOps-fieldError')).toHaveCount(0);
    // The server offers its cluster beside this machine (endpoint_targets):
    // this machine's loopback first, the cluster a choice.
    const cluster = form.locator(
      '.jp-DataOps-serveTarget[data-target="kubernetes"]'
    );
    await expect(cluster).toHaveText(
      'Kubernetes cluster (a Deployment and a Service)'
    );
    await expect(cluster.locator('input')).toBeEnabled();
    await expect(
      form.locator('.jp-DataOps-serveTarget[data-target="loopback"] input')
    ).toBeChecked();
    await shot(page, 'e02-publish-dialog');

    // The cluster cannot serve with this machine's registry: refused, with the
    // setting to change, and nothing is published.
    await cluster.locator('input').check();
    await dialog.locator('[data-action="publish"]').click();
    const refusal = dialog.locator('.jp-DataOps-publishError');
    await expect(refusal).toContainText('c.DataOps.mlflow_tracking_uri', {
      timeout: 120000
    });
    await shot(page, 'e02b-publish-on-cluster-refused');
    await form
      .locator('.jp-DataOps-serveTarget[data-target="loopback"] input')
      .check();

    await dialog.locator('[data-action="publish"]').click();
    // Its steps as the kernel goes through them.
    const progress = dialog.locator('.jp-DataOps-publishProgress');
    await progress
      .locator('.jp-DataOps-publishStep[data-state="current"]')
      .waitFor({ timeout: 30000 })
      .then(() => shot(page, 'e03-publishing'))
      .catch(() => undefined);
    // Published, or the magic's error (said as the test's failure).
    const published = dialog.locator('.jp-DataOps-published');
    const failed = dialog.locator('.jp-DataOps-publishError');
    await expect(published.or(failed)).toBeVisible({ timeout: 180000 });
    if (await failed.isVisible()) {
      await failed.locator('summary').click();
      throw new Error(`Publishing failed: ${await failed.innerText()}`);
    }
    await expect(published.locator('.jp-DataOps-publishedUrl code')).toHaveText(
      /^https?:\/\/.+/
    );
    await expect(published.locator('.jp-DataOps-snippetCode')).toContainText(
      'curl'
    );
    await shot(page, 'e04-published');
    await dialog.locator('[data-action="show"]').click();
    await expect(dialog).toHaveCount(0);

    // The catalogue: running, its model and version, URL, drift not measured yet.
    const row = section.locator('.jp-DataOps-endpoint[data-name="iris"]');
    await expect(row).toHaveAttribute('data-status', 'running', {
      timeout: 60000
    });
    const summary = row.locator('.jp-DataOps-endpointSummary');
    await expect(summary.locator('.jp-DataOps-statusBadge')).toHaveText(
      'Running'
    );
    await expect(summary.locator('.jp-DataOps-versionTag').first()).toHaveText(
      /^v\d+$/
    );
    await expect(summary.locator('.jp-DataOps-endpointUrl code')).toHaveText(
      /^https?:\/\/.+/
    );

    // Its detail (opened by "Open in the sidebar"): the chart of the last hour.
    const detail = row.locator('.jp-DataOps-endpointDetail');
    await expect(detail).toBeVisible();
    await expect(detail.locator('.jp-DataOps-chartRow')).toHaveCount(3, {
      timeout: 30000
    });

    // Try it: the input example, sent through the server.
    const tryIt = detail.locator('.jp-DataOps-tryIt');
    await expect(tryIt.locator('.jp-DataOps-tryItBody')).toHaveValue(
      /sepal length/,
      { timeout: 30000 }
    );
    const send = tryIt.locator('[data-action="send"]');
    for (let i = 0; i < 5; i++) {
      await send.click();
      await expect(send).toBeEnabled({ timeout: 30000 });
    }
    const result = tryIt.locator('.jp-DataOps-invokeResult');
    await expect(result).toHaveAttribute('data-status', '200');
    await expect(result.locator('.jp-DataOps-versionTag')).toHaveText(/^v\d+$/);
    await expect(result.locator('.jp-DataOps-invokeBody')).toContainText(
      'predictions'
    );

    // The requests show in the catalogue's traffic and the chart.
    await expect(summary.locator('[data-stat="rate"]')).toBeVisible({
      timeout: 30000
    });
    await expect(detail.locator('.jp-DataOps-chartWhen')).not.toHaveText(
      /· 0 requests/,
      { timeout: 30000 }
    );
    await detail
      .locator('.jp-DataOps-endpointMetrics')
      .scrollIntoViewIfNeeded();
    await shot(page, 'e05-catalogue-and-chart');
    await tryIt.scrollIntoViewIfNeeded();
    await shot(page, 'e06-try-it');
    await detail
      .locator('.jp-DataOps-endpointHistory')
      .scrollIntoViewIfNeeded();
    await shot(page, 'e07-detail-served-history');

    // Collapsed, the catalogue row alone.
    await summary.click();
    await expect(detail).toHaveCount(0);
    await shot(page, 'e08-catalogue');

    // A second version, as a canary for a fifth of the requests.
    const served = (await summary
      .locator('.jp-DataOps-versionTag')
      .first()
      .textContent())!.slice(1);
    await page.notebook.selectCells(0);
    await button.click();
    await expect(form).toBeVisible({ timeout: 60000 });
    await nameInput.fill('iris');
    await expect(form.locator('.jp-DataOps-fieldWarning')).toContainText(
      'iris exists'
    );
    await form.locator('.jp-DataOps-canaryCheck').check();
    await form.locator('.jp-DataOps-percentInput').fill('20');
    await shot(page, 'e09-publish-canary');
    await dialog.locator('[data-action="publish"]').click();
    await expect(published.or(failed)).toBeVisible({ timeout: 180000 });
    if (await failed.isVisible()) {
      throw new Error(`Publishing failed: ${await failed.innerText()}`);
    }
    await expect(published.locator('.jp-DataOps-alert-success')).toContainText(
      '20 % of requests'
    );
    await dialog.locator('.jp-Dialog-button.jp-mod-reject').click();
    await expect(dialog).toHaveCount(0);
    const canary = summary.locator('.jp-DataOps-versionTag.jp-mod-canary');
    await expect(canary).toHaveText(/^v\d+ · 20 %$/, { timeout: 30000 });
    const canaryVersion = (await canary.textContent())!.split(' ')[0].slice(1);
    expect(Number(canaryVersion)).toBeGreaterThan(Number(served));
    await shot(page, 'e10-canary');

    // Promoted: the canary serves every request.
    await summary.click();
    await detail.locator('[data-action="promote"]').click();
    const promote = detail.locator('[data-panel="promote"]');
    await expect(promote.locator('.jp-DataOps-promoteVersion')).toHaveValue(
      canaryVersion
    );
    await promote.scrollIntoViewIfNeeded();
    await shot(page, 'e11-promote');
    await promote.locator('[data-action="promote-apply"]').click();
    await expect(promote).toHaveCount(0, { timeout: 30000 });
    // The canary's tag goes once the sidebar has the promoted endpoint (until then there are
    // two tags, and a text check on "the" tag would be ambiguous).
    await expect(
      summary.locator('.jp-DataOps-versionTag.jp-mod-canary')
    ).toHaveCount(0, { timeout: 30000 });
    await expect(summary.locator('.jp-DataOps-versionTag')).toHaveText(
      `v${canaryVersion}`
    );
    await expect(
      detail.locator('.jp-DataOps-timelineEntry').first()
    ).toHaveAttribute('data-action', /promot/);
  });
});
