// Take the README's screenshot: JupyterLab on the demo notebook, the DataOps sidebar's Jobs
// section with finished jobs (the newest one's detail open), and the run dialog. Usage (with a
// server running on the demo workspace, and at least two jobs of train.ipynb run):
//   node scripts/screenshot.mjs http://127.0.0.1:PORT TOKEN docs/images/jobs-panel.png
import { createRequire } from 'node:module';
const require = createRequire(new URL('../ui-tests/package.json', import.meta.url));
const { chromium } = require('playwright');

const [base, token, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync']
});
const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
// `reset` starts from the default layout, whatever the workspace remembered.
await page.goto(`${base}/lab/tree/train.ipynb?reset&token=${token}`);
await page.waitForSelector('.jp-Notebook', { timeout: 60000 });
// The tab toggles the sidebar: click it only when the sidebar is not showing.
if (!(await page.locator('#jp-DataOps-sidebar').isVisible())) {
  await page.click('[data-id="jp-DataOps-sidebar"]');
}
const jobs = '#jp-DataOps-sidebar .jp-DataOps-section[data-section="jobs"]';
await page.waitForSelector(jobs);
await page.waitForFunction(
  selector =>
    document.querySelectorAll(`${selector} .jp-DataOps-job.jp-DataOps-status-completed`).length >= 2,
  jobs, { timeout: 120000 }
);
// Open the newest finished job's detail (the list is newest first).
await page.locator(`${jobs} .jp-DataOps-job.jp-DataOps-status-completed .jp-DataOps-jobSummary`).first().click();
await page.waitForSelector(`${jobs} .jp-DataOps-jobDetail .jp-DataOps-actions button`, { timeout: 30000 });
await page.waitForTimeout(1000);
// JupyterLab asks once about its news feed; answer so the toast leaves the picture.
const news = page.locator('.jp-toast-button:has-text("No")');
if (await news.count()) {
  await news.first().click();
}
await page.click('.jp-NotebookPanel-toolbar .jp-DataOps-runButton');
await page.waitForSelector('.jp-Dialog .jp-DataOps-param', { timeout: 30000 });
await page.waitForTimeout(1500);
await page.screenshot({ path: out });
await browser.close();
