/**
 * Schedules against a real JupyterLab with the server extension and its
 * worker: schedule a notebook from the file browser (the run dialog's "On a
 * schedule" mode, with the cron preview and a field error), see it in the
 * Schedules section, let the scheduler fire it at the minute, run it now with
 * another value, pause and resume it, and delete it.
 *
 * The UI tests' server allows every-minute expressions
 * (c.DataOps.min_schedule_interval = 0 in jupyter_server_test_config.py).
 */
import { expect, test } from '@jupyterlab/galata';

import { notebook, shot } from './helpers';

test.use({ autoGoto: true });

test.describe('DataOps schedules', () => {
  test('schedules a notebook, fires it at the minute, runs it now, pauses, resumes and deletes it', async ({
    page,
    tmpPath
  }) => {
    // A due minute, a run and the checks after it: more than the default.
    test.setTimeout(240000);
    const name = 'nightly.ipynb';
    await page.contents.uploadContent(
      notebook([
        { source: 'alpha = 0.1', tags: ['parameters'] },
        { source: 'print(alpha * 2)' }
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
    await page.locator('.lm-Menu-item:has-text("Schedule…")').first().click();

    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-DataOps-RunForm')).toHaveAttribute(
      'data-mode',
      'schedule'
    );
    const create = dialog.locator('.jp-Dialog-button.jp-mod-accept');
    await expect(create).toContainText('Create schedule');
    const cron = dialog.locator('#jp-DataOps-cron');

    // A wrong field is named before anything is sent, and nothing is created.
    await cron.fill('0 24 * * *');
    await expect(dialog.locator('.jp-DataOps-fieldError')).toContainText(
      'hour'
    );
    await expect(create).toBeDisabled();
    await shot(page, 's01-schedule-dialog-invalid');

    await cron.fill('* * * * *');
    await expect(dialog.locator('.jp-DataOps-fieldError')).toHaveCount(0);
    await expect(dialog.locator('.jp-DataOps-previewWords')).toContainText(
      /every minute/i
    );
    await expect(dialog.locator('.jp-DataOps-nextRuns li')).not.toHaveCount(0);
    await dialog.locator('#jp-DataOps-param-alpha').fill('0.3');
    // Successes are announced too (in JupyterLab's notification area).
    await dialog.locator('#jp-DataOps-notifySuccess').check();
    await expect(create).toBeEnabled();
    await shot(page, 's02-schedule-dialog');
    await create.click();
    await expect(dialog).toHaveCount(0);

    // The Schedules section shows it, active, with its next run.
    const section = page.locator(
      '#jp-DataOps-sidebar .jp-DataOps-section[data-section="schedules"]'
    );
    await expect(section).toBeVisible();
    const row = section
      .locator('.jp-DataOps-schedule')
      .filter({ hasText: name })
      .first();
    await expect(row).toHaveAttribute('data-status', 'active');
    await expect(row.locator('.jp-DataOps-nextRun')).toBeVisible();
    await shot(page, 's03-schedules-section');

    // The scheduler fires it at the coming minute; the run completes.
    const detail = row.locator('.jp-DataOps-scheduleDetail');
    if (!(await detail.isVisible())) {
      await row.locator('.jp-DataOps-scheduleSummary').click();
    }
    await expect(detail).toBeVisible();
    const runs = detail.locator('.jp-DataOps-run');
    await expect(runs.first()).toHaveAttribute('data-status', 'completed', {
      timeout: 150000
    });
    await expect(
      page
        .locator('.jp-toast-message')
        .filter({ hasText: 'Scheduled run of “nightly” completed' })
        .first()
    ).toBeVisible();
    await shot(page, 's04-fired-run');

    // Pausing first, so that no due time adds a run while we count them.
    await detail.locator('button[data-action="pause"]').click();
    await expect(row).toHaveAttribute('data-status', 'paused');
    await expect(row.locator('.jp-DataOps-nextRun')).toContainText(/paused/i);
    const before = await runs.count();

    // Run now, with another value for this run only.
    await detail.locator('button[data-action="run-now"]').click();
    const runNow = page.locator('.jp-Dialog');
    await runNow.locator('#jp-DataOps-param-alpha').fill('0.9');
    await runNow.locator('.jp-Dialog-button.jp-mod-accept').click();
    await expect(runNow).toHaveCount(0);
    await expect(runs).toHaveCount(before + 1, { timeout: 30000 });
    await expect(runs.first()).toHaveAttribute('data-status', 'completed', {
      timeout: 60000
    });
    await shot(page, 's05-paused-after-run-now');

    await detail.locator('button[data-action="resume"]').click();
    await expect(row).toHaveAttribute('data-status', 'active');

    // Delete it, keeping its runs.
    await detail.locator('button[data-action="delete"]').click();
    const confirm = page.locator('.jp-Dialog');
    await expect(confirm).toContainText('Delete schedule?');
    await shot(page, 's06-delete-confirm');
    await confirm.locator('.jp-Dialog-button.jp-mod-warn').click();
    await expect(
      section.locator('.jp-DataOps-schedule').filter({ hasText: name })
    ).toHaveCount(0);
  });

  test('edits a schedule into a new version, and tells of its failed run in a notification', async ({
    page,
    tmpPath
  }) => {
    const name = 'broken.ipynb';
    await page.contents.uploadContent(
      notebook([
        { source: 'alpha = 1', tags: ['parameters'] },
        { source: 'raise RuntimeError(f"bad alpha {alpha}")' }
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
    await page.locator('.lm-Menu-item:has-text("Schedule…")').first().click();
    const dialog = page.locator('.jp-Dialog');
    // Once a year: it does not fire during the test.
    await dialog.locator('#jp-DataOps-cron').fill('0 6 1 1 *');
    await expect(dialog.locator('.jp-DataOps-previewWords')).toContainText(
      '06:00'
    );
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    await expect(dialog).toHaveCount(0);

    const section = page.locator(
      '#jp-DataOps-sidebar .jp-DataOps-section[data-section="schedules"]'
    );
    const row = section
      .locator('.jp-DataOps-schedule')
      .filter({ hasText: name })
      .first();
    await expect(row).toHaveAttribute('data-status', 'active');
    const detail = row.locator('.jp-DataOps-scheduleDetail');
    if (!(await detail.isVisible())) {
      await row.locator('.jp-DataOps-scheduleSummary').click();
    }

    // Edit: another time of day, saved as version 2.
    await detail.locator('button[data-action="edit"]').click();
    const edit = page.locator('.jp-Dialog');
    await expect(edit.locator('#jp-DataOps-cron')).toHaveValue('0 6 1 1 *');
    await edit.locator('#jp-DataOps-cron').fill('30 7 1 1 *');
    await expect(edit.locator('.jp-DataOps-previewWords')).toContainText(
      '07:30'
    );
    await shot(page, 's07-edit-dialog');
    await edit.locator('.jp-Dialog-button.jp-mod-accept').click();
    await expect(edit).toHaveCount(0);
    await expect(
      page.locator('.jp-toast-message').filter({ hasText: 'version 2' })
    ).toBeVisible();
    await expect(row.locator('.jp-DataOps-scheduleWords')).toContainText(
      '07:30'
    );

    // Its run fails: the notification area says so, naming the schedule.
    await detail.locator('button[data-action="run-now"]').click();
    const runNow = page.locator('.jp-Dialog');
    await runNow.locator('.jp-Dialog-button.jp-mod-accept').click();
    await expect(runNow).toHaveCount(0);
    await expect(
      page
        .locator('.jp-toast-message')
        .filter({ hasText: 'Scheduled run of' })
        .filter({ hasText: 'failed' })
    ).toBeVisible({ timeout: 60000 });
    await expect(detail.locator('.jp-DataOps-run').first()).toHaveAttribute(
      'data-status',
      'failed'
    );
    // The run is an ordinary job: the Jobs section lists it too.
    const jobs = page.locator(
      '#jp-DataOps-sidebar .jp-DataOps-section[data-section="jobs"]'
    );
    await expect(
      jobs.locator('.jp-DataOps-job').filter({ hasText: name }).first()
    ).toHaveAttribute('data-status', 'failed');
    await shot(page, 's08-failed-run-notification');
  });
});
