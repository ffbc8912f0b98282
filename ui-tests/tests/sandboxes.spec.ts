/**
 * Sandboxes against a real JupyterLab with the server extension: the test
 * server configures no profiles, so there is exactly one, "local" (this
 * machine, no GPU: the GPU fields are fixed, "the policy allows no GPUs").
 * A size the server cannot read is refused with what was probably meant
 * and nothing starts; then "local" starts, provisions and becomes ready, its
 * detail shows its kernel (in the kernel picker), a notebook opens in it,
 * and Stop stops it.
 */
import { expect, test } from '@jupyterlab/galata';
import { Locator, Page } from '@playwright/test';

import { shot } from './helpers';

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

/** How many sandboxes the server knows (active and recently ended). */
async function sandboxCount(page: Page): Promise<number> {
  const response = await page.request.get('/dataops/api/sandboxes');
  expect(response.ok()).toBe(true);
  return (await response.json()).total;
}

test.use({ autoGoto: true });

test.describe('DataOps sandboxes', () => {
  test('starts the local profile, opens a notebook in it and stops it', async ({
    page
  }) => {
    test.setTimeout(240000);
    await page.sidebar.openTab('jp-DataOps-sidebar');
    const section = page.locator(
      '#jp-DataOps-sidebar .jp-DataOps-section[data-section="sandboxes"]'
    );
    await expect(headingOf(page, 'Sandboxes')).toBeVisible();
    for (const title of ['Jobs', 'Schedules', 'Snapshots', 'Endpoints']) {
      await collapse(page, title);
    }
    await expand(page, 'Sandboxes');
    await expect(section.locator('.jp-DataOps-sandboxesEmpty')).toBeVisible({
      timeout: 30000
    });
    await shot(page, 's01-sandboxes-empty');
    // Other specs on this server may have left ended sandboxes: count from here.
    const before = await sandboxCount(page);
    const rowsBefore = await section.locator('.jp-DataOps-sandbox').count();

    // "Start" in the heading opens the form, on the only profile.
    await headingOf(page, 'Sandboxes')
      .locator('.jp-DataOps-startSandboxButton')
      .click();
    const dialog = page.locator('.jp-Dialog');
    const form = dialog.locator('.jp-DataOps-startForm');
    await expect(form).toBeVisible({ timeout: 30000 });
    await expect(form.locator('.jp-DataOps-profileChoice')).toHaveCount(1);
    await expect(
      form.locator('.jp-DataOps-profileChoice[data-profile="local"] input')
    ).toBeChecked();
    await expect(form.locator('.jp-DataOps-limitsMethod')).toHaveText(
      /^Limits here: .+/
    );
    await expect(form.locator('.jp-DataOps-quota').first()).toBeVisible();
    // No GPU here: the GPU fields are fixed, with why.
    const gpus = form.locator('#jp-DataOps-sandbox-gpus');
    await expect(gpus).toBeDisabled();
    await expect(gpus).toHaveAttribute('title', /the policy allows no GPUs/);
    await expect(
      form.locator('[data-field="gpus"] .jp-DataOps-fieldNote')
    ).toContainText('the policy allows no GPUs');
    await expect(form.locator('#jp-DataOps-sandbox-gpu_type')).toBeDisabled();
    await expect(
      form.locator('[data-field="memory"] .jp-DataOps-help')
    ).toContainText(/default .+ · allowed up to .+/);
    await shot(page, 's02-start-form');

    // A size written as people do: the server says what was meant.
    const memory = form.locator('#jp-DataOps-sandbox-memory');
    await memory.fill('32GB');
    await dialog.locator('[data-action="start"]').click();
    const refusal = form.locator('.jp-DataOps-startError');
    await expect(refusal).toContainText('Did you mean', { timeout: 30000 });
    await expect(refusal).toContainText('32Gi');
    await refusal.scrollIntoViewIfNeeded();
    await shot(page, 's03-bad-memory');
    expect(await sandboxCount(page)).toBe(before);
    await expect(section.locator('.jp-DataOps-sandbox')).toHaveCount(
      rowsBefore
    );

    // Then a size it reads, and one CPU: it starts.
    await memory.fill('2Gi');
    await form.locator('#jp-DataOps-sandbox-cpus').fill('1');
    await dialog.locator('[data-action="start"]').click();
    await expect(dialog).toHaveCount(0, { timeout: 30000 });
    const row = section.locator('.jp-DataOps-sandbox').first();
    await expect(row).toBeVisible({ timeout: 30000 });
    if ((await row.getAttribute('data-status')) === 'provisioning') {
      await shot(page, 's04-provisioning');
    }
    await expect(row).toHaveAttribute('data-status', 'ready', {
      timeout: 90000
    });
    await expect(row.locator('.jp-DataOps-sandboxHolding')).toHaveText(
      '1 CPU · 2Gi'
    );
    await expect(row.locator('.jp-DataOps-statusBadge')).toHaveText('Ready');
    await shot(page, 's05-ready');

    // Its detail: the kernel to pick, its steps, limits and usage.
    await row.locator('.jp-DataOps-sandboxSummary').click();
    const detail = row.locator('.jp-DataOps-sandboxDetail');
    await expect(detail).toBeVisible();
    await expect(detail.locator('.jp-DataOps-sandboxKernelName')).toHaveText(
      /^dataops-sandbox-/
    );
    const kernelName = (await detail
      .locator('.jp-DataOps-sandboxKernelName')
      .textContent())!;
    await expect(detail.locator('.jp-DataOps-sandboxKernel')).toContainText(
      'kernel picker'
    );
    await expect(
      detail.locator('.jp-DataOps-sandboxStepItem[data-status="done"]').first()
    ).toBeVisible();
    await expect(detail.locator('.jp-DataOps-sandboxLimits')).not.toBeEmpty();
    await shot(page, 's06-detail');
    await detail.locator('.jp-DataOps-sandboxUsage').scrollIntoViewIfNeeded();
    await shot(page, 's07-detail-usage');

    // Its kernel is in the kernel picker: a notebook opens in it.
    const specs = await page.request.get('/api/kernelspecs');
    expect(Object.keys((await specs.json()).kernelspecs)).toContain(kernelName);
    await detail.locator('[data-action="open-notebook"]').click();
    const kernelStatus = page.locator(
      '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar-kernelName'
    );
    await expect(kernelStatus).toContainText('Sandbox local', {
      timeout: 60000
    });
    // The kernel runs in the sandbox: it sees its variables and its folder.
    const id = (await row.getAttribute('data-id'))!;
    await page.notebook.setCell(
      0,
      'code',
      "import os; print(os.environ.get('DATAOPS_SANDBOX'), os.getcwd())"
    );
    await Promise.race([
      page.notebook.runCell(0),
      new Promise((_, reject) =>
        setTimeout(
          () => reject(new Error('The sandbox kernel did not answer in 60 s')),
          60000
        )
      )
    ]);
    await expect(
      page.locator(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output'
      )
    ).toContainText(`${id} `, { timeout: 30000 });
    // Its kernel is listed in the detail once the server notes it.
    await expect(detail.locator('.jp-DataOps-kernelItem')).toHaveCount(1, {
      timeout: 30000
    });
    await shot(page, 's08-notebook-in-sandbox');

    // Stop: it ends, its kernel leaves the picker.
    await detail.locator('[data-action="stop"]').click();
    await expect(row).toHaveAttribute('data-status', 'stopped', {
      timeout: 60000
    });
    await expect(row).toHaveClass(/jp-mod-ended/);
    await expect(
      section.locator('.jp-DataOps-sandboxEndedTitle')
    ).toBeVisible();
    await shot(page, 's09-stopped');
    await expect
      .poll(
        async () =>
          Object.keys(
            (await (await page.request.get('/api/kernelspecs')).json())
              .kernelspecs
          ),
        { timeout: 30000 }
      )
      .not.toContain(kernelName);
  });
});
