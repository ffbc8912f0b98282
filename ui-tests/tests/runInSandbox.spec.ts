/**
 * Run a notebook as a job in a sandbox, against a real JupyterLab with the
 * server extension: start a sandbox of the "local" profile from the
 * Sandboxes section, then "Run as job…" from the file browser offers it in
 * "Run in" (with a new sandbox of "local" too); the job runs with the
 * sandbox's kernel (`dataops-sandbox-…`, seen through the REST API and in
 * the executed notebook), its detail links to the sandbox, and the sandbox
 * is stopped at the end.
 */
import { expect, test } from '@jupyterlab/galata';
import { Locator, Page } from '@playwright/test';

import { notebook, shot } from './helpers';

/** The heading of a section of the DataOps sidebar (with its toolbar). */
function headingOf(page: Page, title: string): Locator {
  return page.locator('#jp-DataOps-sidebar .lm-AccordionPanel-title').filter({
    has: page.locator('.lm-AccordionPanel-titleLabel', {
      hasText: new RegExp(`^${title}$`, 'i')
    })
  });
}

/** Collapse or expand a section of the DataOps sidebar. */
async function setExpanded(
  page: Page,
  title: string,
  expanded: boolean
): Promise<void> {
  const heading = headingOf(page, title);
  const now = (await heading.getAttribute('aria-expanded')) === 'true';
  if (now !== expanded) {
    await heading.locator('.lm-AccordionPanel-titleLabel').click();
  }
  await expect(heading).toHaveAttribute('aria-expanded', String(expanded));
}

/** Stop a sandbox through the REST API if it still holds anything. */
async function stopQuietly(page: Page, id: string | null): Promise<void> {
  if (!id) {
    return;
  }
  const response = await page.request.get(`/dataops/api/sandboxes/${id}`);
  if (!response.ok()) {
    return;
  }
  const { status } = await response.json();
  if (status === 'ready' || status === 'provisioning') {
    await page.request.post(`/dataops/api/sandboxes/${id}/stop`, {
      data: {}
    });
  }
}

test.use({ autoGoto: true });

test.describe('DataOps: run a job in a sandbox', () => {
  test('starts a sandbox, runs a notebook in it from "Run as job…", and stops it', async ({
    page,
    tmpPath
  }) => {
    test.setTimeout(240000);
    const name = 'in-sandbox.ipynb';
    await page.contents.uploadContent(
      notebook([
        { source: 'alpha = 0.1', tags: ['parameters'] },
        {
          source:
            "import os\nprint('sandbox', os.environ.get('DATAOPS_SANDBOX'), alpha * 2)"
        }
      ]),
      'text',
      `${tmpPath}/${name}`
    );

    // Start a sandbox of "local" from the Sandboxes section.
    await page.sidebar.openTab('jp-DataOps-sidebar');
    await expect(headingOf(page, 'Sandboxes')).toBeVisible();
    for (const title of ['Schedules', 'Snapshots', 'Endpoints']) {
      await setExpanded(page, title, false);
    }
    await setExpanded(page, 'Sandboxes', true);
    await headingOf(page, 'Sandboxes')
      .locator('.jp-DataOps-startSandboxButton')
      .click();
    const dialog = page.locator('.jp-Dialog');
    const form = dialog.locator('.jp-DataOps-startForm');
    await expect(form).toBeVisible({ timeout: 30000 });
    await expect(
      form.locator('.jp-DataOps-profileChoice[data-profile="local"] input')
    ).toBeChecked();
    await form.locator('#jp-DataOps-sandbox-cpus').fill('1');
    await form.locator('#jp-DataOps-sandbox-memory').fill('2Gi');
    const started = page.waitForResponse(
      response =>
        response.url().endsWith('/dataops/api/sandboxes') &&
        response.request().method() === 'POST',
      { timeout: 30000 }
    );
    await dialog.locator('[data-action="start"]').click();
    const answer = await started;
    expect(answer.ok()).toBe(true);
    const id: string = (await answer.json()).id;
    expect(id).toBeTruthy();
    const sandboxes = page.locator(
      '#jp-DataOps-sidebar .jp-DataOps-section[data-section="sandboxes"]'
    );
    const row = sandboxes.locator(`.jp-DataOps-sandbox[data-id="${id}"]`);
    const short = id.slice(0, 6);
    try {
      await expect(dialog).toHaveCount(0, { timeout: 30000 });
      await expect(row).toBeVisible({ timeout: 30000 });
      await expect(row).toHaveAttribute('data-status', 'ready', {
        timeout: 90000
      });

      // "Run as job…" on the notebook: "Run in" offers the sandbox.
      await page.sidebar.openTab('filebrowser');
      await page.filebrowser.refresh();
      await page
        .locator(
          `.jp-DirListing-item[data-file-type="notebook"]:has-text("${name}")`
        )
        .click({ button: 'right' });
      await page
        .locator('.lm-Menu-item:has-text("Run as job…")')
        .first()
        .click();
      const runForm = dialog.locator('.jp-DataOps-RunForm');
      await expect(runForm).toBeVisible();
      const runIn = runForm.locator('.jp-DataOps-runIn');
      const sandboxOption = runIn.locator(`[data-target="sandbox:${id}"]`);
      await expect(sandboxOption).toBeVisible({ timeout: 30000 });
      await expect(runIn.locator('[data-target="kernel"] input')).toBeChecked();
      await expect(runIn.locator('[data-target="kernel"]')).toHaveText(
        'The notebook’s kernel'
      );
      await expect(sandboxOption.locator('.jp-DataOps-runInLabel')).toHaveText(
        `Sandbox local ${short}`
      );
      await expect(sandboxOption.locator('.jp-DataOps-runInDetail')).toHaveText(
        '1 CPU · 2Gi'
      );
      await expect(
        runIn.locator('[data-target="profile:local"] .jp-DataOps-runInLabel')
      ).toHaveText('A new sandbox of profile local');
      await expect(runForm.locator('#jp-DataOps-kernel')).toHaveValue(
        'python3'
      );
      await shot(page, 'r01-run-in-choices');

      // On a schedule, a profile's sandbox is started for each run.
      await runForm
        .locator('.jp-DataOps-modeOption:has-text("On a schedule")')
        .click();
      await expect(
        runIn.locator('[data-target="profile:local"] .jp-DataOps-runInLabel')
      ).toHaveText('A new sandbox of profile local for each run');
      await runIn.scrollIntoViewIfNeeded();
      await shot(page, 'r02-run-in-schedule-mode');
      await runForm
        .locator('.jp-DataOps-modeOption:has-text("Run now")')
        .click();
      await expect(runForm).toHaveAttribute('data-mode', 'now');

      // Choose the sandbox: its kernel runs the job, no kernel to pick.
      await sandboxOption.locator('input').check();
      await expect(sandboxOption).toHaveClass(/jp-mod-active/);
      await expect(runForm.locator('#jp-DataOps-kernel')).toHaveCount(0);
      await expect(runIn).toContainText('this sandbox’s kernel');
      await runForm.locator('#jp-DataOps-param-alpha').fill('0.7');
      await shot(page, 'r03-run-in-sandbox-chosen');
      const run = dialog.locator('.jp-Dialog-button.jp-mod-accept');
      await expect(run).toBeEnabled();
      await run.click();
      await expect(dialog).toHaveCount(0, { timeout: 30000 });

      // The Jobs section opens on the job and follows it to the end.
      const jobs = page.locator('.jp-DataOps-panel.jp-DataOps-jobsView');
      await expect(jobs).toBeVisible();
      const job = jobs
        .locator('.jp-DataOps-job')
        .filter({ hasText: `${tmpPath}/${name}` })
        .first();
      await expect(job).toHaveAttribute('data-status', 'completed', {
        timeout: 120000
      });
      const jobId = (await job.getAttribute('data-job-id'))!;

      // It ran with the sandbox's kernel.
      const response = await page.request.get(`/dataops/api/jobs/${jobId}`);
      expect(response.ok()).toBe(true);
      const executed = await response.json();
      expect(executed.kernel_name).toMatch(/^dataops-sandbox-/);
      expect(executed.kernel_name).toContain(id);
      expect(executed.parameters).toEqual({ alpha: 0.7 });
      // And in the sandbox: the kernel saw the sandbox's variables.
      const output = await page.request.get(
        `/api/contents/${executed.output_path}?content=1`
      );
      expect(output.ok()).toBe(true);
      expect(JSON.stringify(await output.json())).toContain(
        `sandbox ${id} 1.4`
      );

      // Its detail names the sandbox, as a link to it.
      const detail = job.locator('.jp-DataOps-jobDetail');
      if (!(await detail.isVisible())) {
        await job.locator('.jp-DataOps-jobSummary').click();
      }
      const link = detail.locator(
        '.jp-DataOps-jobKernel .jp-DataOps-sandboxLink'
      );
      await expect(link).toHaveText(`Sandbox ${short}`, { timeout: 30000 });
      await link.scrollIntoViewIfNeeded();
      await shot(page, 'r04-job-in-sandbox');
      await link.click();
      // The Sandboxes section opens on it (given room: the Jobs section folds).
      await setExpanded(page, 'Jobs', false);
      await expect(headingOf(page, 'Sandboxes')).toHaveAttribute(
        'aria-expanded',
        'true'
      );
      const sandboxDetail = row.locator('.jp-DataOps-sandboxDetail');
      await expect(sandboxDetail).toBeVisible();
      await expect(
        sandboxDetail.locator('.jp-DataOps-sandboxKernelName')
      ).toHaveText(executed.kernel_name);
      await shot(page, 'r05-sandbox-revealed');

      // Stop it.
      await sandboxDetail
        .locator('[data-action="stop"]')
        .click({ timeout: 30000 });
      await expect(row).toHaveAttribute('data-status', 'stopped', {
        timeout: 60000
      });
      await shot(page, 'r06-sandbox-stopped');
    } finally {
      await stopQuietly(page, id);
    }
  });
});
