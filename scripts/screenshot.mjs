// Take the README's screenshot: JupyterLab on the demo notebook, the DataOps sidebar with
// finished jobs, and the run dialog. Usage (with a server running on the demo workspace):
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
await page.goto(`${base}/lab/tree/train.ipynb?token=${token}`);
await page.waitForSelector('.jp-Notebook', { timeout: 60000 });
await page.click('#jp-DataOps-sidebar-tab, [data-id="jp-DataOps-sidebar"]');
await page.waitForSelector('#jp-DataOps-sidebar');
await page.waitForFunction(
  () => document.querySelectorAll('#jp-DataOps-sidebar .jp-DataOps-job.jp-DataOps-status-completed').length >= 2,
  null, { timeout: 120000 }
);
await page.waitForTimeout(1000);
// JupyterLab asks once about its news feed; answer so the toast leaves the picture.
const news = page.locator('.jp-toast-button:has-text("No")');
if (await news.count()) {
  await news.first().click();
}
await page.click('.jp-NotebookPanel-toolbar .jp-DataOps-runButton');
await page.waitForSelector('.jp-Dialog', { timeout: 30000 });
await page.waitForTimeout(1500);
await page.screenshot({ path: out });
await browser.close();
